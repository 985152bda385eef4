/**
 * The SQL shared by the answer's maintenance (one snapshot at a time) and its build (all history at once): how a
 * station arrival becomes a headway row, and how headway rows add up into the hourly, daily and hour-of-day sums.
 * Pure: statement text only, over the tables of answer-tables.ts.
 */
import { quoteIdent } from '../schema/identifiers.js';
import {
  answerTable,
  HEADWAYS_TABLE,
  LINE_HOUR_SUM_COLUMNS,
  LINE_HOURS_TABLE,
  PLATFORM_HOUR_SUM_COLUMNS,
  PLATFORM_HOURS_TABLE,
  WAIT_DAILY_TABLE,
  WAIT_HOURLY_TABLE,
  microsAsSeconds,
  boundInMicros,
  secondsBetween,
  squaredMicrosAsSeconds,
  WAIT_SUM_COLUMNS,
} from './answer-tables.js';
import type { ResolvedViewOptions } from './view-options.js';

/**
 * Only station arrivals count: a checkpoint is not a platform anybody waits at, and neither is an arrival whose
 * station, line or direction is unknown (possible only when a customised schema makes one optional).
 */
export const STATION_ARRIVAL = `(checkpoint_type = 'station' OR checkpoint_type IS NULL)
  AND station_id IS NOT NULL AND line IS NOT NULL AND direction IS NOT NULL`;

/** The key of a platform: station, line, direction. */
export const PLATFORM = ['station_id', 'line', 'direction'] as const;

/** `a.station_id = b.station_id AND ...` over the platform columns. */
export const samePlatform = (a: string, b: string): string =>
  PLATFORM.map((c) => `${a}.${c} = ${b}.${c}`).join(' AND ');

/**
 * The headway rows (alias `h`) of the hour of a touched row `x` (platform and `hour_start`): an index range of the
 * platform. A day-light saving hour can hold two hours of arrivals: the range reaches two hours, hour_start decides.
 */
export const inHourOf = (h: string, x: string): string =>
  `${samePlatform(h, x)} AND ${h}.arrived_at >= ${x}.hour_start
  AND ${h}.arrived_at < ${x}.hour_start + interval '2 hours' AND ${h}.hour_start = ${x}.hour_start`;

/** The headway row columns that come straight from an arrival (all but the predecessor's). */
export const ARRIVAL_COLUMNS = [
  'station_id',
  'line',
  'direction',
  'arrived_at',
  'event_id',
  'station_name',
  'train_id',
  'scheduled_at',
  'service_date',
  'service_hour',
  'hour_start',
] as const;

/** The select list of {@link ARRIVAL_COLUMNS} from a row of `train_arrivals` (alias `a`). */
export function arrivalSelect(o: ResolvedViewOptions): string {
  const tz = `'${o.timeZone}'`;
  return `a.station_id, a.line, a.direction, a.occurred_at, a.event_id, a.station_name, a.train_id, a.scheduled_at,
  (a.occurred_at AT TIME ZONE ${tz})::date, extract(hour FROM a.occurred_at AT TIME ZONE ${tz})::integer,
  date_trunc('hour', a.occurred_at, ${tz})`;
}

/**
 * Whether a headway from `previous` to `arrived` (timestamps) is a gap in service; false without a previous. Exact:
 * compared in numeric seconds, as the `_us` columns the sums leave gaps out by.
 */
export const serviceGap = (arrived: string, previous: string, o: ResolvedViewOptions): string =>
  `coalesce(extract(epoch FROM ${arrived} - ${previous}) > ${o.maxHeadwaySeconds}, false)`;

/**
 * The sums of {@link WAIT_SUM_COLUMNS} over headway rows (alias `h`), in that order, from their whole microseconds
 * (`headway_us`, ...): integer sums, turned into exact numeric seconds. The oracle (view-oracle.ts) adds up the same
 * values as numeric seconds, so a group's figures are equal whichever way, and in whichever order, they were added.
 */
export function headwaySums(o: ResolvedViewOptions): string {
  const max = boundInMicros(o.maxHeadwaySeconds, 'atMost');
  const counted = (x: string): string => `(CASE WHEN ${x} <= ${max} THEN ${x} END)`;
  const hh = counted('h.headway_us');
  const hs = counted('h.scheduled_headway_us');
  const late = 'h.lateness_us';
  const seconds = (sum: string): string => microsAsSeconds(sum);
  // Σx² of whole microseconds, exact without a numeric product per row (1.8× as fast): with x = s·10⁶ + u (whole
  // seconds s, remainder u, both truncated toward zero), Σx² = Σs²·10¹² + 2Σsu·10⁶ + Σu², each a bigint sum
  // (Postgres adds bigints in 128 bits and returns numeric). s² fits a bigint while s ≤ MAX_HEADWAY_LIMIT.
  const squares = (x: string, filter = ''): string => {
    const [s, u] = [`(${x} / 1000000)`, `(${x} % 1000000)`];
    return squaredMicrosAsSeconds(
      `sum(${s} * ${s})${filter} * 1000000000000 + 2 * sum(${s} * ${u})${filter} * 1000000 + sum(${u} * ${u})${filter}`,
    );
  };
  const linked = ` FILTER (WHERE h.previous_arrived_at IS NOT NULL)`;
  const during = ` FILTER (WHERE h.during_incident)`;
  return [
    `max(h.station_name)`,
    `count(*)`,
    `count(${hh})`,
    seconds(`max(${hh})`),
    seconds(`sum(${hh})`),
    squares(hh),
    `count(${hs})`,
    seconds(`sum(${hs})`),
    squares(hs),
    `count(${late})`,
    seconds(`sum(${late})`),
    seconds(`sum(greatest(${late}, 0))`),
    `count(*) FILTER (WHERE ${late} BETWEEN ${boundInMicros(-o.onTimeEarlySeconds, 'atLeast')} AND ${boundInMicros(o.onTimeLateSeconds, 'atMost')})`,
    `min(h.arrived_at)`,
    `max(h.arrived_at)`,
    `count(*)${linked}`,
    `count(${hs})${linked}`,
    seconds(`sum(${hs})${linked}`),
    squares(hs, linked),
    `count(*)${during}`,
    `count(${hh})${during}`,
    seconds(`sum(${hh})${during}`),
    squares(hh, during),
    `count(${hs})${during}`,
    seconds(`sum(${hs})${during}`),
    squares(hs, during),
  ].join(',\n  ');
}

/** The same sums rolled up from rows of an aggregate table (alias `h`): exact, since they are counts and sums. */
export function rolledUpSums(): string {
  return WAIT_SUM_COLUMNS.map(([c]) => {
    const col = `h.${quoteIdent(c)}`;
    if (c === 'station_name' || c === 'max_headway_seconds' || c === 'last_arrival_at') return `max(${col})`;
    if (c === 'first_arrival_at') return `min(${col})`;
    return `sum(${col})`;
  }).join(', ');
}

const sumNames = WAIT_SUM_COLUMNS.map(([c]) => quoteIdent(c)).join(', ');

/**
 * A FROM clause of the headway rows (alias `h`, with `columns`) in the hours of `touched` (a table of platforms
 * and `hour_start`s): one index range per hour. OFFSET 0 keeps the LATERAL from being flattened into a join, which
 * the planner can make a pass over every stored headway: the cost of an hour must not grow with the history.
 */
export function headwaysInHours(dbSchema: string, touched: string, columns = 'h.*'): string {
  return `(SELECT DISTINCT ${PLATFORM.join(', ')}, hour_start FROM ${touched}) x
  CROSS JOIN LATERAL (SELECT ${columns} FROM ${answerTable(dbSchema, HEADWAYS_TABLE)} h WHERE ${inHourOf('h', 'x')}
    OFFSET 0) h`;
}

/**
 * INSERT of the hourly sums of the headway rows of `from` (a FROM clause that names them `h`; default: all of
 * them), optionally wrapped so the inserted rows are `RETURNING`ed to the caller's CTE.
 */
export function insertHourlySql(
  dbSchema: string,
  o: ResolvedViewOptions,
  from = `${answerTable(dbSchema, HEADWAYS_TABLE)} h`,
  returning = '',
): string {
  return `INSERT INTO ${answerTable(dbSchema, WAIT_HOURLY_TABLE)}
  (station_id, line, direction, hour_start, service_date, service_hour, ${sumNames})
SELECT h.station_id, h.line, h.direction, h.hour_start, h.service_date, h.service_hour,
  ${headwaySums(o)}
FROM ${from}
GROUP BY h.station_id, h.line, h.direction, h.hour_start, h.service_date, h.service_hour${returning}`;
}

/** INSERT of the daily roll-up of the hourly rows chosen by `join` (a JOIN clause on `h`, or ''). */
export function insertDailySql(dbSchema: string, join: string): string {
  return `INSERT INTO ${answerTable(dbSchema, WAIT_DAILY_TABLE)} (station_id, line, direction, service_date, ${sumNames})
SELECT h.station_id, h.line, h.direction, h.service_date, ${rolledUpSums()}
FROM ${answerTable(dbSchema, WAIT_HOURLY_TABLE)} h ${join}
GROUP BY h.station_id, h.line, h.direction, h.service_date`;
}

/** One table of sums by hour of the day (all days together): its key and its additive columns. */
interface HourOfDayTable {
  name: string;
  key: readonly string[];
  sums: readonly string[];
}

const HOUR_OF_DAY_TABLES: readonly HourOfDayTable[] = [
  { name: LINE_HOURS_TABLE, key: ['line', 'service_hour'], sums: LINE_HOUR_SUM_COLUMNS },
  { name: PLATFORM_HOURS_TABLE, key: [...PLATFORM, 'service_hour'], sums: PLATFORM_HOUR_SUM_COLUMNS },
];

/** INSERT that adds `sign` × the sums of `source`'s rows (hourly rows) to one hour-of-day table. */
function addToHourOfDaySql(dbSchema: string, table: HourOfDayTable, source: string, sign: 1 | -1): string {
  const key = table.key.join(', ');
  const named = table.name === PLATFORM_HOURS_TABLE;
  const cols = [...table.sums, ...(named ? ['station_name'] : [])].join(', ');
  const sums = [
    ...table.sums.map((c) => `${sign} * coalesce(sum(${c}), 0)`),
    ...(named ? ['max(station_name)'] : []),
  ].join(', ');
  const sets = [
    ...table.sums.map((c) => `${c} = t.${c} + excluded.${c}`),
    ...(named ? ['station_name = greatest(t.station_name, excluded.station_name)'] : []),
  ].join(', ');
  return `INSERT INTO ${answerTable(dbSchema, table.name)} AS t (${key}, ${cols})
SELECT ${key}, ${sums} FROM ${source} GROUP BY ${key}
ON CONFLICT (${key}) DO UPDATE SET ${sets}`;
}

/**
 * Adds (`sign` 1) or subtracts (-1) the sums of the hourly rows in `source` (a relation with the hourly table's
 * columns) to the tables by hour of the day: `eventful_wait_line_hours` and `eventful_wait_platform_hours`. One
 * statement; `sourceCte` (e.g. `gone AS (DELETE ... RETURNING ...)`) defines `source` when it is a CTE.
 */
export function addHoursOfDaySql(dbSchema: string, source: string, sign: 1 | -1, sourceCte?: string): string {
  const [first, ...rest] = HOUR_OF_DAY_TABLES.map((t) => addToHourOfDaySql(dbSchema, t, source, sign));
  const ctes = [...(sourceCte ? [sourceCte] : []), ...rest.map((sql, i) => `hour_of_day_${i} AS (${sql})`)];
  return `WITH ${ctes.join(',\n')}\n${first}`;
}

/**
 * The SELECT of one row per incident from the incident events table `events`: line (of its first event), station,
 * description, worst severity, `reported_at` (first event), `resolved_at` (first resolution; NULL while open). A few
 * rows per incident: the `incident_periods` view, and the periods the answer's incident flags follow.
 */
export function incidentPeriodsSelect(events: string): string {
  return `WITH ranked AS (
  SELECT e.*,
    CASE severity WHEN 'minor' THEN 1 WHEN 'major' THEN 2 WHEN 'critical' THEN 3 END AS severity_rank,
    (status = 'resolved' OR event_type = 'incident_resolved') AS resolves
  FROM ${events} e
)
SELECT
  incident_id,
  (array_agg(line ORDER BY occurred_at, event_id))[1] AS line,
  (array_agg(station_id ORDER BY occurred_at, event_id) FILTER (WHERE station_id IS NOT NULL))[1] AS station_id,
  (array_agg(description ORDER BY occurred_at, event_id) FILTER (WHERE description IS NOT NULL))[1] AS description,
  (array_agg(severity ORDER BY severity_rank DESC NULLS LAST, occurred_at))[1] AS max_severity,
  min(occurred_at) AS reported_at,
  min(occurred_at) FILTER (WHERE resolves) AS resolved_at,
  ${secondsBetween('min(occurred_at) FILTER (WHERE resolves)', 'min(occurred_at)')} AS duration_seconds,
  count(*) AS events
FROM ranked
GROUP BY incident_id`;
}
