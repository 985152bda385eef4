#!/usr/bin/env bash
# Benchmark: eventful extract against kcat and the textbook Python consumer loop, side by side, on one topic.
#
#   bench/extract.sh                 1,000,000 train-arrival events, 6 partitions
#   EVENTS=5000000 bench/extract.sh  another size
#   REPEAT=5 bench/extract.sh        runs per tool (default 3; medians are reported)
#
# Produces EVENTS events (~250 B of JSON each) with kcat to a fresh 6-partition topic on the local broker
# (scripts/services up), then times, one after another on the same data:
#   extract  node dist/extract.js (decode, schema validation, snapshot files fsynced, manifest, commit)
#   kcat     kcat -C -e -o beginning to a file (no decoding at all)
#   python   python3-confluent-kafka: poll(1.0) until None, decode, json.loads, write a line, close
# each REPEAT times, taking turns, and prints the median wall time, throughput, peak RSS (GNU time's "Maximum
# resident set size") and the ratios.
# Targets: extract >= 0.7x kcat, >= 3x the Python loop, peak RSS < 256 MB.
# Needs: dist/ built (npm run build), kcat, Debian's python3-confluent-kafka, GNU time (/usr/bin/time).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EVENTS="${EVENTS:-1000000}"
REPEAT="${REPEAT:-3}"
PARTITIONS="${PARTITIONS:-6}"
PYTHON="${EVENTFUL_BENCH_PYTHON:-/usr/bin/python3}"
TIME=/usr/bin/time

for tool in kcat "$TIME" "$PYTHON"; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install kcat time python3-confluent-kafka)" >&2; exit 2; }
done
[[ -f "$ROOT/dist/extract.js" ]] || { echo "bench: dist/extract.js is missing: run npm run build" >&2; exit 2; }

if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then eval "$("$ROOT/scripts/services" up)"; fi
BROKER="$KAFKA_BOOTSTRAP_SERVERS"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventful-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAMP="$(date +%s)"
TOPIC="bench-arrivals-$STAMP-$EVENTS"

echo "bench: generating $EVENTS events" >&2
node "$ROOT/bench/generate-arrivals.mjs" "$EVENTS" >"$WORK/arrivals.ndjson"
BYTES="$(stat -c %s "$WORK/arrivals.ndjson")"
"$ROOT/scripts/kafka" create-topic "$TOPIC" "$PARTITIONS" >&2
echo "bench: producing to $TOPIC with kcat" >&2
kcat -P -b "$BROKER" -t "$TOPIC" -X linger.ms=50 -X batch.num.messages=10000 -l "$WORK/arrivals.ndjson"

mkdir -p "$WORK/schemas"
node -e '
const fs = require("fs");
const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
s["x-warehouse"].topics = [process.argv[2]];
fs.writeFileSync(process.argv[3], JSON.stringify(s));
' "$ROOT/schemas/train_arrival.schema.json" "$TOPIC" "$WORK/schemas/train_arrival.schema.json"

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

# run NAME COMMAND...: times COMMAND with GNU time; appends "seconds peak-RSS-kB" to $WORK/NAME.times
run() {
  local name="$1"
  shift
  echo "bench: $name" >&2
  "$TIME" -f '%e %M' -o "$WORK/time.tmp" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || {
    echo "bench: $name failed:" >&2
    tail -20 "$WORK/$name.err" >&2
    exit 1
  }
  tail -1 "$WORK/time.tmp" >>"$WORK/$name.times"
}

check() {
  local name="$1" got="$2"
  if [[ "$got" != "$EVENTS" ]]; then
    echo "bench: $name read $got events, not $EVENTS" >&2
    exit 1
  fi
}

for ((i = 1; i <= REPEAT; i++)); do
  rm -rf "$WORK/snapshots"
  run extract node "$ROOT/dist/extract.js" --bootstrap-servers "$BROKER" --topics "$TOPIC" --group-id "bench-$STAMP-$i" \
    --out "$WORK/snapshots" --schemas "$WORK/schemas" --progress-interval 10s
  check extract "$(tail -1 "$WORK/extract.out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).counts.events))')"
  run kcat sh -c "kcat -C -b '$BROKER' -t '$TOPIC' -o beginning -e -q > '$WORK/kcat.ndjson'"
  check kcat "$(wc -l <"$WORK/kcat.ndjson")"
  run python "$PYTHON" "$WORK/textbook.py" "$BROKER" "$TOPIC" "bench-py-$STAMP-$i" "$WORK/python.ndjson"
  check python "$(tail -1 "$WORK/python.out")"
done

node - "$WORK" "$EVENTS" "$BYTES" "$REPEAT" <<'JS'
const fs = require('fs');
const [work, events, bytes, repeat] = process.argv.slice(2).map((x, i) => (i ? Number(x) : x));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const t = {};
for (const name of ['extract', 'kcat', 'python']) {
  const runs = fs.readFileSync(`${work}/${name}.times`, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
  const s = median(runs.map((r) => r[0]));
  t[name] = { s, all: runs.map((r) => r[0].toFixed(2)).join(' '), rate: events / s, rssMB: Math.max(...runs.map((r) => r[1])) / 1024 };
}
const row = (name) =>
  `${name.padEnd(8)} ${t[name].s.toFixed(2).padStart(7)} s ${Math.round(t[name].rate).toLocaleString('en-US').padStart(10)} events/s ` +
  `${t[name].rssMB.toFixed(0).padStart(5)} MB peak RSS   (runs: ${t[name].all} s)`;
console.log(`${events.toLocaleString('en-US')} events, ${(bytes / events).toFixed(0)} B each on average, 6 partitions, median of ${repeat} runs`);
for (const name of ['extract', 'kcat', 'python']) console.log(row(name));
console.log(`extract/kcat   ${(t.extract.rate / t.kcat.rate).toFixed(2)}x (target >= 0.7x)`);
console.log(`extract/python ${(t.extract.rate / t.python.rate).toFixed(2)}x (target >= 3x)`);
console.log(`extract RSS    ${t.extract.rssMB.toFixed(0)} MB (target < 256 MB)`);
JS
