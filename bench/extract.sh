#!/usr/bin/env bash
# Benchmark: eventful extract against kcat and the textbook Python consumer loop, side by side, on one topic.
#
#   bench/extract.sh                 1,000,000 train-arrival events, 6 partitions
#   EVENTS=5000000 bench/extract.sh  another size
#   REPEAT=5 bench/extract.sh        runs per tool (default 3; medians are reported)
#   CODECS=zstd bench/extract.sh     compressed topics besides the plain one (default "lz4 zstd"; "" for none)
#
# Produces EVENTS events (~250 B of JSON each) with kcat to a fresh 6-partition topic on the local broker
# (scripts/services up), then times, one after another on the same data:
#   extract  node dist/extract.js (decode, schema validation, snapshot files fsynced, manifest, commit)
#   client   bench/consume-floor.mjs: the JS client's consume(n) loop alone, extract's consumer settings, no
#            decoding, no files (the ceiling of anything built on @confluentinc/kafka-javascript)
#   kcat     kcat -C -e -o beginning to a file (no decoding at all)
#   python   python3-confluent-kafka: poll(1.0) until None, decode, json.loads, write a line, close
# each REPEAT times, taking turns, and prints the median wall time, throughput, peak RSS (GNU time's "Maximum
# resident set size") and the ratios. Then the same events on one topic per codec of CODECS, produced as producers
# in production do (kcat -z CODEC, 10,000-message batches): extract and the JS client alone, side by side with the
# plain topic's.
# Targets: extract >= 0.7x kcat, >= 3x the Python loop; on every topic extract >= 0.9x the JS client alone and peak
# RSS < 256 MB.
# Needs: dist/ built (npm run build), kcat, Debian's python3-confluent-kafka, GNU time (/usr/bin/time).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS="${EVENTS:-1000000}"
REPEAT="${REPEAT:-3}"
PARTITIONS="${PARTITIONS:-6}"
PYTHON="${EVENTFUL_BENCH_PYTHON:-/usr/bin/python3}"

need_tools "kcat time python3-confluent-kafka" kcat "$TIME" "$PYTHON"
need_dist
# Each tool is timed with no other tool's writes pending: kcat, the Python loop and extract each write ~250 MB,
# which the kernel would otherwise flush while the next tool runs (it made extract's plain-topic runs, which follow
# them, swing from 4.9 to 6.0 s).
TIMED_SETTLE=1

if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then services_up; fi
BROKER="$KAFKA_BOOTSTRAP_SERVERS"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventful-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAMP="$(date +%s)"
TOPIC="bench-arrivals-$STAMP-$EVENTS"

CODECS="${CODECS-$CODECS_DEFAULT}"

produce_arrivals "$TOPIC"
arrival_schemas "$TOPIC" "$WORK/schemas"
for codec in $CODECS; do
  produce_arrivals "$TOPIC-$codec" "$codec"
  arrival_schemas "$TOPIC-$codec" "$WORK/schemas-$codec"
done

cat >"$WORK/textbook.py" <<'PY'
import json, sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[3], "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe([sys.argv[2]])
n = 0
with open(sys.argv[4], "w") as out:
    while True:
        msg = c.poll(1.0)
        if msg is None:
            break
        if msg.error():
            continue
        value = json.loads(msg.value().decode("utf-8"))
        out.write(json.dumps(value) + "\n")
        n += 1
c.close()
print(n)
PY

for ((i = 1; i <= REPEAT; i++)); do
  rm -rf "$WORK/snapshots"
  timed extract node "$ROOT/dist/extract.js" --bootstrap-servers "$BROKER" --topics "$TOPIC" --group-id "bench-$STAMP-$i" \
    --out "$WORK/snapshots" --schemas "$WORK/schemas" --progress-interval 10s
  check extract "$(field extract counts.events)"
  timed client node "$ROOT/bench/consume-floor.mjs" "$BROKER" "$TOPIC"
  check client "$(tail -1 "$WORK/client.out")"
  timed kcat sh -c "kcat -C -b '$BROKER' -t '$TOPIC' -o beginning -e -q > '$WORK/kcat.ndjson'"
  check kcat "$(wc -l <"$WORK/kcat.ndjson")"
  timed python "$PYTHON" "$WORK/textbook.py" "$BROKER" "$TOPIC" "bench-py-$STAMP-$i" "$WORK/python.ndjson"
  check python "$(tail -1 "$WORK/python.out")"
  for codec in $CODECS; do
    rm -rf "$WORK/snapshots"
    timed "extract-$codec" node "$ROOT/dist/extract.js" --bootstrap-servers "$BROKER" --topics "$TOPIC-$codec" \
      --group-id "bench-$STAMP-$codec-$i" --out "$WORK/snapshots" --schemas "$WORK/schemas-$codec" --progress-interval 10s
    check "extract-$codec" "$(field "extract-$codec" counts.events)"
    timed "client-$codec" node "$ROOT/bench/consume-floor.mjs" "$BROKER" "$TOPIC-$codec"
    check "client-$codec" "$(tail -1 "$WORK/client-$codec.out")"
  done
done

NAMES=(extract client kcat python)
for codec in $CODECS; do NAMES+=("extract-$codec" "client-$codec"); done
node - "$(medians "${NAMES[@]}")" "$EVENTS" "$BYTES" "$REPEAT" "$CODECS" <<'JS'
const t = JSON.parse(process.argv[2]);
const [events, bytes, repeat] = process.argv.slice(3, 6).map(Number);
const codecs = process.argv[6].split(' ').filter(Boolean);
const row = (name) => `${name.padEnd(8)} ${t[name].row}`;
console.log(`${events.toLocaleString('en-US')} events, ${(bytes / events).toFixed(0)} B each on average, 6 partitions, median of ${repeat} runs`);
for (const name of ['extract', 'client', 'kcat', 'python']) console.log(row(name));
console.log(`extract/kcat   ${(t.extract.rate / t.kcat.rate).toFixed(2)}x (target >= 0.7x)`);
console.log(`extract/python ${(t.extract.rate / t.python.rate).toFixed(2)}x (target >= 3x)`);
console.log(`client/kcat    ${(t.client.rate / t.kcat.rate).toFixed(2)}x (the JS client alone: the ceiling of any extract built on it)`);
console.log(`client/python ${(t.client.rate / t.python.rate).toFixed(2)}x`);
console.log(`extract/client ${(t.extract.rate / t.client.rate).toFixed(2)}x`);
console.log(`extract RSS    ${t.extract.rssMB.toFixed(0)} MB (target < 256 MB)`);
if (codecs.length) {
  console.log('');
  console.log(`by compression (${codecs.join(', ')}: kcat -z, 10,000-message batches); targets: extract/client >= 0.9x, extract RSS < 256 MB`);
  console.log('| topic | extract s | client s | extract/client | extract peak RSS | client peak RSS |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const codec of ['plain', ...codecs]) {
    const [e, c] = codec === 'plain' ? [t.extract, t.client] : [t[`extract-${codec}`], t[`client-${codec}`]];
    const ok = e.rate / c.rate >= 0.9 && e.rssMB < 256 ? '' : ' (MISSED)';
    console.log(`| ${codec} | ${e.s.toFixed(2)} | ${c.s.toFixed(2)} | ${(e.rate / c.rate).toFixed(2)}x | ${e.rssMB.toFixed(0)} MB | ${c.rssMB.toFixed(0)} MB |${ok}`);
  }
}
JS
