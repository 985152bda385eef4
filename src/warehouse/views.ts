/**
 * The wait-time views: SQL over the typed tables `train_arrivals` and `incident_events` that answers
 * "how long do passengers wait at a station before a train arrives?".
 *
 * The formula. A passenger who turns up at a random moment lands in a headway h (the gap between two
 * trains) with probability proportional to h, and then waits h/2 on average. Over the headways h_i
 * ending in a period (a day, an hour) the expected wait is therefore
 *
 *     expected_wait = Σ h_i² / (2 · Σ h_i)
 *
 * which equals mean_headway / 2 only when service is perfectly regular; irregular service makes waits
 * longer. Worked example: headways alternating 2 and 10 minutes → mean headway 6 min, but expected wait
 * (2² + 10²) / (2 · (2 + 10)) = 104 / 24 min = 4 min 20 s (260 s), not 3 min.
 *
 * The same formula over the timetable's headways (from `scheduled_at`) gives the scheduled expected
 * wait, and `excess_wait_seconds` = actual − scheduled is the transit industry's "excess wait time".
 *
 * Conventions:
 * - Only station arrivals count: rows whose `checkpoint_type` is 'station' or NULL (a checkpoint is
 *   not a platform anybody waits at), with a station, line and direction (a customised schema may make one
 *   optional; an arrival without one belongs to no platform).
 * - A headway belongs to the station, line and direction, and to the day and hour (in
 *   {@link ViewOptions.timeZone}) of the arrival that ends it.
 * - A headway longer than {@link ViewOptions.maxHeadwaySeconds} is a gap in service (a closure at
 *   night, missing data), not a wait: `station_headways` shows it with `is_service_gap`, the
 *   aggregates leave it out. The first arrival seen at a station has no headway.
 * - Lateness is arrival minus `scheduled_at`; an arrival is on time from {@link ViewOptions.onTimeEarlySeconds}
 *   early to {@link ViewOptions.onTimeLateSeconds} late (both inclusive).
 *
 * Maintained, not recomputed: the views read the tables `load` keeps up to date (answer-tables.ts,
 * answer-maintenance.ts), so a question costs the size of its answer, not of the history. The from-scratch SQL
 * they must agree with is view-oracle.ts.
 */
import { quoteIdent } from '../schema/identifiers.js';
import { incidentPeriodsSelect } from './answer-sql.js';
import { resolveViewOptions, type ViewOptions } from './view-options.js';

export { resolveViewOptions, VIEW_DEFAULTS, type ResolvedViewOptions, type ViewOptions } from './view-options.js';
import {
  answerTable,
  HEADWAYS_TABLE,
  LINE_HOURS_TABLE,
  INCIDENT_SPANS_TABLE,
  secondsBetween,
  WAIT_DAILY_TABLE,
  WAIT_HOURLY_TABLE,
} from './answer-tables.js';

/** The tables each view reads, in the order the views must be created. */
export const VIEW_REQUIREMENTS = {
  station_headways: ['train_arrivals'],
  station_wait_times: ['train_arrivals'],
  station_wait_times_hourly: ['train_arrivals'],
  incident_periods: ['incident_events'],
  line_incident_waits: ['train_arrivals', 'incident_events'],
} as const satisfies Record<string, readonly string[]>;

export type ViewName = keyof typeof VIEW_REQUIREMENTS;
export const VIEW_NAMES = Object.keys(VIEW_REQUIREMENTS) as ViewName[];

/** Σh²/(2Σh) from stored (exact numeric) sums, as double precision; NULL when there is no (or only zero) headway. */
const expectedWait = (sum: string, squares: string): string => `(${squares} / nullif(2 * ${sum}, 0))::double precision`;

/** A mean from an exact sum and a count, as double precision; NULL without any. */
const mean = (sum: string, n: string): string => `(${sum} / nullif(${n}, 0))::double precision`;

/** The wait figures of an aggregate table's row, in the views' column order. */
const WAIT_FIGURES = `
  arrivals,
  ${mean('sum_headway_seconds', 'headways')} AS mean_headway_seconds,
  ${expectedWait('sum_headway_seconds', 'sum_headway_seconds_squared')} AS expected_wait_seconds,
  ${expectedWait('sum_scheduled_headway_seconds', 'sum_scheduled_headway_seconds_squared')} AS scheduled_expected_wait_seconds,
  ${expectedWait('sum_headway_seconds', 'sum_headway_seconds_squared')}
    - ${expectedWait('sum_scheduled_headway_seconds', 'sum_scheduled_headway_seconds_squared')} AS excess_wait_seconds,
  station_name,
  headways,
  max_headway_seconds,
  ${mean('sum_scheduled_headway_seconds', 'scheduled_headways')} AS mean_scheduled_headway_seconds,
  ${mean('sum_lateness_seconds', 'scheduled_arrivals')} AS mean_lateness_seconds,
  sum_headway_seconds,
  sum_headway_seconds_squared,
  sum_scheduled_headway_seconds,
  sum_scheduled_headway_seconds_squared,
  first_arrival_at,
  last_arrival_at,
  scheduled_arrivals,
  sum_lateness_seconds,
  sum_delay_seconds,
  on_time_arrivals`;

/** The sums one group of headways contributes: n, Σh, Σh², and the same for scheduled headways. */
const WAIT_SUMS = ['n', 'sh', 'sh2', 'ns', 'shs', 'shs2'] as const;

/** The four columns of one comparison group of line_incident_waits, from sums named `<prefix>n`, `<prefix>sh`, ... */
function incidentWaits(label: string, sums: (name: (typeof WAIT_SUMS)[number]) => string): string {
  const expected = (n: string, sum: string, squares: string): string =>
    `CASE WHEN (${n}) > 0 THEN ${expectedWait(`(${sum})`, `(${squares})`)} END`;
  const actual = expected(sums('n'), sums('sh'), sums('sh2'));
  const scheduled = expected(sums('ns'), sums('shs'), sums('shs2'));
  return `(${sums('n')})::bigint AS headways_${label},
  ${actual} AS expected_wait_${label}_seconds,
  ${scheduled} AS scheduled_expected_wait_${label}_seconds,
  ${actual} - ${scheduled} AS excess_wait_${label}_seconds`;
}

/** The line-hours column behind each of {@link WAIT_SUMS}, over all headways. */
const LINE_HOUR_COLUMN: Record<(typeof WAIT_SUMS)[number], string> = {
  n: 'headways',
  sh: 'sum_headway_seconds',
  sh2: 'sum_headway_seconds_squared',
  ns: 'linked_scheduled_headways',
  shs: 'linked_sum_scheduled_headway_seconds',
  shs2: 'linked_sum_scheduled_headway_seconds_squared',
};

/** The same over the headways during an incident (`during_incident`). */
const INCIDENT_COLUMN: Record<(typeof WAIT_SUMS)[number], string> = {
  n: 'incident_headways',
  sh: 'incident_sum_headway_seconds',
  sh2: 'incident_sum_headway_seconds_squared',
  ns: 'incident_scheduled_headways',
  shs: 'incident_sum_scheduled_headway_seconds',
  shs2: 'incident_sum_scheduled_headway_seconds_squared',
};

/**
 * `incident_periods` (named `view`), from the incident events table `events`: a few rows per incident, so it is
 * computed when asked (the same SQL for the maintained views and the oracle).
 */
export function incidentPeriodsView(view: string, events: string): string {
  return `CREATE OR REPLACE VIEW ${view} AS\n${incidentPeriodsSelect(events)}`;
}

/**
 * The `CREATE OR REPLACE VIEW` statements of the wait-time views in Postgres schema `dbSchema`,
 * in dependency order. They read the answer tables (answer-tables.ts), which must exist. Views (see
 * {@link VIEW_REQUIREMENTS} for the event tables behind each):
 *
 * - `station_headways`: every station arrival with the previous arrival at the same station, line and
 *   direction: `headway_seconds`, and from `scheduled_at` the `scheduled_headway_seconds` (the previous
 *   arrival in timetable order), `lateness_seconds`, `is_service_gap`, `service_date`, `service_hour`.
 *   Filtering by `station_id` (and line, direction, arrival time) is an index range.
 * - `station_wait_times`: per station, line, direction and service_date: `arrivals`, `headways`,
 *   `mean_headway_seconds`, `expected_wait_seconds`, `scheduled_expected_wait_seconds`,
 *   `excess_wait_seconds`, and the sums Σh, Σh² (actual and scheduled) so that any roll-up stays exact:
 *   expected wait over several rows = Σ(Σh²) / (2 · Σ(Σh)); `first_arrival_at`, `last_arrival_at`; then the
 *   timetable figures: `scheduled_arrivals` (arrivals with a `scheduled_at`), `sum_lateness_seconds`
 *   (Σ arrived − scheduled over those), `sum_delay_seconds` (Σ of the lateness past 0 only), `on_time_arrivals`
 *   (lateness within the on-time window). Mean delay = sum_delay / scheduled_arrivals; on-time share =
 *   on_time_arrivals / scheduled_arrivals; both roll up exactly by summing.
 * - `station_wait_times_hourly`: the same per hour (`service_hour`, `hour_start`).
 * - `incident_periods`: one row per incident from `incident_events`: line, station, description,
 *   worst severity, `reported_at` (first event), `resolved_at` (first resolution; NULL while open).
 * - `line_incident_waits`: per line, the expected (and scheduled, and excess) wait over the headways that
 *   overlap an open incident of that line (`..._during_incidents`), against all other headways
 *   (`..._otherwise`), and, like with like, against the other headways in the same hours of the day only
 *   (`headways_same_hours_otherwise`, `expected_wait_same_hours_otherwise_seconds`,
 *   `scheduled_expected_wait_same_hours_otherwise_seconds`, `excess_wait_same_hours_otherwise_seconds`: the
 *   headways of the line that overlap no incident and whose `service_hour` is one in which the line had a headway
 *   during an incident, so a night incident is compared with night service). A headway overlaps an incident
 *   when the train that ends it arrives after the report and the train before it arrived before the
 *   resolution: so the long gap a stopped line leaves behind counts as a wait during the incident, even
 *   when the first train after it arrives once the incident is resolved. Load keeps which headways overlap an
 *   incident (answer-incidents.ts) and their sums per line and hour of the day, so the view reads those sums: its
 *   cost is lines × 24 rows, whatever the history.
 */
export function viewStatements(dbSchema: string, options: ViewOptions = {}): string[] {
  const o = resolveViewOptions(options);
  const maxHeadway = o.maxHeadwaySeconds;
  const s = quoteIdent(dbSchema);
  const q = (name: string): string => `${s}.${quoteIdent(name)}`;
  const t = (name: string): string => answerTable(dbSchema, name);
  const statements: Record<ViewName, string> = {
    station_headways: `CREATE OR REPLACE VIEW ${q('station_headways')} AS
SELECT
  event_id, station_id, station_name, line, direction, train_id, arrived_at, service_date, service_hour,
  previous_train_id,
  previous_arrived_at,
  ${secondsBetween('arrived_at', 'previous_arrived_at')} AS headway_seconds,
  scheduled_at,
  previous_scheduled_at,
  ${secondsBetween('scheduled_at', 'previous_scheduled_at')} AS scheduled_headway_seconds,
  ${secondsBetween('arrived_at', 'scheduled_at')} AS lateness_seconds,
  ${secondsBetween('arrived_at', 'previous_arrived_at')} > ${maxHeadway} AS is_service_gap
FROM ${t(HEADWAYS_TABLE)}`,

    station_wait_times: `CREATE OR REPLACE VIEW ${q('station_wait_times')} AS
SELECT station_id, line, direction, service_date,${WAIT_FIGURES}
FROM ${t(WAIT_DAILY_TABLE)}`,

    station_wait_times_hourly: `CREATE OR REPLACE VIEW ${q('station_wait_times_hourly')} AS
SELECT station_id, line, direction, service_date, service_hour, hour_start,${WAIT_FIGURES}
FROM ${t(WAIT_HOURLY_TABLE)}`,

    incident_periods: incidentPeriodsView(q('incident_periods'), q('incident_events')),

    line_incident_waits: `CREATE OR REPLACE VIEW ${q('line_incident_waits')} AS
WITH per_line AS (
  SELECT a.line,
    sum(a.linked_arrivals) AS linked,
    ${WAIT_SUMS.map((x) => `sum(a.${INCIDENT_COLUMN[x]}) AS d_${x}`).join(', ')},
    ${WAIT_SUMS.map((x) => `sum(a.${LINE_HOUR_COLUMN[x]}) AS t_${x}`).join(', ')},
    ${WAIT_SUMS.map((x) => `sum(a.${LINE_HOUR_COLUMN[x]}) FILTER (WHERE a.incident_linked_arrivals > 0) AS s_${x}`).join(', ')}
  FROM ${t(LINE_HOURS_TABLE)} a
  GROUP BY a.line
)
SELECT
  line,
  (SELECT count(*) FROM ${t(INCIDENT_SPANS_TABLE)} p WHERE p.line = c.line) AS incidents,
  ${incidentWaits('during_incidents', (x) => `d_${x}`)},
  ${incidentWaits('otherwise', (x) => `t_${x} - d_${x}`)},
  ${incidentWaits('same_hours_otherwise', (x) => `coalesce(s_${x} - d_${x}, 0)`)}
FROM per_line c
WHERE linked > 0`,
  };

  const present = options.tables ? new Set(options.tables) : undefined;
  return VIEW_NAMES.filter((v) => !present || VIEW_REQUIREMENTS[v].every((x) => present.has(x))).map(
    (v) => statements[v],
  );
}
