import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViewOptions } from '../../src/warehouse/views.js';
import { scenario, type ScenarioSnapshot } from '../helpers/answer-scenarios.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { allViewDifferences, applyOracle } from '../helpers/view-compare.js';
import { applyViews, createWaitTables, insertArrivals, insertIncidentEvents } from '../helpers/warehouse-fixtures.js';

/** The answer settings each history is checked under: the defaults, and a zone with a DST change in the history. */
const SETTINGS: Array<{ label: string; start: string; options: ViewOptions }> = [
  { label: 'UTC, 3 h gaps', start: '2026-11-26T18:00:00Z', options: {} },
  {
    label: 'Europe/Zurich over the March clock change, 45 min gaps',
    start: '2026-03-28T18:00:00Z',
    options: { timeZone: 'Europe/Zurich', maxHeadwaySeconds: 2700 },
  },
];
const SEEDS = ['a', 'b', 'c', 'd'];
const HOURS = 30;

/** The answer tables' contents, as one text per table (to tell "changed nothing" from "changed"). */
async function answerDump(client: pg.Client, schema: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of ['eventful_headways', 'eventful_wait_hourly', 'eventful_wait_daily', 'eventful_wait_line_hours'])
    out[t] = (
      await client.query(
        `SELECT coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '') AS d FROM "${schema}"."${t}" x`,
      )
    ).rows[0].d;
  return out;
}

describe('the wait-time answer maintained by load', () => {
  let client: pg.Client;
  const made: string[] = [];
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    for (const s of made) await client.query(`DROP SCHEMA "${s}" CASCADE`);
    await client.end();
  });

  async function warehouse(): Promise<string> {
    const schema = await freshSchema(client, 'answer');
    made.push(schema);
    await createWaitTables(client, schema);
    return schema;
  }

  const deliver = async (schema: string, snap: ScenarioSnapshot, options: ViewOptions): Promise<void> => {
    await insertArrivals(client, schema, snap.arrivals, options);
    if (snap.incidents.length) await insertIncidentEvents(client, schema, snap.incidents, options);
  };

  for (const { label, start, options } of SETTINGS)
    for (const seed of SEEDS)
      it(`should equal the from-scratch views after every snapshot of random history ${seed} (${label})`, async () => {
        const schema = await warehouse();
        await applyViews(client, schema, options);
        await applyOracle(client, schema, options);
        const snaps = scenario(`${seed}-${label}`, start, HOURS);
        for (const [i, snap] of snaps.entries()) {
          await deliver(schema, snap, options);
          expect(await allViewDifferences(client, schema), `after snapshot ${i + 1} of ${snaps.length}`).toEqual([]);
        }
        // The history is big enough to mean something: hundreds of headways, some of them during incidents.
        const { rows } = await client.query(
          `SELECT (SELECT count(*) FROM "${schema}".station_headways)::int AS headways,
             (SELECT sum(headways_during_incidents) FROM "${schema}".line_incident_waits)::int AS during,
             (SELECT sum(headways_same_hours_otherwise) FROM "${schema}".line_incident_waits)::int AS same_hours`,
        );
        expect(rows[0].headways).toBeGreaterThan(500);
        expect(rows[0].during).toBeGreaterThan(0);
        expect(rows[0].same_hours).toBeGreaterThan(0);
      });

  it('should change nothing when every snapshot is delivered again', async () => {
    const schema = await warehouse();
    await applyViews(client, schema);
    const snaps = scenario('replay', SETTINGS[0]!.start, HOURS);
    for (const snap of snaps) await deliver(schema, snap, {});
    const before = await answerDump(client, schema);
    for (const snap of snaps) await insertArrivals(client, schema, snap.arrivals);
    expect(await answerDump(client, schema)).toEqual(before);
  });

  it('should build the tables from a history loaded without them, then keep them up to date', async () => {
    const schema = await warehouse();
    const snaps = scenario('upgrade', SETTINGS[0]!.start, HOURS);
    const half = Math.floor(snaps.length / 2);
    // History loaded by a version without the answer: event tables only, the views recomputing from them.
    for (const snap of snaps.slice(0, half)) await deliver(schema, snap, {});
    await applyOracle(client, schema);
    expect((await client.query(`SELECT to_regclass('"${schema}".eventful_headways') AS t`)).rows[0].t).toBeNull();
    await applyViews(client, schema);
    expect(await allViewDifferences(client, schema)).toEqual([]);
    for (const snap of snaps.slice(half)) await deliver(schema, snap, {});
    expect(await allViewDifferences(client, schema)).toEqual([]);
  });
});
