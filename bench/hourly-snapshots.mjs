// Snapshot stores of a given age, for bench/history.sh (run after `npm run build`):
//   node bench/hourly-snapshots.mjs write <root> <iso hour> <events>
//       one snapshot of <events> new train arrivals (SnapshotBuilder, as extract writes), started at <iso hour>;
//       prints its id
//   node bench/hourly-snapshots.mjs clone <root> <snapshot id> <hours>
//       <hours> copies of snapshot <id> of <root>, one per hour before it (data files hard-linked, each manifest
//       with its own id and start time): a store that has run hourly for that long; prints "id sha256" of each
//       manifest (what the ledger records of a loaded snapshot)
//   node bench/hourly-snapshots.mjs upload <root> <bucket> <prefix>
//       every snapshot of <root> to s3://<bucket>/<prefix>/ (credentials and endpoint from the AWS_* variables)
//   node bench/hourly-snapshots.mjs request <bucket> <prefix>
//       the median milliseconds of 5 one-entry listings under s3://<bucket>/<prefix>/: what one request costs the
//       server, whatever it asks for (a load makes a few, whatever the store's age)
import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import path from 'node:path';
import { DirectorySnapshotStore } from '../dist/snapshot/directory-store.js';
import { SnapshotBuilder } from '../dist/snapshot/snapshot-builder.js';
import { createS3Client, s3SettingsFromEnv } from '../dist/snapshot/s3-settings.js';

const HOUR_MS = 3_600_000;
const PARTITIONS = 6;
const LINES = ['Blue', 'Red', 'Green', 'Yellow'];

/** The id extract gives a snapshot started at `at` (its start time first, so ids sort by age). */
const idAt = (at, tag) => `${new Date(at).toISOString().replace(/[-:.]/g, '')}_hourly_${tag}`;

async function write(root, hour, events) {
  const startedAt = new Date(hour);
  const id = idAt(startedAt.getTime(), randomUUID().slice(0, 8));
  const builder = await SnapshotBuilder.begin(await DirectorySnapshotStore.open(root), {
    snapshotId: id,
    runId: `bench-${id}`,
    groupId: 'eventful-bench',
    startedAt,
    topics: ['train-arrivals'],
  });
  for (let i = 0; i < events; i++) {
    const at = startedAt.getTime() - HOUR_MS + Math.floor((i * HOUR_MS) / events);
    const line = LINES[i % LINES.length];
    const value = {
      event_id: randomUUID(),
      event_type: 'train_arrival',
      occurred_at: new Date(at).toISOString(),
      train_id: `${line.slice(0, 2).toUpperCase()}-${1000 + (i % 250)}`,
      line,
      direction: i % 2 ? 'northbound' : 'southbound',
      station_id: `STN-${String(i % 60).padStart(3, '0')}`,
      station_name: `Station ${i % 60}`,
      scheduled_at: new Date(at - 60_000).toISOString(),
      dwell_seconds: i % 90,
      checkpoint_type: 'station',
    };
    const partition = i % PARTITIONS;
    const offset = Math.floor(i / PARTITIONS);
    await builder.addEvent({
      topic: 'train-arrivals',
      partition,
      offset,
      timestamp: at,
      key: null,
      headers: [],
      value,
    });
  }
  await builder.publish();
  console.log(id);
}

async function clone(root, id, hours) {
  const manifest = JSON.parse(await readFile(path.join(root, id, 'manifest.json'), 'utf8'));
  const start = Date.parse(manifest.startedAt);
  for (let h = 1; h <= hours; h++) {
    const at = start - h * HOUR_MS;
    const copy = idAt(at, `copy${h}`);
    await mkdir(path.join(root, copy));
    for (const f of manifest.files) await link(path.join(root, id, f.name), path.join(root, copy, f.name));
    const startedAt = new Date(at).toISOString();
    const text = JSON.stringify({
      ...manifest,
      snapshotId: copy,
      runId: `bench-${copy}`,
      startedAt,
      completedAt: startedAt,
    });
    await writeFile(path.join(root, copy, 'manifest.json'), text);
    console.log(`${copy} ${createHash('sha256').update(text).digest('hex')}`);
  }
}

async function upload(root, bucket, prefix) {
  // The client extract and load make, from the same AWS_* variables.
  const client = createS3Client(s3SettingsFromEnv(process.env));
  const keys = [];
  for (const id of await readdir(root)) for (const f of await readdir(path.join(root, id))) keys.push(`${id}/${f}`);
  let next = 0;
  const put = async () => {
    while (next < keys.length) {
      const key = keys[next++];
      const body = await readFile(path.join(root, key));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: body }));
    }
  };
  await Promise.all(Array.from({ length: 16 }, put));
  client.destroy();
}

async function request(bucket, prefix) {
  const client = createS3Client(s3SettingsFromEnv(process.env));
  const ms = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, Delimiter: '/', MaxKeys: 1 }));
    ms.push(performance.now() - t0);
  }
  client.destroy();
  console.log(ms.sort((x, y) => x - y)[2].toFixed(0));
}

const [command, root, a, b] = process.argv.slice(2);
if (command === 'write' && root && a && b) await write(root, a, Number(b));
else if (command === 'clone' && root && a && b) await clone(root, a, Number(b));
else if (command === 'upload' && root && a && b) await upload(root, a, b);
else if (command === 'request' && root && a) await request(root, a);
else {
  console.error('usage: hourly-snapshots.mjs write|clone|upload|request ... (see the top of the file)');
  process.exit(2);
}
