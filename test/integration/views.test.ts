import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connect, freshSchema } from '../helpers/pg.js';
import {
  applyViews,
  createWaitTables,
  insertArrivals,
  insertIncidentEvents,
  type ArrivalRow,
} from '../helpers/warehouse-fixtures.js';
import { answerTableStatements } from '../../src/warehouse/answer-tables.js';
import { viewStatements } from '../../src/warehouse/views.js';

const MIN = 60;
const at = (base: string, seconds: number): string => new Date(Date.parse(base) + seconds * 1000).toISOString();

/** Arrivals at one station at the given offsets (seconds) from `base`, scheduled at `scheduledEvery` if given. */
function arrivalsAt(
  base: string,
  offsets: number[],
  extra: Partial<ArrivalRow> = {},
  scheduledEvery?: number,
): ArrivalRow[] {
  return offsets.map((o, i) => ({
    occurred_at: at(base, o),
    ...(scheduledEvery !== undefined && { scheduled_at: at(base, i * scheduledEvery) }),
    ...extra,
  }));
}

/** Headways alternating 2 and 10 minutes: 0, 2, 12, 14, 24, 26, 36 minutes. */
const ALTERNATING = [0, 2, 12, 14, 24, 26, 36].map((m) => m * MIN);

describe('the wait-time views on the real PostgreSQL', () => {
  let client: pg.Client;
  let schema: string;

  beforeAll(async () => {
    client = await connect();
  });
  const made: string[] = [];
  afterAll(async () => {
    for (const s of made) await client.query(`DROP SCHEMA "${s}" CASCADE`);
    await client.end();
  });

  async function freshWarehouse(): Promise<string> {
    schema = await freshSchema(client, 'views');
    made.push(schema);
    await createWaitTables(client, schema);
    await applyViews(client, schema);
    return schema;
  }

  const rows = async (sql: string): Promise<Array<Record<string, unknown>>> => (await client.query(sql)).rows;

  it('should give 4 min 20 s of expected wait, not 3 min, for headways alternating 2 and 10 minutes', async () => {
    await freshWarehouse();
    await insertArrivals(client, schema, arrivalsAt('2026-11-27T07:00:00Z', ALTERNATING, {}, 6 * MIN));
    const [row] = await rows(
      `SELECT *, to_char(service_date, 'YYYY-MM-DD') AS day FROM "${schema}".station_wait_times`,
    );
    expect(row).toMatchObject({
      day: '2026-11-27',
      station_id: 'STN-001',
      line: 'Blue',
      direction: 'northbound',
      arrivals: '7',
      headways: '6',
      mean_headway_seconds: 360,
      expected_wait_seconds: 260,
    });
  });

  it('should set the scheduled expected wait from scheduled_at and the excess wait as actual minus scheduled', async () => {
    await freshWarehouse();
    // Scheduled every 6 minutes: a regular timetable promises 3 minutes of wait; the irregular service costs 80 s more.
    await insertArrivals(client, schema, arrivalsAt('2026-11-27T07:00:00Z', ALTERNATING, {}, 6 * MIN));
    const [row] = await rows(
      `SELECT scheduled_expected_wait_seconds, excess_wait_seconds, mean_scheduled_headway_seconds FROM "${schema}".station_wait_times`,
    );
    expect(row).toEqual({
      scheduled_expected_wait_seconds: 180,
      excess_wait_seconds: 80,
      mean_scheduled_headway_seconds: 360,
    });
  });

  it('should leave the scheduled and excess waits empty where arrivals have no scheduled_at', async () => {
    await freshWarehouse();
    await insertArrivals(client, schema, arrivalsAt('2026-11-27T07:00:00Z', ALTERNATING));
    const [row] = await rows(
      `SELECT expected_wait_seconds, scheduled_expected_wait_seconds, excess_wait_seconds FROM "${schema}".station_wait_times`,
    );
    expect(row).toEqual({
      expected_wait_seconds: 260,
      scheduled_expected_wait_seconds: null,
      excess_wait_seconds: null,
    });
  });

  it('should show each arrival with the previous one at the same station, line and direction', async () => {
    await freshWarehouse();
    const base = '2026-11-27T07:00:00Z';
    await insertArrivals(client, schema, [
      ...arrivalsAt(base, [0, 5 * MIN, 9 * MIN], { train_id: 'BL-1', checkpoint_type: 'station' }),
      // Other directions, lines and stations do not interleave with these headways.
      ...arrivalsAt(base, [MIN, 2 * MIN], { direction: 'southbound' }),
      ...arrivalsAt(base, [3 * MIN], { line: 'Red' }),
      ...arrivalsAt(base, [4 * MIN], { station_id: 'STN-002' }),
      // A checkpoint is not a platform: it is not an arrival anybody waits for.
      ...arrivalsAt(base, [6 * MIN], { checkpoint_type: 'checkpoint' }),
    ]);
    const hw = await rows(
      `SELECT train_id, headway_seconds, previous_arrived_at, service_hour FROM "${schema}".station_headways
       WHERE station_id = 'STN-001' AND line = 'Blue' AND direction = 'northbound' ORDER BY arrived_at`,
    );
    expect(hw.map((r) => r['headway_seconds'])).toEqual([null, 300, 240]);
    expect(hw[1]!['previous_arrived_at']).toEqual(new Date(base));
    expect(hw[2]!['service_hour']).toBe(7);
    const all = await rows(`SELECT count(*)::int AS n FROM "${schema}".station_headways`);
    expect(all[0]!['n']).toBe(7);
  });

  it('should count a headway on the day and hour of the arrival that ends it', async () => {
    await freshWarehouse();
    await insertArrivals(client, schema, arrivalsAt('2026-11-27T23:50:00Z', [0, 8 * MIN, 20 * MIN]));
    const daily = await rows(
      `SELECT to_char(service_date, 'YYYY-MM-DD') AS day, arrivals::int, headways::int, expected_wait_seconds
       FROM "${schema}".station_wait_times ORDER BY service_date`,
    );
    // 23:50, 23:58 and 00:10: the 8-minute headway ends on the 27th, the 12-minute one on the 28th.
    expect(daily).toEqual([
      { day: '2026-11-27', arrivals: 2, headways: 1, expected_wait_seconds: 240 },
      { day: '2026-11-28', arrivals: 1, headways: 1, expected_wait_seconds: 360 },
    ]);
  });

  it('should break waits down by hour in the hourly view', async () => {
    await freshWarehouse();
    // 07:xx alternates 2 and 10 minutes; 08:xx runs every 5 minutes.
    const seven = ALTERNATING.map((s) => s + 10 * MIN); // 07:10 … 07:46
    const eight = [0, 5, 10, 15, 20].map((m) => (60 + m) * MIN); // 08:00 … 08:20 (the 07:46→08:00 gap ends at 08:00)
    await insertArrivals(client, schema, arrivalsAt('2026-11-27T07:00:00Z', [...seven, ...eight]));
    const hourly = await rows(
      `SELECT service_hour, hour_start, arrivals::int, mean_headway_seconds, expected_wait_seconds
       FROM "${schema}".station_wait_times_hourly ORDER BY hour_start`,
    );
    expect(hourly).toEqual([
      {
        service_hour: 7,
        hour_start: new Date('2026-11-27T07:00:00Z'),
        arrivals: 7,
        mean_headway_seconds: 360,
        expected_wait_seconds: 260,
      },
      {
        service_hour: 8,
        hour_start: new Date('2026-11-27T08:00:00Z'),
        arrivals: 5,
        mean_headway_seconds: (14 * MIN + 4 * 5 * MIN) / 5,
        expected_wait_seconds: ((14 * MIN) ** 2 + 4 * (5 * MIN) ** 2) / (2 * (14 * MIN + 4 * 5 * MIN)),
      },
    ]);
    // The sums make any roll-up exact: the hours together give the day.
    const [rollup] = await rows(
      `SELECT sum(sum_headway_seconds_squared) / (2 * sum(sum_headway_seconds)) AS w FROM "${schema}".station_wait_times_hourly`,
    );
    const [day] = await rows(`SELECT expected_wait_seconds AS w FROM "${schema}".station_wait_times`);
    expect(rollup!['w']).toBeCloseTo(day!['w'] as number, 9);
  });

  it('should keep every sum exact to the microsecond, whatever order the arrivals and roll-ups come in', async () => {
    await freshWarehouse();
    // 400 headways of a few minutes with microsecond fractions, over several hours: sums of doubles of such values
    // depend on the order they are added in (the hours, the day, a roll-up); the stored sums must not.
    const startUs = BigInt(Date.parse('2026-11-27T06:00:00Z')) * 1000n;
    const headwaysUs = Array.from({ length: 400 }, (_, i) => 120_000_000n + BigInt((i * 7_919_137) % 239_999_999));
    const arrivalUs = headwaysUs.reduce((acc, h) => [...acc, acc[acc.length - 1]! + h], [startUs]);
    const iso = (us: bigint): string =>
      `${new Date(Number(us / 1000n)).toISOString().slice(0, 19)}.${String(us % 1_000_000n).padStart(6, '0')}Z`;
    const arrivals = arrivalUs.map((us) => ({ occurred_at: iso(us) }));
    // Every other arrival first, then the rest: each late one links in between its neighbours.
    await insertArrivals(
      client,
      schema,
      arrivals.filter((_, i) => i % 2 === 0),
    );
    await insertArrivals(
      client,
      schema,
      arrivals.filter((_, i) => i % 2 === 1),
    );
    const decimal = (v: bigint, scale: number): string =>
      `${v / 10n ** BigInt(scale)}.${String(v % 10n ** BigInt(scale)).padStart(scale, '0')}`;
    const exact = {
      sum: decimal(
        headwaysUs.reduce((a, h) => a + h, 0n),
        6,
      ),
      squares: decimal(
        headwaysUs.reduce((a, h) => a + h * h, 0n),
        12,
      ),
    };
    const sums = (from: string): string =>
      `SELECT sum(headways)::int AS n, sum(sum_headway_seconds)::text AS sum,
         sum(sum_headway_seconds_squared)::text AS squares FROM "${schema}".${from}`;
    const [day] = await rows(sums('station_wait_times'));
    const [hours] = await rows(sums('station_wait_times_hourly'));
    expect(day).toEqual({ n: 400, ...exact });
    expect(hours).toEqual({ n: 400, ...exact });
    expect(Number((await rows(sums('station_wait_times_hourly WHERE service_hour >= 7')))[0]!['n'])).toBeLessThan(400);
  });

  it('should treat a headway longer than three hours as a gap in service, not a wait', async () => {
    await freshWarehouse();
    await insertArrivals(
      client,
      schema,
      arrivalsAt('2026-11-27T00:30:00Z', [0, 10 * MIN, 5 * 3600, 5 * 3600 + 10 * MIN]),
    );
    const [row] = await rows(
      `SELECT headways::int, expected_wait_seconds, max_headway_seconds FROM "${schema}".station_wait_times`,
    );
    expect(row).toEqual({ headways: 2, expected_wait_seconds: 300, max_headway_seconds: '600.000000' });
    const gaps = await rows(`SELECT count(*)::int AS n FROM "${schema}".station_headways WHERE is_service_gap`);
    expect(gaps[0]!['n']).toBe(1);
  });

  it('should summarise each incident from its events: line, worst severity, reported and resolved times', async () => {
    await freshWarehouse();
    await insertIncidentEvents(client, schema, [
      {
        incident_id: 'INC-A',
        occurred_at: '2026-11-27T08:02:00Z',
        severity: 'minor',
        station_id: 'STN-003',
        description: 'Signal failure',
      },
      {
        incident_id: 'INC-A',
        occurred_at: '2026-11-27T08:10:00Z',
        event_type: 'incident_updated',
        severity: 'critical',
      },
      { incident_id: 'INC-A', occurred_at: '2026-11-27T08:32:00Z', event_type: 'incident_resolved', severity: 'major' },
      { incident_id: 'INC-B', occurred_at: '2026-11-27T09:00:00Z', line: 'Red', severity: 'major' },
    ]);
    const periods = await rows(
      `SELECT incident_id, line, station_id, description, max_severity, reported_at, resolved_at, duration_seconds, events::int
       FROM "${schema}".incident_periods ORDER BY incident_id`,
    );
    expect(periods).toEqual([
      {
        incident_id: 'INC-A',
        line: 'Blue',
        station_id: 'STN-003',
        description: 'Signal failure',
        max_severity: 'critical',
        reported_at: new Date('2026-11-27T08:02:00Z'),
        resolved_at: new Date('2026-11-27T08:32:00Z'),
        duration_seconds: 1800,
        events: 3,
      },
      {
        incident_id: 'INC-B',
        line: 'Red',
        station_id: null,
        description: null,
        max_severity: 'major',
        reported_at: new Date('2026-11-27T09:00:00Z'),
        resolved_at: null,
        duration_seconds: null,
        events: 1,
      },
    ]);
  });

  it('should compare waits during open incidents with waits otherwise, per line', async () => {
    await freshWarehouse();
    const base = '2026-11-27T07:00:00Z';
    // Blue runs every 5 minutes until 08:00; an incident from 08:02 to 08:32 stops it: one train still
    // arrives at 08:10, the next only at 08:40, then service recovers. The timetable says every 5 minutes.
    const regular = Array.from({ length: 13 }, (_, i) => i * 5 * MIN);
    const disrupted = [70, 100, 102, 107, 112].map((m) => m * MIN);
    await insertArrivals(client, schema, arrivalsAt(base, [...regular, ...disrupted], {}, 5 * MIN));
    // Red, without incidents, every 4 minutes.
    await insertArrivals(
      client,
      schema,
      arrivalsAt(
        base,
        [0, 4, 8, 12].map((m) => m * MIN),
        { line: 'Red' },
        4 * MIN,
      ),
    );
    await insertIncidentEvents(client, schema, [
      { incident_id: 'INC-1', occurred_at: at(base, 62 * MIN), severity: 'critical' },
      { incident_id: 'INC-1', occurred_at: at(base, 92 * MIN), event_type: 'incident_resolved', severity: 'critical' },
      // An overlapping second incident on the same line counts each headway once.
      { incident_id: 'INC-2', occurred_at: at(base, 80 * MIN) },
      { incident_id: 'INC-2', occurred_at: at(base, 85 * MIN), event_type: 'incident_resolved' },
    ]);
    const lines = await rows(`SELECT * FROM "${schema}".line_incident_waits ORDER BY line`);
    // During: 08:00→08:10 (600 s) and 08:10→08:40 (1800 s, it ends after the resolution but spans the
    // stop). Otherwise: twelve of 300 s, then 120, 300, 300.
    const during = (600 ** 2 + 1800 ** 2) / (2 * (600 + 1800));
    const otherwise = (12 * 300 ** 2 + 120 ** 2 + 2 * 300 ** 2) / (2 * (12 * 300 + 120 + 2 * 300));
    expect(lines[0]).toMatchObject({
      line: 'Blue',
      incidents: '2',
      headways_during_incidents: '2',
      expected_wait_during_incidents_seconds: during,
      scheduled_expected_wait_during_incidents_seconds: 150,
      excess_wait_during_incidents_seconds: during - 150,
      headways_otherwise: '15',
      expected_wait_otherwise_seconds: otherwise,
      scheduled_expected_wait_otherwise_seconds: 150,
    });
    expect(lines[0]!['excess_wait_otherwise_seconds']).toBeCloseTo(otherwise - 150, 9);
    expect(lines[1]).toMatchObject({
      line: 'Red',
      incidents: '0',
      headways_during_incidents: '0',
      expected_wait_during_incidents_seconds: null,
      expected_wait_otherwise_seconds: 120,
    });
  });

  it('should replace the views in place when applied again', async () => {
    await freshWarehouse();
    await insertArrivals(client, schema, arrivalsAt('2026-11-27T07:00:00Z', ALTERNATING));
    await applyViews(client, schema);
    const [row] = await rows(`SELECT expected_wait_seconds FROM "${schema}".station_wait_times`);
    expect(row!['expected_wait_seconds']).toBe(260);
  });

  it('should create only the views whose tables exist when told which tables there are', async () => {
    schema = await freshSchema(client, 'views');
    made.push(schema);
    await client.query(`CREATE TABLE "${schema}".train_arrivals (event_id uuid PRIMARY KEY, occurred_at timestamptz NOT NULL,
      train_id text, line text, direction text, station_id text, station_name text, scheduled_at timestamptz, checkpoint_type text)`);
    for (const sql of answerTableStatements(schema)) await client.query(sql);
    for (const sql of viewStatements(schema, { tables: ['train_arrivals'] })) await client.query(sql);
    const views = await rows(
      `SELECT table_name FROM information_schema.views WHERE table_schema = '${schema}' ORDER BY 1`,
    );
    expect(views.map((v) => v['table_name'])).toEqual([
      'station_headways',
      'station_wait_times',
      'station_wait_times_hourly',
    ]);
  });
});
