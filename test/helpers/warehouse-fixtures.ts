import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { IncidentEvent, TrainArrivalEvent } from '../../src/answer/events.js';
import { viewStatements } from '../../src/warehouse/views.js';

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

/** Applies the wait-time views to `schema`. */
export async function applyViews(client: pg.Client, schema: string): Promise<void> {
  for (const sql of viewStatements(schema)) await client.query(sql);
}

/** A train arrival with defaults for what a test does not care about. */
export type ArrivalRow = Partial<TrainArrivalEvent> & Pick<TrainArrivalEvent, 'occurred_at'>;

/** Inserts arrivals in one statement (arrays unnested server-side: fast for tens of thousands of rows). */
export async function insertArrivals(client: pg.Client, schema: string, rows: readonly ArrivalRow[]): Promise<void> {
  const col = <T>(f: (r: ArrivalRow) => T): T[] => rows.map(f);
  await client.query(
    `INSERT INTO "${schema}".train_arrivals
       (event_id, event_type, occurred_at, train_id, line, direction, station_id, station_name, scheduled_at,
        dwell_seconds, checkpoint_type, _kafka_topic)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],
                          $8::text[], $9::timestamptz[], $10::bigint[], $11::text[], $12::text[])`,
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
}

/** Inserts incident events, and the latest state of each incident into `incidents`. */
export async function insertIncidentEvents(
  client: pg.Client,
  schema: string,
  rows: ReadonlyArray<Partial<IncidentEvent> & Pick<IncidentEvent, 'occurred_at' | 'incident_id'>>,
): Promise<void> {
  for (const r of rows)
    await client.query(
      `INSERT INTO "${schema}".incident_events
         (event_id, event_type, occurred_at, incident_id, line, severity, status, station_id, description, _kafka_topic)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'incidents')`,
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
  await client.query(`
    INSERT INTO "${schema}".incidents (incident_id, event_id, event_type, occurred_at, line, severity, status, station_id, description)
    SELECT DISTINCT ON (incident_id) incident_id, event_id, event_type, occurred_at, line, severity, status, station_id, description
    FROM "${schema}".incident_events ORDER BY incident_id, occurred_at DESC
    ON CONFLICT (incident_id) DO UPDATE SET event_id = excluded.event_id, event_type = excluded.event_type,
      occurred_at = excluded.occurred_at, severity = excluded.severity, status = excluded.status`);
}
