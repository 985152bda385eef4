import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import {
  EVENTS_FILE,
  MANIFEST_FILE,
  parseManifest,
  plainFileName,
  REJECTED_FILE,
  type EventLine,
  type ManifestFile,
} from '../../src/snapshot/format.js';
import {
  ChecksumMismatchError,
  LineFileWriter,
  readVerifiedLines,
  splitLineBlocks,
  splitLines,
} from '../../src/snapshot/line-file.js';
import { openSnapshotLines } from '../../src/snapshot/read-lines.js';
import { SnapshotBuilder } from '../../src/snapshot/snapshot-builder.js';

function event(offset: number, station = 'Zürich HB ✓'): EventLine {
  return {
    topic: 'train-arrivals',
    partition: 0,
    offset,
    timestamp: 1_764_224_100_000 + offset,
    key: `st-${offset % 7}`,
    headers: [],
    value: { event_id: `e-${offset}`, station, delay_s: offset % 120 },
  };
}

/** Writes values through a LineFileWriter into memory; returns the entry and the stored bytes. */
async function writeToMemory(
  values: unknown[],
  compression?: 'gzip',
): Promise<{ entry: ManifestFile; stored: Buffer }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const writer = new LineFileWriter(compression ? `${EVENTS_FILE}.gz` : EVENTS_FILE, out, { compression });
  for (const v of values) await writer.write(v);
  const entry = await writer.close();
  return { entry, stored: Buffer.concat(chunks) };
}

/** A readable that hands out `bytes` in small chunks, so lines and gzip blocks straddle chunk boundaries. */
function chunked(bytes: Buffer, size = 7): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const l of lines) all.push(l);
  return all;
}

describe('gzip-compressed line files', () => {
  it('should describe the stored (compressed) bytes in the manifest entry', async () => {
    const values = Array.from({ length: 500 }, (_, i) => event(i));
    const { entry, stored } = await writeToMemory(values, 'gzip');
    expect(entry.compression).toBe('gzip');
    expect(entry.lines).toBe(500);
    expect(entry.bytes).toBe(stored.length);
    expect(entry.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    const plain = gunzipSync(stored).toString('utf8');
    expect(
      plain
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual(values);
    expect(stored.length).toBeLessThan(Buffer.byteLength(plain) / 3);
  });

  it('should read back every line of a compressed file, across chunk boundaries and multi-byte characters', async () => {
    const values = Array.from({ length: 300 }, (_, i) => event(i));
    const { entry, stored } = await writeToMemory(values, 'gzip');
    const lines = await collect(readVerifiedLines(chunked(stored), entry));
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(values);
  });

  it('should round-trip an empty compressed file', async () => {
    const { entry, stored } = await writeToMemory([], 'gzip');
    expect(entry.lines).toBe(0);
    expect(stored.length).toBeGreaterThan(0);
    expect(await collect(readVerifiedLines(chunked(stored), entry))).toEqual([]);
  });

  it('should still read plain files exactly as before', async () => {
    const values = Array.from({ length: 50 }, (_, i) => event(i));
    const { entry, stored } = await writeToMemory(values);
    expect(entry.compression).toBeUndefined();
    expect(entry.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    const lines = await collect(readVerifiedLines(chunked(stored, 3), entry));
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(values);
  });

  it('should refuse a compressed file altered inside the gzip data as a checksum mismatch', async () => {
    const { entry, stored } = await writeToMemory(
      Array.from({ length: 200 }, (_, i) => event(i)),
      'gzip',
    );
    const tampered = Buffer.from(stored);
    tampered[Math.floor(tampered.length / 2)]! ^= 0xff;
    await expect(collect(readVerifiedLines(chunked(tampered), entry))).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  it('should refuse a truncated compressed file as a checksum mismatch', async () => {
    const { entry, stored } = await writeToMemory(
      Array.from({ length: 200 }, (_, i) => event(i)),
      'gzip',
    );
    await expect(
      collect(readVerifiedLines(chunked(stored.subarray(0, stored.length - 10)), entry)),
    ).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  it('should refuse a valid gzip file that is not the one the manifest describes', async () => {
    const { entry } = await writeToMemory([event(1), event(2)], 'gzip');
    const { stored: other } = await writeToMemory([event(1), event(3)], 'gzip');
    await expect(collect(readVerifiedLines(chunked(other), entry))).rejects.toThrow(/does not match the manifest/);
  });
});

describe('SnapshotBuilder with compress: gzip', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'eventful-gzip-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function build(compress: 'gzip' | undefined, id: string): Promise<void> {
    const store = await DirectorySnapshotStore.open(root);
    const builder = await SnapshotBuilder.begin(
      store,
      {
        snapshotId: id,
        runId: 'r1',
        groupId: 'g',
        startedAt: new Date('2026-11-27T06:00:00Z'),
        topics: ['train-arrivals'],
      },
      { compress },
    );
    for (let i = 0; i < 100; i++) await builder.addEvent(event(i), 100);
    await builder.addRejected(
      {
        topic: 'train-arrivals',
        partition: 0,
        offset: 100,
        timestamp: null,
        key_base64: null,
        value_base64: null,
        headers: [],
        reason: { code: 'tombstone', message: 'tombstone' },
      },
      101,
    );
    await builder.publish(new Date('2026-11-27T06:01:00Z'));
  }

  it('should name the files .gz, record the compression and checksum what is on disk', async () => {
    await build('gzip', 'snap-gz');
    const manifest = parseManifest(await readFile(path.join(root, 'snap-gz', MANIFEST_FILE), 'utf8'), 'test');
    expect(manifest.files.map((f) => f.name)).toEqual([`${EVENTS_FILE}.gz`, `${REJECTED_FILE}.gz`]);
    expect(manifest.files.map(plainFileName)).toEqual([EVENTS_FILE, REJECTED_FILE]);
    for (const f of manifest.files) {
      expect(f.compression).toBe('gzip');
      expect(f.path).toBeUndefined();
      const onDisk = await readFile(path.join(root, 'snap-gz', f.name));
      expect(f.bytes).toBe(onDisk.length);
      expect(f.sha256).toBe(createHash('sha256').update(onDisk).digest('hex'));
    }
  });

  it('should read compressed and plain snapshots alike through openSnapshotLines', async () => {
    await build('gzip', 'snap-gz');
    await build(undefined, 'snap-plain');
    const store = await DirectorySnapshotStore.open(root);
    const { complete } = await store.list();
    expect(complete.map((c) => c.id).sort()).toEqual(['snap-gz', 'snap-plain']);
    const results = [];
    for (const ref of complete) {
      const events = ref.manifest.files.find((f) => plainFileName(f) === EVENTS_FILE)!;
      results.push((await collect(openSnapshotLines(store, ref.id, events))).map((l) => JSON.parse(l) as EventLine));
    }
    expect(results[0]).toHaveLength(100);
    expect(results[0]).toEqual(results[1]);
  });

  it('should refuse a compressed snapshot file replaced on disk', async () => {
    await build('gzip', 'snap-gz');
    const store = await DirectorySnapshotStore.open(root);
    const ref = (await store.list()).complete[0]!;
    const file = ref.manifest.files[0]!;
    const { stored } = await writeToMemory([event(1)], 'gzip');
    await writeFile(path.join(root, 'snap-gz', file.name), stored);
    await expect(collect(openSnapshotLines(store, ref.id, file))).rejects.toBeInstanceOf(ChecksumMismatchError);
  });
});

describe('parseManifest and the new file fields', () => {
  const base = {
    formatVersion: 1,
    snapshotId: 's',
    startedAt: '2026-12-06T10:00:00.000Z',
    partitions: [],
    counts: { messages: 1, events: 1, rejected: 0 },
    files: [{ name: 'events.ndjson.gz', bytes: 1, lines: 1, sha256: 'a'.repeat(64), compression: 'gzip' }],
  };

  it('should accept gzip and a plain relative path', () => {
    const files = [{ ...base.files[0], path: 'attempt-0a1b2c/events.ndjson.gz' }];
    expect(parseManifest(JSON.stringify({ ...base, files }), 'm').files[0]!.path).toBe(
      'attempt-0a1b2c/events.ndjson.gz',
    );
  });

  it('should refuse an unknown compression', () => {
    const files = [{ ...base.files[0], compression: 'zstd' }];
    expect(() => parseManifest(JSON.stringify({ ...base, files }), 'm')).toThrow(/unknown compression/);
  });

  it('should refuse numbers that are not counts or offsets, and a start that is not a time, each by name', () => {
    const range = { topic: 't', partition: 0, firstOffset: 0, lastOffset: 4, messages: 5, highWatermark: 5 };
    const refused = (changes: Record<string, unknown>): string => {
      try {
        parseManifest(JSON.stringify({ ...base, partitions: [range], ...changes }), 'm');
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(refused({})).toBe('accepted');
    expect(refused({ counts: { ...base.counts, events: 'lots' } })).toMatch(
      /counts\.events "lots" is not a whole number/,
    );
    expect(refused({ counts: { ...base.counts, rejected: -1 } })).toMatch(/counts\.rejected -1 is not a whole number/);
    expect(refused({ partitions: [{ ...range, lastOffset: -5 }] })).toMatch(/partitions\[0\] needs a topic and whole/);
    expect(refused({ partitions: [{ ...range, firstOffset: 9 }] })).toMatch(/firstOffset 9 is after lastOffset 4/);
    expect(refused({ startedAt: 'yesterday' })).toMatch(/startedAt "yesterday" is not a time/);
    expect(refused({ files: [{ ...base.files[0], lines: 1.5 }] })).toMatch(/bytes and lines must be whole numbers/);
  });

  it.each(['../other/events.ndjson', '/etc/passwd', 'a//b', '.hidden/x'])('should refuse the path %s', (p) => {
    const files = [{ ...base.files[0], path: p }];
    expect(() => parseManifest(JSON.stringify({ ...base, files }), 'm')).toThrow(/not a plain relative path/);
  });
});

describe('splitLines', () => {
  it('should give the same lines whatever the chunk boundaries, across multi-byte characters and long lines', async () => {
    const lines = ['', 'a', 'é€😀 mixed', 'x'.repeat(1000), '', '{"k":"ü"}', 'last without newline'];
    const bytes = Buffer.from(lines.join('\n'), 'utf8');
    for (const size of [1, 2, 3, 5, 64, 999, 1001, bytes.length, bytes.length + 1])
      expect(await collect(splitLines(chunked(bytes, size))), `chunks of ${size}`).toEqual(lines);
    expect(await collect(splitLines(chunked(Buffer.from('one\ntwo\n'), 4)))).toEqual(['one', 'two']);
    expect(await collect(splitLines(Readable.from([])))).toEqual([]);
  });

  it('should hand out the same lines in blocks, one block per chunk that ends a line, never an empty one', async () => {
    const lines = ['', 'a', 'é€😀 mixed', 'x'.repeat(1000), '', '{"k":"ü"}', 'last without newline'];
    const bytes = Buffer.from(lines.join('\n'), 'utf8');
    for (const size of [1, 3, 64, 1001, bytes.length]) {
      const blocks: string[][] = [];
      for await (const block of splitLineBlocks(chunked(bytes, size))) blocks.push(block);
      expect(blocks.flat(), `chunks of ${size}`).toEqual(lines);
      expect(blocks.every((b) => b.length > 0)).toBe(true);
      expect(blocks.length).toBeLessThanOrEqual(Math.ceil(bytes.length / size) + 1);
    }
  });
});
