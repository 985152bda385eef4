// Writes the benchmark's inputs (run by bench/load.sh after `npm run build`):
//   <out>/first/<id>    a snapshot of EVENTS train-arrival events over 6 partitions (SnapshotBuilder, as extract writes)
//   <out>/replay/<id>   the same events again as a snapshot with another id (a full replay)
//   <out>/rows.csv      the same rows as CSV, in the event table's column order, for the psql \copy baseline
// usage: node bench/make-snapshot.mjs <out> <events>
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { DirectorySnapshotStore } from '../dist/snapshot/directory-store.js';
import { SnapshotBuilder } from '../dist/snapshot/snapshot-builder.js';

const [out, countText] = process.argv.slice(2);
if (!out || !countText) throw new Error('usage: make-snapshot.mjs <out> <events>');
const events = Number(countText);
const PARTITIONS = 6;
const LINES = ['Blue', 'Red', 'Green', 'Yellow'];
const START = Date.parse('2026-11-27T05:00:00Z');

const meta = (id, startedAt) => ({
  snapshotId: id,
  runId: `bench-${id}`,
  groupId: 'eventful-bench',
  startedAt,
  topics: ['train-arrivals'],
});
const firstId = '20261127T050000000Z_bench_first';
const replayId = '20261127T060000000Z_bench_replay';
const first = await SnapshotBuilder.begin(
  await DirectorySnapshotStore.open(path.join(out, 'first')),
  meta(firstId, new Date('2026-11-27T05:00:00Z')),
);
const replay = await SnapshotBuilder.begin(
  await DirectorySnapshotStore.open(path.join(out, 'replay')),
  meta(replayId, new Date('2026-11-27T06:00:00Z')),
);
const csv = createWriteStream(path.join(out, 'rows.csv'));
const offsets = new Array(PARTITIONS).fill(0);
let csvChunk = [];

for (let i = 0; i < events; i++) {
  const partition = i % PARTITIONS;
  const offset = offsets[partition]++;
  const at = START + i * 37;
  const occurred = new Date(at).toISOString();
  const scheduled = new Date(at - 60_000).toISOString();
  const line = LINES[i % LINES.length];
  const value = {
    event_id: randomUUID(),
    event_type: 'train_arrival',
    occurred_at: occurred,
    train_id: `${line.slice(0, 2).toUpperCase()}-${1000 + (i % 250)}`,
    line,
    direction: i % 2 ? 'northbound' : 'southbound',
    station_id: `STN-${String(i % 60).padStart(3, '0')}`,
    station_name: `Station ${i % 60}`,
    scheduled_at: scheduled,
    dwell_seconds: i % 90,
    checkpoint_type: i % 5 ? 'station' : 'checkpoint',
  };
  const ev = { topic: 'train-arrivals', partition, offset, timestamp: at, key: value.train_id, headers: [], value };
  await first.addEvent(ev, events);
  await replay.addEvent(ev, events);
  csvChunk.push(
    [...Object.values(value), 'train-arrivals', partition, offset, new Date(at).toISOString(), firstId].join(',') +
      '\n',
  );
  if (csvChunk.length === 10_000) {
    if (!csv.write(csvChunk.join(''))) await once(csv, 'drain');
    csvChunk = [];
  }
}
csv.end(csvChunk.join(''));
await once(csv, 'finish');
await first.publish();
await replay.publish();
console.error(`wrote ${events} events to ${out}/first/${firstId}, ${out}/replay/${replayId} and ${out}/rows.csv`);
