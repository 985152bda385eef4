/**
 * The tables that hold the wait-time answer, maintained by `load` (see answer-maintenance) and read by the views
 * (see views.ts). They are derived state: every row follows from `train_arrivals`, and a from-scratch build
 * (answer-build) makes them again.
 *
 * - `eventful_headways`: one row per station arrival with its predecessor at the same station, line and direction,
 *   in actual order (`previous_arrived_at`, `previous_train_id`) and in timetable order (`previous_scheduled_at`).
 *   Primary key `(station_id, line, direction, arrived_at, event_id)`: the actual order, so a neighbour is one
 *   index probe and one station's headways are one index range.
 *   Each row also keeps its headway, scheduled headway and lateness in whole microseconds (`headway_us`, ...:
 *   generated columns, exact, the unit timestamps have), which every sum adds up.
 * - `eventful_wait_hourly`, `eventful_wait_daily`: per station, line, direction and hour (`hour_start`) or
 *   `service_date`: counts, Σh and Σh² of actual and scheduled headways, lateness sums, first and last arrival.
 *   The sums are `numeric` seconds, added up from the microseconds: exact, so any roll-up of them in any order is
 *   exact too (a double's sum depends on the order it was added in).
 *   `during_incident` says whether the headway overlaps an incident of its line (see answer-incidents.ts).
 * - `eventful_wait_line_hours`: per line and hour of the day (all days together), the sums line_incident_waits
 *   compares: all headways, and those during an incident.
 * - `eventful_wait_platform_hours`: per platform and hour of the day (all days together), the sums the report rolls
 *   up, so that it reads platforms × 24 rows whatever the history.
 * - `eventful_wait_platform_bins`: per platform, its headways counted by length in bins of
 *   {@link HEADWAY_BIN_SECONDS} (all days together; service gaps left out): the report's histograms, moved by each
 *   headway a pass adds or relinks, so that they read a few rows per platform whatever the history.
 * - `eventful_answer_incidents`: the incident periods (line, reported, resolved) the flags were set from.
 * - `eventful_answer_state`: one row saying the tables are built, and with which settings (a warehouse upgraded
 *   from a version without them has no row; other settings mean another answer, so it is built again).
 */
import { quoteIdent } from '../schema/identifiers.js';
import type { WarehouseConnection } from './connection.js';
import type { ResolvedViewOptions } from './view-options.js';

/** The part of a connection the answer needs (a pg.Client fits too). */
export type AnswerDb = Pick<WarehouseConnection, 'query'>;

/** The event table the answer is derived from. */
export const ARRIVALS_TABLE = 'train_arrivals';
export const HEADWAYS_TABLE = 'eventful_headways';
export const WAIT_HOURLY_TABLE = 'eventful_wait_hourly';
export const WAIT_DAILY_TABLE = 'eventful_wait_daily';
export const LINE_HOURS_TABLE = 'eventful_wait_line_hours';
export const PLATFORM_HOURS_TABLE = 'eventful_wait_platform_hours';
export const PLATFORM_BINS_TABLE = 'eventful_wait_platform_bins';
/** Histogram bins of headways are this wide, this many of them, then one open bin for longer headways. */
export const HEADWAY_BIN_SECONDS = 60;
export const HEADWAY_BINS = 30;
export const ANSWER_STATE_TABLE = 'eventful_answer_state';
/** The incident periods the headways' `during_incident` flags were last set from (see answer-incidents.ts). */
export const INCIDENT_SPANS_TABLE = 'eventful_answer_incidents';
/** The event table incidents are derived from. */
export const INCIDENT_EVENTS_TABLE = 'incident_events';
/** The tables that hold the answer itself (all but the state row), in the order they are derived. */
export const DERIVED_TABLES = [
  HEADWAYS_TABLE,
  INCIDENT_SPANS_TABLE,
  WAIT_HOURLY_TABLE,
  WAIT_DAILY_TABLE,
  LINE_HOURS_TABLE,
  PLATFORM_HOURS_TABLE,
  PLATFORM_BINS_TABLE,
] as const;
/** Every table of the answer. */
export const ANSWER_TABLES = [...DERIVED_TABLES, ANSWER_STATE_TABLE] as const;

/**
 * The version of the tables' layout. Raise it when a column or its meaning changes: the next load then
 * builds the tables again from `train_arrivals`.
 */
export const ANSWER_LAYOUT_VERSION = 5;

/**
 * The comment the headway table carries: the layout it was created with. A table without it, or with another one,
 * was made by another version, so the tables and the views over them are made again (see migrate.ts).
 */
export const ANSWER_LAYOUT_COMMENT = `eventful answer layout ${ANSWER_LAYOUT_VERSION}`;

/** The sums every aggregate table keeps (name, type), in the order the maintenance computes them. */
export const WAIT_SUM_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['station_name', 'text'],
  ['arrivals', 'bigint'],
  ['headways', 'bigint'],
  ['max_headway_seconds', 'numeric'],
  ['sum_headway_seconds', 'numeric'],
  ['sum_headway_seconds_squared', 'numeric'],
  ['scheduled_headways', 'bigint'],
  ['sum_scheduled_headway_seconds', 'numeric'],
  ['sum_scheduled_headway_seconds_squared', 'numeric'],
  ['scheduled_arrivals', 'bigint'],
  ['sum_lateness_seconds', 'numeric'],
  ['sum_delay_seconds', 'numeric'],
  ['on_time_arrivals', 'bigint'],
  ['first_arrival_at', 'timestamp with time zone'],
  ['last_arrival_at', 'timestamp with time zone'],
  // Over the arrivals that have a predecessor (headway_seconds not NULL), which line_incident_waits counts.
  ['linked_arrivals', 'bigint'],
  ['linked_scheduled_headways', 'bigint'],
  ['linked_sum_scheduled_headway_seconds', 'numeric'],
  ['linked_sum_scheduled_headway_seconds_squared', 'numeric'],
  // Over the headways that overlap an incident of their line (during_incident), which line_incident_waits compares.
  ['incident_linked_arrivals', 'bigint'],
  ['incident_headways', 'bigint'],
  ['incident_sum_headway_seconds', 'numeric'],
  ['incident_sum_headway_seconds_squared', 'numeric'],
  ['incident_scheduled_headways', 'bigint'],
  ['incident_sum_scheduled_headway_seconds', 'numeric'],
  ['incident_sum_scheduled_headway_seconds_squared', 'numeric'],
];

/** The sums `eventful_wait_line_hours` keeps (a subset of {@link WAIT_SUM_COLUMNS}, all additive). */
export const LINE_HOUR_SUM_COLUMNS = [
  'linked_arrivals',
  'headways',
  'sum_headway_seconds',
  'sum_headway_seconds_squared',
  'linked_scheduled_headways',
  'linked_sum_scheduled_headway_seconds',
  'linked_sum_scheduled_headway_seconds_squared',
  'incident_linked_arrivals',
  'incident_headways',
  'incident_sum_headway_seconds',
  'incident_sum_headway_seconds_squared',
  'incident_scheduled_headways',
  'incident_sum_scheduled_headway_seconds',
  'incident_sum_scheduled_headway_seconds_squared',
] as const;

/** The sums `eventful_wait_platform_hours` keeps (a subset of {@link WAIT_SUM_COLUMNS}, all additive). */
export const PLATFORM_HOUR_SUM_COLUMNS = [
  'arrivals',
  'headways',
  'sum_headway_seconds',
  'sum_headway_seconds_squared',
  'scheduled_headways',
  'sum_scheduled_headway_seconds',
  'sum_scheduled_headway_seconds_squared',
  'scheduled_arrivals',
  'sum_lateness_seconds',
  'sum_delay_seconds',
  'on_time_arrivals',
] as const;

/** `name type NOT NULL DEFAULT 0` of additive sum columns, typed as in {@link WAIT_SUM_COLUMNS}. */
const additiveColumns = (names: readonly string[]): string =>
  names.map((c) => `${c} ${WAIT_SUM_COLUMNS.find(([n]) => n === c)![1]} NOT NULL DEFAULT 0`).join(', ');

/**
 * Seconds from timestamp `earlier` to `later`, as double precision: `date_part('epoch', ...)`, which gives the same
 * value as `extract(epoch ...)::double precision` (the exact numeric, rounded once) without the numeric arithmetic
 * that made the hourly sums of a large snapshot several times slower.
 */
export const secondsBetween = (later: string, earlier: string): string => `date_part('epoch', ${later} - ${earlier})`;

/**
 * Whole microseconds from timestamp `earlier` to `later`, as bigint: exact (`extract` gives the interval's exact
 * numeric seconds), NULL when either is.
 */
export const microsBetween = (later: string, earlier: string): string =>
  `(extract(epoch FROM ${later} - ${earlier}) * 1000000)::bigint`;

/**
 * A bound in seconds (a setting) as a bigint count of microseconds, to compare with the whole-microsecond `_us`
 * columns: the largest whole count at most it (`atMost`), or the smallest at least it. Exact (worked out in numeric
 * once, as a constant), and each row's comparison is then between bigints, not a numeric one per row.
 */
export const boundInMicros = (seconds: number, side: 'atMost' | 'atLeast'): string =>
  `${side === 'atMost' ? 'floor' : 'ceil'}(${seconds}::numeric * 1000000)::bigint`;

/** Exact numeric seconds from a sum (or value) of microseconds; scale 6. */
export const microsAsSeconds = (micros: string): string => `(${micros}) * 0.000001`;

/** Exact numeric seconds² from a sum of squared microseconds; scale 12. */
export const squaredMicrosAsSeconds = (micros2: string): string => `(${micros2}) * 0.000000000001`;

/** The least of a connection that a look at the catalog needs (a warehouse connection, a pg.Client, report's). */
export interface CatalogReader {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** Whether the table, view or index `name` (`"schema"."name"`) exists. */
export async function relationExists(db: CatalogReader, name: string): Promise<boolean> {
  const { rows } = await db.query('SELECT to_regclass($1) IS NOT NULL AS present', [name]);
  return rows[0]?.['present'] === true;
}

/** `"schema"."name"` of an answer table. */
export const answerTable = (dbSchema: string, name: string): string => `${quoteIdent(dbSchema)}.${quoteIdent(name)}`;

/** The text that identifies the settings the tables were built with. */
export function answerFingerprint(o: ResolvedViewOptions): string {
  return JSON.stringify({
    layout: ANSWER_LAYOUT_VERSION,
    maxHeadwaySeconds: o.maxHeadwaySeconds,
    timeZone: o.timeZone,
    onTimeEarlySeconds: o.onTimeEarlySeconds,
    onTimeLateSeconds: o.onTimeLateSeconds,
  });
}

const sumColumns = WAIT_SUM_COLUMNS.map(([n, t]) => `${quoteIdent(n)} ${t}`).join(', ');

/** The headway table's primary key: a platform's arrivals in order. */
const HEADWAYS_KEY = 'station_id, line, direction, arrived_at, event_id';
const HEADWAYS_KEY_NAME = 'eventful_headways_pkey';
const HEADWAY_INDEXES = ['eventful_headways_timetable', 'eventful_headways_line', 'eventful_headways_gaps'];

/** `CREATE INDEX IF NOT EXISTS` statements of the headway table's indexes besides its primary key. */
function headwayIndexStatements(dbSchema: string): string[] {
  const [timetable, line, gaps] = HEADWAY_INDEXES;
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  return [
    // The timetable order, for the neighbours of a new scheduled arrival.
    `CREATE INDEX IF NOT EXISTS ${timetable} ON ${H}
  (station_id, line, direction, scheduled_at, arrived_at, event_id) WHERE scheduled_at IS NOT NULL`,
    // A line's headways in a time range: what an incident overlaps.
    `CREATE INDEX IF NOT EXISTS ${line} ON ${H} (line, arrived_at)`,
    `CREATE INDEX IF NOT EXISTS ${gaps} ON ${H} (line, arrived_at) WHERE is_service_gap`,
  ];
}

/**
 * Dropping the headway table's key and indexes, and making them again: around the bulk insert of a build into
 * the empty table, which then costs a sort per index instead of an index insertion per row (800 k arrivals: 3.2 s
 * instead of ~9 s).
 */
export function headwayIndexDrops(dbSchema: string): string[] {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  return [
    `ALTER TABLE ${H} DROP CONSTRAINT IF EXISTS ${HEADWAYS_KEY_NAME}`,
    `DROP INDEX IF EXISTS ${HEADWAY_INDEXES.map((i) => `${quoteIdent(dbSchema)}.${i}`).join(', ')}`,
  ];
}

/** Makes the headway table's key and indexes again after {@link headwayIndexDrops}. */
export function headwayIndexCreates(dbSchema: string): string[] {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  return [
    `ALTER TABLE ${H} ADD CONSTRAINT ${HEADWAYS_KEY_NAME} PRIMARY KEY (${HEADWAYS_KEY})`,
    ...headwayIndexStatements(dbSchema),
  ];
}

/** The index of `incident_events` by incident that the answer adds to it. */
export const INCIDENT_EVENTS_INDEX = 'eventful_incident_events_by_incident';

/**
 * CREATE of the index of `incident_events` by incident: a pass reads the events of the incidents its snapshot
 * added (answer-incidents.ts), which without it is a scan of every incident event in history.
 */
export const incidentEventsIndexStatement = (dbSchema: string): string =>
  `CREATE INDEX IF NOT EXISTS ${INCIDENT_EVENTS_INDEX} ON ${answerTable(dbSchema, INCIDENT_EVENTS_TABLE)} (incident_id)`;

/** `CREATE TABLE IF NOT EXISTS` (and index) statements of the answer tables, in `dbSchema`. */
export function answerTableStatements(dbSchema: string): string[] {
  const t = (name: string): string => answerTable(dbSchema, name);
  const key = 'station_id text NOT NULL, line text NOT NULL, direction text NOT NULL';
  return [
    `CREATE TABLE IF NOT EXISTS ${t(HEADWAYS_TABLE)} (
  ${key}, arrived_at timestamptz NOT NULL, event_id uuid NOT NULL,
  station_name text, train_id text, scheduled_at timestamptz,
  service_date date NOT NULL, service_hour integer NOT NULL, hour_start timestamptz NOT NULL,
  previous_train_id text, previous_arrived_at timestamptz, previous_scheduled_at timestamptz,
  is_service_gap boolean NOT NULL DEFAULT false, during_incident boolean NOT NULL DEFAULT false,
  headway_us bigint GENERATED ALWAYS AS (${microsBetween('arrived_at', 'previous_arrived_at')}) STORED,
  scheduled_headway_us bigint GENERATED ALWAYS AS (${microsBetween('scheduled_at', 'previous_scheduled_at')}) STORED,
  lateness_us bigint GENERATED ALWAYS AS (${microsBetween('arrived_at', 'scheduled_at')}) STORED,
  CONSTRAINT ${HEADWAYS_KEY_NAME} PRIMARY KEY (${HEADWAYS_KEY}))`,
    `COMMENT ON TABLE ${t(HEADWAYS_TABLE)} IS '${ANSWER_LAYOUT_COMMENT}'`,
    ...headwayIndexStatements(dbSchema),
    `CREATE TABLE IF NOT EXISTS ${t(WAIT_HOURLY_TABLE)} (
  ${key}, hour_start timestamptz NOT NULL, service_date date NOT NULL, service_hour integer NOT NULL, ${sumColumns},
  PRIMARY KEY (station_id, line, direction, hour_start))`,
    `CREATE INDEX IF NOT EXISTS eventful_wait_hourly_date ON ${t(WAIT_HOURLY_TABLE)} (service_date)`,
    `CREATE TABLE IF NOT EXISTS ${t(WAIT_DAILY_TABLE)} (
  ${key}, service_date date NOT NULL, ${sumColumns},
  PRIMARY KEY (station_id, line, direction, service_date))`,
    // The report's period (first and last day) and count of days.
    `CREATE INDEX IF NOT EXISTS eventful_wait_daily_date ON ${t(WAIT_DAILY_TABLE)} (service_date)`,
    `CREATE TABLE IF NOT EXISTS ${t(LINE_HOURS_TABLE)} (
  line text NOT NULL, service_hour integer NOT NULL,
  ${additiveColumns(LINE_HOUR_SUM_COLUMNS)},
  PRIMARY KEY (line, service_hour))`,
    `CREATE TABLE IF NOT EXISTS ${t(PLATFORM_HOURS_TABLE)} (
  ${key}, service_hour integer NOT NULL, station_name text, ${additiveColumns(PLATFORM_HOUR_SUM_COLUMNS)},
  PRIMARY KEY (station_id, line, direction, service_hour))`,
    `CREATE TABLE IF NOT EXISTS ${t(PLATFORM_BINS_TABLE)} (
  ${key}, bin integer NOT NULL, headways bigint NOT NULL, PRIMARY KEY (station_id, line, direction, bin))`,
    `CREATE TABLE IF NOT EXISTS ${t(INCIDENT_SPANS_TABLE)} (
  incident_id text PRIMARY KEY, line text, reported_at timestamptz NOT NULL, resolved_at timestamptz)`,
    // The report's incidents open in its last days: resolved since then, or still open (NULL).
    `CREATE INDEX IF NOT EXISTS eventful_answer_incidents_resolved ON ${t(INCIDENT_SPANS_TABLE)} (resolved_at)`,
    `CREATE TABLE IF NOT EXISTS ${t(ANSWER_STATE_TABLE)} (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), fingerprint text NOT NULL,
  built_at timestamptz NOT NULL DEFAULT now())`,
  ];
}
