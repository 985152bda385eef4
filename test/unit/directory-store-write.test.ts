import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import { MANIFEST_FILE } from '../../src/snapshot/format.js';

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
});
