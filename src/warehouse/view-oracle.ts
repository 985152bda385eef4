/**
 * The wait-time views as they were before the answer was maintained: plain SQL over `train_arrivals` and
 * `incident_events` that recomputes every headway of the history on every question. Kept as the test oracle: the
 * maintained views (views.ts) must return what these return, after any sequence of loads. Same columns, same
 * meaning (see views.ts for the formula and conventions); names get a prefix so both can live in one schema.
 */
import { quoteIdent } from '../schema/identifiers.js';
import { STATION_ARRIVAL } from './answer-sql.js';
import { incidentPeriodsView, VIEW_NAMES, VIEW_REQUIREMENTS, type ViewName } from './views.js';
import { resolveViewOptions, type ViewOptions } from './view-options.js';

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
    max(arrived_at) AS last_arrival_at`;

/**
 * The from-scratch `CREATE OR REPLACE VIEW` statements of the wait-time views, named `prefix` + the view's name in
 * `dbSchema`, reading `train_arrivals` and `incident_events` directly (the columns of views.ts's `viewStatements`).
 */
export function oracleStatements(dbSchema: string, options: ViewOptions = {}, prefix = 'oracle_'): string[] {
  const o = resolveViewOptions(options);
  const maxHeadway = o.maxHeadwaySeconds;
  const tz = `'${o.timeZone}'`;
  const s = quoteIdent(dbSchema);
  const q = (name: string): string => `${s}.${quoteIdent(name)}`;
  const v = (name: ViewName): string => q(prefix + name);
  const counted = (col: string): string => `CASE WHEN ${col} <= ${maxHeadway} THEN ${col} END`;
  const aggregates = `${WAIT_AGGREGATES},
    count(lateness_seconds) AS scheduled_arrivals,
    sum(lateness_seconds) AS sum_lateness_seconds,
    sum(greatest(lateness_seconds, 0)) AS sum_delay_seconds,
    count(*) FILTER (WHERE lateness_seconds BETWEEN ${-o.onTimeEarlySeconds} AND ${o.onTimeLateSeconds}) AS on_time_arrivals`;
  const waits = (label: string, filter: string): string => `count(h) FILTER (WHERE ${filter}) AS headways_${label},
  ${expectedWait('h', ` FILTER (WHERE ${filter})`)} AS expected_wait_${label}_seconds,
  ${expectedWait('hs', ` FILTER (WHERE ${filter})`)} AS scheduled_expected_wait_${label}_seconds,
  ${expectedWait('h', ` FILTER (WHERE ${filter})`)} - ${expectedWait('hs', ` FILTER (WHERE ${filter})`)}
    AS excess_wait_${label}_seconds`;

  const statements: Record<ViewName, string> = {
    station_headways: `CREATE OR REPLACE VIEW ${v('station_headways')} AS
WITH arrivals AS (
  SELECT event_id, station_id, station_name, line, direction, train_id, occurred_at, scheduled_at
  FROM ${q('train_arrivals')}
  WHERE ${STATION_ARRIVAL}
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

    station_wait_times: `CREATE OR REPLACE VIEW ${v('station_wait_times')} AS
WITH counted AS (
  SELECT *, ${counted('headway_seconds')} AS h, ${counted('scheduled_headway_seconds')} AS hs
  FROM ${v('station_headways')}
)
SELECT station_id, line, direction, service_date,${aggregates}
FROM counted
GROUP BY station_id, line, direction, service_date`,

    station_wait_times_hourly: `CREATE OR REPLACE VIEW ${v('station_wait_times_hourly')} AS
WITH counted AS (
  SELECT *, ${counted('headway_seconds')} AS h, ${counted('scheduled_headway_seconds')} AS hs,
    date_trunc('hour', arrived_at, ${tz}) AS hour_start
  FROM ${v('station_headways')}
)
SELECT station_id, line, direction, service_date, service_hour, hour_start,${aggregates}
FROM counted
GROUP BY station_id, line, direction, service_date, service_hour, hour_start`,

    incident_periods: incidentPeriodsView(v('incident_periods'), q('incident_events')),
    line_incident_waits: `CREATE OR REPLACE VIEW ${v('line_incident_waits')} AS
WITH periods AS MATERIALIZED (
  SELECT line, reported_at, resolved_at FROM ${v('incident_periods')}
), overlapping AS MATERIALIZED (
  -- Materialized so the overlap test runs once per headway, not once per aggregate that reads it.
  SELECT hw.line, hw.service_hour, ${counted('hw.headway_seconds')} AS h, ${counted('hw.scheduled_headway_seconds')} AS hs,
    EXISTS (
      SELECT 1 FROM periods p
      WHERE p.line = hw.line AND hw.arrived_at > p.reported_at
        AND (p.resolved_at IS NULL OR hw.previous_arrived_at < p.resolved_at)
    ) AS during_incident
  FROM ${v('station_headways')} hw
  WHERE hw.headway_seconds IS NOT NULL
), incident_hours AS (
  SELECT DISTINCT line, service_hour FROM overlapping WHERE during_incident
), counted AS (
  SELECT o.*, NOT during_incident AND (line, service_hour) IN (SELECT line, service_hour FROM incident_hours) AS same_hours
  FROM overlapping o
)
SELECT
  line,
  (SELECT count(*) FROM ${v('incident_periods')} p WHERE p.line = c.line) AS incidents,
  ${waits('during_incidents', 'during_incident')},
  ${waits('otherwise', 'NOT during_incident')},
  ${waits('same_hours_otherwise', 'same_hours')}
FROM counted c
GROUP BY line`,
  };

  const present = options.tables ? new Set(options.tables) : undefined;
  return VIEW_NAMES.filter((n) => !present || VIEW_REQUIREMENTS[n].every((t) => present.has(t))).map(
    (n) => statements[n],
  );
}
