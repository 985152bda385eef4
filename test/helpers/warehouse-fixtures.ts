import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { IncidentEvent, TrainArrivalEvent } from '../../src/answer/events.js';
import { ensureAnswer } from '../../src/warehouse/answer-build.js';
import { maintainAnswer } from '../../src/warehouse/answer-maintenance.js';
import { answerTableStatements } from '../../src/warehouse/answer-tables.js';
import { resolveViewOptions, viewStatements, type ViewOptions } from '../../src/warehouse/views.js';

/**
 * The warehouse tables the views read, as `load` makes them from schemas/*.schema.json: a column per
 * schema property with the same name, the key as primary key, and underscore-prefixed metadata columns.
 * Written out by hand here so the views' tests do not depend on `load`.
 */
const METADATA_COLUMNS = `
  _kafka_topic text, _kafka_partition integer, _kafka_offset bigint, _kafka_timestamp timestamptz,
  _eventful_snapshot_id text, _eventful_loaded_at timestamptz NOT NULL DEFAULT now()`;

/** Creates `train_arrivals`, `incident_events` and `incidents` in `schema`. */
export async function createWaitTables(client: pg.Client, schema: string): Promise<void> {
  await client.query(`
    CREATE TABLE "${schema}".train_arrivals (
      event_id uuid PRIMARY KEY, event_type text NOT NULL, occurred_at timestamptz NOT NULL,
      train_id text NOT NULL, line text NOT NULL, direction text NOT NULL, station_id text NOT NULL,
      station_name text, scheduled_at timestamptz, dwell_seconds bigint, checkpoint_type text,${METADATA_COLUMNS});
    CREATE TABLE "${schema}".incident_events (
      event_id uuid PRIMARY KEY, event_type text NOT NULL, occurred_at timestamptz NOT NULL,
      incident_id text NOT NULL, line text NOT NULL, severity text NOT NULL, status text NOT NULL,
      station_id text, description text,${METADATA_COLUMNS});
    CREATE TABLE "${schema}".incidents (
      incident_id text PRIMARY KEY, event_id uuid NOT NULL, event_type text NOT NULL, occurred_at timestamptz NOT NULL,
      line text NOT NULL, severity text NOT NULL, status text NOT NULL, station_id text, description text,${METADATA_COLUMNS});
  `);
}

/**
 * Applies the wait-time views to `schema`, as load does: the answer tables behind them, built from the arrivals
 * already there (from then on, {@link insertArrivals} maintains them as load would).
 */
export async function applyViews(client: pg.Client, schema: string, options: ViewOptions = {}): Promise<void> {
  for (const sql of answerTableStatements(schema)) await client.query(sql);
  for (const sql of viewStatements(schema, options)) await client.query(sql);
  await ensureAnswer(client, schema, resolveViewOptions(options));
}

/** Whether `schema` has answer tables built (then new arrivals must be maintained into them). */
async function answerBuilt(client: pg.Client, schema: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [
    `"${schema}".eventful_answer_state`,
  ]);
  if (!rows[0].ok) return false;
  return (await client.query(`SELECT 1 FROM "${schema}".eventful_answer_state`)).rows.length > 0;
}

/** A train arrival with defaults for what a test does not care about. */
export type ArrivalRow = Partial<TrainArrivalEvent> & Pick<TrainArrivalEvent, 'occurred_at'>;

/**
 * Inserts arrivals in one statement (arrays unnested server-side: fast for tens of thousands of rows); an event id
 * already stored is left alone, as load does. When the answer tables are built, maintains them with the arrivals
 * inserted, as load's answer phase does.
 */
export async function insertArrivals(
  client: pg.Client,
  schema: string,
  rows: readonly ArrivalRow[],
  options: ViewOptions = {},
): Promise<void> {
  const col = <T>(f: (r: ArrivalRow) => T): T[] => rows.map(f);
  const inserted = await client.query(
    `INSERT INTO "${schema}".train_arrivals
       (event_id, event_type, occurred_at, train_id, line, direction, station_id, station_name, scheduled_at,
        dwell_seconds, checkpoint_type, _kafka_topic)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],
                          $8::text[], $9::timestamptz[], $10::bigint[], $11::text[], $12::text[])
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [
      col((r) => r.event_id ?? randomUUID()),
      col((r) => r.event_type ?? 'train_arrival'),
      col((r) => r.occurred_at),
      col((r) => r.train_id ?? 'BL-1001'),
      col((r) => r.line ?? 'Blue'),
      col((r) => r.direction ?? 'northbound'),
      col((r) => r.station_id ?? 'STN-001'),
      col((r) => r.station_name ?? null),
      col((r) => r.scheduled_at ?? null),
      col((r) => r.dwell_seconds ?? null),
      col((r) => r.checkpoint_type ?? null),
      col(() => 'train-arrivals'),
    ],
  );
  await maintain(
    client,
    schema,
    options,
    inserted.rows.map((r) => r.event_id),
  );
}

/**
 * When the answer tables are built, maintains them as load's answer phase does after a snapshot: with the arrivals
 * of ids `insertedArrivals` (none for a snapshot of incidents only) and the incident events of ids
 * `insertedIncidentEvents` (none for a snapshot of arrivals only), each in a temp table as the loader keeps them.
 */
async function maintain(
  client: pg.Client,
  schema: string,
  options: ViewOptions,
  insertedArrivals: readonly string[],
  insertedIncidentEvents: readonly string[] = [],
): Promise<void> {
  if (!(await answerBuilt(client, schema))) return;
  const keep = async (temp: string, table: string, ids: readonly string[]): Promise<void> => {
    await client.query(`DROP TABLE IF EXISTS pg_temp.${temp}`);
    await client.query(
      `CREATE TEMP TABLE ${temp} AS SELECT * FROM "${schema}".${table} WHERE event_id = ANY($1::uuid[])`,
      [ids],
    );
  };
  await keep('fixture_inserted', 'train_arrivals', insertedArrivals);
  const { rows } = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`"${schema}".incident_events`]);
  if (rows[0].present) await keep('fixture_incidents', 'incident_events', insertedIncidentEvents);
  await maintainAnswer(client, schema, resolveViewOptions(options), {
    arrivals: 'pg_temp.fixture_inserted',
    ...(rows[0].present ? { incidentEvents: 'pg_temp.fixture_incidents' } : {}),
  });
}

/**
 * Inserts incident events, and the latest state of each incident into `incidents`; then maintains the answer (when
 * built) as load does after a snapshot of incidents.
 */
export async function insertIncidentEvents(
  client: pg.Client,
  schema: string,
  rows: ReadonlyArray<Partial<IncidentEvent> & Pick<IncidentEvent, 'occurred_at' | 'incident_id'>>,
  options: ViewOptions = {},
): Promise<void> {
  const inserted: string[] = [];
  for (const r of rows) {
    const result = await client.query(
      `INSERT INTO "${schema}".incident_events
         (event_id, event_type, occurred_at, incident_id, line, severity, status, station_id, description, _kafka_topic)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'incidents') ON CONFLICT DO NOTHING RETURNING event_id`,
      [
        r.event_id ?? randomUUID(),
        r.event_type ?? 'incident_reported',
        r.occurred_at,
        r.incident_id,
        r.line ?? 'Blue',
        r.severity ?? 'minor',
        r.status ?? (r.event_type === 'incident_resolved' ? 'resolved' : 'open'),
        r.station_id ?? null,
        r.description ?? null,
      ],
    );
    inserted.push(...result.rows.map((x: { event_id: string }) => x.event_id));
  }
  await client.query(`
    INSERT INTO "${schema}".incidents (incident_id, event_id, event_type, occurred_at, line, severity, status, station_id, description)
    SELECT DISTINCT ON (incident_id) incident_id, event_id, event_type, occurred_at, line, severity, status, station_id, description
    FROM "${schema}".incident_events ORDER BY incident_id, occurred_at DESC
    ON CONFLICT (incident_id) DO UPDATE SET event_id = excluded.event_id, event_type = excluded.event_type,
      occurred_at = excluded.occurred_at, severity = excluded.severity, status = excluded.status`);
  await maintain(client, schema, options, [], inserted);
}
