// Writes N train-arrival events (schemas/train_arrival.schema.json), one JSON object per line, to stdout.
// Usage: node bench/generate-arrivals.mjs 1000000 > arrivals.ndjson
import { randomUUID } from 'node:crypto';

const count = Number(process.argv[2] ?? 1_000_000);
const LINES = ['Blue', 'Red', 'Green', 'Yellow'];
const STATIONS = ['Harbour Square', 'Old Mill', 'Central', 'Riverside', 'North Gate'];
const BASE = Date.parse('2026-11-27T05:00:00Z');
const CHUNK = 10_000;

let out = [];
for (let i = 0; i < count; i++) {
  const line = LINES[i % LINES.length];
  const at = BASE + i * 250;
  out.push(
    JSON.stringify({
      event_id: randomUUID(),
      event_type: 'train_arrival',
      occurred_at: new Date(at).toISOString(),
      train_id: `${line.slice(0, 2).toUpperCase()}-${1000 + (i % 60)}`,
      line,
      direction: i % 2 ? 'northbound' : 'southbound',
      station_id: `STN-${String(i % 40).padStart(3, '0')}`,
      station_name: STATIONS[i % STATIONS.length],
      dwell_seconds: i % 90,
    }),
  );
  if (out.length === CHUNK) {
    if (!process.stdout.write(out.join('\n') + '\n')) await new Promise((r) => process.stdout.once('drain', r));
    out = [];
  }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
