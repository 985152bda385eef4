import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import { MANIFEST_FILE } from '../../src/snapshot/format.js';
import { writeSnapshot } from '../helpers/snapshot-fixtures.js';

const MB = 1024 * 1024;

function write(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => out.write(chunk, (err) => (err ? reject(err) : resolve())));
}

describe('DirectorySnapshotStore writing', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'eventful-store-write-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('should say that its temporary folder was removed while it wrote (a prune with a short grace), not ENOENT', async () => {
    const store = await DirectorySnapshotStore.open(root);
    const writer = await store.beginWrite('s2');
    const out = writer.openFile('events.ndjson');
    await write(out, Buffer.from('{"a":1}\n'));
    await new Promise<void>((resolve) => out.end(resolve));
    await rm(path.join(root, '.tmp-s2'), { recursive: true });
    await expect(writer.publish('{}')).rejects.toThrow(
      `the snapshot's temporary folder ${path.join(root, '.tmp-s2')} was removed while extract wrote it (by prune ` +
        'with a --grace shorter than this run?): nothing was published nor committed',
    );
    await expect(stat(path.join(root, 's2'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('should store every byte of a file larger than its background sync step, written and vectored', async () => {
    const store = await DirectorySnapshotStore.open(root);
    const writer = await store.beginWrite('s1');
    const out = writer.openFile('events.ndjson');
    const hash = createHash('sha256');
    // 70 MB: background fdatasyncs start after each 32 MB; corked writes go out as one writev.
    for (let i = 0; i < 70; i++) {
      const chunk = Buffer.alloc(MB, `line ${i}\n`);
      hash.update(chunk);
      if (i % 2) await write(out, chunk);
      else {
        out.cork();
        const halves = [chunk.subarray(0, MB / 2), chunk.subarray(MB / 2)];
        const done = Promise.all(halves.map((h) => write(out, h)));
        out.uncork();
        await done;
      }
    }
    await new Promise<void>((resolve) => out.end(resolve));
    await writer.publish('{}');
    const stored = await readFile(path.join(root, 's1', 'events.ndjson'));
    expect(stored.length).toBe(70 * MB);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(hash.digest('hex'));
    expect(await readFile(path.join(root, 's1', MANIFEST_FILE), 'utf8')).toBe('{}');
  });

  it('should make a missing snapshot folder and its parents, and refuse one it cannot make in words', async () => {
    const nested = path.join(root, 'a', 'b', 'c');
    await (await DirectorySnapshotStore.open(nested)).prepare();
    expect((await stat(nested)).isDirectory()).toBe(true);
    const file = path.join(root, 'file');
    await writeFile(file, 'not a folder');
    await expect((await DirectorySnapshotStore.open(path.join(file, 'snaps'))).prepare()).rejects.toThrow(
      /^cannot make the snapshot folder .*file\/snaps \(ENOTDIR: a part of the path is a file\): choose a folder/,
    );
    // Node's recursive mkdir spun for minutes here (ENOENT under a folder that exists); this returns at once.
    const proc = await DirectorySnapshotStore.open(`/proc/eventful-${process.pid}`);
    await expect(proc.prepare()).rejects.toThrow(/^cannot make the snapshot folder \/proc\/eventful-\d+ \(ENOENT/);
  });

  it('should on a dry run make nothing, but fail where making the folder would', async () => {
    const nested = path.join(root, 'x', 'y');
    await (await DirectorySnapshotStore.open(nested)).prepare(true);
    await expect(stat(path.join(root, 'x'))).rejects.toThrow(/ENOENT/);
    const file = path.join(root, 'file');
    await writeFile(file, 'not a folder');
    await expect((await DirectorySnapshotStore.open(path.join(file, 'snaps'))).prepare(true)).rejects.toThrow(
      /^a run without --dry-run could not write its snapshot: cannot make the snapshot folder .*file\/snaps \(ENOTDIR/,
    );
    await expect((await DirectorySnapshotStore.open(file)).prepare(true)).rejects.toThrow(
      /cannot make the snapshot folder .*file \(EEXIST: a file of that name exists\)/,
    );
  });

  it('should list ids without reading manifests, and read the manifests of just the ids asked for', async () => {
    const good = await writeSnapshot(root, [
      { topic: 't', partition: 0, offset: 0, value: { event_id: '00000000-0000-4000-8000-000000000001' } },
    ]);
    await mkdir(path.join(root, 'broken'));
    await writeFile(path.join(root, 'broken', MANIFEST_FILE), '{ not json');
    await mkdir(path.join(root, 'unfinished'));
    await mkdir(path.join(root, '.tmp-attempt'));
    const store = await DirectorySnapshotStore.open(root);

    expect((await store.listIds()).sort()).toEqual(['broken', good, 'unfinished'].sort());
    const some = await store.list([good, 'unfinished']);
    expect(some.complete.map((r) => r.id)).toEqual([good]);
    expect([some.incomplete, some.unreadable]).toEqual([['unfinished'], []]);
    expect((await store.list()).unreadable.map((u) => u.id)).toEqual(['broken']);
  });
});
