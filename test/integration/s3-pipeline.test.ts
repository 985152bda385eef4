import { GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventfulError, ExitCode } from '../../src/basics/errors.js';
import type { Logger } from '../../src/basics/log.js';
import type { CommandResult } from '../../src/cli/run-command.js';
import { resolveExtractSettings } from '../../src/config/extract-settings.js';
import { InlineDecoder } from '../../src/extract/decode-pool.js';
import { runExtract } from '../../src/extract/run-extract.js';
import { StopSignal } from '../../src/extract/stop-signal.js';
import { KafkaConsumerSource } from '../../src/kafka/consumer-adapter.js';
import { SchemaRegistry } from '../../src/schema/registry.js';
import { MANIFEST_FILE, parseManifest, snapshotId } from '../../src/snapshot/format.js';
import { PRUNE_FLOOR_OBJECT } from '../../src/snapshot/prune-floor.js';
import { openSnapshotStore } from '../../src/snapshot/open-store.js';
import { SnapshotExistsError } from '../../src/snapshot/store.js';
import { bootstrap, committedOffsets, createTopic, produce, uniqueTopic, type TestMessage } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand, type RunResult } from '../helpers/run.js';
import { clearPrefix, listKeys, testBucket, testS3Client, uniquePrefix } from '../helpers/s3.js';
import { arrival, extract, startExtract, summaryOf, tempDir as makeTempDir } from './extract-fixtures.js';

/**
 * extract → s3:// → load end to end, against the real s3proxy, Kafka and PostgreSQL the global setup started:
 * the same tables as through a directory, crashes during an upload and between the manifest and the commit,
 * retries of a run id, and wrong settings. Each test has its own topics, consumer groups, key prefix and
 * Postgres schemas.
 */

/** What the python client reports for a partition of a group that never committed. */
const NO_COMMIT = -1001;

/** Failures that mean a shared service was restarting (another engineer's fault campaign), not a bug. */
const TRANSIENT =
  /ECONNREFUSED|ECONNRESET|transport failure|all brokers? (are )?down|Not leader for partition|timed? ?out|shutting down|terminating connection|connection (terminated|lost)|the connection to PostgreSQL was lost|starting up|not queryable/i;

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Runs `attempt` again (up to 4 times, a few seconds apart) while it fails because a service is restarting. */
async function retrying<T>(attempt: () => Promise<T>, failedTransiently: (result: T) => boolean): Promise<T> {
  for (let i = 1; ; i++) {
    let result: T;
    try {
      result = await attempt();
    } catch (err) {
      if (i < 4 && TRANSIENT.test(String(err))) {
        await sleep(3_000 * i);
        continue;
      }
      throw err;
    }
    if (i < 4 && failedTransiently(result)) {
      await sleep(3_000 * i);
      continue;
    }
    return result;
  }
}

const transientRun = (r: RunResult): boolean => r.code === ExitCode.Failure && TRANSIENT.test(r.stderr);

/** extract, retried while a service restarts (nothing was committed then: the retry is just the next run). */
const extractRun = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  retrying(() => extract(args, { env, timeoutMs: 100_000 }), transientRun);
/** load, retried likewise (exactly once: a retry loads what the failed attempt did not commit). */
const loadRun = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  retrying(() => runCommand('load', args, { env, timeoutMs: 100_000 }), transientRun);
const committed = (group: string, topic: string, partitions: number): Promise<number[]> =>
  retrying(
    () => committedOffsets(group, topic, partitions),
    () => false,
  );

/** Temp folders this file made (schemas copies, a snapshot root), removed after it. */
const tempDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  tempDirs.push(dir);
  return dir;
}

/** The shipped schemas/, with each schema's x-warehouse.topics pointed at this test's topics. */
async function schemasFor(topics: { arrivals: string; incidents: string }): Promise<string> {
  const dir = await tempDir('s3-pipeline-schemas');
  for (const file of (await readdir(path.join(ROOT, 'schemas'))).filter((f) => f.endsWith('.schema.json'))) {
    const json = JSON.parse(await readFile(path.join(ROOT, 'schemas', file), 'utf8')) as {
      'x-warehouse': { table: string; topics: string[] };
    };
    const table = json['x-warehouse'].table;
    json['x-warehouse'].topics = [
      table === 'train_arrivals' ? topics.arrivals : table === 'incident_events' ? topics.incidents : uniqueTopic(),
    ];
    await writeFile(path.join(dir, file), JSON.stringify(json, null, 2));
  }
  return dir;
}

function keyed(values: Array<Record<string, unknown>>): TestMessage[] {
  return values.map((v) => ({ value: JSON.stringify(v), key: String(v['train_id']) }));
}

/** A logger that keeps what it is told, for in-process runs. */
function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`INFO ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    error: (m) => lines.push(`ERROR ${m}`),
  };
}

describe('extract → s3:// → load against real s3proxy, Kafka and PostgreSQL', () => {
  let s3: S3Client;
  const prefixes: string[] = [];
  const bucket = (): string => testBucket();

  function newPrefix(name: string): { prefix: string; location: string } {
    const prefix = uniquePrefix(`pipeline-${name}`);
    prefixes.push(prefix);
    return { prefix, location: `s3://${bucket()}/${prefix}` };
  }

  /**
   * Runs `fn` on a connection of its own, again on a new one while the server is restarting or ends sessions
   * (the fault campaign terminates backends): no connection is held between statements.
   */
  async function withDb<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    return retrying(
      async () => {
        const client = await connect();
        client.on('error', () => undefined); // a session ended by the server fails the statement in flight
        try {
          return await fn(client);
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      () => false,
    );
  }

  const query = <R extends pg.QueryResultRow>(sql: string): Promise<R[]> =>
    withDb(async (c) => (await c.query<R>(sql)).rows);
  const freshDbSchema = (name: string): Promise<string> => withDb((c) => freshSchema(c, name));

  /** Unfinished multipart uploads under a prefix. */
  async function uploadsUnder(prefix: string): Promise<string[]> {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket(), Prefix: prefix }));
    return (page.Uploads ?? []).map((u) => u.Key ?? '');
  }

  /** The complete snapshots under a prefix (those with a manifest), as stored: id → manifest text. */
  async function manifestsUnder(prefix: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const key of await listKeys(s3, prefix)) {
      const rest = key.slice(prefix.length).split('/');
      if (rest.length !== 2 || rest[1] !== MANIFEST_FILE) continue;
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
      out.set(rest[0]!, await got.Body!.transformToString('utf8'));
    }
    return out;
  }

  /** Train-arrival event ids in the warehouse, with how many rows there are. */
  async function warehouseIds(schema: string): Promise<{ ids: Set<string>; rows: number }> {
    const rows = await query<{ id: string }>(`SELECT event_id::text AS id FROM "${schema}".train_arrivals`);
    return { ids: new Set(rows.map((r) => r.id)), rows: rows.length };
  }

  beforeAll(async () => {
    s3 = testS3Client();
  });

  afterAll(async () => {
    for (const p of prefixes) await clearPrefix(s3, p).catch(() => undefined);
    s3?.destroy();
    for (const d of tempDirs) await rm(d, { recursive: true, force: true });
  });

  it('should give the same tables through s3:// as through a directory for the same events', async () => {
    const topics = { arrivals: uniqueTopic('s3p-arrivals'), incidents: uniqueTopic('s3p-incidents') };
    const sim = await retrying(
      () =>
        runCommand('simulate', [
          ...['--create-topics', '--arrivals-topic', topics.arrivals, '--incidents-topic', topics.incidents],
          ...['--seed', 's3-pipeline', '--duration', '2h', '--start', '2026-11-27T05:00:00Z'],
        ]),
      transientRun,
    );
    expect(sim.code, sim.stderr).toBe(0);
    const produced = sim.summary!['topics'] as Record<string, { messages: number }>;
    // A few bad messages too: both stores must carry rejected.ndjson into the quarantine the same way.
    await produce(topics.arrivals, [
      { value: 'not json {' },
      { value: JSON.stringify({ event_type: 'train_arrival' }) },
      { value: JSON.stringify(arrival(1, { dwell_seconds: -5 })) },
    ]);
    const schemas = await schemasFor(topics);
    const dir = await tempDir('s3-pipeline-dir');
    const { location } = newPrefix('same');
    const common = ['--topics', `${topics.arrivals},${topics.incidents}`, '--schemas', schemas];

    // Two consumer groups on the same topics: each store gets every event once.
    const [viaDir, viaS3] = await Promise.all([
      extractRun([...common, '--group-id', `g-dir-${randomUUID()}`, '--out', dir]),
      extractRun([...common, '--group-id', `g-s3-${randomUUID()}`, '--out', location]),
    ]);
    expect(viaDir.code, viaDir.stderr).toBe(0);
    expect(viaS3.code, viaS3.stderr).toBe(0);
    expect(summaryOf(viaS3).counts).toEqual(summaryOf(viaDir).counts);
    expect(summaryOf(viaS3).snapshot.path).toMatch(new RegExp(`^${location}`));
    expect(summaryOf(viaS3).counts.rejected).toBe(3);
    // Operators read these logs: no runtime warnings from the SDK in them.
    expect(viaS3.stderr).not.toMatch(/\(node:\d+\) \w*Warning/);

    const dbDir = await freshDbSchema('s3p_dir');
    const dbS3 = await freshDbSchema('s3p_s3');
    const [loadDir, loadS3] = await Promise.all([
      loadRun(['--snapshots', dir, '--db-schema', dbDir, '--schemas', schemas]),
      loadRun(['--snapshots', location, '--db-schema', dbS3, '--schemas', schemas]),
    ]);
    expect(loadDir.code, loadDir.stderr).toBe(0);
    expect(loadS3.code, loadS3.stderr).toBe(0);
    expect(loadS3.stderr).not.toMatch(/\(node:\d+\) \w*Warning/);
    expect(summaryOf(loadS3).totals).toEqual(summaryOf(loadDir).totals);

    const tables = async (schema: string): Promise<string[]> =>
      (
        await query<{ t: string }>(
          `SELECT table_name AS t FROM information_schema.tables
            WHERE table_schema = '${schema}' AND table_type = 'BASE TABLE' ORDER BY 1`,
        )
      ).map((r) => r.t);
    const names = await tables(dbDir);
    expect(names).toEqual(
      expect.arrayContaining(['eventful_rejected', 'incident_events', 'incidents', 'train_arrivals']),
    );
    expect(await tables(dbS3)).toEqual(names);
    /**
     * A table's rows without the columns that name the snapshot or the time of a load or build, in a stable
     * order (the event tables, the quarantine and the maintained answer tables alike).
     */
    const rows = (schema: string, table: string): Promise<Array<{ r: unknown }>> =>
      query(
        `SELECT r FROM (SELECT to_jsonb(t) - '_eventful_snapshot_id' - '_eventful_loaded_at' - 'snapshot_id'
                                 - 'loaded_at' - 'built_at' AS r
                          FROM "${schema}"."${table}" t) s
          ORDER BY r::text`,
      );
    // The ledger and the listing floor name the snapshots and the store: bookkeeping, compared by the totals above.
    const bookkeeping = ['eventful_load_ledger', 'eventful_listing_floor'];
    for (const table of names.filter((n) => !bookkeeping.includes(n))) {
      const a = await rows(dbDir, table);
      const b = await rows(dbS3, table);
      expect(b.length, table).toBe(a.length);
      expect(b, table).toEqual(a);
    }
    const count = async (schema: string, table: string): Promise<number> =>
      Number((await query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table}"`))[0]!.n);
    expect(await count(dbS3, 'train_arrivals')).toBe(produced[topics.arrivals]!.messages);
    expect(await count(dbS3, 'incident_events')).toBe(produced[topics.incidents]!.messages);
    expect(await count(dbS3, 'eventful_rejected')).toBe(3);
  });

  it('should lose and duplicate nothing after SIGKILLs during a multipart upload and between the manifest and the commit; load ignores the orphans and prune removes them', async () => {
    const topic = uniqueTopic('s3p-crash');
    await createTopic(topic, 6);
    // ~40 MB of events (1.3 kB each): the events file goes up as a multipart upload of 5 MiB parts.
    const events = Array.from({ length: 30_000 }, (_, i) => arrival(i, { station_name: 'x'.repeat(1_200) }));
    await retrying(
      () => produce(topic, keyed(events)),
      () => false,
    );
    const produced = new Set(events.map((e) => String(e['event_id'])));
    const schemas = await schemasFor({ arrivals: topic, incidents: uniqueTopic() });
    const { prefix, location } = newPrefix('crash');
    const group = `g-crash-${randomUUID()}`;
    const args = ['--topics', topic, '--group-id', group, '--out', location, '--schemas', schemas];
    const nothingCommitted = async (): Promise<void> =>
      expect(await committed(group, topic, 6)).toEqual(Array(6).fill(NO_COMMIT));

    // 1. SIGKILL while a multipart upload is in flight (seen in the store's list of unfinished uploads).
    const { child, done } = startExtract([...args, '--decode-threads', '0', '--batch-size', '200']);
    let seen = false;
    const t0 = Date.now();
    while (!seen && child.exitCode === null && Date.now() - t0 < 60_000) {
      seen = (await uploadsUnder(prefix)).length > 0;
      if (!seen) await sleep(20);
    }
    child.kill('SIGKILL');
    const killed = await done;
    expect(seen, `no multipart upload seen before extract ended: ${killed.stderr}`).toBe(true);
    expect(killed.signal).toBe('SIGKILL');
    expect(await manifestsUnder(prefix)).toEqual(new Map());
    expect((await uploadsUnder(prefix)).length).toBeGreaterThanOrEqual(1);
    await nothingCommitted();

    // 2. SIGKILL with every event handed to the uploads, before publishing: the last part never went up.
    const beforePublish = await extractRun(args, { EVENTFUL_TEST_CRASH_AT: 'before-publish' });
    expect(beforePublish.signal, beforePublish.stderr).toBe('SIGKILL');
    expect(await manifestsUnder(prefix)).toEqual(new Map());
    expect((await uploadsUnder(prefix)).length).toBeGreaterThanOrEqual(2);
    await nothingCommitted();

    // 3. SIGKILL after the manifest was written, before the commit: a complete snapshot, offsets not committed.
    const afterPublish = await extractRun(args, { EVENTFUL_TEST_CRASH_AT: 'after-publish' });
    expect(afterPublish.signal, afterPublish.stderr).toBe('SIGKILL');
    const afterCrash = await manifestsUnder(prefix);
    expect(afterCrash.size).toBe(1);
    const [crashedId, crashedText] = [...afterCrash][0]!;
    expect(parseManifest(crashedText, crashedId).counts.events).toBe(produced.size);
    await nothingCommitted();

    // What a killed attempt leaves when its data objects were stored but no manifest was written yet.
    const orphanId = snapshotId(new Date(), 'killed-run', 'dead0001');
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: `${prefix}${orphanId}/attempt-0badc0ffee00/events.ndjson`,
        Body: `${JSON.stringify({ topic, partition: 0, offset: 0, value: arrival(0) })}\n`,
      }),
    );

    // The next run reads the same events again into a snapshot of its own and commits.
    const clean = await extractRun(args);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanSummary = summaryOf(clean);
    expect(cleanSummary.committed).toBe(true);
    expect(cleanSummary.counts.events).toBe(produced.size);
    const highs = (cleanSummary.partitions as Array<{ partition: number; highWatermark: number }>)
      .sort((a, b) => a.partition - b.partition)
      .map((p) => p.highWatermark);
    expect(await committed(group, topic, 6)).toEqual(highs);
    const complete = await manifestsUnder(prefix);
    expect([...complete.keys()].sort()).toEqual([crashedId, cleanSummary.snapshot.id].sort());
    expect(complete.get(crashedId)).toBe(crashedText);

    // load takes both complete snapshots and nothing else: the orphan is skipped, unfinished uploads unseen.
    const dbSchema = await freshDbSchema('s3p_crash');
    const loadArgs = ['--snapshots', location, '--db-schema', dbSchema, '--schemas', schemas];
    const loaded = await loadRun(loadArgs);
    expect(loaded.code, loaded.stderr).toBe(0);
    const loadSummary = summaryOf(loaded);
    expect(loadSummary.skipped.incomplete).toEqual([orphanId]);
    expect(loaded.stderr).toContain(`skipping 1 incomplete snapshot(s) (no manifest yet): ${orphanId}`);
    expect(loadSummary.results.map((r: { snapshotId: string; status: string }) => [r.snapshotId, r.status])).toEqual([
      [crashedId, 'Success'],
      [cleanSummary.snapshot.id, 'Success'],
    ]);
    expect(loadSummary.totals).toMatchObject({ inserted: produced.size, unchanged: produced.size });
    const warehouse = await warehouseIds(dbSchema);
    expect(warehouse.rows).toBe(produced.size); // 0 duplicated
    expect(warehouse.ids).toEqual(produced); // 0 lost, nothing else

    // prune: lists the leftovers (dry run), removes them, and leaves exactly the complete snapshots.
    const uploadsBefore = await uploadsUnder(prefix);
    expect(uploadsBefore.length).toBeGreaterThanOrEqual(2);
    const keysBefore = await listKeys(s3, prefix);
    await sleep(1_100); // objects' times have one-second resolution: put them past a zero grace period
    const dry = await runCommand('prune', ['--snapshots', location, '--grace', '0s', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    const drySummary = summaryOf(dry);
    expect(drySummary).toMatchObject({ dryRun: true, removed: 0 });
    expect(drySummary.found).toBe(uploadsBefore.length + 1);
    const locations = (drySummary.leftovers as Array<{ location: string }>).map((l) => l.location);
    expect(locations).toContain(`${location}${orphanId}/attempt-0badc0ffee00/`);
    expect(locations.filter((l) => l.endsWith('(unfinished multipart upload)'))).toHaveLength(uploadsBefore.length);
    expect(await listKeys(s3, prefix)).toEqual(keysBefore);

    const pruned = await runCommand('prune', ['--snapshots', location, '--grace', '0s']);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(summaryOf(pruned)).toMatchObject({ dryRun: false, found: drySummary.found, removed: drySummary.found });
    expect(await uploadsUnder(prefix)).toEqual([]);
    // The complete snapshots' objects, and the floor the next prune lists from.
    const kept = [...complete].flatMap(([id, text]) => [
      `${prefix}${id}/${MANIFEST_FILE}`,
      ...parseManifest(text, id).files.map((f) => `${prefix}${id}/${f.path ?? f.name}`),
    ]);
    kept.push(`${prefix}${PRUNE_FLOOR_OBJECT}`);
    expect(await listKeys(s3, prefix)).toEqual(kept.sort());
    const again = await runCommand('prune', ['--snapshots', location, '--grace', '0s']);
    expect(again.code).toBe(ExitCode.NothingToDo);

    // Nothing changed for load: everything is loaded, and the tables are as they were.
    const reload = await loadRun(loadArgs);
    expect(reload.code, reload.stderr).toBe(ExitCode.NothingToDo);
    expect((await warehouseIds(dbSchema)).rows).toBe(produced.size);
  });

  it('should never overwrite a completed attempt when a run id is retried, and refuse a snapshot id that exists without crashing', async () => {
    const topic = uniqueTopic('s3p-retry');
    await createTopic(topic, 3);
    const schemas = await schemasFor({ arrivals: topic, incidents: uniqueTopic() });
    const { prefix, location } = newPrefix('retry');
    const group = `g-retry-${randomUUID()}`;
    const runId = 'scheduled__2026-11-27T06:00:00+00:00-try1';
    const args = ['--topics', topic, '--group-id', group, '--out', location, '--schemas', schemas, '--run-id', runId];
    const first = Array.from({ length: 200 }, (_, i) => arrival(i));
    const second = Array.from({ length: 100 }, (_, i) => arrival(200 + i));
    await produce(topic, keyed(first));

    // A completed attempt, then Airflow retries the same run id: nothing new, the snapshot stays as it was.
    const done = await extractRun(args);
    expect(done.code, done.stderr).toBe(0);
    const doneId = summaryOf(done).snapshot.id as string;
    const doneText = (await manifestsUnder(prefix)).get(doneId)!;
    expect(parseManifest(doneText, doneId).runId).toBe(runId);
    const retry = await extractRun(args);
    expect(retry.code, retry.stderr).toBe(ExitCode.NothingToDo);
    expect(summaryOf(retry)).toMatchObject({ status: 'nothing_new', committed: false, snapshot: null });
    expect(await manifestsUnder(prefix)).toEqual(new Map([[doneId, doneText]]));
    const committedAfterFirst = await committed(group, topic, 3);

    // An attempt that published but was killed before committing; its retry, forced onto the very same snapshot
    // id (same run id, start time and random suffix), is refused before it reads anything: exit 1, not a crash.
    await produce(topic, keyed(second));
    const crashed = await extractRun(args, { EVENTFUL_TEST_CRASH_AT: 'after-publish' });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const afterCrash = await manifestsUnder(prefix);
    expect(afterCrash.size).toBe(2);
    expect(afterCrash.get(doneId)).toBe(doneText);
    const [crashedId, crashedText] = [...afterCrash].find(([id]) => id !== doneId)!;
    const crashedManifest = parseManifest(crashedText, crashedId);
    const suffix = crashedId.split('_').pop()!;
    expect(snapshotId(new Date(crashedManifest.startedAt), runId, suffix)).toBe(crashedId);

    /** One extract attempt in this process, with a fixed start time and random suffix (hence snapshot id). */
    const attempt = async (startedAt: Date, random: string): Promise<CommandResult> => {
      const settings = resolveExtractSettings(
        { topics: topic, groupId: group, out: location, schemas, runId, bootstrapServers: bootstrap() },
        {},
      );
      const { registry } = await SchemaRegistry.load(settings.schemasDir);
      const store = await openSnapshotStore(location);
      const source = new KafkaConsumerSource({
        properties: settings.kafka,
        groupId: settings.groupId,
        timeoutMs: settings.connectTimeoutMs,
      });
      try {
        return await runExtract(settings, {
          source,
          store,
          schemas: registry,
          decoder: new InlineDecoder(registry, true),
          log: memoryLogger(),
          stop: new StopSignal(),
          now: () => startedAt,
          random: () => random,
        });
      } finally {
        (store as { close?: () => void }).close?.();
      }
    };
    const refused = (await retrying(
      () => attempt(new Date(crashedManifest.startedAt), suffix).catch((e: unknown) => e),
      (e) => !(e instanceof SnapshotExistsError) && TRANSIENT.test(String(e)),
    )) as Error;
    expect(refused).toBeInstanceOf(SnapshotExistsError);
    expect((refused as EventfulError).exitCode).toBe(ExitCode.Failure);
    expect((refused as EventfulError).code).toBe('snapshot_exists');
    expect(refused.message).toContain(`snapshot ${crashedId} already exists at ${location}${crashedId}/`);
    expect(refused.message).toMatch(/refusing to overwrite it .*nothing is committed/);
    expect(await manifestsUnder(prefix)).toEqual(afterCrash);
    expect(await listKeys(s3, `${prefix}${crashedId}/`)).toHaveLength(3); // its manifest and its own two files
    expect(await committed(group, topic, 3)).toEqual(committedAfterFirst);

    // Two attempts racing on one snapshot id: exactly one manifest; the other is refused and cleans up after itself.
    const raceAt = new Date();
    const race = await Promise.allSettled([attempt(raceAt, 'race0001'), attempt(raceAt, 'race0001')]);
    const won = race.filter((r): r is PromiseFulfilledResult<CommandResult> => r.status === 'fulfilled');
    const lost = race.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(won[0]!.value.exitCode).toBe(ExitCode.Ok);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(SnapshotExistsError);
    const raceId = snapshotId(raceAt, runId, 'race0001');
    const afterRace = await manifestsUnder(prefix);
    expect([...afterRace.keys()].sort()).toEqual([doneId, crashedId, raceId].sort());
    expect(afterRace.get(crashedId)).toBe(crashedText);
    expect(await listKeys(s3, `${prefix}${raceId}/`)).toHaveLength(3);

    // Every event lands once.
    const dbSchema = await freshDbSchema('s3p_retry');
    const loaded = await loadRun(['--snapshots', location, '--db-schema', dbSchema, '--schemas', schemas]);
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(summaryOf(loaded).results).toHaveLength(3);
    const warehouse = await warehouseIds(dbSchema);
    expect(warehouse.rows).toBe(300);
    expect(warehouse.ids).toEqual(new Set([...first, ...second].map((e) => String(e['event_id']))));
  });

  it('should fail an unreachable endpoint with exit 1, wrong credentials and a malformed location with exit 2, fast, clearly, committing nothing', async () => {
    const topic = uniqueTopic('s3p-bad');
    await createTopic(topic, 3);
    const events = Array.from({ length: 50 }, (_, i) => arrival(i));
    await produce(topic, keyed(events));
    const schemas = await schemasFor({ arrivals: topic, incidents: uniqueTopic() });
    const { prefix, location } = newPrefix('bad');
    const group = `g-bad-${randomUUID()}`;
    const dbSchema = await freshDbSchema('s3p_bad');
    const secret = `wrong-secret-${randomUUID()}`;

    interface Case {
      name: string;
      out: string;
      env: Record<string, string>;
      code: ExitCode;
      error: string;
      message: RegExp;
    }
    const cases: Case[] = [
      {
        name: 'wrong secret',
        out: location,
        env: { AWS_SECRET_ACCESS_KEY: secret },
        code: ExitCode.Usage,
        error: 's3_credentials',
        message: /refused the key pair \(SignatureDoesNotMatch\): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
      },
      {
        name: 'unknown access key',
        out: location,
        env: { AWS_ACCESS_KEY_ID: 'nobody-we-know', AWS_SECRET_ACCESS_KEY: secret },
        code: ExitCode.Usage,
        error: 's3_credentials',
        message: /refused the key pair \(InvalidAccessKeyId\)/,
      },
      {
        name: 'endpoint refusing connections',
        out: location,
        env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' },
        code: ExitCode.Failure,
        error: 's3_unreachable',
        message: /cannot reach the object store at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/,
      },
      {
        name: 'endpoint host unknown',
        out: location,
        env: { AWS_ENDPOINT_URL_S3: 'http://no-such-host.invalid:9000' },
        code: ExitCode.Failure,
        error: 's3_unreachable',
        message: /cannot reach the object store at http:\/\/no-such-host\.invalid:9000 \((ENOTFOUND|EAI_AGAIN)\)/,
      },
      {
        name: 'bucket name not valid',
        out: 's3://Not_A_Bucket/raw',
        env: {},
        code: ExitCode.Usage,
        error: 'usage',
        message: /'Not_A_Bucket' .* is not a valid bucket name/,
      },
      {
        name: 'no bucket',
        out: 's3:///raw',
        env: {},
        code: ExitCode.Usage,
        error: 'usage',
        message: /names no bucket/,
      },
      {
        name: 'credentials in the location',
        out: `s3://someone:${secret}@${bucket()}/raw`,
        env: {},
        code: ExitCode.Usage,
        error: 'usage',
        message: /must not hold credentials/,
      },
      {
        name: 'endpoint not a URL',
        out: location,
        env: { AWS_ENDPOINT_URL_S3: 'not a url' },
        code: ExitCode.Usage,
        error: 'usage',
        message: /AWS_ENDPOINT_URL_S3 is not a URL/,
      },
    ];
    const BOUND_MS = 15_000;
    const timed = async (run: () => Promise<RunResult>): Promise<RunResult & { ms: number }> => {
      const t0 = Date.now();
      const r = await run();
      return { ...r, ms: Date.now() - t0 };
    };
    const extractArgs = (out: string): string[] => [
      ...['--topics', topic, '--group-id', group, '--out', out, '--schemas', schemas],
    ];
    const loadArgs = (from: string): string[] => ['--snapshots', from, '--db-schema', dbSchema, '--schemas', schemas];
    // Every case, for extract and for load, four at a time (each fails before it does any work).
    const jobs = cases.flatMap((c) => [
      { c, cmd: 'extract', run: () => extract(extractArgs(c.out), { env: c.env, timeoutMs: 60_000 }) },
      { c, cmd: 'load', run: () => runCommand('load', loadArgs(c.out), { env: c.env, timeoutMs: 60_000 }) },
    ]);
    const results: Array<{ c: Case; cmd: string; r: RunResult & { ms: number } }> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          results.push({ c: job.c, cmd: job.cmd, r: await timed(job.run) });
        }
      }),
    );
    expect(results).toHaveLength(cases.length * 2);
    for (const { c, r, cmd } of results) {
      const what = `${cmd}, ${c.name}: ${r.stderr}`;
      expect(r.code, what).toBe(c.code);
      expect(r.ms, what).toBeLessThan(BOUND_MS);
      expect(summaryOf(r).status, what).toBe('failed');
      expect(summaryOf(r).error.code, what).toBe(c.error);
      expect(summaryOf(r).error.message, what).toMatch(c.message);
      expect(r.stderr, what).toMatch(c.message);
      expect(r.stdout + r.stderr, what).not.toContain(secret);
    }
    // A location that is no s3:// URL is not taken for a folder under the working directory either.
    for (const out of ['s3:/eventful/raw', 'gs://eventful/raw']) {
      const r = await extract(extractArgs(out));
      expect(r.code, r.stderr).toBe(ExitCode.Usage);
      expect(summaryOf(r).error.message).toMatch(/not 's3:\/\/'|scheme 'gs:' are not supported/);
    }

    // Nothing committed, nothing stored, nothing loaded.
    expect(await committed(group, topic, 3)).toEqual([NO_COMMIT, NO_COMMIT, NO_COMMIT]);
    expect(await listKeys(s3, prefix)).toEqual([]);
    expect(await uploadsUnder(prefix)).toEqual([]);
    expect(await query(`SELECT table_name FROM information_schema.tables WHERE table_schema = '${dbSchema}'`)).toEqual(
      [],
    );

    // With the right settings the same commands succeed: the failures above were the settings' alone.
    const ok = await extractRun(extractArgs(location));
    expect(ok.code, ok.stderr).toBe(0);
    const loaded = await loadRun(loadArgs(location));
    expect(loaded.code, loaded.stderr).toBe(0);
    expect((await warehouseIds(dbSchema)).ids).toEqual(new Set(events.map((e) => String(e['event_id']))));
  });
});
