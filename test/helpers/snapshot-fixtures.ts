import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import type { EventLine, RejectedLine } from '../../src/snapshot/format.js';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import { SnapshotBuilder } from '../../src/snapshot/snapshot-builder.js';
import { DEFAULT_SCHEMAS_DIR } from '../../src/schema/registry.js';

/** An event for a fixture snapshot: coordinates and value; the rest gets defaults. */
export interface FixtureEvent {
  topic: string;
  partition: number;
  offset: number;
  value: Record<string, unknown>;
  timestamp?: number | null;
  key?: string | null;
}

let clock = Date.parse('2026-11-27T05:00:00Z');

/**
 * Writes a complete snapshot under `root` with SnapshotBuilder, as extract does. Snapshots made later start
 * later (so they load later); events are written per partition in offset order, as a drain reads them.
 */
export async function writeSnapshot(
  root: string,
  events: FixtureEvent[],
  options: { id?: string; rejected?: RejectedLine[]; startedAt?: Date } = {},
): Promise<string> {
  clock += 60_000;
  const startedAt = options.startedAt ?? new Date(clock);
  const id = options.id ?? `${startedAt.toISOString().replace(/[-:.]/g, '')}_test_${randomUUID().slice(0, 8)}`;
  const all = [
    ...events.map((e) => ({ kind: 'event' as const, e })),
    ...(options.rejected ?? []).map((r) => ({ kind: 'rejected' as const, r })),
  ];
  const coord = (x: (typeof all)[number]): { topic: string; partition: number; offset: number } =>
    x.kind === 'event' ? x.e : x.r;
  all.sort((a, b) => {
    const ca = coord(a);
    const cb = coord(b);
    return ca.topic.localeCompare(cb.topic) || ca.partition - cb.partition || ca.offset - cb.offset;
  });
  const topics = [...new Set(all.map((x) => coord(x).topic))];
  const store = await DirectorySnapshotStore.open(root);
  const builder = await SnapshotBuilder.begin(store, {
    snapshotId: id,
    runId: `run-${id}`,
    groupId: 'test',
    startedAt,
    topics,
  });
  const high = (c: { offset: number }): number => c.offset + 1;
  for (const x of all) {
    if (x.kind === 'event') {
      const line: EventLine = {
        topic: x.e.topic,
        partition: x.e.partition,
        offset: x.e.offset,
        timestamp: x.e.timestamp === undefined ? Date.parse('2026-11-27T06:00:00Z') + x.e.offset : x.e.timestamp,
        key: x.e.key ?? null,
        headers: [],
        value: x.e.value,
      };
      await builder.addEvent(line, high(line));
    } else await builder.addRejected(x.r, high(x.r));
  }
  await builder.publish();
  return id;
}

/** A fresh temp folder. */
export function tempDir(prefix = 'eventful-load-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** A copy of the shipped schemas in a temp folder, to edit in a test. */
export async function copySchemas(): Promise<string> {
  const dir = await tempDir('eventful-schemas-');
  await cp(DEFAULT_SCHEMAS_DIR, dir, { recursive: true });
  return dir;
}

let arrivalSeq = 0;

/** A valid train arrival value. */
export function arrival(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  arrivalSeq += 1;
  return {
    event_id: randomUUID(),
    event_type: 'train_arrival',
    occurred_at: new Date(Date.parse('2026-11-27T07:00:00Z') + arrivalSeq * 1000).toISOString(),
    train_id: `BL-${1000 + (arrivalSeq % 7)}`,
    line: 'Blue',
    direction: arrivalSeq % 2 ? 'northbound' : 'southbound',
    station_id: `STN-${String(arrivalSeq % 5).padStart(3, '0')}`,
    ...overrides,
  };
}

/** A valid incident event value. */
export function incident(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    event_type: 'incident_updated',
    occurred_at: '2026-11-27T08:00:00Z',
    incident_id: 'INC-1',
    line: 'Blue',
    severity: 'minor',
    status: 'open',
    ...overrides,
  };
}

/** Events of `topic` on one partition with consecutive offsets from `first`. */
export function onPartition(
  topic: string,
  partition: number,
  values: Record<string, unknown>[],
  first = 0,
): FixtureEvent[] {
  return values.map((value, i) => ({ topic, partition, offset: first + i, value }));
}

/** Every row of a table as JSON text, sorted, optionally without some columns: to compare tables exactly. */
export async function tableRows(
  client: pg.Client,
  schema: string,
  table: string,
  without: string[] = [],
): Promise<string[]> {
  const { rows } = await client.query<{ j: string }>(
    `SELECT (to_jsonb(t) - $1::text[])::text AS j FROM "${schema}"."${table}" t ORDER BY 1`,
    [without],
  );
  return rows.map((r) => r.j);
}

/**
 * {@link tableRows} of several tables, read one after another: one pg client runs one query at a time, and
 * overlapping calls (a `Promise.all` of queries) only queue inside pg, which pg 8 deprecates and pg 9 removes.
 */
export async function tablesRows(client: pg.Client, schema: string, tables: readonly string[]): Promise<string[][]> {
  const out: string[][] = [];
  for (const t of tables) out.push(await tableRows(client, schema, t));
  return out;
}

/** Whether a table exists. */
export async function tableExists(client: pg.Client, schema: string, table: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2`, [
    schema,
    table,
  ]);
  return rows.length > 0;
}

const execFileP = promisify(execFile);

/** `pg_dump` of one Postgres schema (structure and data), from the PG* environment. */
export async function dumpSchema(schema: string): Promise<string> {
  const bin = process.env['PG_DUMP'] ?? 'pg_dump';
  // The listing floor's row says where the next load lists from (and names the store): bookkeeping, not data.
  const floor = `${schema}.eventful_listing_floor`;
  const args = ['--schema', schema, '--no-owner', '--no-privileges', `--exclude-table-data=${floor}`];
  const { stdout } = await execFileP(bin, args, {
    maxBuffer: 256 * 1024 * 1024,
  });
  // pg_dump 15.14+ wraps its output in \restrict / \unrestrict lines with a random key: not content.
  return stdout.replace(/^\\(un)?restrict .*$/gm, '');
}

/** The metadata columns that name the load (differ between two loads of the same events). */
export const LOAD_COLUMNS = ['_eventful_snapshot_id', '_eventful_loaded_at'];
