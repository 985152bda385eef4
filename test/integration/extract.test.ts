import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  committedOffsets,
  consumeAllWithKcat,
  createTopic,
  produce,
  produceWithKcat,
  produceWithPython,
  saslListener,
  uniqueTopic,
  type TestMessage,
} from '../helpers/kafka.js';
import {
  arrival,
  eventLines,
  extract,
  produceRawWithPython,
  rejectedLines,
  schemasFor,
  snapshots,
  startExtract,
  summaryOf,
  tempDir,
  waitUntilStopped,
} from './extract-fixtures.js';
import { runCommand } from '../helpers/run.js';

/** No commit yet: what the python client reports for a partition of a group that never committed. */
const NO_COMMIT = -1001;

/** extract's flags to drain `topics` (comma-separated) as `group` into `root`, with the schemas in `schemas`. */
function drainArgs(topics: string, group: string, root: string, schemas: string): string[] {
  return ['--topics', topics, '--group-id', group, '--out', root, '--schemas', schemas];
}

/** A fresh topic, schemas folder, snapshot root and group for one test, and extract's flags to drain them. */
async function setup(partitions = 6, prefix = 'extract') {
  const topic = uniqueTopic(prefix);
  await createTopic(topic, partitions);
  const [schemas, root, group] = [await schemasFor([topic]), await tempDir('snapshots'), `g-${randomUUID()}`];
  return { topic, schemas, root, group, args: drainArgs(topic, group, root, schemas) };
}

function keyed(values: string[], offset = 0): TestMessage[] {
  return values.map((value, i) => ({ value, key: `BL-${1000 + ((offset + i) % 50)}` }));
}

function arrivals(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify(arrival(from + i)));
}

async function listRoot(root: string): Promise<string[]> {
  return readdir(root).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

describe('extract against the real broker', () => {
  it('should tile each partition with the snapshots of three runs, with no gap and no overlap', async () => {
    const { topic, root, group, args } = await setup(6, 'extract-resume');
    const produced: string[] = [];
    for (let run = 0; run < 3; run++) {
      const values = arrivals(300, run * 300);
      produced.push(...values);
      await produce(topic, keyed(values, run * 300));
      // Each run decodes differently: one decode thread (the default), two, none.
      const threads = ['1', '2', '0'][run]!;
      const r = await extract([...args, '--run-id', `run-${run}`, '--decode-threads', threads, '--batch-size', '40']);
      expect(r.code, r.stderr).toBe(0);
      expect(summaryOf(r).counts.events).toBe(300);
    }
    const manifests = await snapshots(root);
    expect(manifests.map((m) => m.runId)).toEqual(['run-0', 'run-1', 'run-2']);
    const committed = await committedOffsets(group, topic, 6);
    for (let p = 0; p < 6; p++) {
      const ranges = manifests.flatMap((m) => m.partitions.filter((r) => r.partition === p));
      let next = 0;
      for (const r of ranges) {
        expect(r.firstOffset).toBe(next);
        expect(r.lastOffset - r.firstOffset + 1).toBe(r.messages);
        next = r.lastOffset + 1;
      }
      expect(committed[p]).toBe(next);
    }
    const ids = (await Promise.all(manifests.map((m) => eventLines(root, m.snapshotId))))
      .flat()
      .map((e) => e.value['event_id']);
    expect(ids.length).toBe(900);
    expect(new Set(ids)).toEqual(new Set(produced.map((v) => (JSON.parse(v) as { event_id: string }).event_id)));
    // Each file's sha256 (computed on a hash thread) and size in the manifest are the stored file's.
    for (const m of manifests)
      for (const f of m.files) {
        const stored = await readFile(path.join(root, m.snapshotId, f.name));
        expect([f.bytes, f.sha256]).toEqual([stored.length, createHash('sha256').update(stored).digest('hex')]);
      }
  });

  it('should read the same events again after being killed mid-drain, before anything was committed', async () => {
    const { topic, root, group, args: drain } = await setup(6, 'extract-crash');
    await produce(topic, keyed(arrivals(400)));
    const args = [...drain, '--batch-size', '20'];
    const killed = await extract(args, { env: { EVENTFUL_TEST_CRASH_AT: 'mid-drain' } });
    expect(killed.signal).toBe('SIGKILL');
    expect(await snapshots(root)).toEqual([]);
    expect((await listRoot(root)).every((n) => n.startsWith('.tmp-'))).toBe(true);
    expect(await committedOffsets(group, topic, 6)).toEqual(Array(6).fill(NO_COMMIT));

    const again = await extract(args);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again).counts.events).toBe(400);
    expect((await snapshots(root)).length).toBe(1);
  });

  it('should lose nothing when killed after the snapshot was renamed into place but before the commit, or after it', async () => {
    const { topic, root, group, args: drain } = await setup(6, 'extract-crash2');
    const values = arrivals(200);
    await produce(topic, keyed(values));
    const args = [...drain, '--run-id', 'same-run'];
    const killed = await extract(args, { env: { EVENTFUL_TEST_CRASH_AT: 'after-publish' } });
    expect(killed.signal).toBe('SIGKILL');
    const [first] = await snapshots(root);
    expect(first?.counts.events).toBe(200);
    expect(await committedOffsets(group, topic, 6)).toEqual(Array(6).fill(NO_COMMIT));

    // The retry (same Airflow run id) reads the same events into a snapshot of its own; the first stays as it was.
    const retry = await extract(args);
    expect(retry.code, retry.stderr).toBe(0);
    const both = await snapshots(root);
    expect(both.length).toBe(2);
    expect(both[0]).toEqual(first);
    expect(both[1]!.partitions).toEqual(first!.partitions);

    await produce(topic, keyed(arrivals(50, 200)));
    const afterCommit = await extract(args, { env: { EVENTFUL_TEST_CRASH_AT: 'after-commit' } });
    expect(afterCommit.signal).toBe('SIGKILL');
    expect((await snapshots(root)).length).toBe(3);
    const nothing = await extract(args);
    expect(nothing.code).toBe(99);

    const all = (await Promise.all((await snapshots(root)).map((m) => eventLines(root, m.snapshotId)))).flat();
    expect(new Set(all.map((e) => e.value['event_id'])).size).toBe(250);
  });

  it('should stop at the high watermark read at the start while a producer keeps writing', async () => {
    const { topic, root, group, args } = await setup(6, 'extract-busy');
    await produce(topic, keyed(arrivals(3000)));
    let producing = true;
    let extra = 0;
    const producer = (async () => {
      while (producing) {
        await produce(topic, keyed(arrivals(50, 10_000 + extra), extra));
        extra += 50;
      }
    })();
    const r = await extract([...args, '--batch-size', '25']);
    producing = false;
    await producer;
    expect(r.code, r.stderr).toBe(0);
    const [m] = await snapshots(root);
    for (const p of m!.partitions) expect(p.lastOffset + 1).toBe(p.highWatermark);
    const committed = await committedOffsets(group, topic, 6);
    for (const p of m!.partitions) expect(committed[p.partition]).toBe(p.highWatermark);
    expect(m!.counts.messages).toBeGreaterThanOrEqual(3000);
    expect(extra).toBeGreaterThan(0);
    // What the producer wrote after the start is left for the next run, which picks up exactly there.
    const next = await extract(args);
    expect(next.code, next.stderr).toBe(0);
    expect(m!.counts.messages + summaryOf(next).counts.messages).toBe(3000 + extra);
  });

  it('should quarantine every kind of bad input, from three different clients, with its reason and raw bytes', async () => {
    const { topic, root, args } = await setup(1, 'extract-bad');
    const big = JSON.stringify(arrival(1, { station_name: 'x'.repeat(900_000) }));
    const noStation = arrival(2);
    delete noStation['station_id'];
    const js: Array<[TestMessage | 'python-empty', string | undefined]> = [
      [{ value: JSON.stringify(arrival(0)), key: 'BL-1', headers: [{ trace: Buffer.from([0xff, 0x00]) }] }, undefined],
      [{ value: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]) }, 'not_utf8'],
      [{ value: 'not json {' }, 'not_json'],
      [{ value: '[1,2,3]' }, 'not_object'],
      ['python-empty', 'empty_value'],
      [{ value: null, key: 'BL-gone' }, 'tombstone'],
      [{ value: JSON.stringify(noStation) }, 'schema_violation'],
      [{ value: JSON.stringify(arrival(3, { station_name: 'nul\u0000here' })) }, 'nul_character'],
      [{ value: big }, undefined],
    ];
    // One message at a time, so offsets follow the order above.
    for (const [m] of js)
      await (m === 'python-empty' ? produceRawWithPython(topic, [Buffer.alloc(0)]) : produce(topic, [m]));
    await produceWithKcat(topic, [
      JSON.stringify(arrival(4)),
      'kcat: not json',
      JSON.stringify({ event_type: 'train_arrival' }),
    ]);
    await produceWithPython(topic, [arrival(5), [1, 2], { x: 1 }]);
    const expected = [
      ...js.map(([, reason]) => reason),
      ...[undefined, 'not_json', 'schema_violation'],
      ...[undefined, 'not_object', 'schema_violation'],
    ];

    const r = await extract([...args, '--max-rejected-ratio', '1']);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s.counts).toMatchObject({
      messages: expected.length,
      events: 4,
      rejected: expected.length - 4,
      tombstones: 1,
      rejectedByReason: {
        not_utf8: 1,
        not_json: 2,
        not_object: 2,
        empty_value: 1,
        tombstone: 1,
        schema_violation: 3,
        nul_character: 1,
      },
    });
    const [m] = await snapshots(root);
    const events = await eventLines(root, m!.snapshotId);
    const rejected = await rejectedLines(root, m!.snapshotId);
    const byOffset = new Map<number, string | undefined>([
      ...events.map((e) => [e.offset, undefined] as const),
      ...rejected.map((x) => [x.offset, x.reason.code] as const),
    ]);
    expect(byOffset.size).toBe(expected.length);
    expect(expected.map((_, offset) => byOffset.get(offset))).toEqual(expected);
    // Raw bytes are kept exactly.
    const raw = (offset: number): string | null => rejected.find((x) => x.offset === offset)!.value_base64;
    expect(Buffer.from(raw(1)!, 'base64')).toEqual(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]));
    expect(raw(4)).toBe(''); // empty value
    expect(raw(5)).toBeNull(); // tombstone
    expect(rejected.find((x) => x.offset === 6)!.reason.issues).toEqual([
      { code: 'required', path: '/', message: 'missing required property "station_id"' },
    ]);
    // The big event and the binary header come through intact.
    expect(JSON.stringify(events.find((e) => e.offset === 8)!.value)).toBe(big);
    expect(events.find((e) => e.offset === 0)).toMatchObject({
      key: 'BL-1',
      headers: [{ key: 'trace', value: '/wA=', encoding: 'base64' }],
    });
  });

  it('should fail without committing or publishing when rejects exceed --max-rejected-ratio', async () => {
    const { topic, root, group, args } = await setup(6, 'extract-ratio');
    await produce(topic, keyed(arrivals(8)));
    await produceWithKcat(topic, ['garbage 1', 'garbage 2']);
    const r = await extract(args);
    expect(r.code).toBe(1);
    const s = summaryOf(r);
    expect(s.status).toBe('failed');
    expect(s.error.code).toBe('too_many_rejected');
    expect(s.rejectedRatio).toBeCloseTo(0.2);
    expect(s.rejectedSamples.map((x: { reason: string }) => x.reason)).toEqual(['not_json', 'not_json']);
    expect(r.stderr).toMatch(/too many rejected messages: 2 of 10/);
    expect(await listRoot(root)).toEqual([]);
    expect(await committedOffsets(group, topic, 6)).toEqual(Array(6).fill(NO_COMMIT));

    const looser = await extract([...args, '--max-rejected-ratio', '0.25']);
    expect(looser.code, looser.stderr).toBe(0);
    expect(summaryOf(looser).counts).toMatchObject({ events: 8, rejected: 2 });
  });

  it('should leave the committed offsets and the snapshot root unchanged in a dry run, and say what it would write', async () => {
    const { topic, root, group, args } = await setup(6, 'extract-dry');
    await produce(topic, keyed(arrivals(120)));
    const dry = await extract([...args, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const s = summaryOf(dry);
    expect(s).toMatchObject({ status: 'ok', dryRun: true, committed: false, snapshot: null, counts: { events: 120 } });
    expect(s.partitions.reduce((n: number, p: { commitOffset: number | null }) => n + (p.commitOffset ?? 0), 0)).toBe(
      120,
    );
    expect(await listRoot(root)).toEqual([]);
    expect(await committedOffsets(group, topic, 6)).toEqual(Array(6).fill(NO_COMMIT));
    const real = await extract(args);
    expect(summaryOf(real).counts.events).toBe(120);
  });

  it('should drain over SASL/PLAIN with the password from the environment, and never print it', async () => {
    const { topic, args } = await setup(3, 'extract-sasl');
    await produce(topic, keyed(arrivals(30)));
    const sasl = saslListener();
    const password = sasl.env['EVENTFUL_KAFKA__SASL_PASSWORD']!;
    const r = await extract([...args, '--bootstrap-servers', sasl.bootstrap], { env: sasl.env });
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r).counts.events).toBe(30);
    expect(r.stderr + r.stdout).not.toContain(password);
    expect(r.stderr).toContain('"sasl.password":"***"');
  });

  it('should drain two topics, one of six partitions, in one run', async () => {
    const a = uniqueTopic('extract-two-a');
    const b = uniqueTopic('extract-two-b');
    await createTopic(a, 6);
    await createTopic(b, 3);
    const schemas = await schemasFor([a, b]);
    const root = await tempDir('snapshots');
    const group = `g-${randomUUID()}`;
    await produce(a, keyed(arrivals(240)));
    await produce(b, keyed(arrivals(90)));
    const r = await extract(drainArgs(`${a},${b}`, group, root, schemas));
    expect(r.code, r.stderr).toBe(0);
    const [m] = await snapshots(root);
    expect(m!.topics).toEqual([a, b].sort());
    expect(m!.counts.eventsByTopic).toEqual({ [a]: 240, [b]: 90 });
    expect(m!.partitions.filter((p) => p.topic === a).length).toBe(6);
    expect(m!.partitions.filter((p) => p.topic === b).length).toBe(3);
    const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0);
    expect(sum(await committedOffsets(group, a, 6))).toBe(240);
    expect(sum(await committedOffsets(group, b, 3))).toBe(90);
  });

  it('should read and commit only the partitions named by --partitions', async () => {
    const { topic, schemas, root, group } = await setup(6, 'extract-parts');
    await produce(topic, keyed(arrivals(300)));
    const r = await extract(['--partitions', `${topic}:0-2`, '--group-id', group, '--out', root, '--schemas', schemas]);
    expect(r.code, r.stderr).toBe(0);
    const [m] = await snapshots(root);
    expect([...new Set(m!.partitions.map((p) => p.partition))].every((p) => p <= 2)).toBe(true);
    const committed = await committedOffsets(group, topic, 6);
    expect(committed.slice(3)).toEqual([NO_COMMIT, NO_COMMIT, NO_COMMIT]);
    expect(committed.slice(0, 3).every((c) => c >= 0)).toBe(true);
  });

  it('should exit 99 and write nothing when there is nothing new, yet make the folder that load then reads', async () => {
    const { topic, group, schemas } = await setup(6, 'extract-empty');
    // A first run on a new deployment: the topic is empty and the snapshot folder does not exist yet.
    const root = path.join(await tempDir('snapshots'), 'first-run');
    const args = drainArgs(topic, group, root, schemas);
    const empty = await extract(args);
    expect(empty.code).toBe(99);
    expect(summaryOf(empty).status).toBe('nothing_new');
    expect((await stat(root)).isDirectory()).toBe(true);
    expect(await listRoot(root)).toEqual([]);
    // The load that follows a skipped extract in the DAG finds nothing to load, not a missing folder.
    const load = await runCommand('load', ['--snapshots', root, '--db-schema', `unused_${randomUUID().slice(0, 8)}`]);
    expect(load.code, load.stderr).toBe(99);
    await produce(topic, keyed(arrivals(10)));
    expect((await extract(args)).code).toBe(0);
    const again = await extract(args);
    expect(again.code).toBe(99);
    expect((await snapshots(root)).length).toBe(1);
  });

  it('should exit 2 with a clear message for an unknown topic, a missing group id or a bad flag', async () => {
    const root = await tempDir('snapshots');
    const unknown = await extract(['--topics', 'no-such-topic-here', '--group-id', 'g', '--out', root]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown topic "no-such-topic-here"/);
    expect(summaryOf(unknown).error).toMatchObject({ code: 'usage' });
    const noGroup = await extract(['--topics', 't', '--out', root]);
    expect(noGroup.code).toBe(2);
    expect(noGroup.stderr).toMatch(/--group-id is required/);
    const flags = ['--topics', 't', '--group-id', 'g', '--out', root];
    const negative = await extract([...flags, '--max-messages', '-5']);
    expect(negative.code).toBe(2);
    expect(negative.stderr).toMatch(/--max-messages must be a positive integer/);
    const secret = await extract([...flags, '--kafka', 'sasl.password=hunter2']);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/EVENTFUL_KAFKA__SASL_PASSWORD/);
  });

  it('should exit 1 within a bounded time, committing nothing, when the broker is unreachable', async () => {
    const root = await tempDir('snapshots');
    const started = Date.now();
    const r = await extract([
      '--bootstrap-servers',
      '127.0.0.1:1',
      '--connect-timeout',
      '5s',
      '--topics',
      't',
      '--group-id',
      'g',
      '--out',
      root,
    ]);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/cannot reach the Kafka broker at 127\.0\.0\.1:1 within 5000 ms/);
    expect(summaryOf(r).error.code).toBe('broker_unreachable');
    expect(await listRoot(root)).toEqual([]);
  });

  it('should stop on SIGTERM, discard the snapshot and commit nothing', async () => {
    const { topic, root, group, args } = await setup(6, 'extract-sigterm');
    await produceWithKcat(topic, arrivals(20_000));
    const { child, done } = startExtract([...args, '--batch-size', '10']);
    await new Promise<void>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => d.toString().includes('draining') && resolve());
    });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(1);
    expect(summaryOf(r).error.code).toBe('interrupted');
    expect(await listRoot(root)).toEqual([]);
    expect(await committedOffsets(group, topic, 6)).toEqual(Array(6).fill(NO_COMMIT));
  });

  it('should finish publishing and committing when SIGTERM arrives after the snapshot is published', async () => {
    const { topic, root, group, args } = await setup(2, 'extract-sigterm-late');
    await produce(topic, keyed(arrivals(50)));
    const { child, done } = startExtract(args, { EVENTFUL_TEST_STOP_AT: 'after-publish' });
    await waitUntilStopped(child.pid!);
    child.kill('SIGTERM');
    child.kill('SIGCONT');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /SIGTERM: the snapshot is being published and its offsets committed; finishing that first/,
    );
    expect(r.stderr).not.toMatch(/discarded/);
    expect(summaryOf(r).committed).toBe(true);
    expect(await listRoot(root)).toHaveLength(1);
    expect((await committedOffsets(group, topic, 2)).reduce((a, b) => a + b, 0)).toBe(50);
  });

  it('should never print a secret from the environment', async () => {
    const { topic, args } = await setup(1, 'extract-secret');
    await produce(topic, keyed(arrivals(3)));
    const r = await extract(args, {
      env: {
        EVENTFUL_KAFKA__SASL_PASSWORD: 'hunter2-do-not-print',
        EVENTFUL_KAFKA_CONFIG: JSON.stringify({ 'sasl.username': 'me', 'ssl.key.password': 'hunter2-do-not-print' }),
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/hunter2/);
    expect(r.stderr).toMatch(/"sasl.password":"\*\*\*"/);
  });

  it('should snapshot exactly what an independent consumer reads', async () => {
    const { topic, root, args } = await setup(6, 'extract-kcat');
    await produceWithKcat(topic, arrivals(500));
    const r = await extract(args);
    expect(r.code, r.stderr).toBe(0);
    const [m] = await snapshots(root);
    const ours = (await eventLines(root, m!.snapshotId)).map((e) => JSON.stringify(e.value)).sort();
    expect(ours).toEqual((await consumeAllWithKcat(topic)).sort());
  });
});
