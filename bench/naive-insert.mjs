// The naive baseline: row-by-row autocommit INSERTs (one round trip and one commit per row) of the first
// <rows> rows of rows.csv into <table>, which has the event table's columns and primary key.
// Prints the elapsed seconds. usage: node bench/naive-insert.mjs <rows.csv> <schema.table> <rows>
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';

const [csvPath, table, rowsText] = process.argv.slice(2);
const limit = Number(rowsText);
const columns = [
  'event_id',
  'event_type',
  'occurred_at',
  'train_id',
  'line',
  'direction',
  'station_id',
  'station_name',
  'scheduled_at',
  'dwell_seconds',
  'checkpoint_type',
  '_kafka_topic',
  '_kafka_partition',
  '_kafka_offset',
  '_kafka_timestamp',
  '_eventful_snapshot_id',
];
const rows = [];
for await (const line of createInterface({ input: createReadStream(csvPath) })) {
  rows.push(line.split(','));
  if (rows.length >= limit) break;
}
const client = new pg.Client({ ...(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {}) });
await client.connect();
const sql = `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
const t0 = process.hrtime.bigint();
for (const r of rows) await client.query(sql, r);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
await client.end();
console.log(seconds.toFixed(3));
