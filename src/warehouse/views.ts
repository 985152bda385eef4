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
 *   not a platform anybody waits at).
 * - A headway belongs to the station, line and direction, and to the day and hour (in
 *   {@link ViewOptions.timeZone}) of the arrival that ends it.
 * - A headway longer than {@link ViewOptions.maxHeadwaySeconds} is a gap in service (a closure at
 *   night, missing data), not a wait: `station_headways` shows it with `is_service_gap`, the
 *   aggregates leave it out. The first arrival seen at a station has no headway.
 */
import { quoteIdent } from '../schema/identifiers.js';

/** Settings of the views. */
export interface ViewOptions {
  /** Headways longer than this many seconds are gaps in service, not waits (default 3 hours). */
  maxHeadwaySeconds?: number;
  /** The IANA time zone whose calendar days and hours group headways (default `UTC`). */
  timeZone?: string;
  /**
   * The tables that exist in the schema. When given, only the views whose tables are all there are
   * returned (a warehouse without incidents still gets its wait-time views).
   */
  tables?: ReadonlySet<string> | readonly string[];
}

export const VIEW_DEFAULTS = {
  maxHeadwaySeconds: 3 * 3600,
  timeZone: 'UTC',
  /** An arrival up to this many seconds before its `scheduled_at` counts as on time. */
  onTimeEarlySeconds: 60,
  /** An arrival up to this many seconds after its `scheduled_at` counts as on time. */
  onTimeLateSeconds: 300,
} as const;

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

/** An IANA zone name or offset: letters, digits, `/`, `_`, `+`, `-` (it becomes a SQL string literal). */
const TIME_ZONE_PATTERN = /^[A-Za-z0-9_/+-]{1,64}$/;

/** Σh²/(2Σh) of an expression, NULL when there is no (or only zero) headway. */
const expectedWait = (h: string, filter = ''): string =>
  `sum(${h} * ${h})${filter} / nullif(2 * sum(${h})${filter}, 0)`;

/** The select list every wait aggregate shares (over columns `h`, `hs` of counted headways). */
const WAIT_AGGREGATES = `
    count(*) AS arrivals,
    avg(h) AS mean_headway_seconds,
    ${expectedWait('h')} AS expected_wait_seconds,
    ${expectedWait('hs')} AS scheduled_expected_wait_seconds,
    ${expectedWait('h')} - ${expectedWait('hs')} AS excess_wait_seconds,
    max(station_name) AS station_name,
    count(h) AS headways,
    max(h) AS max_headway_seconds,
    avg(hs) AS mean_scheduled_headway_seconds,
    avg(lateness_seconds) AS mean_lateness_seconds,
    sum(h) AS sum_headway_seconds,
    sum(h * h) AS sum_headway_seconds_squared,
    sum(hs) AS sum_scheduled_headway_seconds,
    sum(hs * hs) AS sum_scheduled_headway_seconds_squared,
    min(arrived_at) AS first_arrival_at,
    max(arrived_at) AS last_arrival_at,
    count(lateness_seconds) AS scheduled_arrivals,
    sum(lateness_seconds) AS sum_lateness_seconds,
    sum(greatest(lateness_seconds, 0)) AS sum_delay_seconds,
    count(*) FILTER (WHERE lateness_seconds BETWEEN ${-VIEW_DEFAULTS.onTimeEarlySeconds} AND ${VIEW_DEFAULTS.onTimeLateSeconds})
      AS on_time_arrivals`;

/**
 * The `CREATE OR REPLACE VIEW` statements of the wait-time views in Postgres schema `dbSchema`,
 * in dependency order. Views (see {@link VIEW_REQUIREMENTS} for what each reads):
 *
 * - `station_headways`: every station arrival with the previous arrival at the same station, line and
 *   direction: `headway_seconds`, and from `scheduled_at` the `scheduled_headway_seconds` (the previous
 *   arrival in timetable order), `lateness_seconds`, `is_service_gap`, `service_date`, `service_hour`.
 * - `station_wait_times`: per station, line, direction and service_date: `arrivals`, `headways`,
 *   `mean_headway_seconds`, `expected_wait_seconds`, `scheduled_expected_wait_seconds`,
 *   `excess_wait_seconds`, and the sums Σh, Σh² (actual and scheduled) so that any roll-up stays exact:
 *   expected wait over several rows = Σ(Σh²) / (2 · Σ(Σh)); `first_arrival_at`, `last_arrival_at`.
 * - `station_wait_times_hourly`: the same per hour (`service_hour`, `hour_start`).
 * - `incident_periods`: one row per incident from `incident_events`: line, station, description,
 *   worst severity, `reported_at` (first event), `resolved_at` (first resolution; NULL while open).
 * - `line_incident_waits`: per line, the expected (and scheduled, and excess) wait over the headways that
 *   overlap an open incident of that line, against all other headways. A headway overlaps an incident
 *   when the train that ends it arrives after the report and the train before it arrived before the
 *   resolution: so the long gap a stopped line leaves behind counts as a wait during the incident, even
 *   when the first train after it arrives once the incident is resolved.
 */
export function viewStatements(dbSchema: string, options: ViewOptions = {}): string[] {
  const maxHeadway = options.maxHeadwaySeconds ?? VIEW_DEFAULTS.maxHeadwaySeconds;
  if (!(Number.isFinite(maxHeadway) && maxHeadway > 0))
    throw new RangeError('maxHeadwaySeconds must be a positive number');
  const zone = options.timeZone ?? VIEW_DEFAULTS.timeZone;
  if (!TIME_ZONE_PATTERN.test(zone)) throw new RangeError(`timeZone "${zone}" is not a time zone name`);
  const tz = `'${zone}'`;
  const s = quoteIdent(dbSchema);
  const q = (name: string): string => `${s}.${quoteIdent(name)}`;
  const counted = (col: string): string => `CASE WHEN ${col} <= ${maxHeadway} THEN ${col} END`;
  const waits = (label: string, filter: string): string => `count(h) FILTER (WHERE ${filter}) AS headways_${label},
  ${expectedWait('h', ` FILTER (WHERE ${filter})`)} AS expected_wait_${label}_seconds,
  ${expectedWait('hs', ` FILTER (WHERE ${filter})`)} AS scheduled_expected_wait_${label}_seconds,
  ${expectedWait('h', ` FILTER (WHERE ${filter})`)} - ${expectedWait('hs', ` FILTER (WHERE ${filter})`)}
    AS excess_wait_${label}_seconds`;

  const statements: Record<ViewName, string> = {
    station_headways: `CREATE OR REPLACE VIEW ${q('station_headways')} AS
WITH arrivals AS (
  SELECT event_id, station_id, station_name, line, direction, train_id, occurred_at, scheduled_at
  FROM ${q('train_arrivals')}
  WHERE checkpoint_type = 'station' OR checkpoint_type IS NULL
), ordered AS (
  SELECT a.*,
    lag(occurred_at) OVER actual AS previous_arrived_at,
    lag(train_id) OVER actual AS previous_train_id,
    CASE WHEN scheduled_at IS NOT NULL THEN lag(scheduled_at) OVER timetable END AS previous_scheduled_at
  FROM arrivals a
  WINDOW
    actual AS (PARTITION BY station_id, line, direction ORDER BY occurred_at, event_id),
    timetable AS (PARTITION BY station_id, line, direction ORDER BY scheduled_at NULLS LAST, occurred_at, event_id)
)
SELECT
  event_id, station_id, station_name, line, direction, train_id,
  occurred_at AS arrived_at,
  (occurred_at AT TIME ZONE ${tz})::date AS service_date,
  extract(hour FROM occurred_at AT TIME ZONE ${tz})::integer AS service_hour,
  previous_train_id,
  previous_arrived_at,
  extract(epoch FROM occurred_at - previous_arrived_at)::double precision AS headway_seconds,
  scheduled_at,
  previous_scheduled_at,
  extract(epoch FROM scheduled_at - previous_scheduled_at)::double precision AS scheduled_headway_seconds,
  extract(epoch FROM occurred_at - scheduled_at)::double precision AS lateness_seconds,
  extract(epoch FROM occurred_at - previous_arrived_at) > ${maxHeadway} AS is_service_gap
FROM ordered`,

    station_wait_times: `CREATE OR REPLACE VIEW ${q('station_wait_times')} AS
WITH counted AS (
  SELECT *, ${counted('headway_seconds')} AS h, ${counted('scheduled_headway_seconds')} AS hs
  FROM ${q('station_headways')}
)
SELECT station_id, line, direction, service_date,${WAIT_AGGREGATES}
FROM counted
GROUP BY station_id, line, direction, service_date`,

    station_wait_times_hourly: `CREATE OR REPLACE VIEW ${q('station_wait_times_hourly')} AS
WITH counted AS (
  SELECT *, ${counted('headway_seconds')} AS h, ${counted('scheduled_headway_seconds')} AS hs,
    date_trunc('hour', arrived_at, ${tz}) AS hour_start
  FROM ${q('station_headways')}
)
SELECT station_id, line, direction, service_date, service_hour, hour_start,${WAIT_AGGREGATES}
FROM counted
GROUP BY station_id, line, direction, service_date, service_hour, hour_start`,

    incident_periods: `CREATE OR REPLACE VIEW ${q('incident_periods')} AS
WITH ranked AS (
  SELECT e.*,
    CASE severity WHEN 'minor' THEN 1 WHEN 'major' THEN 2 WHEN 'critical' THEN 3 END AS severity_rank,
    (status = 'resolved' OR event_type = 'incident_resolved') AS resolves
  FROM ${q('incident_events')} e
)
SELECT
  incident_id,
  (array_agg(line ORDER BY occurred_at, event_id))[1] AS line,
  (array_agg(station_id ORDER BY occurred_at, event_id) FILTER (WHERE station_id IS NOT NULL))[1] AS station_id,
  (array_agg(description ORDER BY occurred_at, event_id) FILTER (WHERE description IS NOT NULL))[1] AS description,
  (array_agg(severity ORDER BY severity_rank DESC NULLS LAST, occurred_at))[1] AS max_severity,
  min(occurred_at) AS reported_at,
  min(occurred_at) FILTER (WHERE resolves) AS resolved_at,
  extract(epoch FROM min(occurred_at) FILTER (WHERE resolves) - min(occurred_at))::double precision AS duration_seconds,
  count(*) AS events
FROM ranked
GROUP BY incident_id`,

    line_incident_waits: `CREATE OR REPLACE VIEW ${q('line_incident_waits')} AS
WITH periods AS MATERIALIZED (
  SELECT line, reported_at, resolved_at FROM ${q('incident_periods')}
), overlapping AS MATERIALIZED (
  -- Materialized so the overlap test runs once per headway, not once per aggregate that reads it.
  SELECT hw.line, hw.service_hour, ${counted('hw.headway_seconds')} AS h, ${counted('hw.scheduled_headway_seconds')} AS hs,
    EXISTS (
      SELECT 1 FROM periods p
      WHERE p.line = hw.line AND hw.arrived_at > p.reported_at
        AND (p.resolved_at IS NULL OR hw.previous_arrived_at < p.resolved_at)
    ) AS during_incident
  FROM ${q('station_headways')} hw
  WHERE hw.headway_seconds IS NOT NULL
), incident_hours AS (
  SELECT DISTINCT line, service_hour FROM overlapping WHERE during_incident
), counted AS (
  SELECT o.*, NOT during_incident AND (line, service_hour) IN (SELECT line, service_hour FROM incident_hours) AS same_hours
  FROM overlapping o
)
SELECT
  line,
  (SELECT count(*) FROM ${q('incident_periods')} p WHERE p.line = c.line) AS incidents,
  ${waits('during_incidents', 'during_incident')},
  ${waits('otherwise', 'NOT during_incident')},
  ${waits('same_hours_otherwise', 'same_hours')}
FROM counted c
GROUP BY line`,
  };

  const present = options.tables ? new Set(options.tables) : undefined;
  return VIEW_NAMES.filter((v) => !present || VIEW_REQUIREMENTS[v].every((t) => present.has(t))).map(
    (v) => statements[v],
  );
}
