#!/usr/bin/env bash
# Benchmark: the S3 snapshot store against the local directory, side by side in one run, on the same events.
#
#   bench/s3.sh                    1,000,000 train-arrival events (~250 B of JSON each), 6 partitions
#   EVENTS=200000 bench/s3.sh      another size
#   REPEAT=3 bench/s3.sh           runs of each (default 1; medians are reported, taking turns)
#   COMPRESS=gzip bench/s3.sh      both stores with --compress gzip
#
# Produces EVENTS events with kcat to a fresh topic on the local broker, then, one after another:
#   extract → directory   node dist/extract.js --out <temp folder>           (own consumer group)
#   extract → s3://       node dist/extract.js --out s3://<bucket>/<prefix>  (own consumer group)
#   load ← directory      node dist/load.js --snapshots <temp folder>        (own Postgres schema)
#   load ← s3://          node dist/load.js --snapshots s3://...             (own Postgres schema)
# and prints wall time, events/s, peak RSS (GNU time's "Maximum resident set size") and the S3/local ratios.
# The object store is the local s3proxy that scripts/services starts (filesystem backend, on the same disk).
# Targets: S3 >= 0.8x the local-disk rate for extract and for load, peak RSS < 256 MB.
# Needs: dist/ built (npm run build), kcat, GNU time (/usr/bin/time), psql.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$ROOT"
EVENTS="${EVENTS:-1000000}"
REPEAT="${REPEAT:-1}"
PARTITIONS="${PARTITIONS:-6}"
COMPRESS="${COMPRESS:-none}"
KEEP="${BENCH_KEEP:-0}"

need_tools "kcat time postgresql-client" kcat "$TIME" psql
need_dist

# Starting twice is harmless: this only starts what is not running, and prints every service's settings.
services_up
BROKER="$KAFKA_BOOTSTRAP_SERVERS"
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventful-bench-s3.XXXXXX")"
STAMP="$(date +%s)-$$"
TOPIC="bench-s3-$STAMP"
PREFIX="bench-s3-$STAMP/"
LOCATION="s3://$EVENTFUL_S3_BUCKET/$PREFIX"
SCHEMAS_DROP=()

cleanup() {
  if [[ "$KEEP" != 1 ]]; then
    rm -rf "$WORK"
    s3_clear_prefix "$EVENTFUL_S3_BUCKET" "$PREFIX" >/dev/null 2>&1 || echo "bench: could not delete $LOCATION" >&2
    for s in "${SCHEMAS_DROP[@]}"; do psql -qX -c "DROP SCHEMA IF EXISTS \"$s\" CASCADE" >/dev/null 2>&1 || true; done
  else
    echo "bench: kept $WORK, $LOCATION and schemas ${SCHEMAS_DROP[*]}" >&2
  fi
}
trap cleanup EXIT

produce_arrivals "$TOPIC"
rm -f "$WORK/arrivals.ndjson"
arrival_schemas "$TOPIC" "$WORK/schemas"

# Each timed step starts from a checkpointed database and synced disks. Failures of a shared service restarting
# under us (another job's fault tests): the step is run again. A failed extract committed nothing and a failed load
# wrote nothing, so the retry does the same work from the start.
TIMED_SETTLE=1
TIMED_TRANSIENT='terminating connection|ECONNREFUSED|ECONNRESET|Connection terminated|connection to PostgreSQL was lost|the database system is (starting up|shutting down)|transport failure|brokers? (are )?down'

for ((i = 1; i <= REPEAT; i++)); do
  dir="$WORK/snapshots-$i"
  s3="$LOCATION$i/"
  extract_args=(--bootstrap-servers "$BROKER" --topics "$TOPIC" --schemas "$WORK/schemas" --progress-interval 30s
    --compress "$COMPRESS")
  # Taking turns: odd runs start with the directory, even runs with S3.
  order=(dir s3)
  ((i % 2 == 0)) && order=(s3 dir)
  for store in "${order[@]}"; do
    out="$dir"
    [[ "$store" == s3 ]] && out="$s3"
    timed "extract-$store" node dist/extract.js "${extract_args[@]}" --group-id "bench-$STAMP-$store-$i" --out "$out"
    check "extract-$store" "$(field "extract-$store" counts.events)"
  done
  for store in "${order[@]}"; do
    from="$dir"
    [[ "$store" == s3 ]] && from="$s3"
    schema="bench_s3_${STAMP//-/_}_${store}_$i"
    SCHEMAS_DROP+=("$schema")
    psql -qX -c "CREATE SCHEMA \"$schema\"" >/dev/null
    timed "load-$store" node dist/load.js --snapshots "$from" --db-schema "$schema" --schemas "$WORK/schemas" \
      --progress-seconds 30
    check "load-$store" "$(field "load-$store" totals.inserted)"
  done
  rm -rf "$dir"
done

node - "$(medians extract-dir extract-s3 load-dir load-s3)" "$EVENTS" "$BYTES" "$REPEAT" "$COMPRESS" "$(nproc)" <<'JS'
const t = JSON.parse(process.argv[2]);
const [events, bytes, repeat, compress, cores] = process.argv.slice(3).map((x, i) => (i === 3 ? x : Number(x)));
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const row = (label, name) => `  ${label.padEnd(20)} ${t[name].row}`;
const ratio = (a, b) => t[a].rate / t[b].rate;
const verdict = (ok) => (ok ? 'met' : 'NOT met');
const rx = ratio('extract-s3', 'extract-dir');
const rl = ratio('load-s3', 'load-dir');
const rss = Math.max(...Object.values(t).map((x) => x.rssMB));
console.log(
  `eventful S3 store benchmark: ${fmt(events)} events, ${(bytes / events).toFixed(0)} B each on average, ` +
    `compress ${compress}, ${cores} cores, median of ${repeat} run(s); object store: local s3proxy`,
);
console.log(row('extract → directory', 'extract-dir'));
console.log(row('extract → s3://', 'extract-s3'));
console.log(row('load ← directory', 'load-dir'));
console.log(row('load ← s3://', 'load-s3'));
console.log(`  extract s3/local     ${rx.toFixed(2)}x (target >= 0.8x: ${verdict(rx >= 0.8)})`);
console.log(`  load s3/local        ${rl.toFixed(2)}x (target >= 0.8x: ${verdict(rl >= 0.8)})`);
console.log(`  peak RSS             ${rss.toFixed(0)} MB (target < 256 MB: ${verdict(rss < 256)})`);
JS
