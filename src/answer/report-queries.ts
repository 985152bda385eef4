/**
 * Reads the report's data from the wait-time views (src/warehouse/views.ts). Read-only: it never
 * creates or changes anything, so a read-only database role can run it.
 */
import { EventfulError, ExitCode, UsageError } from '../cli/exit-codes.js';
import { quoteIdent } from '../schema/identifiers.js';
import type {
  HeadwayBin,
  HeadwayPanel,
  HourWait,
  IncidentSpan,
  LineIncidentWait,
  ReportData,
  StationWait,
  WaitFigures,
} from './report-model.js';

/** The part of a Postgres client the report needs (pg.Client and pg.Pool both fit). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** What to report on. */
export interface ReportQuery {
  dbSchema: string;
  /** How many of the worst stations the tables list. */
  top: number;
  /** The station whose headway distribution to chart (default: the one with the worst expected wait). */
  station?: string;
}

/** Histogram bins are this wide, this many of them, then one open bin for longer headways. */
export const HEADWAY_BIN_SECONDS = 60;
export const HEADWAY_BINS = 30;

/** Exact roll-up of the views' per-row sums: Σ(Σh²) / (2·Σ(Σh)), and the same for the timetable. */
const FIGURES = `
  sum(arrivals)::float8 AS arrivals,
  sum(headways)::float8 AS headways,
  sum(sum_headway_seconds) / nullif(sum(headways), 0) AS mean_headway,
  sum(sum_headway_seconds_squared) / nullif(2 * sum(sum_headway_seconds), 0) AS expected,
  sum(sum_scheduled_headway_seconds_squared) / nullif(2 * sum(sum_scheduled_headway_seconds), 0) AS scheduled`;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function figures(row: Record<string, unknown>): WaitFigures {
  const expected = num(row['expected']);
  const scheduled = num(row['scheduled']);
  return {
    arrivals: num(row['arrivals']) ?? 0,
    headways: num(row['headways']) ?? 0,
    meanHeadwaySeconds: num(row['mean_headway']),
    expectedWaitSeconds: expected,
    scheduledExpectedWaitSeconds: scheduled,
    excessWaitSeconds: expected !== null && scheduled !== null ? expected - scheduled : null,
  };
}

/** Zero-filled bins 0…HEADWAY_BINS (the last one open-ended) from sparse `(bin, count)` rows. */
export function fillBins(counts: ReadonlyMap<number, number>): HeadwayBin[] {
  return Array.from({ length: HEADWAY_BINS + 1 }, (_, i) => ({
    fromSeconds: i * HEADWAY_BIN_SECONDS,
    toSeconds: i === HEADWAY_BINS ? null : (i + 1) * HEADWAY_BIN_SECONDS,
    count: counts.get(i) ?? 0,
  }));
}

/**
 * Throws a usage error when the Postgres schema `dbSchema` does not exist, naming the database and server it
 * looked in and what to do: the report only reads, so it never creates one.
 */
async function requireSchema(db: Queryable, dbSchema: string): Promise<void> {
  const row = (
    await db.query(
      `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found, current_database() AS database,
         host(inet_server_addr()) AS host, inet_server_port() AS port`,
      [dbSchema],
    )
  ).rows[0];
  if (row?.['found'] === true) return;
  const server = row?.['host'] ? ` at ${String(row['host'])}:${String(row['port'])}` : '';
  throw new UsageError(
    `schema "${dbSchema}" does not exist in database "${String(row?.['database'])}"${server}: run eventful-load ` +
      `--db-schema ${dbSchema} first (it creates the schema, its tables and the wait-time views), or point --db-schema ` +
      `(or EVENTFUL_DB_SCHEMA) at the schema load wrote to`,
  );
}

/**
 * Reads everything the report shows. Throws an {@link EventfulError} with exit code 99 when the
 * views hold no headway yet, and a usage error when the views are missing or `station` is unknown.
 */
export async function readReportData(db: Queryable, query: ReportQuery): Promise<ReportData> {
  const s = quoteIdent(query.dbSchema);
  const v = (name: string): string => `${s}.${quoteIdent(name)}`;
  const exists = async (name: string): Promise<boolean> =>
    (await db.query('SELECT to_regclass($1) IS NOT NULL AS ok', [v(name)])).rows[0]?.['ok'] === true;

  await requireSchema(db, query.dbSchema);
  if (!(await exists('station_wait_times')) || !(await exists('station_wait_times_hourly')))
    throw new UsageError(
      `schema "${query.dbSchema}" has no wait-time views (station_wait_times): run load first, which creates them, ` +
        `or check --db-schema`,
    );

  // One pass over the views gives every platform and, as the grand-total grouping set, the whole network.
  const rows = (
    await db.query(
      `SELECT GROUPING(station_id, line, direction) = 7 AS is_total,
         station_id, max(station_name) AS station_name, line, direction, ${FIGURES},
         max(max_headway_seconds) AS max_headway,
         count(DISTINCT station_id)::int AS stations, count(DISTINCT line)::int AS lines,
         count(DISTINCT service_date)::int AS days,
         min(first_arrival_at) AS from_at, max(last_arrival_at) AS to_at
       FROM ${v('station_wait_times')}
       GROUP BY GROUPING SETS ((station_id, line, direction), ())
       ORDER BY is_total DESC, expected DESC NULLS LAST, station_id, line, direction`,
    )
  ).rows;
  const total = rows.find((r) => r['is_total'] === true) ?? {};
  const network = {
    ...figures(total),
    stations: num(total['stations']) ?? 0,
    lines: num(total['lines']) ?? 0,
    days: num(total['days']) ?? 0,
  };
  if (network.headways === 0 || network.expectedWaitSeconds === null)
    throw new EventfulError(
      `no headways in schema "${query.dbSchema}" yet (a station needs two arrivals): nothing to report`,
      ExitCode.NothingToDo,
      'no_data',
    );
  const stations: StationWait[] = rows
    .filter((r) => r['is_total'] !== true)
    .map((r) => ({
      stationId: String(r['station_id']),
      stationName: str(r['station_name']),
      line: String(r['line']),
      direction: String(r['direction']),
      maxHeadwaySeconds: num(r['max_headway']),
      ...figures(r),
    }));

  const hours: HourWait[] = (
    await db.query(
      `SELECT service_hour, ${FIGURES} FROM ${v('station_wait_times_hourly')}
       GROUP BY service_hour HAVING sum(headways) > 0 ORDER BY service_hour`,
    )
  ).rows.map((r) => ({ hour: Number(r['service_hour']), ...figures(r) }));

  const chosenId = query.station ?? stations.find((x) => x.expectedWaitSeconds !== null)!.stationId;
  const atChosen = stations.filter((x) => x.stationId === chosenId);
  if (atChosen.length === 0)
    throw new UsageError(`--station ${chosenId}: no arrivals at this station in schema "${query.dbSchema}"`);
  const binRows = (
    await db.query(
      `SELECT line, direction, least(floor(headway_seconds / $2), $3)::int AS bin, count(*)::int AS n
       FROM ${v('station_headways')}
       WHERE station_id = $1 AND headway_seconds IS NOT NULL AND NOT is_service_gap
       GROUP BY 1, 2, 3`,
      [chosenId, HEADWAY_BIN_SECONDS, HEADWAY_BINS],
    )
  ).rows;
  const panels: HeadwayPanel[] = atChosen
    .slice()
    .sort((a, b) => a.line.localeCompare(b.line) || a.direction.localeCompare(b.direction))
    .map((x) => {
      const counts = new Map<number, number>();
      for (const r of binRows)
        if (r['line'] === x.line && r['direction'] === x.direction) counts.set(Number(r['bin']), Number(r['n']));
      const { stationId: _id, stationName: _name, line, direction, maxHeadwaySeconds: _max, ...f } = x;
      return { line, direction, bins: fillBins(counts), figures: f };
    });

  const incidents: IncidentSpan[] = (await exists('incident_periods'))
    ? (
        await db.query(
          `SELECT incident_id, line, station_id, description, max_severity, reported_at, resolved_at
           FROM ${v('incident_periods')} ORDER BY reported_at, incident_id`,
        )
      ).rows.map((r) => ({
        incidentId: String(r['incident_id']),
        line: String(r['line']),
        stationId: str(r['station_id']),
        description: str(r['description']),
        severity: String(r['max_severity'] ?? 'unknown'),
        reportedAt: r['reported_at'] as Date,
        resolvedAt: (r['resolved_at'] as Date | null) ?? null,
      }))
    : [];

  const lineIncidents: LineIncidentWait[] = (await exists('line_incident_waits'))
    ? (await db.query(`SELECT * FROM ${v('line_incident_waits')} ORDER BY line`)).rows.map((r) => ({
        line: String(r['line']),
        incidents: num(r['incidents']) ?? 0,
        headwaysDuring: num(r['headways_during_incidents']) ?? 0,
        expectedWaitDuringSeconds: num(r['expected_wait_during_incidents_seconds']),
        excessWaitDuringSeconds: num(r['excess_wait_during_incidents_seconds']),
        headwaysOtherwise: num(r['headways_otherwise']) ?? 0,
        expectedWaitOtherwiseSeconds: num(r['expected_wait_otherwise_seconds']),
        excessWaitOtherwiseSeconds: num(r['excess_wait_otherwise_seconds']),
      }))
    : [];

  return {
    dbSchema: query.dbSchema,
    generatedAt: new Date(),
    period: { from: total['from_at'] as Date, to: total['to_at'] as Date },
    network,
    stations,
    hours,
    chosen: { stationId: chosenId, stationName: atChosen[0]!.stationName, panels },
    incidents,
    lineIncidents,
    top: query.top,
  };
}
