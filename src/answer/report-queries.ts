/**
 * Reads the report's data from the wait-time views (src/warehouse/views.ts). Read-only: it never
 * creates or changes anything, so a read-only database role can run it.
 */
import { EventfulError, ExitCode, UsageError } from '../basics/errors.js';
import { quoteIdent } from '../schema/identifiers.js';
import {
  INCIDENT_WINDOW_DAYS,
  type HeadwayBin,
  type HeadwayPanel,
  type IncidentSummary,
  type LineIncidentWait,
  type ReportData,
  type StationWait,
} from './report-model.js';
import {
  HEADWAY_BIN_SECONDS,
  HEADWAY_BINS,
  INCIDENT_SPANS_TABLE,
  PLATFORM_BINS_TABLE,
  PLATFORM_HOURS_TABLE,
  relationExists,
  WAIT_DAILY_TABLE,
} from '../warehouse/answer-tables.js';
import { answerBehind } from '../warehouse/answer-build.js';
import { DEFAULT_PERIOD_STARTS, servicePeriods, type ServicePeriod } from './service-periods.js';
import {
  exactSum,
  hourWaits,
  periodWaits,
  platformWaits,
  splitByModel,
  WAIT_MODEL_DEFAULTS,
  type ExactSum,
  type HourSums,
  type PlatformWait,
} from './wait-rollup.js';

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
  /** The service periods to headline (default: {@link DEFAULT_PERIOD_STARTS}). */
  periods?: readonly ServicePeriod[];
  /** A mean scheduled headway over this many seconds gets the timetable model (default 12 min). */
  longHeadwaySeconds?: number;
}

/**
 * The sums of each platform and hour of the day over every day: the rows load keeps in
 * `eventful_wait_platform_hours` (platforms × 24, whatever the history).
 */
const PLATFORM_HOUR_SUMS = (hours: string): string => `
  SELECT p.station_id, p.station_name, p.line, p.direction, p.service_hour,
    p.arrivals, p.headways, p.sum_headway_seconds AS sum_h, p.sum_headway_seconds_squared AS sum_h2,
    p.scheduled_headways AS n_hs, p.sum_scheduled_headway_seconds AS sum_hs,
    p.sum_scheduled_headway_seconds_squared AS sum_hs2,
    p.scheduled_arrivals, p.sum_lateness_seconds AS sum_lateness, p.sum_delay_seconds AS sum_delay,
    p.on_time_arrivals AS on_time
  FROM ${hours} p
  WHERE p.arrivals > 0
  ORDER BY p.station_id, p.line, p.direction, p.service_hour`;

/** How an incident whose events name no line is labelled. */
const NO_LINE = '(no line)';

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function hourSums(r: Record<string, unknown>): HourSums {
  // Counts arrive as bigint text (exact as numbers below 2⁵³), sums as numeric text, read exactly.
  const sum = (column: string): ExactSum => exactSum(String(r[column]));
  return {
    stationId: String(r['station_id']),
    stationName: str(r['station_name']),
    line: String(r['line']),
    direction: String(r['direction']),
    hour: Number(r['service_hour']),
    arrivals: Number(r['arrivals']),
    headways: Number(r['headways']),
    sumHeadway: sum('sum_h'),
    sumHeadwaySquared: sum('sum_h2'),
    scheduledHeadways: Number(r['n_hs']),
    sumScheduledHeadway: sum('sum_hs'),
    sumScheduledHeadwaySquared: sum('sum_hs2'),
    scheduledArrivals: Number(r['scheduled_arrivals']),
    sumLateness: sum('sum_lateness'),
    sumDelay: sum('sum_delay'),
    onTimeArrivals: Number(r['on_time']),
  };
}

/** A platform as the station tables show it: random arrival over its frequent service, lateness over the rest. */
function stationWait(p: PlatformWait): StationWait {
  return {
    stationId: p.stationId,
    stationName: p.stationName,
    line: p.line,
    direction: p.direction,
    ...p.frequent,
    timetabled: p.timetabled,
    timetabledShare: p.timetabledShare,
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

/** Qualified names of the views in one schema, and whether each exists. */
interface Views {
  name(view: string): string;
  exists(view: string): Promise<boolean>;
}

function viewsOf(db: Queryable, dbSchema: string): Views {
  const s = quoteIdent(dbSchema);
  const name = (view: string): string => `${s}.${quoteIdent(view)}`;
  return {
    name,
    exists: (view) => relationExists(db, name(view)),
  };
}

/**
 * The first and last arrival and the number of service days, from the daily table's index by service_date: the
 * first and last day's rows, and one index probe per day for the count (a loose index scan: ~4 µs a day).
 */
async function readExtent(db: Queryable, v: Views): Promise<{ from: Date; to: Date; days: number }> {
  const daily = v.name(WAIT_DAILY_TABLE);
  const sql = `WITH RECURSIVE days AS (
      (SELECT service_date FROM ${daily} ORDER BY service_date LIMIT 1)
      UNION ALL
      SELECT (SELECT d.service_date FROM ${daily} d WHERE d.service_date > days.service_date
        ORDER BY d.service_date LIMIT 1)
      FROM days WHERE days.service_date IS NOT NULL
    )
    SELECT (SELECT count(service_date) FROM days)::int AS days,
      (SELECT min(first_arrival_at) FROM ${daily}
        WHERE service_date = (SELECT min(service_date) FROM ${daily})) AS from_at,
      (SELECT max(last_arrival_at) FROM ${daily}
        WHERE service_date = (SELECT max(service_date) FROM ${daily})) AS to_at`;
  const row = (await db.query(sql)).rows[0] ?? {};
  return { from: row['from_at'] as Date, to: row['to_at'] as Date, days: Number(row['days'] ?? 0) };
}

/** Every platform and hour of the day, summed over the days. */
async function readHourSums(db: Queryable, v: Views): Promise<HourSums[]> {
  for (const table of [PLATFORM_HOURS_TABLE, PLATFORM_BINS_TABLE, WAIT_DAILY_TABLE])
    if (!(await v.exists(table)))
      throw new UsageError(
        `the wait-time answer in this schema was built by an older version of eventful (no ${table}): ` +
          `run load once, which rebuilds it`,
      );
  return (await db.query(PLATFORM_HOUR_SUMS(v.name(PLATFORM_HOURS_TABLE)))).rows.map(hourSums);
}

/** The start of the incidents shown one by one: {@link INCIDENT_WINDOW_DAYS} before the period's end, or its start. */
function incidentWindowStart(extent: { from: Date; to: Date }): Date {
  const start = extent.to.getTime() - INCIDENT_WINDOW_DAYS * 24 * 3600 * 1000;
  return new Date(Math.max(extent.from.getTime(), start));
}

/** Platforms worst expected wait first (platforms without one last), then by id. */
function byWorstWait(a: StationWait, b: StationWait): number {
  return (
    (b.expectedWaitSeconds ?? -Infinity) - (a.expectedWaitSeconds ?? -Infinity) ||
    a.stationId.localeCompare(b.stationId) ||
    a.line.localeCompare(b.line) ||
    a.direction.localeCompare(b.direction)
  );
}

/**
 * The headway histograms of a station's platforms, from the counts load keeps by platform and bin (a few rows per
 * platform, whatever the history).
 */
async function readPanels(db: Queryable, v: Views, platforms: readonly PlatformWait[]): Promise<HeadwayPanel[]> {
  const binRows = (
    await db.query(
      `SELECT line, direction, bin, headways AS n FROM ${v.name(PLATFORM_BINS_TABLE)}
       WHERE station_id = $1 AND headways > 0`,
      [platforms[0]!.stationId],
    )
  ).rows;
  return platforms
    .slice()
    .sort((a, b) => a.line.localeCompare(b.line) || a.direction.localeCompare(b.direction))
    .map((x) => {
      const counts = new Map<number, number>();
      for (const r of binRows)
        if (r['line'] === x.line && r['direction'] === x.direction) counts.set(Number(r['bin']), Number(r['n']));
      return { line: x.line, direction: x.direction, bins: fillBins(counts), figures: x.all };
    });
}

/**
 * The incidents: how many the warehouse holds, and those open at some time since `since`, from the periods load
 * keeps (`eventful_answer_incidents`, by its index on `resolved_at`) with their details from `incident_periods`
 * for those incidents only (`incident_events` by its index by incident): the window's incidents, not the history's.
 */
async function readIncidents(db: Queryable, v: Views, since: Date): Promise<IncidentSummary> {
  if (!(await v.exists('incident_periods'))) return { total: 0, since, recent: [] };
  const spans = v.name(INCIDENT_SPANS_TABLE);
  const sql = `SELECT incident_id, line, station_id, description, max_severity, reported_at, resolved_at
    FROM ${v.name('incident_periods')}
    WHERE incident_id = ANY (ARRAY(SELECT incident_id FROM ${spans} WHERE resolved_at >= $1 OR resolved_at IS NULL))
    ORDER BY reported_at, incident_id`;
  const total = Number((await db.query(`SELECT count(*)::int AS n FROM ${spans}`)).rows[0]?.['n'] ?? 0);
  const recent = (await db.query(sql, [since])).rows.map((r) => ({
    incidentId: String(r['incident_id']),
    line: str(r['line']) ?? NO_LINE,
    stationId: str(r['station_id']),
    description: str(r['description']),
    severity: String(r['max_severity'] ?? 'unknown'),
    reportedAt: r['reported_at'] as Date,
    resolvedAt: (r['resolved_at'] as Date | null) ?? null,
  }));
  return { total, since, recent };
}

async function readLineIncidents(db: Queryable, v: Views): Promise<LineIncidentWait[]> {
  if (!(await v.exists('line_incident_waits'))) return [];
  return (await db.query(`SELECT * FROM ${v.name('line_incident_waits')} ORDER BY line`)).rows.map((r) => ({
    line: String(r['line']),
    incidents: num(r['incidents']) ?? 0,
    headwaysDuring: num(r['headways_during_incidents']) ?? 0,
    expectedWaitDuringSeconds: num(r['expected_wait_during_incidents_seconds']),
    excessWaitDuringSeconds: num(r['excess_wait_during_incidents_seconds']),
    headwaysSameHours: num(r['headways_same_hours_otherwise']) ?? 0,
    expectedWaitSameHoursSeconds: num(r['expected_wait_same_hours_otherwise_seconds']),
    excessWaitSameHoursSeconds: num(r['excess_wait_same_hours_otherwise_seconds']),
    headwaysOtherwise: num(r['headways_otherwise']) ?? 0,
    expectedWaitOtherwiseSeconds: num(r['expected_wait_otherwise_seconds']),
    excessWaitOtherwiseSeconds: num(r['excess_wait_otherwise_seconds']),
  }));
}

/**
 * Reads everything the report shows, each from rows load keeps and indexes so that its cost is the size of the answer,
 * not of the history: roll-ups from the sums by platform and hour of the day, the period from the daily table's
 * index by day, one station's histograms from the counts by platform and bin, and the incidents of
 * the last {@link INCIDENT_WINDOW_DAYS} days.
 * Throws an {@link EventfulError} with exit code 99 when the views hold no headway yet, with exit code 2 when
 * arrivals are loaded but their answer is not built, and a usage error when the views are missing or `station` is
 * unknown.
 */
export async function readReportData(db: Queryable, query: ReportQuery): Promise<ReportData> {
  const v = viewsOf(db, query.dbSchema);
  await requireSchema(db, query.dbSchema);
  if (!(await v.exists('station_wait_times')) || !(await v.exists('station_wait_times_hourly')))
    throw new UsageError(
      `schema "${query.dbSchema}" has no wait-time views (station_wait_times): run load first, which creates them, ` +
        `or check --db-schema`,
    );
  const sums = await readHourSums(db, v);
  const extent = await readExtent(db, v);
  const long = query.longHeadwaySeconds ?? WAIT_MODEL_DEFAULTS.longHeadwaySeconds;
  const network = {
    ...splitByModel(sums, long),
    stations: new Set(sums.map((x) => x.stationId)).size,
    lines: new Set(sums.map((x) => x.line)).size,
    days: extent.days,
  };
  if (network.all.headways === 0 && (await answerBehind(db, query.dbSchema)))
    throw new EventfulError(
      `the wait-time answer in schema "${query.dbSchema}" is not built (a load with --no-answer emptied it): run ` +
        `load once without --no-answer, which builds it from the arrivals, then report again`,
      ExitCode.Usage,
      'answer_not_built',
    );
  if (network.all.headways === 0 || network.all.expectedWaitSeconds === null)
    throw new EventfulError(
      `no headways in schema "${query.dbSchema}" yet (a station needs two arrivals): nothing to report`,
      ExitCode.NothingToDo,
      'no_data',
    );
  const platforms = platformWaits(sums, long);
  const stations = platforms.map(stationWait).sort(byWorstWait);
  const chosenId = query.station ?? stations[0]!.stationId;
  const atChosen = platforms.filter((x) => x.stationId === chosenId);
  if (atChosen.length === 0)
    throw new UsageError(
      `--station ${chosenId}: no arrivals at this station in schema "${query.dbSchema}"; its stations are listed by ` +
        `SELECT DISTINCT station_id, station_name FROM "${query.dbSchema}".station_wait_times`,
    );
  return {
    dbSchema: query.dbSchema,
    generatedAt: new Date(),
    period: { from: extent.from, to: extent.to },
    network,
    periods: periodWaits(sums, query.periods ?? servicePeriods(DEFAULT_PERIOD_STARTS), long),
    stations,
    hours: hourWaits(sums, long),
    longHeadwaySeconds: long,
    chosen: { stationId: chosenId, stationName: atChosen[0]!.stationName, panels: await readPanels(db, v, atChosen) },
    incidents: await readIncidents(db, v, incidentWindowStart(extent)),
    lineIncidents: await readLineIncidents(db, v),
    top: query.top,
  };
}
