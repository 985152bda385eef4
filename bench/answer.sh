#!/usr/bin/env bash
# Answer benchmark (a script, not a timed test): does the wait-time answer cost the size of the question, not the
# age of the warehouse? Side by side, in one run:
#   1. simulate DAYS + 1 days of traffic (node dist/simulate.js --dry-run, the same seed every time), cut into
#      three snapshots as extract writes them: every day before the last one, the last day, and the day after;
#   2. a 1-day warehouse: the last day's snapshot loaded into an empty schema;
#      a DAYS-day warehouse: the history loaded, then the same last day's snapshot loaded into it;
#   3. the questions, each the median of QUERY_RUNS runs: one service_date of station_wait_times (both warehouses),
#      line_incident_waits, and `report` (both warehouses);
#   4. the day after loaded into both warehouses (a pass in each, so the ratio is the warehouse's age alone: step 2
#      compares a pass with the first load of an empty warehouse);
#   5. the first load of EVENTS train-arrival events (bench/make-snapshot.mjs, as bench/load.sh) into a fresh schema,
#      with the answer maintained and with --no-answer, median of REPEAT rounds.
# Targets: station_wait_times one day at DAYS d <= 50 ms and <= 2x the 1-day figure; report at DAYS d <= 2 s;
#          line_incident_waits at DAYS d <= 1 s; last day into DAYS d <= 1.5x into empty;
#          first load with the answer >= 0.9x of the events/s without it.
# The simulation skips Kafka and extract (bench/extract.sh measures those): the events go straight from
# simulate --dry-run into snapshots (bench/simulated-snapshots.mjs), which is what load reads either way.
#
# The history is vacuumed and analysed before the last day is loaded into it, as autovacuum would have done in the
# day between two loads (right after a bulk load of millions of rows, autovacuum's own pass would share the cores
# with the load being measured).
#
# usage: bench/answer.sh                     (DAYS=365 EVENTS=1000000 REPEAT=3 QUERY_RUNS=5)
#        DAYS=30 EVENTS=200000 REPEAT=1 bench/answer.sh
#        SIMULATED=DIR bench/answer.sh       reuse the snapshots an earlier run simulated into DIR (BENCH_KEEP=1
#                                            keeps them; DAYS must be the same), skipping the simulation
# Needs the project's services (scripts/services up) and GNU time (apt-get install time).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$ROOT"
DAYS="${DAYS:-365}"
if ! [[ "$DAYS" =~ ^[0-9]+$ ]] || ((DAYS < 2)); then
  echo "bench: DAYS must be 2 or more (a history of DAYS - 1 days, then the last day)" >&2
  exit 2
fi
EVENTS="${EVENTS:-1000000}"
REPEAT="${REPEAT:-3}"
QUERY_RUNS="${QUERY_RUNS:-5}"
KEEP="${BENCH_KEEP:-0}"
START="2026-01-01T00:00:00Z"

need_tools time "$TIME"
eval "$("$ROOT/scripts/services" env)"
[[ "${EVENTFUL_SKIP_BUILD:-0}" == 1 ]] || npm run -s build

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventful-answer.XXXXXX")"
BASE="bench_answer_$(date +%s)_$$"
ONE="${BASE}_1d" MANY="${BASE}_${DAYS}d"
cleanup() {
  if [[ "$KEEP" != 1 ]]; then
    rm -rf "$WORK"
    psql -qX -c "DROP SCHEMA IF EXISTS \"$ONE\" CASCADE" -c "DROP SCHEMA IF EXISTS \"$MANY\" CASCADE" >/dev/null 2>&1 || true
    for ((round = 1; round <= REPEAT; round++)); do
      psql -qX -c "DROP SCHEMA IF EXISTS \"${BASE}_with_$round\" CASCADE" \
        -c "DROP SCHEMA IF EXISTS \"${BASE}_without_$round\" CASCADE" >/dev/null 2>&1 || true
    done
  fi
}
trap cleanup EXIT

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# load_s DIR SCHEMA NAME [FLAG...]: seconds of one load (its stderr in $WORK/NAME.log).
load_s() {
  local dir="$1" schema="$2" name="$3" t0
  shift 3
  checkpoint
  t0="$(now)"
  node dist/load.js --snapshots "$dir" --db-schema "$schema" --progress-seconds 30 "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" || {
    echo "bench: load ($name) failed:" >&2
    tail -n 20 "$WORK/$name.log" "$WORK/$name.out" >&2
    exit 1
  }
  elapsed "$t0" "$(now)"
}

# vacuum_schema SCHEMA: VACUUM ANALYZE of each of its tables, as autovacuum would have done in the day between two loads.
vacuum_schema() {
  local table
  for table in $(psql -qXAt -c "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname = '$1'"); do
    psql -qX -c "VACUUM ANALYZE $table"
  done
}

# query_ms SQL: median milliseconds of QUERY_RUNS runs of SQL (psql's own timing, the rows discarded).
query_ms() {
  local runs=()
  for ((i = 1; i <= QUERY_RUNS; i++)); do
    runs+=("$(psql -qXAt -c '\timing on' -c "$1" | awk '/^Time:/ { print $2 }' | tail -1)")
  done
  median "${runs[@]}"
}

# report_s SCHEMA: median seconds of QUERY_RUNS `report` runs.
report_s() {
  local runs=() t0
  for ((i = 1; i <= QUERY_RUNS; i++)); do
    t0="$(now)"
    node dist/report.js --db-schema "$1" >/dev/null 2>"$WORK/report.log" || {
      echo "bench: report on $1 failed:" >&2
      cat "$WORK/report.log" >&2
      exit 1
    }
    runs+=("$(elapsed "$t0" "$(now)")")
  done
  median "${runs[@]}"
}

last_day="$(node -e 'const d = new Date(Date.parse(process.argv[1]) + (Number(process.argv[2]) - 1) * 864e5); console.log(d.toISOString().slice(0, 10))' "$START" "$DAYS")"
SNAPS="${SIMULATED:-$WORK}"
if [[ -n "${SIMULATED:-}" ]]; then
  [[ -d "$SNAPS/history" && -d "$SNAPS/last" && -d "$SNAPS/next" ]] || {
    echo "bench: SIMULATED=$SNAPS lacks the history/, last/ or next/ snapshots: point it at the work folder a BENCH_KEEP=1 run printed (runs before 2026-12-06 made no next/: simulate again)" >&2
    exit 2
  }
  echo "bench: reusing the snapshots simulated in $SNAPS" >&2
else
  echo "bench: simulating $DAYS days and the day after from $START (last day $last_day) into $WORK" >&2
  t0="$(now)"
  node dist/simulate.js --dry-run --seed answer-bench --start "$START" --duration "$((DAYS + 1))d" 2>/dev/null |
    node bench/simulated-snapshots.mjs "$WORK" "$last_day"
  echo "bench: simulated in $(elapsed "$t0" "$(now)") s" >&2
fi

echo "bench: the last day into an empty schema" >&2
last_empty_s="$(load_s "$SNAPS/last" "$ONE" last-empty)"
echo "bench: $((DAYS - 1)) days of history (first load, answer maintained)" >&2
history_s="$(load_s "$SNAPS/history" "$MANY" history)"
echo "bench: vacuuming and analysing the history" >&2
vacuum_schema "$MANY"
echo "bench: the last day into the $DAYS-day warehouse" >&2
last_many_s="$(load_s "$SNAPS/last" "$MANY" last-many)"
arrivals_many="$(psql -qXAt -c "SELECT count(*) FROM \"$MANY\".station_headways")"
arrivals_one="$(psql -qXAt -c "SELECT count(*) FROM \"$ONE\".station_headways")"

echo "bench: questions" >&2
day_sql() { echo "SELECT * FROM \"$1\".station_wait_times WHERE service_date = DATE '$last_day'"; }
day_one_ms="$(query_ms "$(day_sql "$ONE")")"
day_many_ms="$(query_ms "$(day_sql "$MANY")")"
incidents_one_ms="$(query_ms "SELECT * FROM \"$ONE\".line_incident_waits")"
incidents_many_ms="$(query_ms "SELECT * FROM \"$MANY\".line_incident_waits")"
report_one_s="$(report_s "$ONE")"
report_many_s="$(report_s "$MANY")"

echo "bench: the day after into both warehouses (the 1-day one vacuumed and analysed first, as the other was)" >&2
vacuum_schema "$ONE"
next_one_s="$(load_s "$SNAPS/next" "$ONE" next-one)"
next_many_s="$(load_s "$SNAPS/next" "$MANY" next-many)"

echo "bench: writing $EVENTS train-arrival events for the first-load comparison" >&2
node bench/make-snapshot.mjs "$WORK/events" "$EVENTS" 2>/dev/null
with=() without=()
for ((round = 1; round <= REPEAT; round++)); do
  echo "bench: round $round of $REPEAT: first load of $EVENTS events, with the answer, then with --no-answer" >&2
  with+=("$(load_s "$WORK/events/first" "${BASE}_with_$round" "with-$round")")
  without+=("$(load_s "$WORK/events/first" "${BASE}_without_$round" "without-$round" --no-answer)")
done
with_s="$(median "${with[@]}")"
without_s="$(median "${without[@]}")"

cat <<REPORT
eventful answer benchmark: $DAYS simulated days ($(nproc) cores, $(psql -qXAt -c 'SHOW server_version'), wal_compression=$(psql -qXAt -c 'SHOW wal_compression')); queries: median of $QUERY_RUNS
                                        1 day          $DAYS days      ratio   target
  station arrivals (headway rows)       $(printf '%-14s %-14s' "$arrivals_one" "$arrivals_many")
  station_wait_times, one service_date  $(printf '%-14s %-14s' "$day_one_ms ms" "$day_many_ms ms") $(ratio "$day_many_ms" "$day_one_ms")x   <= 50 ms and <= 2x
  line_incident_waits                   $(printf '%-14s %-14s' "$incidents_one_ms ms" "$incidents_many_ms ms") $(ratio "$incidents_many_ms" "$incidents_one_ms")x   <= 1000 ms at $DAYS d
  report (text)                         $(printf '%-14s %-14s' "$report_one_s s" "$report_many_s s") $(ratio "$report_many_s" "$report_one_s")x   <= 2 s at $DAYS d
  load the last day's snapshot          $(printf '%-14s %-14s' "$last_empty_s s" "$last_many_s s") $(ratio "$last_many_s" "$last_empty_s")x   <= 1.5x (1 day: into an empty warehouse)
  load the day after                    $(printf '%-14s %-14s' "$next_one_s s" "$next_many_s s") $(ratio "$next_many_s" "$next_one_s")x   the age alone: a pass in both
  (the $((DAYS - 1))-day history, first load: $history_s s)
first load of $EVENTS events, median of $REPEAT rounds
  with the answer maintained    ${with_s} s   (rounds: ${with[*]})
  with --no-answer              ${without_s} s   (rounds: ${without[*]})
  with / without (events/s)     $(ratio "$without_s" "$with_s")x   (target >= 0.9)
REPORT
