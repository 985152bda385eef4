import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  ANSWER_LAYOUT_COMMENT,
  answerTableStatements,
  INCIDENT_EVENTS_INDEX,
} from '../../src/warehouse/answer-tables.js';
import { oracleStatements } from '../../src/warehouse/view-oracle.js';
import { scenario, type ScenarioSnapshot } from '../helpers/answer-scenarios.js';
import { useLoadTest } from '../helpers/load-test.js';
import { runCommand as run } from '../helpers/run.js';
import { onPartition, writeSnapshot } from '../helpers/snapshot-fixtures.js';
import { allViewDifferences, applyOracle } from '../helpers/view-compare.js';

let client: pg.Client;
let schema: string;
let root: string;
useLoadTest('ldans', (t) => ({ client, schema, root } = t));

const load = (...args: string[]): ReturnType<typeof run> =>
  run('load', ['--snapshots', root, '--db-schema', schema, ...args]);

/** Writes a scenario snapshot as extract would (arrivals and incidents on their topics). */
async function write(snap: ScenarioSnapshot): Promise<string> {
  return writeSnapshot(root, [
    ...onPartition(
      'train-arrivals',
      0,
      snap.arrivals.map((a) => ({ event_type: 'train_arrival', train_id: 'BL-1', ...a })),
    ),
    ...onPartition(
      'incidents',
      0,
      snap.incidents.map((i) => ({ severity: 'minor', line: 'Blue', ...i })),
    ),
  ]);
}

const migrationOf = (r: Awaited<ReturnType<typeof run>>): unknown => r.summary?.['migration'];

/** Turns the warehouse into one loaded by a version without the answer: no answer tables, views over the events. */
async function downgrade(): Promise<void> {
  await client.query(`DROP TABLE "${schema}".eventful_headways, "${schema}".eventful_wait_hourly,
    "${schema}".eventful_wait_daily, "${schema}".eventful_wait_line_hours, "${schema}".eventful_answer_state CASCADE`);
  await client.query(`DROP INDEX "${schema}".${INCIDENT_EVENTS_INDEX}`);
  for (const sql of oracleStatements(schema, {}, '')) await client.query(sql);
}

describe('load keeps the wait-time answer', () => {
  it('should answer like the from-scratch views after snapshots with late, repeated and replayed events', async () => {
    const snaps = scenario('load', '2026-11-26T18:00:00Z', 12);
    for (const [i, snap] of snaps.entries()) {
      await write(snap);
      const r = await load();
      expect(r.code, r.stderr).toBe(0);
      // The first station arrivals build the answer in one pass; later ones are fitted in among them.
      if (i === 0) {
        expect(r.stderr).toMatch(/wait-time answer built from the first [1-9]\d* station arrival\(s\)/);
        // The build leaves statistics for the next pass's plans (reltuples is -1 before a table is first analysed).
        const stats = await client.query(
          `SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relname IN ('eventful_headways', 'eventful_wait_hourly', 'eventful_wait_daily')`,
          [schema],
        );
        expect(stats.rows).toHaveLength(3);
        for (const row of stats.rows) expect(row.reltuples, row.relname).toBeGreaterThan(0);
      } else expect(r.stderr).toMatch(/wait-time answer: \d+ station arrival\(s\) added/);
    }
    await applyOracle(client, schema);
    expect(await allViewDifferences(client, schema)).toEqual([]);
  });

  it('should build the answer once from the history of a warehouse loaded before it existed, showing progress', async () => {
    const snaps = scenario('upgrade', '2026-11-26T18:00:00Z', 12);
    for (const snap of snaps.slice(0, 3)) await write(snap);
    expect((await load()).code).toBe(0);
    await downgrade();

    for (const snap of snaps.slice(3)) await write(snap);
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect(migrationOf(r)).toMatchObject({ views: { answer: 'built' } });
    expect(r.stderr).toMatch(/building the wait-time answer tables from the history/);
    expect(r.stderr).toMatch(/answer build \d+\/\d+: linking every station arrival to the one before it: \d+ rows/);
    // The build drops the headway table's key and indexes for its bulk insert: they are all back.
    const indexes = await client.query(
      `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'eventful_headways' ORDER BY 1`,
      [schema],
    );
    expect(indexes.rows.map((i) => i.indexname)).toEqual([
      'eventful_headways_gaps',
      'eventful_headways_line',
      'eventful_headways_pkey',
      'eventful_headways_timetable',
    ]);
    // incident_events gains its index by incident, through which a pass reads the events of the incidents it touches.
    const byIncident = await client.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2`, [
      schema,
      INCIDENT_EVENTS_INDEX,
    ]);
    expect(byIncident.rows[0]?.indexdef).toMatch(/ON \S*incident_events USING btree \(incident_id\)$/);
    await applyOracle(client, schema);
    expect(await allViewDifferences(client, schema)).toEqual([]);

    await write(scenario('after', '2026-11-27T06:00:00Z', 2)[0]!);
    const next = await load();
    expect(migrationOf(next)).toMatchObject({ views: { answer: 'up to date' } });
    expect(next.stderr).not.toMatch(/building the wait-time answer/);
    expect(await allViewDifferences(client, schema)).toEqual([]);
  });

  it('should make the answer tables and views again when an older version made them with another layout', async () => {
    const snaps = scenario('layout', '2026-11-26T18:00:00Z', 6);
    await write(snaps[0]!);
    expect((await load()).code).toBe(0);
    // Layout 1: no layout comment, no microsecond columns, double precision sums.
    await client.query(`COMMENT ON TABLE "${schema}".eventful_headways IS NULL`);
    await client.query(`ALTER TABLE "${schema}".eventful_headways DROP COLUMN lateness_us`);
    await client.query(`DROP VIEW "${schema}".station_wait_times`);
    await client.query(
      `ALTER TABLE "${schema}".eventful_wait_daily ALTER COLUMN sum_headway_seconds TYPE double precision`,
    );

    await write(snaps[1]!);
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/answer tables have another version's layout \(layout 1\): making them again/);
    expect(migrationOf(r)).toMatchObject({ views: { answer: 'built' } });
    const { rows } = await client.query(
      `SELECT obj_description('"${schema}".eventful_headways'::regclass, 'pg_class') AS layout,
         (SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'eventful_wait_daily'
           AND column_name = 'sum_headway_seconds') AS sum_type`,
      [schema],
    );
    expect(rows[0]).toEqual({ layout: ANSWER_LAYOUT_COMMENT, sum_type: 'numeric' });
    await applyOracle(client, schema);
    expect(await allViewDifferences(client, schema)).toEqual([]);
  });

  it('should leave the warehouse as it was when the build fails midway', async () => {
    const snaps = scenario('fails', '2026-11-26T18:00:00Z', 6);
    await write(snaps[0]!);
    expect((await load()).code).toBe(0);
    await downgrade();
    // A table in the way of the build's last step: it refuses every row.
    const lineHours = answerTableStatements(schema).find((sql) => sql.includes('"eventful_wait_line_hours" ('))!;
    await client.query(lineHours);
    await client.query(`ALTER TABLE "${schema}".eventful_wait_line_hours ADD CHECK (linked_arrivals < 0)`);
    await applyOracle(client, schema);
    const before = (await client.query(`SELECT * FROM "${schema}".station_wait_times ORDER BY 1, 2, 3, 4`)).rows;
    const ledger = async (): Promise<number> =>
      (await client.query(`SELECT count(*)::int AS n FROM "${schema}".eventful_load_ledger`)).rows[0].n;
    const loaded = await ledger();

    await write(snaps[1]!);
    const r = await load();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/answer build \d+\/\d+: rolling hours up into days/);
    expect(await ledger()).toBe(loaded);
    expect((await client.query(`SELECT to_regclass('"${schema}".eventful_headways') AS t`)).rows[0].t).toBeNull();
    expect((await client.query(`SELECT * FROM "${schema}".station_wait_times ORDER BY 1, 2, 3, 4`)).rows).toEqual(
      before,
    );
  });

  it('should empty the answer when a load adds incident events without keeping it, and build it on the next load', async () => {
    const snaps = scenario('apart', '2026-11-26T18:00:00Z', 12);
    const k = snaps.findIndex((s, i) => i > 0 && s.incidents.length > 0);
    expect(k).toBeGreaterThan(0);
    for (const snap of snaps.slice(0, k)) {
      await write(snap);
      expect((await load()).code).toBe(0);
    }
    // The incidents of snapshot k alone, loaded with the incident schema only: train_arrivals is not loaded, so the
    // answer is not kept; a pass recomputes only the periods its own snapshot adds, so it must not stay as it was.
    const incidentsOnly = await mkdtemp(path.join(os.tmpdir(), 'eventful-incident-schema-'));
    try {
      await copyFile('schemas/incident.schema.json', path.join(incidentsOnly, 'incident.schema.json'));
      await writeSnapshot(
        root,
        onPartition(
          'incidents',
          0,
          snaps[k]!.incidents.map((i) => ({ severity: 'minor', line: 'Blue', ...i })),
        ),
      );
      const apart = await load('--schemas', incidentsOnly);
      expect(apart.code, apart.stderr).toBe(0);
      expect(apart.stderr).toMatch(/wait-time answer emptied: this snapshot added rows to incident_events/);
    } finally {
      await rm(incidentsOnly, { recursive: true, force: true });
    }
    expect((await client.query(`SELECT count(*)::int AS n FROM "${schema}".eventful_answer_state`)).rows[0].n).toBe(0);
    await write({ ...snaps[k]!, incidents: [] });
    expect(migrationOf(await load())).toMatchObject({ views: { answer: 'built' } });
    for (const snap of snaps.slice(k + 1)) {
      await write(snap);
      expect((await load()).code).toBe(0);
    }
    await applyOracle(client, schema);
    expect(await allViewDifferences(client, schema)).toEqual([]);
  });

  it('should empty the answer for a backfill with --no-answer, and build it once on the next load', async () => {
    const snaps = scenario('backfill', '2026-11-26T18:00:00Z', 6);
    await write(snaps[0]!);
    expect((await load()).code).toBe(0);
    await write(snaps[1]!);
    const backfill = await load('--no-answer');
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(migrationOf(backfill)).toMatchObject({ views: { answer: 'emptied' } });
    expect((await client.query(`SELECT count(*)::int AS n FROM "${schema}".station_headways`)).rows[0].n).toBe(0);
    await write(snaps[2]!);
    expect(migrationOf(await load())).toMatchObject({ views: { answer: 'built' } });
    await applyOracle(client, schema);
    expect(await allViewDifferences(client, schema)).toEqual([]);
  });

  it('should build an answer left behind by --no-answer even when no snapshot is pending', async () => {
    const snaps = scenario('behind', '2026-11-26T18:00:00Z', 4);
    for (const snap of snaps) await write(snap);
    expect((await load('--no-answer')).code).toBe(0);
    const headways = async (): Promise<number> =>
      (await client.query(`SELECT count(*)::int AS n FROM "${schema}".station_headways`)).rows[0].n;
    expect(await headways()).toBe(0);
    // report tells an answer left behind from an empty warehouse, and says what to do.
    const report = await run('report', ['--db-schema', schema]);
    expect(report.code).toBe(2);
    expect(report.stderr).toMatch(/wait-time answer in schema "\S+" is not built .*run load once without --no-answer/);

    const dry = await load('--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.summary).toMatchObject({ status: 'dry_run', migration: { views: { answer: 'built' } } });
    expect(await headways()).toBe(0);

    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ status: 'answer_built', migration: { views: { answer: 'built' } } });
    expect(r.stderr).toMatch(/nothing pending, but the wait-time answer was behind the rows .*: built it/);
    expect(await headways()).toBeGreaterThan(0);
    await applyOracle(client, schema);
    expect(await allViewDifferences(client, schema)).toEqual([]);
    // Once built, nothing pending is nothing to do again.
    expect((await load()).code).toBe(99);
  });
});
