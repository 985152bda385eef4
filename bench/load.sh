#!/usr/bin/env bash
# Load benchmark (a script, not a timed test). Side by side, on the same rows:
#   1. eventful load, first load of an EVENTS-event train-arrival snapshot
#   2. eventful load of a full replay: the same events as a new snapshot (another id)
#   3. psql \copy of the same rows from CSV into an unindexed table with the same columns
#   4. for reference, the same \copy into a table with the primary key (what Postgres alone does of a load)
#   5. naive row-by-row autocommit INSERTs of NAIVE_ROWS rows (scaled up to EVENTS)
# and prints rows/s, the ratios and the peak RSS of each load.
# Targets: first load >= 0.5x COPY, replay no slower than the first load, >= 20x naive, RSS < 256 MB.
#
# usage: bench/load.sh              (EVENTS=1000000 NAIVE_ROWS=20000 REPEAT=3 by default: medians of 3 rounds,
#                                    each into a fresh Postgres schema)
#        EVENTS=200000 REPEAT=1 bench/load.sh
#        LOAD_FLAGS=--no-answer bench/load.sh   (flags added to both eventful loads: here, the rows alone)
# Needs the project's services (scripts/services up) and GNU time (apt-get install time).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$ROOT"
EVENTS="${EVENTS:-1000000}"
NAIVE_ROWS="${NAIVE_ROWS:-20000}"
REPEAT="${REPEAT:-3}"
KEEP="${BENCH_KEEP:-0}"
read -r -a LOAD_FLAGS <<<"${LOAD_FLAGS:-}"

need_tools time "$TIME"
eval "$("$ROOT/scripts/services" env)"
[[ "${EVENTFUL_SKIP_BUILD:-0}" == 1 ]] || npm run -s build

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventful-bench.XXXXXX")"
SCHEMA_BASE="bench_$(date +%s)_$$"
cleanup() {
  if [[ "$KEEP" != 1 ]]; then
    rm -rf "$WORK"
    for ((round = 1; round <= REPEAT; round++)); do
      psql -qX -c "DROP SCHEMA IF EXISTS \"${SCHEMA_BASE}_$round\" CASCADE" >/dev/null 2>&1 || true
    done
  fi
}
trap cleanup EXIT

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rss_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$1"; }

echo "bench: writing $EVENTS events into $WORK" >&2
t0="$(now)"
node bench/make-snapshot.mjs "$WORK" "$EVENTS"
echo "bench: inputs written in $(elapsed "$t0" "$(now)") s ($(du -sh "$WORK/first" | cut -f1) per snapshot)" >&2

load() { # <snapshots dir> <name>
  checkpoint
  local t0 t1
  t0="$(now)"
  "$TIME" -v -o "$WORK/time-$2" node dist/load.js --snapshots "$1" --db-schema "$SCHEMA" \
    --progress-seconds 5 ${LOAD_FLAGS[@]+"${LOAD_FLAGS[@]}"} >"$WORK/summary-$2" 2>"$WORK/log-$2" || {
    echo "bench: load ($2) failed:" >&2
    cat "$WORK/log-$2" "$WORK/summary-$2" >&2
    exit 1
  }
  t1="$(now)"
  elapsed "$t0" "$t1"
}

COLS='event_id, event_type, occurred_at, train_id, line, direction, station_id, station_name, scheduled_at, dwell_seconds, checkpoint_type, _kafka_topic, _kafka_partition, _kafka_offset, _kafka_timestamp, _eventful_snapshot_id'
copy_into() { # <table>: seconds of a psql \copy of the rows into it
  checkpoint
  local t0
  t0="$(now)"
  psql -qX -c "\\copy \"$SCHEMA\".$1 ($COLS) FROM '$WORK/rows.csv' WITH (FORMAT csv)"
  elapsed "$t0" "$(now)"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Each round loads into a fresh Postgres schema, then times the two \copy baselines there.
firsts=() replays=() copies=() keyed=() rss_first=0 rss_replay=0
for ((round = 1; round <= REPEAT; round++)); do
  SCHEMA="${SCHEMA_BASE}_$round"
  echo "bench: round $round of $REPEAT: eventful load, first load" >&2
  firsts+=("$(load "$WORK/first" first)")
  echo "bench: eventful load, full replay as a new snapshot" >&2
  replays+=("$(load "$WORK/replay" replay)")
  rss_first="$(awk -v a="$rss_first" -v b="$(rss_mb "$WORK/time-first")" 'BEGIN { print (a > b ? a : b) }')"
  rss_replay="$(awk -v a="$rss_replay" -v b="$(rss_mb "$WORK/time-replay")" 'BEGIN { print (a > b ? a : b) }')"
  inserted="$(psql -qXAt -c "SELECT count(*) FROM \"$SCHEMA\".train_arrivals")"
  if [[ "$inserted" != "$EVENTS" ]]; then
    echo "bench: expected $EVENTS rows in train_arrivals after both loads, found $inserted" >&2
    exit 1
  fi
  psql -qX -c "CREATE TABLE \"$SCHEMA\".copy_baseline (LIKE \"$SCHEMA\".train_arrivals INCLUDING DEFAULTS)" \
    -c "CREATE TABLE \"$SCHEMA\".copy_keyed (LIKE \"$SCHEMA\".train_arrivals INCLUDING ALL)"
  echo "bench: psql \\copy into an unindexed table" >&2
  copies+=("$(copy_into copy_baseline)")
  echo "bench: psql \\copy into a table with the primary key (for reference: the part of load Postgres does)" >&2
  keyed+=("$(copy_into copy_keyed)")
done

echo "bench: naive row-by-row INSERT of $NAIVE_ROWS rows" >&2
psql -qX -c "CREATE TABLE \"$SCHEMA\".naive_baseline (LIKE \"$SCHEMA\".train_arrivals INCLUDING ALL)"
checkpoint
naive_measured_s="$(node bench/naive-insert.mjs "$WORK/rows.csv" "\"$SCHEMA\".naive_baseline" "$NAIVE_ROWS")"
naive_s="$(awk -v s="$naive_measured_s" -v n="$NAIVE_ROWS" -v e="$EVENTS" 'BEGIN { printf "%.3f", s * e / n }')"

first_s="$(median "${firsts[@]}")"
replay_s="$(median "${replays[@]}")"
copy_s="$(median "${copies[@]}")"
copy_keyed_s="$(median "${keyed[@]}")"
first_rate="$(rate "$EVENTS" "$first_s")"
replay_rate="$(rate "$EVENTS" "$replay_s")"
copy_rate="$(rate "$EVENTS" "$copy_s")"
copy_keyed_rate="$(rate "$EVENTS" "$copy_keyed_s")"
naive_rate="$(rate "$NAIVE_ROWS" "$naive_measured_s")"
cat <<REPORT
eventful load benchmark: $EVENTS train-arrival events ($(nproc) cores, $(psql -qXAt -c 'SHOW server_version')), median of $REPEAT rounds${LOAD_FLAGS[*]:+, load flags: ${LOAD_FLAGS[*]}}
  eventful first load          ${first_s} s   ${first_rate} rows/s   peak RSS ${rss_first} MB   (rounds: ${firsts[*]})
  eventful replay (new id)     ${replay_s} s   ${replay_rate} rows/s   peak RSS ${rss_replay} MB   (rounds: ${replays[*]})
  psql \\copy, unindexed        ${copy_s} s   ${copy_rate} rows/s   (rounds: ${copies[*]})
  psql \\copy, primary key      ${copy_keyed_s} s   ${copy_keyed_rate} rows/s   (reference: $(ratio "$copy_keyed_rate" "$copy_rate")x of unindexed)
  naive INSERT (${NAIVE_ROWS} rows)    ${naive_measured_s} s   ${naive_rate} rows/s   (scaled to $EVENTS: ${naive_s} s)
  first load / COPY            $(ratio "$first_rate" "$copy_rate")x   (target >= 0.5)
  first load / keyed COPY      $(ratio "$first_rate" "$copy_keyed_rate")x
  replay / first load          $(ratio "$replay_rate" "$first_rate")x   (target >= 1.0)
  first load / naive           $(ratio "$first_rate" "$naive_rate")x   (target >= 20)
REPORT
