import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkedSnapshotBuilder, eventLineText } from '../../src/extract/chunked-snapshot-builder.js';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import {
  EVENTS_FILE,
  MANIFEST_FILE,
  REJECTED_FILE,
  type EventLine,
  type RejectedLine,
} from '../../src/snapshot/format.js';
import type { SnapshotMeta } from '../../src/snapshot/format.js';
import { SnapshotBuilder } from '../../src/snapshot/snapshot-builder.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempStore(): Promise<DirectorySnapshotStore> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'eventful-chunked-'));
  dirs.push(dir);
  return DirectorySnapshotStore.open(dir);
}

const meta = (id: string): SnapshotMeta => ({
  snapshotId: id,
  runId: 'r',
  groupId: 'g',
  startedAt: new Date('2026-11-27T06:00:00Z'),
  topics: ['t'],
});

function events(n: number): EventLine[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: 't',
    partition: i % 3,
    offset: Math.floor(i / 3),
    timestamp: i % 7 === 0 ? null : 1_764_224_712_000 + i,
    key: i % 5 === 0 ? null : `k-${i} "quoted" ünï`,
    ...(i % 11 === 0 ? { key: null, key_base64: '/w==' } : {}),
    headers: i % 4 === 0 ? [{ key: 'h', value: 'v' }] : [],
    value: { id: `e${i}`, text: 'line\nbreak \u2028 ✓', n: i * 1.5, nested: { a: [1, null, true] } },
  }));
}

const rejected: RejectedLine = {
  topic: 't',
  partition: 0,
  offset: 99_999,
  timestamp: null,
  key_base64: null,
  value_base64: 'e30=',
  headers: [],
  reason: { code: 'schema_violation', message: 'bad', issues: [{ code: 'required', path: '/', message: 'x' }] },
};

describe('the chunked snapshot builder', () => {
  it('should splice an event line that reads back as the event', () => {
    for (const e of events(30)) expect(JSON.parse(eventLineText(e, JSON.stringify(e.value)))).toEqual(e);
  });

  it('should write byte for byte the files and manifest SnapshotBuilder writes, across many chunks', async () => {
    const lines = events(3_000); // > two 256 KiB chunks
    const a = await tempStore();
    const b = await tempStore();
    const reference = await SnapshotBuilder.begin(a, meta('s'));
    const chunked = await ChunkedSnapshotBuilder.begin(b, meta('s'));
    for (const e of lines) {
      await reference.addEvent(e, 5_000);
      chunked.event(e, JSON.stringify(e.value), 5_000);
    }
    await reference.addRejected(rejected, 100_000);
    chunked.rejected(rejected, 100_000);
    await chunked.drained();
    const at = new Date('2026-11-27T06:01:00Z');
    expect(await chunked.publish(at)).toEqual(await reference.publish(at));
    for (const f of [EVENTS_FILE, REJECTED_FILE, MANIFEST_FILE])
      expect(await readFile(path.join(b.root, 's', f))).toEqual(await readFile(path.join(a.root, 's', f)));
  });

  it('should write the same gzip files and manifest as SnapshotBuilder when compressing', async () => {
    const lines = events(3_000);
    const a = await tempStore();
    const b = await tempStore();
    const reference = await SnapshotBuilder.begin(a, meta('z'), { compress: 'gzip' });
    const chunked = await ChunkedSnapshotBuilder.begin(b, meta('z'), { compress: 'gzip' });
    for (const e of lines) {
      await reference.addEvent(e, 5_000);
      chunked.event(e, JSON.stringify(e.value), 5_000);
    }
    await chunked.drained();
    const at = new Date('2026-11-27T06:01:00Z');
    const manifest = await chunked.publish(at);
    expect(manifest).toEqual(await reference.publish(at));
    expect(manifest.files.map((f) => [f.name, f.compression])).toEqual([
      ['events.ndjson.gz', 'gzip'],
      ['rejected.ndjson.gz', 'gzip'],
    ]);
  });

  it('should leave nothing behind when aborted', async () => {
    const store = await tempStore();
    const chunked = await ChunkedSnapshotBuilder.begin(store, meta('gone'));
    chunked.event(events(1)[0]!, '{}', 1);
    await chunked.abort();
    expect(await store.list()).toEqual({ complete: [], incomplete: [], unreadable: [] });
  });
});
