#!/usr/bin/env bash
# History benchmark (a script, not a timed test): does a load cost the snapshots it loads, or the age of the
# snapshot store? For a store that has run hourly for a day (24 snapshots) and for a year (8,760), in a folder and
# on S3 (the project's s3proxy), side by side in one run:
#   nothing new   load with no pending snapshot (what most runs of a sensor-triggered DAG are)
#   one new       load of one new hourly snapshot of EVENTS train arrivals
#   prune         on S3, prune with nothing to prune (after a first run that lists the whole lake and sets its
#                 floor), and the objects it listed
# each the median of REPEAT runs, with peak RSS, and the year/day ratios.
# Target: a year within 1.5x of a day, for both, in both stores. Also printed: what one listing request costs the
# S3 server with each store (s3proxy's file backend walks the whole prefix for every request; S3 does not).
#
# usage: bench/history.sh                 (HOURS="24 8760" EVENTS=1000 REPEAT=3)
#        HOURS="24 2160" REPEAT=1 bench/history.sh
# The history is one real snapshot, loaded, and hard-linked copies of it, one per earlier hour; the copies' ledger
# rows are written by SQL (what loading them would leave in the ledger, without the ~4 minutes 8,760 loads take).
# Needs the project's services (scripts/services up), dist/ built (npm run build) and GNU time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cd "$ROOT"
HOURS="${HOURS:-24 8760}"
EVENTS="${EVENTS:-1000}"
REPEAT="${REPEAT:-3}"
need_tools time "$TIME"
need_dist
eval "$("$ROOT/scripts/services" env)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eventful-history.XXXXXX")"
BASE="bench_history_$(date +%s)_$$"
cleanup() {
  rm -rf "$WORK"
  for hours in $HOURS; do
    psql -qX -c "DROP SCHEMA IF EXISTS \"${BASE}_$hours\" CASCADE" >/dev/null 2>&1 || true
    s3_clear_prefix "$EVENTFUL_S3_BUCKET" "$BASE-$hours/" >/dev/null 2>&1 || echo "bench: could not delete s3://$EVENTFUL_S3_BUCKET/$BASE-$hours/" >&2
  done
}
trap cleanup EXIT
# The history ends a few hours before now (the new snapshots of the timed runs follow it, up to now), as a store's
# does: load lists from its floor, a day before now (see src/warehouse/listing-floor.ts).
NOW_HOUR="$(date -u -d "-$((2 * REPEAT + 1)) hour" +%Y-%m-%dT%H:00:00Z)"

median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# load_once STORE SCHEMA EXPECT_STATUS: one timed load; prints "seconds peak-RSS-MB".
load_once() {
  local out="$WORK/load.json"
  "$TIME" -f '%e %M' -o "$WORK/time" node dist/load.js --snapshots "$1" --db-schema "$2" >"$out" 2>"$WORK/load.err" || true
  grep -q "\"status\":\"$3\"" "$out" || {
    echo "bench: load of $1 into $2 did not end $3:" >&2
    tail -n 5 "$WORK/load.err" "$out" >&2
    exit 1
  }
  tail -1 "$WORK/time" | awk '{ printf "%s %.0f\n", $1, $2 / 1024 }'
}

# prune_once LOCATION: one timed prune that finds nothing to prune; prints "seconds objects-listed".
prune_once() {
  local out="$WORK/prune.json"
  "$TIME" -f '%e' -o "$WORK/time" node dist/prune.js --snapshots "$1" >"$out" 2>"$WORK/prune.err" || true
  grep -q '"status":"nothing_to_prune"' "$out" || {
    echo "bench: prune of $1 did not end nothing_to_prune:" >&2
    tail -n 5 "$WORK/prune.err" "$out" >&2
    exit 1
  }
  echo "$(tail -1 "$WORK/time") $(tail -1 "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).listing.objects))')"
}

declare -A RESULT REQUEST
for hours in $HOURS; do
  schema="${BASE}_$hours"
  dir="$WORK/store-$hours"
  echo "bench: a store of $hours hourly snapshots" >&2
  template="$(node bench/hourly-snapshots.mjs write "$dir" "$NOW_HOUR" "$EVENTS")"
  load_once "$dir" "$schema" loaded >/dev/null
  node bench/hourly-snapshots.mjs clone "$dir" "$template" "$((hours - 1))" >"$WORK/copies.txt"
  psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TEMP TABLE copies (id text, sha text);
\\copy copies FROM '$WORK/copies.txt' WITH (FORMAT text, DELIMITER ' ')
INSERT INTO "$schema".eventful_load_ledger
  (snapshot_id, manifest_sha256, run_id, group_id, snapshot_started_at, messages, events, rejected,
   rejected_by_load, tables, schemas)
SELECT c.id, c.sha, 'bench-' || c.id, l.group_id, l.snapshot_started_at, l.messages, l.events, l.rejected,
  l.rejected_by_load, l.tables, l.schemas
FROM copies c CROSS JOIN "$schema".eventful_load_ledger l WHERE l.snapshot_id = '$template';
SQL
  prefix="$BASE-$hours"
  node bench/hourly-snapshots.mjs upload "$dir" "$EVENTFUL_S3_BUCKET" "$prefix" 2>/dev/null
  REQUEST[$hours]="$(node bench/hourly-snapshots.mjs request "$EVENTFUL_S3_BUCKET" "$prefix")"
  for store in dir s3; do
    location="$dir"
    [[ "$store" == s3 ]] && location="s3://$EVENTFUL_S3_BUCKET/$prefix"
    none=() none_rss=() one=() one_rss=()
    # Untimed: the first load from a store sets its listing floor (the folder's was set by the template's load).
    load_once "$location" "$schema" nothing_pending >/dev/null
    for ((i = 1; i <= REPEAT; i++)); do
      checkpoint
      read -r s rss < <(load_once "$location" "$schema" nothing_pending)
      none+=("$s") none_rss+=("$rss")
      # A new snapshot an hour after the last one (hours 1..REPEAT for the folder, then on for S3).
      n="$i"
      [[ "$store" == s3 ]] && n=$((i + REPEAT))
      hour="$(date -u -d "$NOW_HOUR + $n hour" +%Y-%m-%dT%H:00:00Z)"
      node bench/hourly-snapshots.mjs write "$WORK/new" "$hour" "$EVENTS" >/dev/null
      if [[ "$store" == s3 ]]; then node bench/hourly-snapshots.mjs upload "$WORK/new" "$EVENTFUL_S3_BUCKET" "$prefix" 2>/dev/null
      else mv "$WORK/new"/* "$dir/"; fi
      rm -rf "$WORK/new"
      checkpoint
      read -r s rss < <(load_once "$location" "$schema" loaded)
      one+=("$s") one_rss+=("$rss")
    done
    if [[ "$store" == s3 ]]; then
      # Untimed: the first prune of a lake lists all of it and sets its floor; the next list from there.
      prune_once "$location" >/dev/null
      pruned=() listed=()
      for ((i = 1; i <= REPEAT; i++)); do
        read -r s objects < <(prune_once "$location")
        pruned+=("$s") listed+=("$objects")
      done
      RESULT[$store-$hours-prune]="$(echo "${pruned[*]}" | median) $(echo "${listed[*]}" | median)"
      echo "bench: $store, $hours snapshots: prune ${pruned[*]} s, ${listed[*]} objects listed" >&2
    fi
    RESULT[$store-$hours-none]="$(echo "${none[*]}" | median) $(echo "${none_rss[*]}" | median)"
    RESULT[$store-$hours-one]="$(echo "${one[*]}" | median) $(echo "${one_rss[*]}" | median)"
    echo "bench: $store, $hours snapshots: nothing new ${none[*]} s, one new ${one[*]} s" >&2
  done
done

read -r -a sizes <<<"$HOURS"
day="${sizes[0]}" year="${sizes[${#sizes[@]} - 1]}"
echo "eventful history benchmark: load with a snapshot store $day and $year hours old ($(nproc) cores); median of $REPEAT"
echo "| store | run | $day snapshots | $year snapshots | $year/$day |"
echo "|---|---|---:|---:|---:|"
for store in dir s3; do
  for run in none one; do
    read -r ds dr <<<"${RESULT[$store-$day-$run]}"
    read -r ys yr <<<"${RESULT[$store-$year-$run]}"
    label="nothing new"
    [[ "$run" == one ]] && label="one new ($EVENTS events)"
    r="$(ratio "$ys" "$ds")"
    mark=""
    awk -v r="$r" 'BEGIN { exit !(r > 1.5) }' && mark=" (MISSED: target <= 1.5x)"
    echo "| $store | $label | $ds s, $dr MB | $ys s, $yr MB | ${r}x$mark |"
  done
done
read -r ds dn <<<"${RESULT[s3-$day-prune]}"
read -r ys yn <<<"${RESULT[s3-$year-prune]}"
echo "| s3 | prune, nothing to prune | $ds s, $dn objects listed | $ys s, $yn objects listed | $(ratio "$ys" "$ds")x |"
echo "one S3 listing request of one entry (the server's own cost, whatever a request asks; a load makes 3 per run"
echo "whatever the store's age: open, the ids from the floor on, a sweep page): ${REQUEST[$day]} ms with $day snapshots, ${REQUEST[$year]} ms with $year"
