// Turns `simulate --dry-run` output (NDJSON {"topic","key","value"} on stdin) into snapshots, as extract would write
// them (run by bench/answer.sh after `npm run build`):
//   <out>/history/<id>   every event before the last simulated day, one snapshot
//   <out>/last/<id>      the events of the last day (UTC), one snapshot
//   <out>/next/<id>      the events after it (the day after, when one more day was simulated), one snapshot
// usage: node dist/simulate.js --dry-run ... | node bench/simulated-snapshots.mjs <out> <last day YYYY-MM-DD>
import path from 'node:path';
import { createInterface } from 'node:readline';
import { DirectorySnapshotStore } from '../dist/snapshot/directory-store.js';
import { SnapshotBuilder } from '../dist/snapshot/snapshot-builder.js';

const [out, lastDay] = process.argv.slice(2);
if (!out || !/^\d{4}-\d{2}-\d{2}$/.test(lastDay ?? ''))
  throw new Error('usage: simulated-snapshots.mjs <out> <YYYY-MM-DD>');
const TOPICS = ['train-arrivals', 'incidents'];
/** Events per snapshot the builders size their files for (a hint only). */
const EXPECTED = 1_000_000;

async function builder(kind, id, startedAt) {
  const store = await DirectorySnapshotStore.open(path.join(out, kind));
  return SnapshotBuilder.begin(store, {
    snapshotId: id,
    runId: `bench-${id}`,
    groupId: 'eventful-bench',
    startedAt,
    topics: TOPICS,
  });
}
const compact = lastDay.replace(/-/g, '');
const history = await builder('history', `${compact}T000000000Z_bench_history`, new Date(`${lastDay}T00:00:00Z`));
const last = await builder('last', `${compact}T235959000Z_bench_last`, new Date(`${lastDay}T23:59:59Z`));
const nextDay = new Date(Date.parse(`${lastDay}T00:00:00Z`) + 864e5).toISOString().slice(0, 10);
const next = await builder(
  'next',
  `${nextDay.replace(/-/g, '')}T235959000Z_bench_next`,
  new Date(`${nextDay}T23:59:59Z`),
);
const snapshots = { history, last, next };
const offsets = new Map();
const counts = { history: 0, last: 0, next: 0 };
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.startsWith('{')) continue;
  const { topic, key, value } = JSON.parse(line);
  if (!value) continue;
  const offset = offsets.get(topic) ?? 0;
  offsets.set(topic, offset + 1);
  const timestamp = Date.parse(value.occurred_at);
  const ev = { topic, partition: 0, offset, timestamp, key, headers: [], value };
  const day = value.occurred_at.slice(0, 10);
  const kind = day < lastDay ? 'history' : day === lastDay ? 'last' : 'next';
  await snapshots[kind].addEvent(ev, EXPECTED);
  counts[kind] += 1;
}
for (const snapshot of Object.values(snapshots)) await snapshot.publish();
console.error(
  `simulated-snapshots: ${counts.history} events before ${lastDay}, ${counts.last} on it, ${counts.next} after it, in ${out}`,
);
