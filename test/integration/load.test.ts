import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMAS_DIR } from '../../src/schema/registry.js';
import { BLOCK_LINES } from '../../src/warehouse/snapshot-loader.js';
import { useLoadTest } from '../helpers/load-test.js';
import { freshSchema } from '../helpers/pg.js';
import { runCommand as run } from '../helpers/run.js';
import {
  arrival,
  dumpSchema,
  incident,
  LOAD_COLUMNS,
  onPartition,
  tableExists,
  tableRows,
  tablesRows,
  tempDir,
  writeSnapshot,
} from '../helpers/snapshot-fixtures.js';

let client: pg.Client;
let schema: string;
let root: string;
useLoadTest('load', (t) => ({ client, schema, root } = t));

const load = (args: string[] = [], env: Record<string, string> = {}): ReturnType<typeof run> =>
  run('load', ['--snapshots', root, '--db-schema', schema, ...args], { env });

type Results = Array<{
  snapshotId: string;
  status: string;
  tables?: Record<string, Record<string, number>>;
  error?: { code: string; message: string };
}>;

async function count(table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table}"`);
  return Number(rows[0]!.n);
}

describe('load', () => {
  it('should create the tables from the schemas and load a snapshot with its ledger row', async () => {
    const trains = [arrival({ station_name: 'Harbour Square', dwell_seconds: 35 }), arrival(), arrival()];
    const id = await writeSnapshot(root, [
      ...onPartition('train-arrivals', 0, trains),
      ...onPartition('incidents', 0, [incident({ event_type: 'incident_reported' })]),
    ]);

    const r = await load();

    expect(r.code, r.stderr).toBe(0);
    expect(r.summary?.['status']).toBe('loaded');
    // A new warehouse has no history for the answer's one-time build: it says nothing of it.
    expect(r.stderr).not.toMatch(/answer build|building the wait-time answer/);
    const results = r.summary?.['results'] as Results;
    expect(results).toMatchObject([
      {
        snapshotId: id,
        status: 'Success',
        tables: {
          train_arrivals: { inserted: 3, unchanged: 0 },
          incident_events: { inserted: 1, unchanged: 0 },
          incidents: { inserted: 1, updated: 0, unchanged: 0 },
        },
      },
    ]);
    expect(r.summary?.['migration']).toMatchObject({
      applied: true,
      tablesCreated: [
        'eventful_load_ledger',
        'eventful_rejected',
        'eventful_listing_floor',
        'incident_events',
        'incidents',
        'train_arrivals',
      ],
    });
    const { rows } = await client.query(
      `SELECT event_id, station_name, dwell_seconds, occurred_at, _kafka_topic, _kafka_partition, _kafka_offset, _eventful_snapshot_id
         FROM "${schema}".train_arrivals ORDER BY _kafka_offset`,
    );
    expect(rows[0]).toEqual({
      event_id: trains[0]!['event_id'],
      station_name: 'Harbour Square',
      dwell_seconds: '35',
      occurred_at: new Date(trains[0]!['occurred_at'] as string),
      _kafka_topic: 'train-arrivals',
      _kafka_partition: 0,
      _kafka_offset: '0',
      _eventful_snapshot_id: id,
    });
    const ledger = await client.query(
      `SELECT snapshot_id, events, rejected, manifest_sha256 FROM "${schema}".eventful_load_ledger`,
    );
    const manifest = await readFile(path.join(root, id, 'manifest.json'));
    expect(ledger.rows).toEqual([
      {
        snapshot_id: id,
        events: '4',
        rejected: '0',
        manifest_sha256: createHash('sha256').update(manifest).digest('hex'),
      },
    ]);
  });

  it('should create the wait-time views over the tables it loads', async () => {
    const at = (m: number): string => new Date(Date.parse('2026-11-27T07:00:00Z') + m * 60_000).toISOString();
    await writeSnapshot(
      root,
      onPartition('train-arrivals', 0, [
        arrival({ station_id: 'STN-9', direction: 'north', occurred_at: at(0) }),
        arrival({ station_id: 'STN-9', direction: 'north', occurred_at: at(2) }),
        arrival({ station_id: 'STN-9', direction: 'north', occurred_at: at(12) }),
      ]),
    );
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary?.['migration']).toMatchObject({
      views: {
        created: [
          'station_headways',
          'station_wait_times',
          'station_wait_times_hourly',
          'incident_periods',
          'line_incident_waits',
        ],
      },
    });
    const { rows } = await client.query(
      `SELECT headways, round(expected_wait_seconds) AS wait FROM "${schema}".station_wait_times WHERE station_id = 'STN-9'`,
    );
    expect(rows).toEqual([{ headways: '2', wait: 260 }]);
  });

  it('should skip the views with a warning, and still load, when a schema lacks their columns', async () => {
    const schemas = await tempDir('eventful-schemas-');
    const json = JSON.parse(await readFile(path.join(DEFAULT_SCHEMAS_DIR, 'train_arrival.schema.json'), 'utf8'));
    delete json.properties.checkpoint_type;
    await writeFile(path.join(schemas, 'train_arrival.schema.json'), JSON.stringify(json));
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    const r = await load(['--schemas', schemas]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary?.['migration']).toMatchObject({ views: { skipped: expect.stringMatching(/checkpoint_type/) } });
    expect(r.stderr).toMatch(/WARN wait-time views not created/);
    expect(await count('train_arrivals')).toBe(1);
  });

  it('should exit 99 when every snapshot is already in the ledger, changing nothing', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival(), arrival()]));
    expect((await load()).code).toBe(0);
    const before = await dumpSchema(schema);

    const again = await load();

    expect(again.code).toBe(99);
    expect(again.summary).toMatchObject({ status: 'nothing_pending', skipped: { alreadyLoaded: 1 } });
    expect(again.stderr).toMatch(/nothing pending in .*: 1 snapshot id\(s\) listed, 1 already loaded, 0 without/);
    expect(await dumpSchema(schema)).toBe(before);
  });

  it('should exit 99 when the snapshot root is empty, without creating anything', async () => {
    const r = await load();
    expect(r.code).toBe(99);
    expect(await tableExists(client, schema, 'eventful_load_ledger')).toBe(false);
  });

  it('should leave identical tables when the same events are replayed as a new snapshot, or the same snapshot is loaded again', async () => {
    const events = [
      ...onPartition('train-arrivals', 0, [arrival(), arrival(), arrival()]),
      ...onPartition('train-arrivals', 1, [arrival(), arrival()]),
      ...onPartition('incidents', 0, [
        incident({ occurred_at: '2026-11-27T08:00:00Z', status: 'open' }),
        incident({ occurred_at: '2026-11-27T08:30:00Z', status: 'resolved' }),
      ]),
    ];
    const first = await writeSnapshot(root, events);
    expect((await load()).code).toBe(0);
    const tables = ['train_arrivals', 'incident_events', 'incidents', 'eventful_rejected'];
    const before = await tablesRows(client, schema, tables);

    await writeSnapshot(root, events); // same events, another snapshot id
    const replay = await load();
    expect(replay.code, replay.stderr).toBe(0);
    expect((replay.summary?.['results'] as Results)[0]?.tables).toMatchObject({
      train_arrivals: { inserted: 0, unchanged: 5 },
      incident_events: { inserted: 0, unchanged: 2 },
    });
    expect(await tablesRows(client, schema, tables)).toEqual(before);

    // The very same snapshot again, once its ledger row is gone.
    await client.query(`DELETE FROM "${schema}".eventful_load_ledger WHERE snapshot_id = $1`, [first]);
    expect((await load()).code).toBe(0);
    expect(await tablesRows(client, schema, tables)).toEqual(before);
    expect(await count('eventful_load_ledger')).toBe(2);
  });

  it('should load overlapping snapshots into the same tables as one snapshot of all their events', async () => {
    const values = Array.from({ length: 100 }, () => arrival());
    await writeSnapshot(root, onPartition('train-arrivals', 0, values.slice(0, 60)));
    await writeSnapshot(root, onPartition('train-arrivals', 0, values.slice(40), 40));
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect((r.summary?.['results'] as Results).map((x) => x.tables?.['train_arrivals'])).toEqual([
      { inserted: 60, unchanged: 0 },
      { inserted: 40, unchanged: 20 },
    ]);

    const other = await freshSchema(client, 'load');
    const otherRoot = await tempDir();
    await writeSnapshot(otherRoot, onPartition('train-arrivals', 0, values));
    expect((await run('load', ['--snapshots', otherRoot, '--db-schema', other])).code).toBe(0);

    expect(await tableRows(client, schema, 'train_arrivals', LOAD_COLUMNS)).toEqual(
      await tableRows(client, other, 'train_arrivals', LOAD_COLUMNS),
    );
    expect(await count('train_arrivals')).toBe(100);
  });

  it('should keep the first copy of an event that a snapshot holds twice', async () => {
    const dup = arrival();
    await writeSnapshot(root, [
      ...onPartition('train-arrivals', 0, [dup, arrival()]),
      ...onPartition('train-arrivals', 1, [{ ...dup, station_id: 'STN-RETRY' }]),
    ]);
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect((r.summary?.['results'] as Results)[0]?.tables?.['train_arrivals']).toEqual({ inserted: 2, unchanged: 1 });
    const { rows } = await client.query(
      `SELECT station_id, _kafka_partition FROM "${schema}".train_arrivals WHERE event_id = $1`,
      [dup['event_id']],
    );
    expect(rows).toEqual([{ station_id: dup['station_id'], _kafka_partition: 0 }]);
  });

  it('should land strings with quotes, unicode, escapes and SQL fragments byte for byte', async () => {
    const nasty = [
      `it's "quoted" ''; DROP TABLE "${schema}".train_arrivals; --`,
      'back\\slash \\N \\\\N \\t literal',
      'tab\there\nnewline\r\ncrlf',
      'ünïcödé 日本語 😀 e\u0301 \u2028 \u00a0',
      "$$ $1 %s {} [] \\x00 E'\\047'",
      '\\',
      ' ',
    ];
    const values = nasty.map((s, i) => arrival({ station_name: s, train_id: `T-${i}-${s}` }));
    await writeSnapshot(root, onPartition('train-arrivals', 0, values));
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    const { rows } = await client.query<{ station_name: string; train_id: string; bytes: Buffer }>(
      `SELECT station_name, train_id, convert_to(station_name, 'UTF8') AS bytes FROM "${schema}".train_arrivals ORDER BY _kafka_offset`,
    );
    expect(rows.map((x) => x.station_name)).toEqual(nasty);
    expect(rows.map((x) => x.train_id)).toEqual(nasty.map((s, i) => `T-${i}-${s}`));
    expect(rows.map((x) => x.bytes.toString('hex'))).toEqual(nasty.map((s) => Buffer.from(s, 'utf8').toString('hex')));
  });

  it('should quarantine events Postgres cannot store instead of failing the load', async () => {
    const good = arrival();
    const nul = arrival({ station_name: 'before\u0000after' });
    const year0 = arrival({ occurred_at: '0000-01-01T00:00:00Z' });
    const zone = arrival({ scheduled_at: '2026-11-27T07:00:00+23:00' });
    const huge = arrival({ dwell_seconds: 2 ** 64 });
    const noSchema = { topic: 'unknown-topic', partition: 0, offset: 0, value: { a: 1 } };
    await writeSnapshot(root, [...onPartition('train-arrivals', 0, [good, nul, year0, zone, huge]), noSchema]);

    const r = await load(['--max-rejected-ratio', '1']);

    expect(r.code, r.stderr).toBe(0);
    expect((r.summary?.['results'] as Results)[0]).toMatchObject({ status: 'Success', rejectedByLoad: 5 });
    expect(await tableRows(client, schema, 'train_arrivals')).toHaveLength(1);
    const { rows } = await client.query(
      `SELECT kafka_topic, kafka_offset, reason_code, reason->>'message' AS message, rejected_by,
              convert_from(decode(value_base64, 'base64'), 'UTF8') AS value
         FROM "${schema}".eventful_rejected ORDER BY kafka_topic, kafka_offset`,
    );
    expect(rows.map((x) => [x.kafka_topic, x.kafka_offset, x.reason_code, x.rejected_by])).toEqual([
      ['train-arrivals', '1', 'nul_character', 'load'],
      ['train-arrivals', '2', 'schema_violation', 'load'],
      ['train-arrivals', '3', 'schema_violation', 'load'],
      ['train-arrivals', '4', 'schema_violation', 'load'],
      ['unknown-topic', '0', 'no_schema', 'load'],
    ]);
    expect(rows[1].message).toMatch(/year 0000/);
    expect(rows[2].message).toMatch(/zone offset/);
    expect(rows[3].message).toMatch(/18446744073709552000 is beyond the bigint range/);
    expect(JSON.parse(rows[2].value)).toEqual(zone);
    expect(JSON.parse(rows[0].value)).toEqual(nul);
  });

  it('should refuse a snapshot when load quarantines more of its events than --max-rejected-ratio allows', async () => {
    await writeSnapshot(
      root,
      onPartition('train-arrivals', 0, [arrival(), arrival({ occurred_at: '0000-01-01T00:00:00Z' })]),
    );
    const r = await load(['--max-rejected-ratio', '0.4']);
    expect(r.code).toBe(1);
    expect((r.summary?.['results'] as Results)[0]).toMatchObject({
      status: 'Error',
      error: { code: 'too_many_rejected', message: expect.stringMatching(/^1 of 2 events \(50\.0%\) failed/) },
    });
    expect(await tableExists(client, schema, 'train_arrivals')).toBe(false);
    expect((await load(['--max-rejected-ratio', '0.5'])).code).toBe(0);
  });

  it("should quarantine the snapshot's rejected lines once, even when replayed", async () => {
    const rejected = [
      {
        topic: 'train-arrivals',
        partition: 0,
        offset: 1,
        timestamp: 1_700_000_000_000,
        key_base64: Buffer.from('BL-1').toString('base64'),
        value_base64: Buffer.from('{not json').toString('base64'),
        headers: [{ key: 'h', value: 'nul\u0000inside' }],
        reason: { code: 'not_json' as const, message: 'Unexpected token n' },
      },
    ];
    const events = onPartition('train-arrivals', 0, [arrival()]);
    await writeSnapshot(root, events, { rejected });
    await writeSnapshot(root, events, { rejected });
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    const { rows } = await client.query(
      `SELECT kafka_offset, reason_code, reason, rejected_by, key_base64, value_base64, headers FROM "${schema}".eventful_rejected`,
    );
    expect(rows).toEqual([
      {
        kafka_offset: '1',
        reason_code: 'not_json',
        reason: { code: 'not_json', message: 'Unexpected token n' },
        rejected_by: 'extract',
        key_base64: rejected[0]!.key_base64,
        value_base64: rejected[0]!.value_base64,
        headers: [{ key: 'h', value: Buffer.from('nul\u0000inside').toString('base64'), encoding: 'base64' }],
      },
    ]);
  });

  it('should refuse a snapshot with a tampered file and write nothing of it', async () => {
    const id = await writeSnapshot(
      root,
      onPartition('train-arrivals', 0, [arrival({ station_name: 'Aaaa' }), arrival()]),
    );
    const file = path.join(root, id, 'events.ndjson');
    await writeFile(file, (await readFile(file, 'utf8')).replace('Aaaa', 'Bbbb'));

    const r = await load();

    expect(r.code).toBe(1);
    expect(r.summary?.['status']).toBe('failed');
    expect((r.summary?.['results'] as Results)[0]).toMatchObject({
      snapshotId: id,
      status: 'Error',
      error: { code: 'checksum_mismatch' },
    });
    expect(r.stderr).toMatch(/does not match the manifest/);
    // The last line says what failed and where to look.
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      new RegExp(`ERROR 1 snapshot\\(s\\) not loaded: ${id}\\. Each one's error is above; docs/operations.md says`),
    );
    expect(r.summary?.['error']).toMatchObject({ code: 'snapshots_failed' });
    // The planned tables are reported, but as not applied: the failed snapshot's transaction held them.
    expect(r.summary?.['migration']).toMatchObject({
      applied: false,
      tablesCreated: expect.arrayContaining(['train_arrivals']),
    });
    expect(await tableExists(client, schema, 'train_arrivals')).toBe(false);
    expect(await tableExists(client, schema, 'eventful_load_ledger')).toBe(false);
  });

  it('should say which file a snapshot lacks, and what to do, rather than ENOENT', async () => {
    const id = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    await rm(path.join(root, id, 'events.ndjson'));

    const r = await load();

    expect(r.code).toBe(1);
    expect((r.summary?.['results'] as Results)[0]).toMatchObject({
      snapshotId: id,
      status: 'Error',
      error: { code: 'snapshot_file_missing' },
    });
    expect(r.stderr).toContain(
      `events.ndjson, which the manifest of snapshot ${id} lists, is missing from ${root}: restore the file, or ` +
        'move the snapshot out of --snapshots',
    );
    expect(r.stderr).not.toContain('ENOENT');
    expect(await tableExists(client, schema, 'eventful_load_ledger')).toBe(false);
  });

  it('should write nothing of a tampered snapshot even when batches were already being copied', async () => {
    const values = Array.from({ length: 6_000 }, () => arrival());
    await writeSnapshot(root, onPartition('train-arrivals', 0, values.slice(0, 10)));
    expect((await load()).code).toBe(0);
    // Overlapping the first snapshot, it loads checked: key look-ups and COPYs are in flight when the
    // checksum of its last line fails.
    const id = await writeSnapshot(root, onPartition('train-arrivals', 0, values));
    const file = path.join(root, id, 'events.ndjson');
    const text = await readFile(file, 'utf8');
    const last = values[values.length - 1]!['station_id'] as string;
    const at = text.lastIndexOf(last);
    await writeFile(file, text.slice(0, at) + 'X'.repeat(last.length) + text.slice(at + last.length));

    const r = await load(['--batch-size', '50']);

    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds events already loaded/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await count('train_arrivals')).toBe(10);
    expect(await count('eventful_load_ledger')).toBe(1);
  });

  it('should stop at the first failing snapshot and not execute the later ones', async () => {
    const first = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    const bad = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()], 1));
    const third = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()], 2));
    const file = path.join(root, bad, 'events.ndjson');
    await writeFile(file, (await readFile(file, 'utf8')) + '\n');

    const r = await load();

    expect(r.code).toBe(1);
    expect((r.summary?.['results'] as Results).map((x) => [x.snapshotId, x.status])).toEqual([
      [first, 'Success'],
      [bad, 'Error'],
      [third, 'NotExecuted'],
    ]);
    expect(await count('train_arrivals')).toBe(1);
    expect(await count('eventful_load_ledger')).toBe(1);
  });

  it('should list from the listing floor, sweep the ids below it, and hold the floor at a snapshot that failed', async () => {
    const floorRow = async (): Promise<{ floor: string; sweep_from: string } | undefined> =>
      (await client.query(`SELECT floor, sweep_from FROM "${schema}".eventful_listing_floor`)).rows[0];
    const hoursAgo = (h: number): Date => new Date(Date.now() - h * 3_600_000);
    const old = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]), { startedAt: hoursAgo(72) });
    const recent = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()], 1), {
      startedAt: hoursAgo(1),
    });

    // No floor yet: every id is listed; then the floor rests a day before now, below the recent snapshot.
    const first = await load();
    expect(first.code, first.stderr).toBe(0);
    const floor = (await floorRow())!.floor;
    expect(first.summary?.['listing']).toEqual({ full: true, from: null, ids: 2, swept: 0, next: floor });
    expect(old < floor && floor < recent).toBe(true);

    // A snapshot that appears below the floor (an extract that ran for days, a copy by hand): the sweep finds it.
    const late = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()], 2), {
      startedAt: hoursAgo(48),
    });
    const second = await load();
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary?.['listing']).toMatchObject({ full: false, from: floor, ids: 3, swept: 2 });
    expect((second.summary?.['results'] as Results).map((x) => [x.snapshotId, x.status])).toEqual([[late, 'Success']]);

    // One that fails holds the floor, so that every run lists and retries it, as before the floor.
    const bad = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()], 3), {
      startedAt: hoursAgo(60),
    });
    const file = path.join(root, bad, 'events.ndjson');
    await writeFile(file, (await readFile(file, 'utf8')) + '\n');
    const failed = await load();
    expect(failed.code).toBe(1);
    expect((await floorRow())!.floor).toBe(bad);
    expect(failed.summary?.['listing']).toMatchObject({ next: bad });
    expect(failed.stderr).toContain(`the listing floor stays at snapshot ${bad}, not loaded yet`);
    expect((await load(['--dry-run'])).summary?.['listing']).toMatchObject({ from: bad, notMoved: 'dry run' });
    const retry = await load();
    expect(retry.code).toBe(1);
    expect(retry.summary?.['listing']).toMatchObject({ full: false, from: bad });
    expect(await count('train_arrivals')).toBe(3);

    // Once it loads, the floor rises to a day before now again.
    await writeFile(file, (await readFile(file, 'utf8')).replace(/\n$/, ''));
    expect((await load()).code).toBe(0);
    expect((await floorRow())!.floor > bad).toBe(true);
    expect(await count('train_arrivals')).toBe(4);
  });

  it('should not read a loaded snapshot again, and with --verify-loaded refuse one whose manifest changed', async () => {
    const id = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    expect((await load()).code).toBe(0);
    const manifestPath = path.join(root, id, 'manifest.json');
    const manifest = await readFile(manifestPath, 'utf8');
    await writeFile(manifestPath, manifest.replace('"groupId": "test"', '"groupId": "other"'));
    const later = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()], 1));

    // The ledger has the changed snapshot: it is not read, only the new one is (and loaded).
    const normal = await load();
    expect(normal.code).toBe(0);
    expect((normal.summary?.['results'] as Results).map((x) => [x.snapshotId, x.status])).toEqual([[later, 'Success']]);
    expect(normal.summary?.['skipped']).toMatchObject({ alreadyLoaded: 1 });

    const audit = await load(['--verify-loaded']);
    expect(audit.code).toBe(1);
    expect(audit.summary?.['results'] as Results).toEqual([
      expect.objectContaining({
        snapshotId: id,
        status: 'Error',
        error: expect.objectContaining({ code: 'ledger_mismatch' }),
      }),
    ]);
    expect(audit.summary?.['skipped']).toMatchObject({ alreadyLoaded: 1 });

    // Not read at all: a loaded snapshot whose manifest is now unreadable goes unnoticed, except by the audit.
    await writeFile(manifestPath, '{ not json');
    expect((await load()).code).toBe(99);
    const unreadable = await load(['--verify-loaded']);
    expect(unreadable.code).toBe(1);
    expect((unreadable.summary?.['results'] as Results)[0]).toMatchObject({
      snapshotId: id,
      error: { code: 'unreadable_manifest' },
    });

    // A loaded snapshot whose manifest is gone: not a new incomplete snapshot to skip, but a loaded one that changed.
    await rm(manifestPath);
    expect((await load()).code).toBe(99);
    const gone = await load(['--verify-loaded']);
    expect(gone.code).toBe(1);
    expect(gone.summary?.['skipped']).toMatchObject({ incomplete: [] });
    expect((gone.summary?.['results'] as Results)[0]).toMatchObject({
      snapshotId: id,
      error: { code: 'ledger_mismatch', message: expect.stringMatching(/its manifest is gone/) },
    });
  });

  it('should skip an incomplete snapshot with a warning', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(root, 'zz_incomplete'));
    const r = await load();
    expect(r.code).toBe(0);
    expect(r.summary?.['skipped']).toMatchObject({ incomplete: ['zz_incomplete'] });
    expect(r.stderr).toMatch(/WARN skipping 1 incomplete snapshot\(s\) \(no manifest yet\): zz_incomplete$/m);
  });

  it('should refuse a --snapshots folder that holds folders but no snapshot', async () => {
    const { mkdir } = await import('node:fs/promises');
    for (const name of ['cli', 'config', 'warehouse']) await mkdir(path.join(root, name));
    const r = await load();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /holds 3 folder\(s\) but no snapshot \(a folder with a manifest.json, .*check --snapshots/,
    );
  });

  it('should refuse a --snapshots folder one level above the snapshots, even after loads, and name the right one', async () => {
    // A warehouse that has loaded from the right folder, then a run pointed at the folder above it: every run
    // would otherwise skip the task with nothing pending.
    const inner = path.join(root, 'lake');
    await writeSnapshot(inner, onPartition('train-arrivals', 0, [arrival()]));
    expect((await run('load', ['--snapshots', inner, '--db-schema', schema])).code).toBe(0);
    const r = await load();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `lake in ${root} is not a snapshot but a folder of them (1 or more complete): --snapshots names the folder ` +
        `above; did you mean --snapshots ${inner}?`,
    );
  });

  it('should still load a lake that holds a hand-made folder of snapshots beside its own', async () => {
    await writeSnapshot(path.join(root, 'archive'), onPartition('train-arrivals', 0, [arrival()]));
    const own = await writeSnapshot(root, onPartition('train-arrivals', 1, [arrival()]));
    const r = await load();
    expect(r.code).toBe(0);
    expect((r.summary?.['results'] as Results).map((x) => x.snapshotId)).toEqual([own]);
    expect(r.stderr).toMatch(/WARN skipping 1 incomplete snapshot\(s\) \(no manifest yet\): archive$/m);
  });

  it('should say what to do when --schemas names no folder', async () => {
    const r = await load(['--schemas', path.join(root, 'no-such-schemas')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /ERROR the schemas under \S+no-such-schemas: no such folder: point --schemas \(or EVENTFUL_SCHEMAS\) at the folder/,
    );
  });

  it('should load pending snapshots oldest first and report each one', async () => {
    const a = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]), {
      startedAt: new Date('2026-11-27T05:00:00Z'),
    });
    const b = await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()], 1), {
      startedAt: new Date('2026-11-27T04:00:00Z'),
    });
    const r = await load();
    expect(r.code).toBe(0);
    expect((r.summary?.['results'] as Results).map((x) => x.snapshotId)).toEqual([b, a]);
    const { rows } = await client.query(`SELECT snapshot_id FROM "${schema}".eventful_load_ledger ORDER BY loaded_at`);
    expect(rows.map((x) => x.snapshot_id)).toEqual([b, a]);
  });

  it('should change nothing in a dry run and report what it would do', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival(), arrival()]));
    expect((await load()).code).toBe(0);
    await writeSnapshot(root, [
      ...onPartition('train-arrivals', 0, [arrival()], 2),
      ...onPartition('incidents', 0, [
        incident(),
        incident({ occurred_at: '2026-11-27T09:00:00Z', status: 'resolved' }),
      ]),
    ]);
    const before = await dumpSchema(schema);

    const r = await load(['--dry-run']);

    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ status: 'dry_run', dryRun: true, totals: { snapshots: 1, inserted: 4 } });
    expect((r.summary?.['results'] as Results)[0]?.tables).toMatchObject({
      train_arrivals: { inserted: 1 },
      incident_events: { inserted: 2 },
      incidents: { inserted: 1, updated: 0 },
    });
    expect(await dumpSchema(schema)).toBe(before);
  });

  it('should create nothing in a dry run on an empty database schema, yet report the tables it would create', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    const before = await dumpSchema(schema);
    const r = await load(['--dry-run']);
    expect(r.code).toBe(0);
    expect(r.summary?.['migration']).toMatchObject({
      applied: false,
      tablesCreated: expect.arrayContaining(['train_arrivals', 'incidents']),
    });
    expect(await dumpSchema(schema)).toBe(before);
  });

  it('should wait for another load of the same database schema to release its lock', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', ['eventful.load', schema]);
    const pending = load();
    // Wait until the load is queued on the lock (on a busy machine it may take a while to start).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`,
      );
      if (rows[0].n > 0) break;
      expect(Date.now(), 'load never waited on the advisory lock').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await tableExists(client, schema, 'train_arrivals')).toBe(false);
    await client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', ['eventful.load', schema]);
    const r = await pending;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/another load holds the lock/);
  });

  it('should refuse a db-schema that is not a safe identifier, and bad flags, with exit 2', async () => {
    const r = await run('load', ['--snapshots', root, '--db-schema', 'x"; DROP SCHEMA public; --']);
    expect(r.code).toBe(2);
    expect((await run('load', ['--db-schema', schema])).code).toBe(2);
    expect((await run('load', ['--snapshots', root, '--password', 'x'])).code).toBe(2);
  });

  it('should take its settings from EVENTFUL_* variables when flags are absent', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    const r = await run('load', [], {
      env: { EVENTFUL_SNAPSHOTS: root, EVENTFUL_DB_SCHEMA: schema, EVENTFUL_DRY_RUN: 'true' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ status: 'dry_run', dbSchema: schema });
  });

  it('should load many events through several batches', async () => {
    const n = 2_500;
    const values = Array.from({ length: n }, () => arrival());
    await writeSnapshot(root, [
      ...onPartition('train-arrivals', 0, values.slice(0, 1_300)),
      ...onPartition('train-arrivals', 1, values.slice(1_300)),
    ]);
    const r = await load(['--batch-size', '400']);
    expect(r.code, r.stderr).toBe(0);
    expect(await count('train_arrivals')).toBe(n);
    await writeSnapshot(root, onPartition('train-arrivals', 0, values.slice(1_000, 1_300), 1_000));
    const again = await load(['--batch-size', '64']);
    expect((again.summary?.['results'] as Results)[0]?.tables?.['train_arrivals']).toEqual({
      inserted: 0,
      unchanged: 300,
    });
  });

  it('should overlap no queries on one pg client, in a checked load or in these tests (pg 9 removes the queue)', async () => {
    // Several blocks, so a checked load looks keys up ahead while its COPYs run: the connection must queue them.
    const values = Array.from({ length: 3 * BLOCK_LINES }, () => arrival());
    const events = [
      ...onPartition('train-arrivals', 0, values),
      ...onPartition('incidents', 0, [incident(), incident({ status: 'resolved' })]),
    ];
    await writeSnapshot(root, events);
    const first = await load(['--batch-size', '400']);
    await writeSnapshot(root, events); // the same keys again: the plain COPY conflicts and load retries checked
    const replay = await load(['--batch-size', '400']);
    await writeSnapshot(root, events);
    const dry = await load(['--dry-run']);
    for (const r of [first, replay, dry]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('DeprecationWarning');
    }
    // Read back one query at a time (test/helpers/pg-deprecations.ts fails this test if they overlapped).
    const [arrivals, incidents] = await tablesRows(client, schema, ['train_arrivals', 'incident_events']);
    expect(arrivals).toHaveLength(values.length);
    expect(incidents).toHaveLength(2);
  });

  it('should load the same rows with encoder worker threads as without', async () => {
    const values = Array.from({ length: 24_000 }, (_, i) =>
      arrival(i % 1000 === 0 ? { station_name: 'tab\there \\ é' } : {}),
    );
    const events = [
      ...onPartition('train-arrivals', 0, values.slice(0, 12_000)),
      ...onPartition('train-arrivals', 1, values.slice(12_000)),
      ...onPartition('incidents', 0, [
        incident(),
        incident({ occurred_at: '2026-11-27T09:00:00Z', status: 'resolved' }),
      ]),
      { topic: 'train-arrivals', partition: 2, offset: 0, value: arrival({ station_name: 'nul\u0000' }) },
    ];
    await writeSnapshot(root, events);
    const threaded = await load(['--workers', '2']);
    expect(threaded.code, threaded.stderr).toBe(0);
    expect((threaded.summary?.['results'] as Results)[0]).toMatchObject({ status: 'Success', rejectedByLoad: 1 });

    const other = await freshSchema(client, 'load');
    const inline = await run('load', ['--snapshots', root, '--db-schema', other, '--workers', '0']);
    expect(inline.code, inline.stderr).toBe(0);
    for (const table of ['train_arrivals', 'incident_events', 'incidents', 'eventful_rejected'])
      expect(await tableRows(client, schema, table, [...LOAD_COLUMNS, 'loaded_at'])).toEqual(
        await tableRows(client, other, table, [...LOAD_COLUMNS, 'loaded_at']),
      );
    expect(await count('train_arrivals')).toBe(24_000);

    // A replay with workers takes the checked path after its first optimistic batch meets stored keys.
    await writeSnapshot(root, events);
    const replay = await load(['--workers', '2']);
    expect(replay.code, replay.stderr).toBe(0);
    expect((replay.summary?.['results'] as Results)[0]?.tables?.['train_arrivals']).toEqual({
      inserted: 0,
      unchanged: 24_000,
    });
  });
});
