#!/usr/bin/env bash
# Soak: EVENTS train-arrival events through extract and load in one go, at each size of SIZES, to show that
# throughput holds and memory stays flat as the batch grows (extract and load stream; nothing is held whole).
#
#   bench/soak.sh                                  1,000,000 then 10,000,000 events (about 10 minutes on 2 cores)
#   EVENTS=3000000 bench/soak.sh                   1,000,000 then 3,000,000
#   SIZES="1000000 3000000 10000000" bench/soak.sh any sizes
#   CODECS=lz4 bench/soak.sh                       compressed topics besides the plain one (default "lz4 zstd")
#
# For each size, on the local services (scripts/services up): a fresh 6-partition topic filled with kcat from
# bench/generate-arrivals.mjs (streamed, no file), then one extract of the whole topic into one snapshot and one
# load of that snapshot into a fresh Postgres schema, each timed by GNU time (wall time, peak RSS). Checks that
# every event arrived (extract's count, load's inserted rows, count(*) in the table), prints a table and the
# growth of peak RSS from the smallest to the largest size. For each codec of CODECS, the same number of events on a
# topic of its own, produced as producers in production do (kcat -z CODEC, 10,000-message batches), extracted the
# same way (its snapshot is the plain topic's again, so it is not loaded). Topics, snapshots and schemas are removed afterwards
# (BENCH_KEEP=1 keeps them). Disk: about 600 MB per million events in the snapshot, the broker and Postgres each.
# Needs: dist/ built (npm run build), kcat, GNU time, Debian's python3-confluent-kafka (to delete the topics).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_PREFIX=soak

cd "$ROOT"
EVENTS="${EVENTS:-10000000}"
if ((EVENTS > 1000000)); then SIZES="${SIZES:-1000000 $EVENTS}"; else SIZES="${SIZES:-$EVENTS}"; fi
PARTITIONS="${PARTITIONS:-6}"
KEEP="${BENCH_KEEP:-0}"
PYTHON="${EVENTFUL_BENCH_PYTHON:-/usr/bin/python3}"

need_tools "kcat time python3-confluent-kafka" kcat "$TIME" "$PYTHON"
need_dist
if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" || -z "${DATABASE_URL:-}" ]]; then services_up; fi
BROKER="$KAFKA_BOOTSTRAP_SERVERS"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventful-soak.XXXXXX")"
STAMP="$(date +%s)"
TOPICS=()
SCHEMAS=()
cleanup() {
  [[ "$KEEP" == 1 ]] && { echo "soak: kept $WORK, topics ${TOPICS[*]:-}, schemas ${SCHEMAS[*]:-}" >&2; return; }
  rm -rf "$WORK"
  for s in "${SCHEMAS[@]:-}"; do [[ -n "$s" ]] && psql -qX -c "DROP SCHEMA IF EXISTS \"$s\" CASCADE" >/dev/null 2>&1; done
  if ((${#TOPICS[@]})); then
    "$PYTHON" - "$BROKER" "${TOPICS[@]}" <<'PY' >&2 || true
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for t, f in a.delete_topics(sys.argv[2:], operation_timeout=60).items():
    f.result()
PY
  fi
}
trap cleanup EXIT

CODECS="${CODECS-$CODECS_DEFAULT}"
RESULTS="$WORK/results"
COMPRESSED="$WORK/compressed"
: >"$RESULTS"
: >"$COMPRESSED"

# soak_extract N TOPIC NAME: one timed extract (as NAME, with the schemas of $WORK/schemas-NAME) of the whole TOPIC
# into $WORK/snapshots-NAME, checked to read N events.
soak_extract() {
  timed "extract-$3" node dist/extract.js --bootstrap-servers "$BROKER" --topics "$2" --group-id "soak-$STAMP-$3" \
    --out "$WORK/snapshots-$3" --schemas "$WORK/schemas-$3" --progress-interval 30s --stall-timeout 5m
  got="$(field "extract-$3" counts.events)"
  [[ "$got" == "$1" ]] || { echo "soak: extract read $got events, not $1" >&2; exit 1; }
}
for N in $SIZES; do
  TOPIC="soak-$STAMP-$N"
  SCHEMA="soak_${STAMP}_$N"
  TOPICS+=("$TOPIC")
  SCHEMAS+=("$SCHEMA")
  scripts/kafka create-topic "$TOPIC" "$PARTITIONS" 2>/dev/null
  arrival_schemas "$TOPIC" "$WORK/schemas-$N"

  echo "soak: $N events: producing to $TOPIC" >&2
  t0="$(now)"
  node bench/generate-arrivals.mjs "$N" | kcat_produce "$TOPIC" -X queue.buffering.max.kbytes=262144
  produced_s="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"

  soak_extract "$N" "$TOPIC" "$N"
  snapshot_mb="$(du -sm "$WORK/snapshots-$N" | cut -f1)"

  checkpoint
  timed "load-$N" node dist/load.js --snapshots "$WORK/snapshots-$N" --schemas "$WORK/schemas-$N" --db-schema "$SCHEMA" \
    --progress-seconds 30
  got="$(field "load-$N" totals.inserted)"
  [[ "$got" == "$N" ]] || { echo "soak: load inserted $got rows, not $N" >&2; exit 1; }
  rows="$(psql -qXtA -c "SELECT count(*) FROM \"$SCHEMA\".train_arrivals")"
  [[ "$rows" == "$N" ]] || { echo "soak: the table holds $rows rows, not $N" >&2; exit 1; }

  read -r es er <"$WORK/extract-$N.times"
  read -r ls lr <"$WORK/load-$N.times"
  echo "$N $produced_s $es $er $ls $lr $snapshot_mb" >>"$RESULTS"
  # Free the disk before the next size (the table and topic stay until the end, for BENCH_KEEP).
  [[ "$KEEP" == 1 ]] || rm -rf "$WORK/snapshots-$N"

  for codec in $CODECS; do
    TOPICS+=("$TOPIC-$codec")
    scripts/kafka create-topic "$TOPIC-$codec" "$PARTITIONS" 2>/dev/null
    arrival_schemas "$TOPIC-$codec" "$WORK/schemas-$N-$codec"
    echo "soak: $N events: producing to $TOPIC-$codec ($codec)" >&2
    t0="$(now)"
    # shellcheck disable=SC2046 # the options are words
    node bench/generate-arrivals.mjs "$N" |
      kcat_produce "$TOPIC-$codec" -X queue.buffering.max.kbytes=262144 $(compressed_options "$codec")
    produced_s="$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
    soak_extract "$N" "$TOPIC-$codec" "$N-$codec"
    rm -rf "$WORK/snapshots-$N-$codec"
    read -r es er <"$WORK/extract-$N-$codec.times"
    echo "$N $codec $produced_s $es $er" >>"$COMPRESSED"
  done
done

node - "$RESULTS" "$(nproc)" "$COMPRESSED" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
const compressed = fs.readFileSync(process.argv[4], 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' '));
const f = (n) => Math.round(n).toLocaleString('en-US');
console.log(`soak on ${process.argv[3]} cores: one extract of the whole topic into one snapshot, one load of it`);
console.log('| events | step | seconds | events/s | peak RSS |');
console.log('|---:|---|---:|---:|---:|');
for (const [n, ps, es, er, ls, lr, mb] of rows) {
  console.log(`| ${f(n)} | produce (kcat) | ${ps.toFixed(1)} | ${f(n / ps)} | |`);
  console.log(`| ${f(n)} | extract (snapshot ${f(mb)} MB) | ${es.toFixed(1)} | ${f(n / es)} | ${f(er / 1024)} MB |`);
  console.log(`| ${f(n)} | load | ${ls.toFixed(1)} | ${f(n / ls)} | ${f(lr / 1024)} MB |`);
  for (const [, codec, cps, ces, cer] of compressed.filter((r) => Number(r[0]) === n)) {
    console.log(`| ${f(n)} | produce ${codec} (kcat -z, 10,000-message batches) | ${Number(cps).toFixed(1)} | ${f(n / cps)} | |`);
    console.log(`| ${f(n)} | extract from ${codec} | ${Number(ces).toFixed(1)} | ${f(n / ces)} | ${f(cer / 1024)} MB |`);
  }
}
if (rows.length > 1) {
  const [a, b] = [rows[0], rows[rows.length - 1]];
  const growth = (x, y) => `${f(x / 1024)} MB → ${f(y / 1024)} MB (${((100 * (y - x)) / x).toFixed(0)}%)`;
  console.log(`peak RSS from ${f(a[0])} to ${f(b[0])} events (${(b[0] / a[0]).toFixed(0)}x): extract ${growth(a[3], b[3])}, load ${growth(a[5], b[5])}`);
  for (const codec of new Set(compressed.map((r) => r[1]))) {
    const of = compressed.filter((r) => r[1] === codec).map((r) => Number(r[4]));
    console.log(`peak RSS of extract from ${codec}: ${growth(of[0], of[of.length - 1])}`);
  }
}
JS
