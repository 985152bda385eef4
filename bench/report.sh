#!/usr/bin/env bash
# How long `report` takes on a year of answer data. The report reads only the aggregate views
# (station_wait_times, station_wait_times_hourly, line_incident_waits, incident_periods) and one station's rows of
# station_headways; this fills those five names as plain tables with 365 days of synthetic rows of their real
# columns (88 platforms, 20 service hours a day, ~14 headways an hour: 5.1 M headways, station_headways indexed by
# station_id as load's maintained table is) and times `report --html` end to end, three runs.
#
# It measures the report's own reads and rendering, not how the data layer serves the views (bench/answer.sh does).
# usage: bench/report.sh            (services from scripts/services; needs `npm run build`)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f dist/report.js ]] || { echo "run npm run build first" >&2; exit 2; }
DAYS=${DAYS:-365}
SCHEMA=${SCHEMA:-bench_report_$$}
OUT=$(mktemp -d)
trap '[[ -n "${KEEP:-}" ]] || psql -qX -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true; rm -rf "$OUT"' EXIT

psql -qX -v ON_ERROR_STOP=1 <<SQL
CREATE SCHEMA $SCHEMA;
SET search_path = $SCHEMA;
CREATE TABLE platforms AS
  SELECT format('STN-%s', lpad(s::text, 3, '0')) AS station_id, format('Station %s', s) AS station_name,
         (ARRAY['Blue', 'Red', 'Green'])[1 + s % 3] AS line, d AS direction,
         (ARRAY[360, 600, 720, 900])[1 + s % 4] AS base
  FROM generate_series(1, 44) s, unnest(ARRAY['northbound', 'southbound']) d;
CREATE TABLE station_wait_times_hourly AS
  SELECT p.station_id, p.line, p.direction, day::date AS service_date, h AS service_hour,
    day + make_interval(hours => h) AS hour_start,
    n + 1 AS arrivals, n::float8 * headway / 2 / headway AS expected_wait_seconds,
    headway::float8 AS mean_headway_seconds, p.station_name, n AS headways, headway * 1.5 AS max_headway_seconds,
    sched::float8 AS mean_scheduled_headway_seconds, 20.0 AS mean_lateness_seconds,
    n * headway AS sum_headway_seconds, n * headway * headway * 1.1 AS sum_headway_seconds_squared,
    n * sched AS sum_scheduled_headway_seconds, n * sched * sched AS sum_scheduled_headway_seconds_squared,
    day + make_interval(hours => h) AS first_arrival_at, day + make_interval(hours => h, mins => 59) AS last_arrival_at,
    n + 1 AS scheduled_arrivals, (n + 1) * 20.0 AS sum_lateness_seconds, (n + 1) * 45.0 AS sum_delay_seconds,
    n AS on_time_arrivals
  FROM platforms p,
    generate_series(timestamptz '2025-12-01', timestamptz '2025-12-01' + make_interval(days => $DAYS - 1), '1 day') day,
    generate_series(4, 23) h,
    LATERAL (SELECT CASE WHEN h < 6 THEN p.base * 2 ELSE p.base END AS sched) s,
    LATERAL (SELECT sched + 30 AS headway, 3600 / sched AS n) x;
CREATE TABLE station_wait_times AS
  SELECT station_id, line, direction, service_date, sum(arrivals) AS arrivals, max(station_name) AS station_name,
    sum(headways) AS headways, min(first_arrival_at) AS first_arrival_at, max(last_arrival_at) AS last_arrival_at
  FROM station_wait_times_hourly GROUP BY 1, 2, 3, 4;
CREATE TABLE station_headways AS
  SELECT h.station_id, h.line, h.direction, h.hour_start + make_interval(secs => i * h.mean_headway_seconds) AS arrived_at,
    h.mean_headway_seconds + (i % 5) * 60 AS headway_seconds, false AS is_service_gap
  FROM station_wait_times_hourly h, generate_series(1, h.headways::int) i;
CREATE INDEX ON station_headways (station_id);
CREATE TABLE incident_periods AS
  SELECT format('INC-%s', i) AS incident_id, (ARRAY['Blue', 'Red', 'Green'])[1 + i % 3] AS line,
    NULL::text AS station_id, 'Signal failure' AS description, 'minor' AS max_severity,
    timestamptz '2025-12-01' + make_interval(hours => i * 3) AS reported_at,
    timestamptz '2025-12-01' + make_interval(hours => i * 3, mins => 20) AS resolved_at
  FROM generate_series(1, $DAYS * 7) i;
CREATE TABLE line_incident_waits AS
  SELECT line, count(*) AS incidents, 100 AS headways_during_incidents,
    500.0 AS expected_wait_during_incidents_seconds, 300.0 AS scheduled_expected_wait_during_incidents_seconds,
    200.0 AS excess_wait_during_incidents_seconds, 900 AS headways_same_hours_otherwise,
    350.0 AS expected_wait_same_hours_otherwise_seconds, 300.0 AS scheduled_expected_wait_same_hours_otherwise_seconds,
    50.0 AS excess_wait_same_hours_otherwise_seconds, 100000 AS headways_otherwise,
    320.0 AS expected_wait_otherwise_seconds, 300.0 AS scheduled_expected_wait_otherwise_seconds,
    20.0 AS excess_wait_otherwise_seconds
  FROM incident_periods GROUP BY line;
ANALYZE;
SQL
rows() { psql -qXAt -c "SELECT count(*) FROM $SCHEMA.$1"; }
echo "$DAYS days: $(rows station_wait_times_hourly) hourly rows, $(rows station_wait_times) daily rows, $(rows station_headways) headways"
for run in 1 2 3; do
  start=$(date +%s.%N)
  node dist/report.js --db-schema "$SCHEMA" --html "$OUT/report.html" >"$OUT/stdout" 2>"$OUT/stderr" ||
    { cat "$OUT/stderr" >&2; exit 1; }
  end=$(date +%s.%N)
  printf 'report --html, run %d: %.2f s\n' "$run" "$(echo "$end - $start" | bc)"
done
