# Shared steps of the benchmark scripts (bench/extract.sh, s3.sh, soak.sh, load.sh, answer.sh, history.sh), sourced, never run:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Sourcing only sets ROOT, TIME and LOG_PREFIX and defines functions; it starts nothing. The functions use the
# caller's WORK (its temp folder), BROKER, EVENTS and PARTITIONS where they say so.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TIME=/usr/bin/time
#: What messages on stderr start with (soak.sh says "soak").
LOG_PREFIX=bench
#: timed: 1 to checkpoint Postgres and sync the disks before each try.
TIMED_SETTLE=0
#: timed: an extended regular expression; a failure whose output matches it is tried again (4 tries at most).
TIMED_TRANSIENT=''

# need_tools PACKAGES TOOL...: exits 2, naming the apt PACKAGES to install, when one of the TOOLs is missing.
need_tools() {
  local packages="$1" tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$LOG_PREFIX: $tool is missing (apt-get install $packages)" >&2; exit 2; }
  done
}

# need_dist: exits 2 when dist/ is not built.
need_dist() {
  [[ -f "$ROOT/dist/extract.js" ]] || { echo "$LOG_PREFIX: dist/extract.js is missing: run npm run build" >&2; exit 2; }
}

now() { date +%s.%N; }

# checkpoint: a Postgres CHECKPOINT, so that no earlier step's dirty pages are written during the next one.
checkpoint() { psql -qX -c CHECKPOINT >/dev/null 2>&1 || true; }

# kcat_produce TOPIC [KCAT OPTION...]: produces the lines of stdin (or of the file of `-l FILE`) to TOPIC on $BROKER.
kcat_produce() {
  local topic="$1"
  shift
  kcat -P -b "$BROKER" -t "$topic" -X linger.ms=50 -X batch.num.messages=10000 "$@"
}

#: Codecs of the compressed topics (kcat -z): what producers in production use.
CODECS_DEFAULT="lz4 zstd"

# compressed_options CODEC: kcat options that produce CODEC-compressed batches of 10,000 messages, as producers in
# production do (none for CODEC "none"). librdkafka's batch.size (1 MB) would cut 250-B events into batches of
# ~3,800; the broker checks the compressed batch (~0.3-0.7 MB here) against its 1 MB message.max.bytes.
compressed_options() {
  [[ "$1" == none ]] && return 0
  echo "-z $1 -X linger.ms=200 -X batch.size=8000000 -X message.max.bytes=8000000"
}

# produce_arrivals TOPIC [CODEC]: EVENTS generated train-arrival events (through $WORK/arrivals.ndjson, generated
# once) into a fresh PARTITIONS-partition TOPIC, compressed with CODEC (lz4, zstd; default none); sets BYTES to
# their size in bytes.
produce_arrivals() {
  local codec="${2:-none}"
  if [[ ! -f "$WORK/arrivals.ndjson" ]]; then
    echo "$LOG_PREFIX: generating $EVENTS events" >&2
    node "$ROOT/bench/generate-arrivals.mjs" "$EVENTS" >"$WORK/arrivals.ndjson"
  fi
  BYTES="$(stat -c %s "$WORK/arrivals.ndjson")"
  "$ROOT/scripts/kafka" create-topic "$1" "$PARTITIONS" >&2
  echo "$LOG_PREFIX: producing to $1 with kcat (compression: $codec)" >&2
  # shellcheck disable=SC2046 # the options are words
  kcat_produce "$1" -l "$WORK/arrivals.ndjson" $(compressed_options "$codec")
}

# arrival_schemas TOPIC DIR: DIR/train_arrival.schema.json, the shipped schema with its topics set to [TOPIC].
arrival_schemas() {
  mkdir -p "$2"
  node -e '
const fs = require("fs");
const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
s["x-warehouse"].topics = [process.argv[2]];
fs.writeFileSync(process.argv[3], JSON.stringify(s));
' "$ROOT/schemas/train_arrival.schema.json" "$1" "$2/train_arrival.schema.json"
}

# timed NAME COMMAND...: runs COMMAND under GNU time, its stdout in $WORK/NAME.out and stderr in $WORK/NAME.err, and
# appends "seconds peak-RSS-kB" to $WORK/NAME.times. On failure: tried again when TIMED_TRANSIENT matches its
# output, else the script exits 1 with the tail of that output.
timed() {
  local name="$1" try
  shift
  for try in 1 2 3 4; do
    echo "$LOG_PREFIX: $name" >&2
    if [[ "$TIMED_SETTLE" == 1 ]]; then
      checkpoint
      sync
    fi
    if "$TIME" -f '%e %M' -o "$WORK/time.tmp" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"; then
      tail -1 "$WORK/time.tmp" >>"$WORK/$name.times"
      return 0
    fi
    if ((try < 4)) && [[ -n "$TIMED_TRANSIENT" ]] && grep -qE "$TIMED_TRANSIENT" "$WORK/$name.err" "$WORK/$name.out"; then
      echo "$LOG_PREFIX: $name failed while a service restarted; running it again" >&2
      sleep 5
      continue
    fi
    echo "$LOG_PREFIX: $name failed:" >&2
    tail -n 20 "$WORK/$name.err" "$WORK/$name.out" >&2
    exit 1
  done
}

# field NAME PATH: a field (dotted PATH, e.g. counts.events) of the JSON summary on the last line of $WORK/NAME.out.
field() {
  tail -1 "$WORK/$1.out" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v[k];console.log(v)})' "$2"
}

# check NAME GOT: exits 1 unless GOT (events NAME handled) is EVENTS.
check() {
  if [[ "$2" != "$EVENTS" ]]; then
    echo "$LOG_PREFIX: $1 handled $2 events, not $EVENTS" >&2
    exit 1
  fi
}

# medians NAME...: one JSON object on stdout with, for each NAME, the times in $WORK/NAME.times: s (median wall
# seconds), all (every run's seconds), rate (EVENTS / s), rssMB (highest peak RSS) and row (the report's columns
# after the label: seconds, events/s, peak RSS and the runs).
medians() {
  node - "$WORK" "$EVENTS" "$@" <<'JS'
const fs = require('fs');
const [work, events, ...names] = process.argv.slice(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const t = {};
for (const name of names) {
  const runs = fs.readFileSync(`${work}/${name}.times`, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
  const s = median(runs.map((r) => r[0]));
  t[name] = { s, all: runs.map((r) => r[0].toFixed(2)).join(' '), rate: Number(events) / s, rssMB: Math.max(...runs.map((r) => r[1])) / 1024 };
  t[name].row =
    `${t[name].s.toFixed(2).padStart(7)} s ${Math.round(t[name].rate).toLocaleString('en-US').padStart(10)} events/s ` +
    `${t[name].rssMB.toFixed(0).padStart(5)} MB peak RSS   (runs: ${t[name].all} s)`;
}
console.log(JSON.stringify(t));
JS
}

# s3_clear_prefix BUCKET PREFIX: deletes every object under PREFIX (complete snapshots too, which prune would keep),
# with the credentials and endpoint of the AWS_* variables.
s3_clear_prefix() {
  (cd "$ROOT" && node --input-type=module - "$1" "$2" <<'JS'
import { ListObjectsV2Command, DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { createS3Client, s3SettingsFromEnv } from './dist/snapshot/s3-settings.js';
const [bucket, prefix] = process.argv.slice(2);
const client = createS3Client(s3SettingsFromEnv(process.env));
let token;
do {
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
  const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
  if (keys.length) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  token = page.IsTruncated ? page.NextContinuationToken : undefined;
} while (token);
client.destroy();
JS
  )
}

# services_up: starts the project's services (scripts/services up) and exports their settings; exits 1 when they do
# not start (a bare `eval "$(scripts/services up)"` would go on without them).
services_up() {
  local settings
  settings="$("$ROOT/scripts/services" up)" || { echo "$LOG_PREFIX: the services did not start (see above)" >&2; exit 1; }
  eval "$settings"
}
