/**
 * The SQL shared by the answer's maintenance (one snapshot at a time) and its build (all history at once): how a
 * station arrival becomes a headway row, and how headway rows add up into the hourly, daily and hour-of-day sums.
 * Pure: statement text only, over the tables of answer-tables.ts.
 */
import { quoteIdent } from '../schema/identifiers.js';
import {
  answerTable,
  HEADWAY_BIN_SECONDS,
  HEADWAY_BINS,
  HEADWAYS_TABLE,
  LINE_HOUR_SUM_COLUMNS,
  LINE_HOURS_TABLE,
  PLATFORM_HOUR_SUM_COLUMNS,
  PLATFORM_BINS_TABLE,
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

/**
 * `column::text COLLATE "C"`: a value as the text the answer tables store it as (a customised schema can make a
 * platform column a number), compared as bytes. For partitions, which need equal values only: those are the same
 * under every deterministic collation, and the sort then skips the locale's string comparison (800 k arrivals
 * linked in ~5.2 s instead of ~6.8 s under C.UTF-8, more under en_US.UTF-8).
 */
export const asBytes = (column: string): string => `${column}::text COLLATE "C"`;

/** `PARTITION BY` a platform ({@link asBytes}): a window per platform. */
export const platformPartition = (a: string): string =>
  `PARTITION BY ${PLATFORM.map((c) => asBytes(`${a}.${c}`)).join(', ')}`;

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

/** The headway row columns a link sets: the predecessor's, and whether the headway is a gap in service. */
export const LINKED_COLUMNS = [
  ...ARRIVAL_COLUMNS,
  'previous_train_id',
  'previous_arrived_at',
  'previous_scheduled_at',
  'is_service_gap',
] as const;

/** The columns of `train_arrivals` that {@link arrivalSelect} reads: the first eight of {@link ARRIVAL_COLUMNS}. */
export const ARRIVAL_SOURCE_COLUMNS = [
  'station_id',
  'line',
  'direction',
  'occurred_at',
  'event_id',
  'station_name',
  'train_id',
  'scheduled_at',
] as const;

/** The select list of {@link ARRIVAL_COLUMNS} from a row of `train_arrivals` (alias `a`). */
export function arrivalSelect(o: ResolvedViewOptions): string {
  const tz = `'${o.timeZone}'`;
  return `${ARRIVAL_SOURCE_COLUMNS.map((c) => `a.${c}`).join(', ')},
  (a.occurred_at AT TIME ZONE ${tz})::date, extract(hour FROM a.occurred_at AT TIME ZONE ${tz})::integer,
  date_trunc('hour', a.occurred_at, ${tz})`;
}

/**
 * Whether a headway from `previous` to `arrived` (timestamps) is a gap in service; false without a previous. Exact:
 * compared in numeric seconds, as the `_us` columns the sums leave gaps out by.
 */
export const serviceGap = (arrived: string, previous: string, o: ResolvedViewOptions): string =>
  `coalesce(extract(epoch FROM ${arrived} - ${previous}) > ${o.maxHeadwaySeconds}, false)`;

/** The counted headways of a row: the headway and the scheduled headway, in whole microseconds. */
const COUNTED = [
  ['hh', 'headway_us'],
  ['hs', 'scheduled_headway_us'],
] as const;

/**
 * The headway rows of `from` (a FROM clause that names them `h`), again as `h`, with the values {@link headwaySums}
 * adds up computed once per row (Postgres evaluates a repeated expression each time it appears: the hourly sums of
 * 800 k headways take ~0.9 s instead of ~1.2 s). `hh` and `hs` are the row's headway and scheduled headway in whole
 * microseconds when they count (NULL when unlinked or longer than `maxHeadwaySeconds`, a gap in service), and
 * `hh_s`/`hh_u`, `hs_s`/`hs_u` split them into whole seconds and the remaining microseconds (truncated toward zero).
 */
function withCountedHeadways(from: string, o: ResolvedViewOptions): string {
  const max = boundInMicros(o.maxHeadwaySeconds, 'atMost');
  const counted = COUNTED.map(([n, c]) => `CASE WHEN h.${c} <= ${max} THEN h.${c} END AS ${n}`).join(', ');
  const parts = COUNTED.flatMap(([n]) => [`c.${n} / 1000000 AS ${n}_s`, `c.${n} % 1000000 AS ${n}_u`]).join(', ');
  return `(SELECT h.*, c.*, ${parts}
  FROM ${from} CROSS JOIN LATERAL (SELECT ${counted}) c OFFSET 0) h`;
}

/**
 * The sums of {@link WAIT_SUM_COLUMNS} over headway rows (alias `h`, from {@link withCountedHeadways}), in that order,
 * from their whole microseconds: integer sums, turned into exact numeric seconds. The oracle (view-oracle.ts) adds up
 * the same values as numeric seconds, so a group's figures are equal whichever way, and in whichever order, they were
 * added.
 */
function headwaySums(o: ResolvedViewOptions): string {
  const late = 'h.lateness_us';
  const seconds = (sum: string): string => microsAsSeconds(sum);
  // Σx² of whole microseconds, exact without a numeric product per row (1.8× as fast): with x = s·10⁶ + u (whole
  // seconds s, remainder u), Σx² = Σs²·10¹² + 2Σsu·10⁶ + Σu², each a bigint sum (Postgres adds bigints in 128 bits
  // and returns numeric). s² fits a bigint while s ≤ MAX_HEADWAY_LIMIT.
  const squares = (x: 'hh' | 'hs', filter = ''): string => {
    const [s, u] = [`h.${x}_s`, `h.${x}_u`];
    return squaredMicrosAsSeconds(
      `sum(${s} * ${s})${filter} * 1000000000000 + 2 * sum(${s} * ${u})${filter} * 1000000 + sum(${u} * ${u})${filter}`,
    );
  };
  const linked = ` FILTER (WHERE h.previous_arrived_at IS NOT NULL)`;
  const during = ` FILTER (WHERE h.during_incident)`;
  return [
    `max(h.station_name)`,
    `count(*)`,
    `count(h.hh)`,
    seconds(`max(h.hh)`),
    seconds(`sum(h.hh)`),
    squares('hh'),
    `count(h.hs)`,
    seconds(`sum(h.hs)`),
    squares('hs'),
    `count(${late})`,
    seconds(`sum(${late})`),
    seconds(`sum(greatest(${late}, 0))`),
    `count(*) FILTER (WHERE ${late} BETWEEN ${boundInMicros(-o.onTimeEarlySeconds, 'atLeast')} AND ${boundInMicros(o.onTimeLateSeconds, 'atMost')})`,
    `min(h.arrived_at)`,
    `max(h.arrived_at)`,
    `count(*)${linked}`,
    `count(h.hs)${linked}`,
    seconds(`sum(h.hs)${linked}`),
    squares('hs', linked),
    `count(*)${during}`,
    `count(h.hh)${during}`,
    seconds(`sum(h.hh)${during}`),
    squares('hh', during),
    `count(h.hs)${during}`,
    seconds(`sum(h.hs)${during}`),
    squares('hs', during),
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
FROM ${withCountedHeadways(from, o)}
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
 * One side of a change to the histograms: a count of `sign` in the bin of each row of `source` (platform columns, a
 * headway of `us` microseconds, `gap` whether it is a gap in service) that the histograms count: a headway that is
 * not a gap. The bin is an exact integer division of the microseconds; the last one is open.
 */
export const binDeltas = (source: string, us: string, gap: string, sign: 1 | -1): string =>
  `SELECT station_id, line, direction, least(${us} / ${HEADWAY_BIN_SECONDS * 1_000_000}, ${HEADWAY_BINS})::integer AS bin,
  ${sign} AS n FROM ${source} WHERE ${us} IS NOT NULL AND NOT ${gap}`;

/**
 * INSERT that moves the histograms (`eventful_wait_platform_bins`) by the counts of `deltas` (SELECTs of
 * {@link binDeltas}), after the WITH list `ctes` when given (which then defines their sources).
 */
export function addBinsSql(dbSchema: string, deltas: readonly string[], ctes?: string): string {
  const key = `${PLATFORM.join(', ')}, bin`;
  return `${ctes ? `WITH ${ctes}\n` : ''}INSERT INTO ${answerTable(dbSchema, PLATFORM_BINS_TABLE)} AS b (${key}, headways)
SELECT ${key}, sum(n) FROM (${deltas.join('\nUNION ALL\n')}) d GROUP BY ${key}
ON CONFLICT (${key}) DO UPDATE SET headways = b.headways + excluded.headways`;
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
