import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventfulError, ExitCode, UsageError } from '../../src/basics/errors.js';
import {
  EVENTS_FILE,
  MANIFEST_FILE,
  plainFileName,
  SNAPSHOT_FORMAT_VERSION,
  snapshotStamp,
  type EventLine,
  type Manifest,
} from '../../src/snapshot/format.js';
import { openSnapshotStore } from '../../src/snapshot/open-store.js';
import { ChecksumMismatchError, openSnapshotLines } from '../../src/snapshot/read-lines.js';
import { describeEndpoint, s3SettingsFromEnv } from '../../src/snapshot/s3-settings.js';
import { OPEN_TIMEOUT_MS, S3SnapshotStore } from '../../src/snapshot/s3-store.js';
import { S3PartWriter } from '../../src/snapshot/s3-part-writer.js';
import { UPLOAD_PART_BYTES, UPLOAD_QUEUE } from '../../src/snapshot/s3-writer.js';
import { SnapshotBuilder, type SnapshotBuilderOptions } from '../../src/snapshot/snapshot-builder.js';
import { PRUNE_FLOOR_OBJECT } from '../../src/snapshot/prune-floor.js';
import { compareIds, SnapshotExistsError, type PruneReport, type SnapshotStore } from '../../src/snapshot/store.js';
import { ROOT, runCommand } from '../helpers/run.js';
import { clearPrefix, listKeys, testBucket, testS3Client, uniquePrefix } from '../helpers/s3.js';

const execFileAsync = promisify(execFile);
const HOUR = 3_600_000;
const MiB = 1024 * 1024;

function event(offset: number, payload = ''): EventLine {
  return {
    topic: 'train-arrivals',
    partition: offset % 3,
    offset,
    timestamp: 1_764_224_100_000 + offset,
    key: `st-${offset % 7}`,
    headers: [],
    value: { event_id: `e-${offset}`, station: 'Zürich HB', delay_s: offset % 120, payload },
  };
}

/** Writes a snapshot of `count` events (offsets `first`..) through the store with the real SnapshotBuilder. */
async function writeSnapshot(
  store: SnapshotStore,
  id: string,
  count: number,
  options: SnapshotBuilderOptions & { first?: number; startedAt?: Date; payload?: string } = {},
): Promise<Manifest> {
  const builder = await SnapshotBuilder.begin(
    store,
    {
      snapshotId: id,
      runId: `run-${id}`,
      groupId: 'g',
      startedAt: options.startedAt ?? new Date(),
      topics: ['train-arrivals'],
    },
    { compress: options.compress },
  );
  try {
    // Offsets per partition must rise: offset = first + i with partition = offset % 3 does.
    for (let i = 0; i < count; i++) await builder.addEvent(event((options.first ?? 0) + i, options.payload), 1e9);
    return await builder.publish();
  } catch (err) {
    await builder.abort();
    throw err;
  }
}

async function readEvents(store: SnapshotStore, id: string, manifest: Manifest): Promise<EventLine[]> {
  const file = manifest.files.find((f) => plainFileName(f) === EVENTS_FILE)!;
  const lines: EventLine[] = [];
  for await (const line of openSnapshotLines(store, id, file)) lines.push(JSON.parse(line) as EventLine);
  return lines;
}

async function drain(lines: AsyncIterable<string>): Promise<number> {
  let n = 0;
  for await (const _ of lines) n += 1;
  return n;
}

describe('S3SnapshotStore against a real s3proxy', () => {
  let client: S3Client;
  const used: string[] = [];
  const stores: S3SnapshotStore[] = [];
  const bucket = (): string => testBucket();

  /** A store on a fresh prefix (or on `prefix`), cleaned up after the file. */
  async function open(
    prefix = uniquePrefix('s3store'),
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<S3SnapshotStore> {
    used.push(prefix);
    const store = (await openSnapshotStore(`s3://${bucket()}/${prefix}`, env)) as S3SnapshotStore;
    stores.push(store);
    return store;
  }

  async function put(key: string, body: string | Buffer): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body }));
  }

  async function getText(key: string): Promise<string> {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    return (await got.Body?.transformToString('utf8')) ?? '';
  }

  beforeAll(() => {
    client = testS3Client();
  });

  afterAll(async () => {
    for (const p of used) await clearPrefix(client, p);
    for (const s of stores) s.close();
    client.destroy();
  });

  it('should write a snapshot with the SnapshotBuilder and read every line back verified, plain and gzip', async () => {
    const store = await open();
    expect(store).toBeInstanceOf(S3SnapshotStore);
    const plain = await writeSnapshot(store, 'snap-plain', 500, { startedAt: new Date('2026-11-27T06:00:00Z') });
    const gz = await writeSnapshot(store, 'snap-gz', 500, {
      compress: 'gzip',
      startedAt: new Date('2026-11-27T05:00:00Z'),
    });

    const listing = await store.list();
    expect(listing.complete.map((c) => c.id)).toEqual(['snap-gz', 'snap-plain']); // oldest first
    expect(listing.incomplete).toEqual([]);
    expect(listing.unreadable).toEqual([]);
    const stored = listing.complete.find((c) => c.id === 'snap-plain')!;
    expect(stored.manifest).toEqual(plain);
    expect(stored.manifestText).toBe(JSON.stringify(plain, null, 2) + '\n');

    // Data files live in the attempt's own folder, which the manifest records; the manifest sits beside it.
    const keys = await listKeys(client, `${store.root}snap-gz/`);
    expect(keys).toHaveLength(3);
    expect(keys).toContain(`${store.root}snap-gz/${MANIFEST_FILE}`);
    for (const f of gz.files) {
      expect(f.compression).toBe('gzip');
      expect(f.path).toMatch(/^attempt-[0-9a-f]+\/(events|rejected)\.ndjson\.gz$/);
      expect(keys).toContain(`${store.root}snap-gz/${f.path}`);
    }

    const expected = Array.from({ length: 500 }, (_, i) => event(i));
    expect(await readEvents(store, 'snap-plain', plain)).toEqual(expected);
    expect(await readEvents(store, 'snap-gz', gz)).toEqual(expected);
    // After list(), a file is found by its plain manifest name too.
    const byName = store.openRead('snap-plain', EVENTS_FILE);
    let bytes = 0;
    for await (const chunk of byName) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(plain.files[0]!.bytes);
  });

  it('should open a location that names one snapshot and list only that one', async () => {
    const store = await open();
    await writeSnapshot(store, 'one', 3);
    await writeSnapshot(store, 'two', 3);
    const single = await open(`${store.root}two`);
    expect(single.location).toBe(`s3://${bucket()}/${store.root}two/`);
    const listing = await single.list();
    expect(listing.complete.map((c) => c.id)).toEqual(['two']);
    expect(await readEvents(single, 'two', listing.complete[0]!.manifest)).toHaveLength(3);
  });

  it('should refuse to begin a snapshot id that an earlier attempt completed', async () => {
    const store = await open();
    await writeSnapshot(store, 'done', 2);
    await expect(writeSnapshot(store, 'done', 5)).rejects.toBeInstanceOf(SnapshotExistsError);
    const listing = await store.list();
    expect(listing.complete[0]!.manifest.counts.events).toBe(2);
  });

  it('should let exactly one of several racing attempts publish a snapshot id, and keep the winner intact', async () => {
    const prefix = uniquePrefix('race');
    // Separate stores and clients, as separate extract processes would have.
    const racers = await Promise.all(Array.from({ length: 5 }, () => open(prefix)));
    const builders = await Promise.all(
      racers.map((s, i) =>
        SnapshotBuilder.begin(s, {
          snapshotId: 'contested',
          runId: `attempt-${i}`,
          groupId: 'g',
          startedAt: new Date(),
          topics: ['train-arrivals'],
        }),
      ),
    );
    // Different content per attempt, so a mix of two attempts' files could not pass the checksums.
    for (const [i, b] of builders.entries()) for (let o = 0; o < 200 + i * 10; o++) await b.addEvent(event(o), 1e9);
    const results = await Promise.allSettled(builders.map((b) => b.publish()));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(4);
    for (const r of lost) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SnapshotExistsError);
    // The losers clean up their own attempt folders; the winner's files are untouched.
    await Promise.all(builders.map((b, i) => (results[i]!.status === 'rejected' ? b.abort() : Promise.resolve())));

    const winner = (won[0] as PromiseFulfilledResult<Manifest>).value;
    const listing = await racers[0]!.list();
    expect(listing.complete.map((c) => c.id)).toEqual(['contested']);
    expect(listing.complete[0]!.manifest).toEqual(winner);
    expect(await readEvents(racers[0]!, 'contested', winner)).toHaveLength(winner.counts.events);
    const keys = await listKeys(client, `${prefix}contested/`);
    expect(keys).toHaveLength(3); // the manifest and the winner's two files
  });

  /** A client that counts its listing requests. */
  function listingRequests(): { client: S3Client; count: () => number } {
    const counting = testS3Client();
    let n = 0;
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command') n += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countListings' },
    );
    return { client: counting, count: () => n };
  }

  /** A client whose answers to the first `times` manifest writes are lost after the store received them. */
  function droppingManifestAnswers(times: number, step: 'deserialize' | 'initialize'): S3Client {
    const flaky = testS3Client();
    let dropped = 0;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const key = String((args.input as { Key?: unknown }).Key ?? '');
        if (context.commandName === 'PutObjectCommand' && key.endsWith(`/${MANIFEST_FILE}`) && dropped < times) {
          dropped += 1;
          throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        }
        return result;
      },
      // Both steps take the same middleware; the overloads just cannot see it through a union.
      { step, name: 'dropManifestAnswer' } as { step: 'initialize'; name: string },
    );
    return flaky;
  }

  async function storeWith(c: S3Client, prefix: string): Promise<S3SnapshotStore> {
    used.push(prefix);
    const store = await S3SnapshotStore.open(c, { bucket: bucket(), prefix }, 'test endpoint');
    stores.push(store);
    return store;
  }

  it('should take a 412 on a retried manifest write for success when the manifest there is its own', async () => {
    // The answer to the first try is lost; the SDK retries, and the store answers 412 to its own manifest.
    const store = await storeWith(droppingManifestAnswers(1, 'deserialize'), uniquePrefix('retried'));
    const manifest = await writeSnapshot(store, 'retried', 10);
    const listing = await store.list();
    expect(listing.complete.map((c) => c.manifest)).toEqual([manifest]);
  });

  it('should keep the files when the manifest write failed without an answer but landed', async () => {
    // Every answer is lost (no retry can tell): publish fails, and abort must not delete a complete snapshot's files.
    const store = await storeWith(droppingManifestAnswers(1, 'initialize'), uniquePrefix('ambiguous'));
    const err = (await writeSnapshot(store, 'ambiguous', 10).catch((e: unknown) => e)) as EventfulError;
    expect(err).toBeInstanceOf(EventfulError);
    expect(err.code).toBe('s3_unreachable');
    const listing = await store.list();
    expect(listing.complete.map((c) => c.id)).toEqual(['ambiguous']);
    expect(await readEvents(store, 'ambiguous', listing.complete[0]!.manifest)).toHaveLength(10);
  });

  it('should ignore orphan uploads in list() and prune them after the grace period, listing them first in a dry run', async () => {
    const store = await open();
    const root = store.root;
    const complete = await writeSnapshot(store, 'complete', 20);
    // What killed attempts leave: data without a manifest, a losing attempt's data beside a complete snapshot,
    // and a multipart upload never completed.
    await put(`${root}killed/attempt-dead01/events.ndjson`, '{"half":true}\n');
    await put(`${root}killed/attempt-dead01/rejected.ndjson`, Buffer.alloc(0));
    await put(`${root}complete/attempt-loser1/events.ndjson`, '{"loser":true}\n');
    const mpu = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket(), Key: `${root}crashed/attempt-dead02/events.ndjson` }),
    );
    await client.send(
      new UploadPartCommand({
        Bucket: bucket(),
        Key: `${root}crashed/attempt-dead02/events.ndjson`,
        UploadId: mpu.UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(1024, 1),
      }),
    );

    const listing = await store.list();
    expect(listing.complete.map((c) => c.id)).toEqual(['complete']);
    expect(listing.incomplete).toEqual(['killed']);
    // Names alone, complete or not (an unfinished upload is no object yet); and the manifests of just the ids asked for.
    expect((await store.listIds()).sort()).toEqual(['complete', 'killed']);
    const some = await store.list(['killed']);
    expect([some.complete, some.incomplete]).toEqual([[], ['killed']]);

    // Within the grace period: nothing.
    expect((await store.prune(HOUR, true)).candidates).toEqual([]);
    // `now` a little ahead: the objects' times have one-second resolution.
    const later = new Date(Date.now() + 2_000);
    const keysBefore = await listKeys(client, root);
    const dry = await store.prune(0, true, later);
    expect(dry.dryRun).toBe(true);
    expect(dry.removed).toBe(0);
    expect(dry.candidates.map((c) => c.location).sort()).toEqual(
      [
        `s3://${bucket()}/${root}complete/attempt-loser1/`,
        `s3://${bucket()}/${root}crashed/attempt-dead02/events.ndjson (unfinished multipart upload)`,
        `s3://${bucket()}/${root}killed/attempt-dead01/`,
      ].sort(),
    );
    expect(dry.candidates.find((c) => c.id === 'killed')).toMatchObject({ objects: 2, bytes: 14 });
    expect(await listKeys(client, root)).toEqual(keysBefore);

    const done = await store.prune(0, false, later);
    expect(done.removed).toBe(3);
    const keysAfter = await listKeys(client, root);
    expect(keysAfter).toEqual(
      [
        `${root}${PRUNE_FLOOR_OBJECT}`,
        `${root}complete/${MANIFEST_FILE}`,
        ...complete.files.map((f) => `${root}complete/${f.path}`),
      ].sort(),
    );
    // The first run listed the whole lake; it leaves a floor for the next ones, twice the grace before it.
    expect(done.listing).toMatchObject({ from: null, swept: 0 });
    expect(JSON.parse(await getText(`${root}${PRUNE_FLOOR_OBJECT}`))).toEqual({
      floor: snapshotStamp(later),
      sweepFrom: '',
    });
    expect((await store.prune(0, false, later)).candidates).toEqual([]);
    const after = await store.list();
    expect(after.incomplete).toEqual([]);
    expect(await readEvents(store, 'complete', after.complete[0]!.manifest)).toHaveLength(20);
  });

  it('should prune from its floor on and sweep below it a page of whole ids per run, so a run lists the last days, not the lake', async () => {
    const store = await open();
    const root = store.root;
    // Ids as extract names them: its start time first. Three below the floor, one above.
    const [a, b, c, fresh] = ['20200101T000000000Z_a_1', '20200102T000000000Z_b_1', '20200103T000000000Z_c_1'].concat(
      '20990101T000000000Z_new_1',
    ) as [string, string, string, string];
    await put(`${root}${a}/attempt-dead01/events.ndjson`, '{"a":1}\n');
    await put(`${root}${a}/attempt-dead01/rejected.ndjson`, Buffer.alloc(0));
    await put(`${root}${b}/attempt-dead02/events.ndjson`, '{"b":1}\n');
    const complete = await writeSnapshot(store, c, 5);
    await put(`${root}${fresh}/attempt-dead03/events.ndjson`, '{"new":1}\n');
    const floor = '20250101T000000000Z';
    await put(`${root}${PRUNE_FLOOR_OBJECT}`, JSON.stringify({ floor, sweepFrom: '' }));
    const later = new Date(Date.now() + 2_000);
    const ids = (r: PruneReport): string[] => r.candidates.map((x) => x.id).sort();

    // A dry run: everything from the floor on, and a sweep of 2 objects (the floor object, then all of a's).
    const dry = await store.prune(0, true, later, 2);
    expect(ids(dry)).toEqual([a, fresh]);
    expect(dry.listing).toEqual({ from: floor, objects: 4, swept: 3 });
    // ... which keeps the floor as it was: the same again.
    expect(ids(await store.prune(0, true, later, 2))).toEqual([a, fresh]);

    const first = await store.prune(0, false, later, 2);
    expect([ids(first), first.removed]).toEqual([[a, fresh], 2]);
    const kept = JSON.parse(await getText(`${root}${PRUNE_FLOOR_OBJECT}`)) as { floor: string; sweepFrom: string };
    expect(kept).toEqual({ floor: snapshotStamp(later), sweepFrom: `${a}/attempt-dead01/rejected.ndjson` });
    // The sweep goes on after a: b's one object, then the whole of c (never half an id). It reached the end of
    // what is below the floor, so the next sweep starts over at the bottom.
    const cObjects = complete.files.length + 1;
    const second = await store.prune(0, false, later, 2);
    expect([ids(second), second.listing?.swept]).toEqual([[b], 1 + cObjects]);
    expect(JSON.parse(await getText(`${root}${PRUNE_FLOOR_OBJECT}`))).toMatchObject({ sweepFrom: '' });
    const third = await store.prune(0, false, later, 2);
    expect([ids(third), third.listing?.swept]).toEqual([[], 1 + cObjects]);
    expect(ids(await store.prune(0, false, later, 2))).toEqual([]);
    expect((await store.list()).complete.map((x) => x.id)).toEqual([c]);
    expect(await readEvents(store, c, (await store.list()).complete[0]!.manifest)).toHaveLength(5);

    // A floor that is not one is ignored: the run lists the whole lake.
    await put(`${root}${b}/attempt-dead04/events.ndjson`, '{"b":2}\n');
    await put(`${root}${PRUNE_FLOOR_OBJECT}`, 'not a floor');
    const whole = await store.prune(0, true, new Date(Date.now() + 2_000), 2);
    expect([ids(whole), whole.listing?.from]).toEqual([[b], null]);

    // An empty prefix (not written yet, or mistyped) is left empty: no floor makes it.
    const empty = await open();
    expect((await empty.prune(0, false)).candidates).toEqual([]);
    expect(await listKeys(client, empty.root)).toEqual([]);
  });

  it('should list a manifest that cannot be parsed as unreadable, and never prune beside it', async () => {
    const store = await open();
    await put(`${store.root}broken/${MANIFEST_FILE}`, '{"formatVersion": 1, "trunc');
    await put(`${store.root}broken/attempt-a/events.ndjson`, '{}\n');
    await put(`${store.root}broken/attempt-b/events.ndjson`, '{}\n');
    const listing = await store.list();
    expect(listing.complete).toEqual([]);
    expect(listing.unreadable.map((u) => u.id)).toEqual(['broken']);
    expect(listing.unreadable[0]!.reason).toMatch(/not valid JSON/);
    expect((await store.prune(0, true, new Date(Date.now() + 2_000))).candidates).toEqual([]);
  });

  it('should refuse a tampered object with a checksum mismatch', async () => {
    const store = await open();
    const plain = await writeSnapshot(store, 'plain', 50);
    const gz = await writeSnapshot(store, 'gz', 50, { compress: 'gzip' });
    const key = (id: string, m: Manifest): string => `${store.root}${id}/${m.files[0]!.path}`;

    const original = await client.send(new GetObjectCommand({ Bucket: bucket(), Key: key('plain', plain) }));
    const text = await original.Body!.transformToString('utf8');
    await put(key('plain', plain), text.replace('"delay_s":7', '"delay_s":8'));
    const gzBytes = Buffer.from(
      await (
        await client.send(new GetObjectCommand({ Bucket: bucket(), Key: key('gz', gz) }))
      ).Body!.transformToByteArray(),
    );
    gzBytes[gzBytes.length >> 1]! ^= 0x55;
    await put(key('gz', gz), gzBytes);

    await store.list();
    await expect(drain(openSnapshotLines(store, 'plain', plain.files[0]!))).rejects.toBeInstanceOf(
      ChecksumMismatchError,
    );
    await expect(drain(openSnapshotLines(store, 'gz', gz.files[0]!))).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  it('should say which object is missing when a data file was deleted', async () => {
    const store = await open();
    const m = await writeSnapshot(store, 'gone', 5);
    await client.send(new DeleteObjectCommand({ Bucket: bucket(), Key: `${store.root}gone/${m.files[0]!.path}` }));
    await expect(drain(openSnapshotLines(store, 'gone', m.files[0]!))).rejects.toThrow(
      /attempt-[0-9a-f]+\/events\.ndjson, which the manifest of snapshot gone lists, is missing from s3:\/\/.*: restore the file/,
    );
  });

  it('should fail fast with a clear message, and without the secret, on a wrong key pair', async () => {
    const secret = 'definitely-not-the-secret-7f3a';
    for (const env of [
      { ...process.env, AWS_SECRET_ACCESS_KEY: secret },
      { ...process.env, AWS_ACCESS_KEY_ID: 'nobody-known', AWS_SECRET_ACCESS_KEY: secret },
    ]) {
      const t0 = Date.now();
      const err = (await open(uniquePrefix('creds'), env).catch((e: unknown) => e)) as EventfulError;
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(err).toBeInstanceOf(EventfulError);
      // Settings a retry will not change: exit 2.
      expect(err.exitCode).toBe(ExitCode.Usage);
      expect(err.code).toBe('s3_credentials');
      expect(err.message).toMatch(/refused the key pair \((SignatureDoesNotMatch|InvalidAccessKeyId)\)/);
      expect(err.message).toContain('AWS_SECRET_ACCESS_KEY');
      expect(err.message).not.toContain(secret);
    }
  });

  it('should fail fast with a clear message when the endpoint is unreachable', async () => {
    const t0 = Date.now();
    const err = (await open(uniquePrefix('down'), { ...process.env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' }).catch(
      (e: unknown) => e,
    )) as EventfulError;
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(EventfulError);
    expect(err.code).toBe('s3_unreachable');
    expect(err.message).toContain('cannot reach the object store at http://127.0.0.1:1 (ECONNREFUSED)');
    expect(err.message).toContain('AWS_ENDPOINT_URL_S3');
  });

  it('should give up within its open timeout on an endpoint that accepts connections but never answers', async () => {
    const silent = net.createServer(() => undefined); // takes the connection, never says a word
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const t0 = Date.now();
      const err = (await open(uniquePrefix('silent'), {
        ...process.env,
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      }).catch((e: unknown) => e)) as EventfulError;
      expect(Date.now() - t0).toBeLessThan(OPEN_TIMEOUT_MS + 5_000);
      expect(err).toBeInstanceOf(EventfulError);
      expect(err.code).toBe('s3_unreachable');
      expect(err.message).toContain(`cannot reach the object store at http://127.0.0.1:${port} (TimeoutError)`);
    } finally {
      silent.close();
    }
  });

  it('should say so when the bucket does not exist', async () => {
    const err = (await openSnapshotStore('s3://no-such-bucket-eventful/x').catch((e: unknown) => e)) as EventfulError;
    expect(err.code).toBe('s3_no_such_bucket');
    expect(err.exitCode).toBe(ExitCode.Usage);
    expect(err.message).toContain(describeEndpoint(s3SettingsFromEnv(process.env)));
  });

  it('should list more than a thousand snapshots across pages, oldest first', async () => {
    const store = await open();
    const COUNT = 1_100;
    const base = Date.parse('2026-01-01T00:00:00Z');
    const ids = Array.from({ length: COUNT }, (_, i) => `s${String(i).padStart(5, '0')}`);
    // Manifests written directly (tiny snapshots with no data files): listing reads only manifests.
    // Start times run backwards, so the order must come from the manifests, not from the keys.
    const manifestOf = (id: string, i: number): Manifest => ({
      formatVersion: SNAPSHOT_FORMAT_VERSION,
      snapshotId: id,
      runId: 'bulk',
      groupId: 'g',
      startedAt: new Date(base - i * 60_000).toISOString(),
      completedAt: new Date(base).toISOString(),
      topics: [],
      partitions: [],
      counts: { messages: 0, events: 0, rejected: 0, rejectedByReason: {}, eventsByTopic: {} },
      files: [],
    });
    for (let i = 0; i < COUNT; i += 50)
      await Promise.all(
        ids
          .slice(i, i + 50)
          .map((id, j) => put(`${store.root}${id}/${MANIFEST_FILE}`, JSON.stringify(manifestOf(id, i + j)))),
      );
    await put(`${store.root}zz-incomplete/attempt-x/events.ndjson`, '{}\n');
    const t0 = Date.now();
    const listing = await store.list();
    const ms = Date.now() - t0;
    expect(listing.complete).toHaveLength(COUNT);
    expect(listing.complete[0]!.id).toBe(ids[COUNT - 1]);
    expect(listing.complete.map((c) => c.id)).toEqual([...ids].reverse());
    expect(listing.incomplete).toEqual(['zz-incomplete']);
    expect(ms).toBeLessThan(60_000);

    // Names in key order, from an id on (inclusive), the first `limit`: what a load's listing floor and sweep ask,
    // each from where it starts (one request for the last 50 of 1,101, where a listing from the start takes two).
    const requests = listingRequests();
    const counted = await storeWith(requests.client, store.root);
    const opened = requests.count(); // opening a store makes one
    const all = [...ids, 'zz-incomplete'];
    expect(await counted.listIds()).toEqual(all);
    expect(requests.count() - opened).toBe(2);
    expect(await counted.listIds({ from: 's01050' })).toEqual(all.slice(1050));
    expect(requests.count() - opened).toBe(3);
    expect(await counted.listIds({ from: '', limit: 1000 })).toEqual(ids.slice(0, 1000));
    expect(await counted.listIds({ from: 's00990', limit: 20 })).toEqual(ids.slice(990, 1010));
    expect(requests.count() - opened).toBe(5);
    // Between two ids, in the order of folders: `s00990-/` < `s00990/` < `s00990_/` < `s00991/`.
    expect(await counted.listIds({ from: 's00990-', limit: 3 })).toEqual(ids.slice(990, 993));
    expect(await counted.listIds({ from: 's00990_', limit: 3 })).toEqual(ids.slice(991, 994));
  });

  it('should list ids in the order of their folders, so that pages from an id on miss none', async () => {
    const store = await open();
    // `a-copy/` and `a.bak/` sort before `a/` (`-` and `.` before `/`), though `a` sorts before `a-copy`.
    const ids = ['a', 'a-copy', 'a.bak', 'ab', 'b', 'b-copy'];
    await Promise.all(ids.map((id) => put(`${store.root}${id}/${MANIFEST_FILE}`, '{}')));
    const ordered = ['a-copy', 'a.bak', 'a', 'ab', 'b-copy', 'b'];
    expect(await store.listIds()).toEqual(ordered);
    expect([...ids].sort(compareIds)).toEqual(ordered);
    // Pages of two from the last id of the one before (inclusive), as the sweep goes on: every id, in order.
    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let from = '';
      for (let page = 0; page < ids.length + 1; page++) {
        const got = await store.listIds({ from, limit: limit + 1 });
        for (const id of got) if (!seen.includes(id)) seen.push(id);
        if (got.length < limit + 1) break;
        from = got.at(-1)!;
      }
      expect(seen, `pages of ${limit + 1}`).toEqual(ordered);
    }
    expect(await store.listIds({ from: 'a' })).toEqual(['a', 'ab', 'b-copy', 'b']);
  });

  it('should upload a large file in parts and read it back verified', async () => {
    const prefix = uniquePrefix('large');
    used.push(prefix);
    // Our own client, instrumented to count the requests the store makes.
    const commands: string[] = [];
    const counted = testS3Client();
    counted.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    const store = await S3SnapshotStore.open(
      counted,
      { bucket: bucket(), prefix },
      describeEndpoint(s3SettingsFromEnv(process.env)),
    );
    stores.push(store);
    const payload = 'x'.repeat(900);
    const TARGET_BYTES = 40 * MiB;
    const count = Math.ceil(TARGET_BYTES / (JSON.stringify(event(0, payload)).length + 1));
    const manifest = await writeSnapshot(store, 'big', count, { payload });
    const events = manifest.files.find((f) => f.name === EVENTS_FILE)!;
    expect(events.bytes).toBeGreaterThanOrEqual(TARGET_BYTES);
    expect(commands.filter((c) => c === 'UploadPartCommand').length).toBe(Math.ceil(events.bytes / UPLOAD_PART_BYTES));
    expect(commands).toContain('CompleteMultipartUploadCommand');
    const ref = (await store.list()).complete[0]!;
    expect(
      await drain(
        openSnapshotLines(
          store,
          'big',
          ref.manifest.files.find((f) => f.name === EVENTS_FILE)!,
        ),
      ),
    ).toBe(count);
  });

  it('should keep memory flat while uploading a file several times larger than it', async () => {
    const prefix = uniquePrefix('memory');
    used.push(prefix);
    const FILE_MIB = 160;
    // A separate process, so that memory live after a full collection can be sampled (--expose-gc).
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--expose-gc',
        path.join(ROOT, 'test/helpers/upload-memory.mjs'),
        `s3://${bucket()}/${prefix}`,
        String(FILE_MIB),
      ],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, timeout: 110_000 },
    );
    const m = JSON.parse(stdout.trim().split('\n').pop()!) as {
      fileBytes: number;
      livePeakBytes: number;
      baselineBytes: number;
    };
    expect(m.fileBytes).toBeGreaterThanOrEqual(FILE_MIB * MiB);
    // The part buffers (reused) and a chunk or two, never the file: about 19 MB live here, whatever the size.
    expect(m.livePeakBytes - m.baselineBytes).toBeLessThan((UPLOAD_QUEUE + 1) * UPLOAD_PART_BYTES + 10 * MiB);
  });
});

describe('S3PartWriter against a real s3proxy', () => {
  const client = testS3Client();
  const prefix = uniquePrefix('parts');
  const LIMITS = { partBytes: UPLOAD_PART_BYTES, queue: 2 };
  const target = (key: string, bucketName = testBucket()) => ({
    client,
    bucket: bucketName,
    key: prefix + key,
    contentType: 'application/x-ndjson',
    describe: (err: unknown) => new Error(`uploading ${key}: ${(err as Error).name}`),
  });
  const write = async (w: S3PartWriter, bytes: number): Promise<void> => {
    const chunk = Buffer.alloc(300 * 1024, 0x61);
    for (let at = 0; at < bytes; at += chunk.length) {
      if (!w.write(chunk.subarray(0, Math.min(chunk.length, bytes - at))))
        await new Promise((resolve) => w.once('drain', resolve));
    }
  };
  const finished = (w: S3PartWriter): Promise<void> =>
    new Promise((resolve, reject) => {
      w.once('finish', resolve);
      w.once('error', reject);
    });
  const pendingUploads = async (): Promise<number> =>
    (await client.send(new ListMultipartUploadsCommand({ Bucket: testBucket(), Prefix: prefix }))).Uploads?.length ?? 0;

  afterAll(async () => {
    await clearPrefix(client, prefix);
    client.destroy();
  });

  it('should store files of no bytes, less than a part, exactly a part and several parts, byte for byte', async () => {
    for (const size of [0, 1000, UPLOAD_PART_BYTES, 3 * UPLOAD_PART_BYTES + 12345]) {
      const w = new S3PartWriter(target(`size-${size}`), LIMITS);
      const done = finished(w);
      await write(w, size);
      w.end();
      await done;
      const got = await client.send(new GetObjectCommand({ Bucket: testBucket(), Key: `${prefix}size-${size}` }));
      const body = Buffer.from(await got.Body!.transformToByteArray());
      expect(body.length).toBe(size);
      expect(body.every((b) => b === 0x61)).toBe(true);
    }
    expect(await pendingUploads()).toBe(0);
  });

  it('should abort its multipart upload when destroyed midway, leaving no parts behind', async () => {
    const w = new S3PartWriter(target('destroyed'), LIMITS);
    w.on('error', () => undefined);
    await write(w, 2 * UPLOAD_PART_BYTES + 1000);
    // Parts are uploading or uploaded: the multipart upload exists.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await pendingUploads()).toBe(1);
    await new Promise((resolve) => {
      w.once('close', resolve);
      w.destroy(new Error('stopped'));
    });
    expect(await pendingUploads()).toBe(0);
    expect(await listKeys(client, prefix + 'destroyed')).toEqual([]);
  });

  it('should fail, not hang, and leave no parts behind when its part uploads fail while more is written', async () => {
    // The store accepts the multipart upload but every part fails: the buffers of failed parts leave the rotation.
    const failing = testS3Client();
    failing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand')
          throw Object.assign(new Error('part refused'), { name: 'PartRefused' });
        return next(args);
      },
      { step: 'initialize', name: 'failParts' },
    );
    const w = new S3PartWriter({ ...target('failing-parts'), client: failing }, LIMITS);
    w.on('error', () => undefined);
    const chunk = Buffer.alloc(UPLOAD_PART_BYTES, 0x61);
    const writes = (async () => {
      for (let i = 0; i < 6; i++)
        await new Promise<void>((resolve, reject) => w.write(chunk, (err) => (err ? reject(err) : resolve())));
      return 'wrote everything';
    })().catch((err: Error) => err.message);
    const outcome = await Promise.race([writes, new Promise((r) => setTimeout(() => r('hangs'), 15_000))]);
    expect(outcome).toBe('uploading failing-parts: PartRefused');
    await new Promise((resolve) => (w.closed ? resolve(undefined) : w.once('close', resolve)));
    expect(await pendingUploads()).toBe(0);
    failing.destroy();
  });

  it('should fail with the described error when the store refuses the upload', async () => {
    const w = new S3PartWriter(target('nowhere', 'no-such-bucket-eventful'), LIMITS);
    const done = finished(w);
    await write(w, UPLOAD_PART_BYTES + 10).catch(() => undefined);
    w.end();
    await expect(done).rejects.toThrow(/^uploading nowhere: NoSuchBucket$/);
  });
});

describe('eventful-prune against a real s3proxy', () => {
  let client: S3Client;
  const prefix = uniquePrefix('prune-cli');

  beforeAll(async () => {
    client = testS3Client();
    await client.send(
      new PutObjectCommand({
        Bucket: testBucket(),
        Key: `${prefix}killed/attempt-dead/events.ndjson`,
        Body: '{"a":1}\n',
      }),
    );
  });

  afterAll(async () => {
    await clearPrefix(client, prefix);
    client.destroy();
  });

  it('should list in a dry run, then remove, then exit 99 with nothing left to prune', async () => {
    const location = `s3://${testBucket()}/${prefix}`;
    // The object was written just now: a grace of 0 with a moment's wait puts it past the cutoff.
    await new Promise((r) => setTimeout(r, 1_100));
    const dry = await runCommand('prune', ['--snapshots', location, '--grace', '0', '--dry-run']);
    expect(dry.code).toBe(ExitCode.Ok);
    expect(dry.summary).toMatchObject({ command: 'prune', status: 'ok', dryRun: true, found: 1, removed: 0 });
    expect(dry.stderr).toContain('WARN --grace 0ms is shorter than an hour: the files of an extract still running');
    expect(await listKeys(client, prefix)).toHaveLength(1);

    const real = await runCommand('prune', ['--snapshots', location, '--grace', '0']);
    expect(real.code).toBe(ExitCode.Ok);
    expect(real.summary).toMatchObject({ status: 'ok', dryRun: false, found: 1, removed: 1 });
    expect(real.summary).toMatchObject({ listing: { from: null, objects: 1, swept: 0 } });
    // What is left is the floor the next run lists from.
    expect(await listKeys(client, prefix)).toEqual([`${prefix}${PRUNE_FLOOR_OBJECT}`]);

    const again = await runCommand('prune', ['--snapshots', location, '--grace', '0']);
    expect(again.code).toBe(ExitCode.NothingToDo);
    expect(again.summary).toMatchObject({ status: 'nothing_to_prune', listing: { from: expect.any(String) } });
  });

  it('should exit 2 for a malformed location and for a wrong key pair, never printing the secret', async () => {
    const bad = await runCommand('prune', ['--snapshots', 's3://']);
    expect(bad.code).toBe(ExitCode.Usage);
    expect(bad.summary).toMatchObject({ status: 'failed', error: { code: new UsageError('x').code } });

    const secret = 'wrong-secret-for-the-cli-91c2';
    const denied = await runCommand('prune', ['--snapshots', `s3://${testBucket()}/${prefix}`], {
      env: { AWS_SECRET_ACCESS_KEY: secret },
      timeoutMs: 20_000,
    });
    expect(denied.code).toBe(ExitCode.Usage);
    expect(denied.summary).toMatchObject({ status: 'failed', error: { code: 's3_credentials' } });
    expect(denied.stderr + denied.stdout).not.toContain(secret);
  });
});
