import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/basics/errors.js';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import { SnapshotBuilder } from '../../src/snapshot/snapshot-builder.js';
import { SnapshotExistsError } from '../../src/snapshot/store.js';

const HOUR = 3_600_000;

describe('DirectorySnapshotStore.prune', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'eventful-prune-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function leftover(id: string, ageMs: number): Promise<void> {
    const dir = path.join(root, `.tmp-${id}`);
    await mkdir(dir);
    await writeFile(path.join(dir, 'events.ndjson'), '{"a":1}\n');
    const when = new Date(Date.now() - ageMs);
    await utimes(path.join(dir, 'events.ndjson'), when, when);
    await utimes(dir, when, when);
  }

  async function complete(id: string): Promise<void> {
    const store = await DirectorySnapshotStore.open(root);
    const b = await SnapshotBuilder.begin(store, {
      snapshotId: id,
      runId: 'r',
      groupId: 'g',
      startedAt: new Date(),
      topics: [],
    });
    await b.publish();
  }

  it('should list temporary folders older than the grace period in a dry run and remove nothing', async () => {
    await leftover('old', 48 * HOUR);
    await leftover('young', HOUR);
    await complete('done');
    const store = await DirectorySnapshotStore.open(root);
    const report = await store.prune(24 * HOUR, true);
    expect(report.dryRun).toBe(true);
    expect(report.removed).toBe(0);
    expect(report.candidates.map((c) => c.id)).toEqual(['old']);
    expect(report.candidates[0]).toMatchObject({ objects: 1, bytes: 8, location: path.join(root, '.tmp-old') });
    expect((await readdir(root)).sort()).toEqual(['.tmp-old', '.tmp-young', 'done']);
  });

  it('should remove only the old temporary folders and never a complete snapshot', async () => {
    await leftover('old', 48 * HOUR);
    await leftover('young', HOUR);
    await complete('done');
    const store = await DirectorySnapshotStore.open(root);
    const report = await store.prune(24 * HOUR, false);
    expect(report.removed).toBe(1);
    expect((await readdir(root)).sort()).toEqual(['.tmp-young', 'done']);
    expect((await store.list()).complete.map((c) => c.id)).toEqual(['done']);
  });

  it('should judge a folder by its newest file, not by the folder time', async () => {
    await leftover('busy', 48 * HOUR);
    await writeFile(path.join(root, '.tmp-busy', 'events.ndjson'), '{"a":1}\n{"a":2}\n');
    const report = await (await DirectorySnapshotStore.open(root)).prune(24 * HOUR, true);
    expect(report.candidates).toEqual([]);
  });

  it('should refuse a root that is missing or a file as a usage error, as load does', async () => {
    const missing = await DirectorySnapshotStore.open(path.join(root, 'nope'));
    await expect(missing.prune(0, false)).rejects.toThrow(
      new UsageError(
        `${path.join(root, 'nope')} does not exist: check --snapshots (or EVENTFUL_SNAPSHOTS); it must be the ` +
          'folder extract writes to (--out), which extract makes on its first run',
      ),
    );
    await writeFile(path.join(root, 'a-file'), 'x');
    const file = await DirectorySnapshotStore.open(path.join(root, 'a-file'));
    await expect(file.prune(0, false)).rejects.toBeInstanceOf(UsageError);
  });

  it('should refuse to write a snapshot id that exists with SnapshotExistsError', async () => {
    await complete('done');
    const store = await DirectorySnapshotStore.open(root);
    await expect(store.beginWrite('done')).rejects.toBeInstanceOf(SnapshotExistsError);
  });

  it('should say what to do when a killed attempt left the same id behind', async () => {
    await leftover('stuck', HOUR);
    const store = await DirectorySnapshotStore.open(root);
    await expect(store.beginWrite('stuck')).rejects.toThrow(/prune/);
  });
});
