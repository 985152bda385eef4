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

/** Σh²/(2Σh) of an expression, as double precision; NULL when there is no (or only zero) headway. */
const expectedWait = (h: string, filter = ''): string =>
  `(sum(${h} * ${h})${filter} / nullif(2 * sum(${h})${filter}, 0))::double precision`;

/**
 * The select list every wait aggregate shares, over columns `h`, `hs` of counted headways and `late` of lateness:
 * exact numeric seconds (`extract(epoch ...)`), so the sums are exact whatever order they are added in.
 */
const WAIT_AGGREGATES = `
    count(*) AS arrivals,
    (sum(h) / nullif(count(h), 0))::double precision AS mean_headway_seconds,
    ${expectedWait('h')} AS expected_wait_seconds,
    ${expectedWait('hs')} AS scheduled_expected_wait_seconds,
    ${expectedWait('h')} - ${expectedWait('hs')} AS excess_wait_seconds,
    max(station_name) AS station_name,
    count(h) AS headways,
    max(h) AS max_headway_seconds,
    (sum(hs) / nullif(count(hs), 0))::double precision AS mean_scheduled_headway_seconds,
    (sum(late) / nullif(count(late), 0))::double precision AS mean_lateness_seconds,
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
  // Exact numeric seconds of a station_headways row: h, hs (counted headways) and late.
  const exact = (
    alias: string,
  ): string => `${counted(`extract(epoch FROM ${alias}arrived_at - ${alias}previous_arrived_at)`)} AS h,
    ${counted(`extract(epoch FROM ${alias}scheduled_at - ${alias}previous_scheduled_at)`)} AS hs,
    extract(epoch FROM ${alias}arrived_at - ${alias}scheduled_at) AS late`;
  const aggregates = `${WAIT_AGGREGATES},
    count(late) AS scheduled_arrivals,
    sum(late) AS sum_lateness_seconds,
    sum(greatest(late, 0)) AS sum_delay_seconds,
    count(*) FILTER (WHERE late BETWEEN ${-o.onTimeEarlySeconds} AND ${o.onTimeLateSeconds}) AS on_time_arrivals`;
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
  SELECT *, ${exact('')}
  FROM ${v('station_headways')}
)
SELECT station_id, line, direction, service_date,${aggregates}
FROM counted
GROUP BY station_id, line, direction, service_date`,

    station_wait_times_hourly: `CREATE OR REPLACE VIEW ${v('station_wait_times_hourly')} AS
WITH counted AS (
  SELECT *, ${exact('')},
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
  SELECT hw.line, hw.service_hour, ${exact('hw.')},
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
