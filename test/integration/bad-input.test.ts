/**
 * Bad input, table-driven: every malformed message, schema file and flag gets a clear error or a quarantine line
 * with its reason, never a stack trace as the only output, and never a lost event (every message produced is
 * either a row of its table or a row of the quarantine, exactly once).
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, createTopic, saslListener, SYSTEM_PYTHON, uniqueTopic } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand, type RunResult } from '../helpers/run.js';
import {
  arrival as fixtureArrival,
  copySchemas,
  onPartition,
  tempDir,
  writeSnapshot,
} from '../helpers/snapshot-fixtures.js';
import type { EventLine, RejectedLine } from '../../src/snapshot/format.js';
import { arrival, eventLines, extract, rejectedLines, snapshots, summaryOf } from './extract-fixtures.js';

let client: pg.Client;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.end();
});

/** Runs `check` on every item, `width` at a time (the cases are independent; most wait on a process). */
async function eachInParallel<T>(items: T[], width: number, check: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await check(items[next++]!);
    }),
  );
}

/** What a run printed must be a clear error: exit code, a message on stderr, a JSON summary, no stack trace. */
function expectClearError(r: RunResult, code: number, message: RegExp): void {
  const context = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.code, context).toBe(code);
  expect(r.stderr, context).toMatch(message);
  expect(r.stderr, context).toMatch(/ ERROR /);
  expect(r.stderr, context).not.toMatch(/^\s+at /m);
  expect(r.summary, context).toBeDefined();
  expect(['failed', 'refused', 'invalid']).toContain(r.summary!['status']);
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

const nested = (depth: number, open: string, close: string, inner: string): string =>
  open.repeat(depth) + inner + close.repeat(depth);

/** A valid event with `extra` JSON text spliced in as property `name` (so any nesting can be written). */
function withRaw(name: string, rawJson: string, base = arrival(0)): string {
  return JSON.stringify(base).slice(0, -1) + `,${JSON.stringify(name)}:${rawJson}}`;
}

function without(value: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  const out = { ...value };
  for (const k of keys) delete out[k];
  return out;
}

/** Where a message must end: `row` (its table), or the quarantine with this reason, written by extract or by load. */
type Outcome = 'row' | { extract: string } | { load: string };

interface MessageCase {
  name: string;
  value: Buffer | string | null;
  outcome: Outcome;
}

const json = (v: unknown): string => JSON.stringify(v);
const BIG = 1_000_000;

const MESSAGE_CASES: MessageCase[] = [
  { name: 'valid', value: json(arrival(1)), outcome: 'row' },
  {
    name: 'random bytes',
    value: Buffer.from([0xff, 0x13, 0x9c, 0x00, 0xfe, 0x7b, 0x22, 0x80]),
    outcome: { extract: 'not_utf8' },
  },
  { name: 'overlong UTF-8', value: Buffer.from([0x7b, 0xc0, 0xaf, 0x7d]), outcome: { extract: 'not_utf8' } },
  { name: 'truncated JSON', value: '{"event_id":', outcome: { extract: 'not_json' } },
  { name: 'trailing garbage', value: json(arrival(2)) + ' x', outcome: { extract: 'not_json' } },
  { name: 'empty value', value: Buffer.alloc(0), outcome: { extract: 'empty_value' } },
  { name: 'tombstone', value: null, outcome: { extract: 'tombstone' } },
  { name: 'JSON array', value: '[1,2,3]', outcome: { extract: 'not_object' } },
  { name: 'JSON string', value: '"hello"', outcome: { extract: 'not_object' } },
  { name: 'JSON null', value: 'null', outcome: { extract: 'not_object' } },
  { name: '10,000 nested arrays', value: nested(10_000, '[', ']', ''), outcome: { extract: 'not_object' } },
  { name: '10,000 nested objects', value: nested(10_000, '{"a":', '}', '1'), outcome: { extract: 'too_deep' } },
  {
    name: 'deep array in a jsonb property',
    value: withRaw('tags', nested(10_000, '[', ']', '')),
    outcome: { extract: 'too_deep' },
  },
  {
    name: 'deep undeclared property',
    value: withRaw('extra', nested(10_000, '[', ']', '')),
    outcome: { extract: 'too_deep' },
  },
  // Used to make extract throw on every run (a recursive NUL search): the pipeline was stuck behind it.
  {
    name: 'deep with an escaped NUL',
    value: withRaw('extra', nested(10_000, '[', ']', '"\\u0000"')),
    outcome: { extract: 'too_deep' },
  },
  // Multi-line JSON is serialised again for its NDJSON line: JSON.stringify overflowed on it.
  {
    name: 'deep pretty-printed',
    value: withRaw('extra', nested(3_000, '[\n', '\n]', '1')),
    outcome: { extract: 'too_deep' },
  },
  // 999 levels in the property + the event object = 1000, the limit: stored in jsonb as it is.
  { name: 'nesting at the limit', value: withRaw('payload', nested(999, '{"a":', '}', '1')), outcome: 'row' },
  { name: 'near the 1 MB broker limit', value: json(arrival(3, { station_name: 'x'.repeat(BIG) })), outcome: 'row' },
  {
    name: 'integer as a string',
    value: json(arrival(4, { dwell_seconds: '35' })),
    outcome: { extract: 'schema_violation' },
  },
  {
    name: 'time as a number',
    value: json(arrival(5, { occurred_at: 12345 })),
    outcome: { extract: 'schema_violation' },
  },
  {
    name: 'key not a uuid',
    value: json(arrival(6, { event_id: 'not-a-uuid' })),
    outcome: { extract: 'schema_violation' },
  },
  { name: 'key missing', value: json(without(arrival(7), 'event_id')), outcome: { extract: 'schema_violation' } },
  {
    name: 'required missing',
    value: json(without(arrival(8), 'station_id')),
    outcome: { extract: 'schema_violation' },
  },
  { name: 'required null', value: json(arrival(9, { line: null })), outcome: { extract: 'schema_violation' } },
  { name: 'below minimum', value: json(arrival(10, { dwell_seconds: -3 })), outcome: { extract: 'schema_violation' } },
  {
    name: 'not in enum',
    value: json(arrival(11, { checkpoint_type: 'teleport' })),
    outcome: { extract: 'schema_violation' },
  },
  {
    name: 'NUL in a string',
    value: json(arrival(12, { station_name: 'a\u0000b' })),
    outcome: { extract: 'nul_character' },
  },
  {
    name: 'integer beyond bigint',
    value: json(arrival(13, { dwell_seconds: 1e20 })),
    outcome: { extract: 'schema_violation' },
  },
  { name: 'lone surrogate', value: json(arrival(14, { station_name: 'a\ud800b' })), outcome: { load: 'not_utf8' } },
  {
    name: 'year 0000',
    value: json(arrival(15, { occurred_at: '0000-01-01T00:00:00Z' })),
    outcome: { load: 'schema_violation' },
  },
  {
    name: 'byte order mark',
    value: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json(arrival(16)))]),
    outcome: 'row',
  },
  { name: '__proto__ keys', value: withRaw('__proto__', '{"polluted":true}'), outcome: 'row' },
  { name: 'duplicate keys', value: withRaw('line', '"Red"'), outcome: 'row' },
  { name: 'pretty-printed', value: JSON.stringify(arrival(17), null, 2), outcome: 'row' },
  { name: 'unicode', value: json(arrival(18, { station_name: 'Zürich 駅 🚆 \u2028' })), outcome: 'row' },
];

/** Produces `cases` with python3-confluent-kafka (exact bytes, empty values, tombstones), keyed by case name. */
async function produceCases(topic: string, cases: MessageCase[]): Promise<void> {
  const script = `
import json, sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1], 'enable.idempotence': True, 'message.max.bytes': 2000000})
errors = []
for line in sys.stdin:
    m = json.loads(line)
    v = None if m['value'] is None else bytes.fromhex(m['value'])
    p.produce(sys.argv[2], v, key=m['key'].encode(), on_delivery=lambda err, msg: err and errors.append(str(err)))
    p.poll(0)
p.flush(30)
if errors:
    print(errors, file=sys.stderr)
    sys.exit(1)
`;
  const child = execFile(SYSTEM_PYTHON, ['-c', script, bootstrap(), topic], { maxBuffer: 1 << 26 });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin!.end(
    cases
      .map((c) => {
        const v =
          c.value === null ? null : (typeof c.value === 'string' ? Buffer.from(c.value) : c.value).toString('hex');
        return JSON.stringify({ key: c.name, value: v });
      })
      .join('\n') + '\n',
  );
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`python producer exited ${code}: ${stderr}`)),
    ),
  );
}

/** A schemas folder for `topic`: the train-arrival schema plus a jsonb object and a jsonb array property. */
async function schemasWithJsonb(topic: string): Promise<string> {
  const dir = await tempDir('schemas');
  const schema = JSON.parse(await readFile(path.join(ROOT, 'schemas/train_arrival.schema.json'), 'utf8'));
  schema['x-warehouse'].topics = [topic];
  schema.properties.payload = { type: 'object' };
  schema.properties.tags = { type: 'array' };
  await writeFile(path.join(dir, 'train_arrival.schema.json'), JSON.stringify(schema, null, 2));
  return dir;
}

describe('bad messages, from the broker to the warehouse', () => {
  it('should put every message in its table or in the quarantine with its reason, exactly once', async () => {
    const topic = uniqueTopic('bad-input');
    await createTopic(topic, 1);
    const schemas = await schemasWithJsonb(topic);
    const root = await tempDir('snapshots');
    await produceCases(topic, MESSAGE_CASES);

    // Both decode paths: on the main thread (where a failure used to crash without a summary) and in a thread.
    for (const threads of ['0', '1']) {
      const dry = await extract([
        ...['--topics', topic, '--group-id', `g-${randomUUID()}`, '--schemas', schemas, '--dry-run'],
        ...['--max-rejected-ratio', '1', '--decode-threads', threads],
      ]);
      expect(dry.code, dry.stderr).toBe(0);
      expect(summaryOf(dry).counts.messages).toBe(MESSAGE_CASES.length);
    }
    const r = await extract([
      ...['--topics', topic, '--group-id', `g-${randomUUID()}`, '--out', root, '--schemas', schemas],
      ...['--max-rejected-ratio', '1'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const counts = summaryOf(r).counts;
    expect(counts.messages).toBe(MESSAGE_CASES.length);
    expect(counts.events + counts.rejected).toBe(MESSAGE_CASES.length);

    // In the snapshot: each case once, as an event or a rejected line with the expected reason.
    const [m] = await snapshots(root);
    const events = await eventLines(root, m!.snapshotId);
    const rejected = await rejectedLines(root, m!.snapshotId);
    const nameOf = (l: EventLine | RejectedLine): string =>
      'reason' in l ? Buffer.from(l.key_base64!, 'base64').toString() : (l as EventLine).key!;
    const caseAt = new Map<number, string>();
    for (const l of [...events, ...rejected]) caseAt.set(l.offset, nameOf(l));
    expect([...caseAt.values()].sort()).toEqual(MESSAGE_CASES.map((c) => c.name).sort());
    const atExtract = Object.fromEntries([
      ...events.map((e) => [nameOf(e), 'event']),
      ...rejected.map((x) => [nameOf(x), x.reason.code]),
    ]);
    expect(atExtract).toEqual(
      Object.fromEntries(
        MESSAGE_CASES.map((c) => [
          c.name,
          typeof c.outcome === 'object' && 'extract' in c.outcome ? c.outcome.extract : 'event',
        ]),
      ),
    );
    // Quarantined messages keep their raw bytes.
    const random = rejected.find((x) => nameOf(x) === 'random bytes')!;
    expect(Buffer.from(random.value_base64!, 'base64')).toEqual(MESSAGE_CASES[1]!.value);

    // In the warehouse: a row, or a quarantine row (by extract or by load) with the reason; nothing else.
    const schema = await freshSchema(client, 'bad');
    const loaded = await runCommand('load', [
      ...['--snapshots', root, '--schemas', schemas, '--db-schema', schema, '--max-rejected-ratio', '1'],
    ]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const { rows: tableRows } = await client.query<{ o: string }>(
      `SELECT _kafka_offset::text AS o FROM "${schema}".train_arrivals`,
    );
    const { rows: quarantine } = await client.query<{ o: string; code: string; by: string }>(
      `SELECT kafka_offset::text AS o, reason_code AS code, rejected_by AS by FROM "${schema}".eventful_rejected`,
    );
    expect(tableRows.length + quarantine.length).toBe(MESSAGE_CASES.length);
    const outcome = Object.fromEntries([
      ...tableRows.map((t) => [caseAt.get(Number(t.o)), 'row']),
      ...quarantine.map((q) => [caseAt.get(Number(q.o)), `${q.by}:${q.code}`]),
    ]);
    expect(outcome).toEqual(
      Object.fromEntries(
        MESSAGE_CASES.map((c) => [
          c.name,
          c.outcome === 'row'
            ? 'row'
            : 'extract' in c.outcome
              ? `extract:${c.outcome.extract}`
              : `load:${c.outcome.load}`,
        ]),
      ),
    );

    // What was stored is what was produced.
    const stored = await client.query<{ o: string; station: string | null; len: number | null }>(
      `SELECT _kafka_offset::text AS o, station_name AS station, length(station_name) AS len FROM "${schema}".train_arrivals`,
    );
    const byCase = new Map(stored.rows.map((row) => [caseAt.get(Number(row.o)), row]));
    expect(byCase.get('near the 1 MB broker limit')!.len).toBe(BIG);
    expect(byCase.get('unicode')!.station).toBe('Zürich 駅 🚆 \u2028');
    const depth = await client.query<{ n: number }>(
      `SELECT length(payload::text) - length(replace(payload::text, '{', '')) AS n FROM "${schema}".train_arrivals
        WHERE _kafka_offset = $1`,
      [[...caseAt].find(([, n]) => n === 'nesting at the limit')![0]],
    );
    expect(depth.rows[0]!.n).toBe(999);
  });
});

// Found by this table: a value nested deeper than JSON.stringify can go (a snapshot extract did not write, e.g. from
// an older version) made load fail the whole snapshot on every run, so nothing after it could load either.
describe('load, the second guard, on a snapshot holding a too-deep value', () => {
  it('should quarantine the event and load the others', async () => {
    const schema = await freshSchema(client, 'deep');
    const root = await tempDir();
    const schemas = await copySchemas();
    const file = path.join(schemas, 'train_arrival.schema.json');
    const s = JSON.parse(await readFile(file, 'utf8'));
    s.properties.tags = { type: 'array' };
    await writeFile(file, JSON.stringify(s));
    // Written with a placeholder, then the deep text spliced into the file and the manifest's checksum updated:
    // as a snapshot from an older extract, which did not limit nesting, would be.
    const ok = fixtureArrival();
    const id = await writeSnapshot(root, onPartition('train-arrivals', 0, [ok, fixtureArrival({ tags: ['DEEP'] })]));
    const eventsFile = path.join(root, id, 'events.ndjson');
    const text = (await readFile(eventsFile, 'utf8')).replace('["DEEP"]', nested(20_000, '[', ']', ''));
    await writeFile(eventsFile, text);
    const manifestFile = path.join(root, id, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    const entry = manifest.files.find((f: { name: string }) => f.name === 'events.ndjson');
    entry.bytes = Buffer.byteLength(text);
    entry.sha256 = createHash('sha256').update(text).digest('hex');
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    const r = await runCommand('load', [
      ...['--snapshots', root, '--schemas', schemas, '--db-schema', schema, '--max-rejected-ratio', '0.5'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { rows } = await client.query(`SELECT event_id::text AS id FROM "${schema}".train_arrivals`);
    expect(rows).toEqual([{ id: ok['event_id'] }]);
    const q = await client.query(`SELECT kafka_offset::int AS o, reason_code FROM "${schema}".eventful_rejected`);
    expect(q.rows).toEqual([{ o: 1, reason_code: 'too_deep' }]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Flags

interface FlagCase {
  name: string;
  args: string[];
  env?: Record<string, string | undefined>;
  code: 1 | 2;
  message: RegExp;
}

describe('absurd flags and settings', () => {
  let topic: string;
  let schemas: string;
  let root: string;
  let snapshotRoot: string;
  let brokenSchemas: string;
  beforeAll(async () => {
    topic = uniqueTopic('bad-flags');
    await createTopic(topic, 2);
    schemas = await schemasWithJsonb(topic);
    brokenSchemas = await tempDir('broken-schemas');
    await writeFile(path.join(brokenSchemas, 'broken.schema.json'), '{ "type": "object", ');
    root = await tempDir('snapshots');
    snapshotRoot = await tempDir();
    await writeSnapshot(snapshotRoot, onPartition('train-arrivals', 0, [fixtureArrival()]));
  });

  const saslBootstrap = (): string => saslListener().bootstrap;
  const sasl = (password: string): Record<string, string> => saslListener(password).env;
  const base = (): string[] => ['--topics', topic, '--group-id', 'g-bad-flags', '--out', root, '--schemas', schemas];
  const extractCases = (): FlagCase[] => [
    { name: 'no group id', args: ['--topics', topic, '--out', root], code: 2, message: /--group-id is required/ },
    { name: 'no topics', args: ['--group-id', 'g', '--out', root], code: 2, message: /name the topics to drain/ },
    { name: 'no snapshot root', args: ['--topics', topic, '--group-id', 'g'], code: 2, message: /--out is required/ },
    {
      // A dry run writes nothing, but fails where the real run would: under a file (the node binary), no folder.
      name: 'dry run whose real run could not write --out',
      args: [
        '--topics',
        topic,
        '--group-id',
        'g',
        '--out',
        `${process.execPath}/snaps`,
        '--schemas',
        schemas,
        '--dry-run',
      ],
      code: 2,
      message: /a run without --dry-run could not write its snapshot: cannot make the snapshot folder .*\(ENOTDIR: /,
    },
    {
      name: 'negative max messages',
      args: [...base(), '--max-messages=-5'],
      code: 2,
      message: /--max-messages must be a positive integer/,
    },
    {
      name: 'zero max messages',
      args: [...base(), '--max-messages', '0'],
      code: 2,
      message: /--max-messages must be a positive integer/,
    },
    {
      name: 'huge max messages',
      args: [...base(), '--max-messages', '1e30'],
      code: 2,
      message: /--max-messages must be a positive integer/,
    },
    {
      name: 'negative max duration',
      args: [...base(), '--max-duration=-1s'],
      code: 2,
      message: /--max-duration must be a positive duration/,
    },
    {
      name: 'max duration not a duration',
      args: [...base(), '--max-duration', 'forever'],
      code: 2,
      message: /--max-duration must be a positive duration/,
    },
    {
      name: 'ratio above 1',
      args: [...base(), '--max-rejected-ratio', '2'],
      code: 2,
      message: /--max-rejected-ratio must be a number from 0 to 1/,
    },
    {
      name: 'negative ratio',
      args: [...base(), '--max-rejected-ratio=-0.1'],
      code: 2,
      message: /--max-rejected-ratio must be a number from 0 to 1/,
    },
    {
      name: 'zero batch',
      args: [...base(), '--batch-size', '0'],
      code: 2,
      message: /--batch-size must be a positive integer/,
    },
    {
      name: 'too many decode threads',
      args: [...base(), '--decode-threads', '1000'],
      code: 2,
      message: /--decode-threads must be an integer from 0 to 16/,
    },
    {
      name: 'duration without its unit',
      args: [...base(), '--max-duration', '5'],
      code: 2,
      message: /--max-duration must be a positive duration: "5" has no unit: write 5s, 5m, 5h or 5d/,
    },
    {
      name: 'zero connect timeout',
      args: [...base(), '--connect-timeout', '0'],
      code: 2,
      message: /--connect-timeout must be a positive duration/,
    },
    {
      name: 'negative stall timeout',
      args: [...base(), '--stall-timeout=-3'],
      code: 2,
      message: /--stall-timeout must be a positive duration/,
    },
    {
      name: 'unknown compression',
      args: [...base(), '--compress', 'bzip2'],
      code: 2,
      message: /--compress must be gzip or none/,
    },
    { name: 'unknown flag', args: [...base(), '--frobnicate'], code: 2, message: /Unknown argument: frobnicate/ },
    {
      name: 'unknown topic',
      args: ['--topics', 'no-such-topic-anywhere', '--group-id', 'g', '--out', root],
      code: 2,
      message: /unknown topic "no-such-topic-anywhere"/,
    },
    {
      name: 'topic without a schema',
      args: ['--topics', topic, '--group-id', 'g', '--out', root],
      code: 2,
      message: /no schema applies to topic/,
    },
    {
      name: 'partition that does not exist',
      args: ['--partitions', `${topic}:7`, '--group-id', 'g', '--out', root, '--schemas', schemas],
      code: 2,
      message: /7 does not exist/,
    },
    {
      name: 'negative partition',
      args: ['--partitions', `${topic}:-1`, '--group-id', 'g', '--out', root],
      code: 2,
      message: /is not a partition number/,
    },
    // The schemas compile on the decode threads, or on the main thread without any: the same usage error.
    ...['0', '1', '2'].map((threads) => ({
      name: `schema that is not JSON, ${threads} decode threads`,
      args: [
        '--topics',
        topic,
        '--group-id',
        'g',
        '--out',
        root,
        '--schemas',
        brokenSchemas,
        '--decode-threads',
        threads,
      ],
      code: 2 as const,
      message: /the schemas in \S+ have problems \(run eventful-validate\):\n {2}\S+broken\.schema\.json: /,
    })),
    {
      name: 'schemas folder missing',
      args: ['--topics', topic, '--group-id', 'g', '--out', root, '--schemas', '/nonexistent-schemas'],
      code: 2,
      message: /nonexistent-schemas: no such folder: point --schemas \(or EVENTFUL_SCHEMAS\) at the folder/,
    },
    {
      name: 'secret in argv',
      args: [...base(), '--kafka', 'sasl.password=hunter2'],
      code: 2,
      message: /EVENTFUL_KAFKA__SASL_PASSWORD/,
    },
    {
      name: 'kafka property without a value',
      args: [...base(), '--kafka', 'nonsense'],
      code: 2,
      message: /--kafka expects key=value/,
    },
    // Found by this table: librdkafka's refusal of a property was exit 1 (a failure Airflow retries), not 2.
    {
      name: 'unknown librdkafka property',
      args: [...base(), '--kafka', 'bogus.property=1'],
      code: 2,
      message: /refused its configuration: No such configuration property: "bogus.property"/,
    },
    {
      name: 'bad librdkafka value',
      args: [...base(), '--kafka', 'fetch.max.bytes=lots'],
      code: 2,
      message: /refused its configuration: Invalid value for configuration property "fetch.max.bytes"/,
    },
    {
      name: 'unreachable broker',
      args: [...base(), '--bootstrap-servers', '127.0.0.1:1', '--connect-timeout', '3s'],
      code: 1,
      message: /cannot reach the Kafka broker at 127\.0\.0\.1:1 within 3000 ms/,
    },
    {
      name: 'unresolvable broker',
      args: [...base(), '--bootstrap-servers', 'broker.invalid:9092', '--connect-timeout', '3s'],
      code: 1,
      message: /cannot reach the Kafka broker at broker\.invalid:9092/,
    },
    // The test broker's SASL/PLAIN listener (scripts/kafka): each security mistake says what it is, not "unreachable".
    {
      name: 'wrong SASL password',
      args: [...base(), '--bootstrap-servers', saslBootstrap(), '--connect-timeout', '5s'],
      env: sasl('not-the-password'),
      code: 2,
      message:
        /refused the SASL credentials: .*Invalid username or password.*Check sasl\.mechanisms, sasl\.username and the password \(EVENTFUL_KAFKA__SASL_PASSWORD/,
    },
    {
      name: 'no security settings for a SASL listener',
      args: [...base(), '--bootstrap-servers', saslBootstrap(), '--connect-timeout', '5s'],
      code: 1,
      message: /closed the connection at once: its listener probably wants SASL or TLS\. Set security\.protocol/,
    },
    {
      name: 'SASL settings for a PLAINTEXT listener',
      args: [...base(), '--connect-timeout', '5s'],
      env: sasl('any-password-0'),
      code: 2,
      message: /does not take SASL mechanism PLAIN on this listener: .*Check security\.protocol/,
    },
    {
      name: 'TLS for a listener without it',
      args: [...base(), '--bootstrap-servers', saslBootstrap(), '--connect-timeout', '5s'],
      env: { ...sasl('any-password-1'), EVENTFUL_KAFKA__SECURITY_PROTOCOL: 'SASL_SSL' },
      code: 1,
      message: /SSL handshake failed.*The TLS handshake failed: check security\.protocol/,
    },
    {
      name: 'bad value in the environment',
      args: base(),
      env: { EVENTFUL_EXTRACT_BATCH_SIZE: 'lots' },
      code: 2,
      message: /EVENTFUL_EXTRACT_BATCH_SIZE must be a positive integer/,
    },
    {
      name: 'a variable no command reads any more',
      args: base(),
      env: { EVENTFUL_BATCH_SIZE: '500' },
      code: 2,
      message: /EVENTFUL_BATCH_SIZE is no longer read: .* set EVENTFUL_EXTRACT_BATCH_SIZE or EVENTFUL_LOAD_BATCH_SIZE/,
    },
  ];

  it('should refuse each bad extract setting with a clear message, a summary and no stack trace', async () => {
    await eachInParallel(extractCases(), 4, async (c) => {
      const r = await extract(c.args, c.env ? { env: c.env } : {});
      try {
        expectClearError(r, c.code, c.message);
        // A password given is never printed, whatever the broker said about it.
        const password = c.env?.['EVENTFUL_KAFKA__SASL_PASSWORD'];
        if (password) expect(r.stdout + r.stderr).not.toContain(password);
      } catch (err) {
        throw new Error(`extract, ${c.name}: ${(err as Error).message}`);
      }
    });
  });

  const loadCases = (): FlagCase[] => [
    { name: 'no snapshots', args: [], code: 2, message: /--snapshots is required/ },
    {
      name: 'snapshots missing',
      args: ['--snapshots', '/nonexistent-snapshots'],
      code: 2,
      message: /does not exist: check the path \(or EVENTFUL_SNAPSHOTS\)/,
    },
    {
      name: 'a variable no command reads any more',
      args: ['--snapshots', snapshotRoot],
      env: { EVENTFUL_BATCH_SIZE: '500' },
      code: 2,
      message: /EVENTFUL_BATCH_SIZE is no longer read/,
    },
    {
      name: 'negative batch',
      args: ['--snapshots', snapshotRoot, '--batch-size=-1'],
      code: 2,
      message: /--batch-size must be an integer from 1/,
    },
    {
      name: 'batch not a number',
      args: ['--snapshots', snapshotRoot, '--batch-size', 'abc'],
      code: 2,
      message: /--batch-size must be a number, e\.g\. --batch-size 50000 \(see `eventful-load --help`\)/,
    },
    {
      name: 'too many workers',
      args: ['--snapshots', snapshotRoot, '--workers', '99'],
      code: 2,
      message: /--workers must be an integer from 0 to 16/,
    },
    {
      name: 'ratio above 1',
      args: ['--snapshots', snapshotRoot, '--max-rejected-ratio', '1.5'],
      code: 2,
      message: /--max-rejected-ratio must be a number from 0 to 1/,
    },
    {
      name: 'zero progress interval',
      args: ['--snapshots', snapshotRoot, '--progress-seconds', '0'],
      code: 2,
      message: /--progress-seconds must be a positive number/,
    },
    {
      name: 'hostile db schema',
      args: ['--snapshots', snapshotRoot, '--db-schema', 'x"; DROP SCHEMA public; --'],
      code: 2,
      message: /--db-schema: identifier .* must match/,
    },
    {
      name: 'bad db schema from the environment, named as such',
      args: ['--snapshots', snapshotRoot],
      env: { EVENTFUL_DB_SCHEMA: 'Probe-X' },
      code: 2,
      message: /EVENTFUL_DB_SCHEMA: identifier .* must match.*\(see `eventful-load --help`\)/,
    },
    {
      name: 'db schema too long',
      args: ['--snapshots', snapshotRoot, '--db-schema', 'a'.repeat(64)],
      code: 2,
      message: /longer than 63 bytes/,
    },
    {
      name: 'unknown flag',
      args: ['--snapshots', snapshotRoot, '--frobnicate'],
      code: 2,
      message: /Unknown argument: frobnicate/,
    },
    {
      name: 'schemas folder missing',
      args: ['--snapshots', snapshotRoot, '--schemas', '/nonexistent-schemas'],
      code: 2,
      message: /nonexistent-schemas: no such folder: point --schemas \(or EVENTFUL_SCHEMAS\) at the folder/,
    },
    {
      name: 'bad value in the environment',
      args: ['--snapshots', snapshotRoot],
      env: { EVENTFUL_WORKERS: 'many' },
      code: 2,
      message: /EVENTFUL_WORKERS must be a number/,
    },
    {
      name: 'unreachable database',
      args: ['--snapshots', snapshotRoot, '--db-schema', 'unreachable'],
      env: { DATABASE_URL: 'postgres://eventful@127.0.0.1:1/eventful' },
      code: 1,
      message: /PostgreSQL at 127\.0\.0\.1:1 \(host and port from DATABASE_URL\): nothing accepts connections/,
    },
    {
      name: 'unresolvable database',
      args: ['--snapshots', snapshotRoot, '--db-schema', 'unreachable'],
      env: { DATABASE_URL: 'postgres://eventful@db.invalid:5432/eventful' },
      code: 1,
      message: /the host name "db\.invalid" does not resolve/,
    },
    {
      name: 'wrong password',
      args: ['--snapshots', snapshotRoot, '--db-schema', 'wrongpw'],
      env: { PGPASSWORD: 'not-the-password' },
      code: 2,
      message: /refused the password of user "eventful" \(from DATABASE_URL\) \(the password from PGPASSWORD\)/,
    },
  ];

  it('should refuse each bad load setting with a clear message, a summary and no stack trace', async () => {
    await eachInParallel(loadCases(), 4, async (c) => {
      const r = await runCommand('load', c.args, c.env ? { env: c.env } : {});
      try {
        expectClearError(r, c.code, c.message);
      } catch (err) {
        throw new Error(`load, ${c.name}: ${(err as Error).message}`);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Schema files

interface SchemaCase {
  name: string;
  /** The file's new text, from the shipped train-arrival schema. */
  text: (schema: Record<string, any>) => string;
  message: RegExp;
}

const edited =
  (change: (s: Record<string, any>) => void) =>
  (s: Record<string, any>): string => {
    change(s);
    return JSON.stringify(s, null, 2);
  };

const SCHEMA_CASES: SchemaCase[] = [
  { name: 'broken JSON', text: () => '{"type": "object", ', message: /not valid JSON/ },
  { name: 'empty file', text: () => '', message: /not valid JSON/ },
  { name: 'a JSON array', text: () => '[]', message: /./ },
  { name: 'no x-warehouse', text: edited((s) => delete s['x-warehouse']), message: /x-warehouse/ },
  {
    name: 'hostile table name',
    text: edited((s) => (s['x-warehouse'].table = 'x"; DROP TABLE y; --')),
    message: /identifier .*DROP TABLE.* must match/,
  },
  {
    name: 'upper-case table name',
    text: edited((s) => (s['x-warehouse'].table = 'Arrivals')),
    message: /identifier "Arrivals" must match/,
  },
  {
    name: 'table name too long',
    text: edited((s) => (s['x-warehouse'].table = 't'.repeat(64))),
    message: /longer than 63 bytes/,
  },
  {
    name: 'property with a space',
    text: edited((s) => (s.properties['bad name'] = { type: 'string' })),
    message: /identifier "bad name" must match/,
  },
  {
    name: 'property with a quote',
    text: edited((s) => (s.properties['a"b'] = { type: 'string' })),
    message: /must match/,
  },
  {
    name: 'property starting with a digit',
    text: edited((s) => (s.properties['1st'] = { type: 'string' })),
    message: /identifier "1st" must match/,
  },
  { name: 'key naming no property', text: edited((s) => (s['x-warehouse'].key = ['nope'])), message: /nope/ },
  {
    name: 'hostile state table',
    text: edited((s) => (s['x-warehouse'].state = { table: 'st;drop', key: ['train_id'] })),
    message: /identifier "st;drop" must match/,
  },
  {
    name: 'unknown type',
    text: edited((s) => (s.properties.line = { type: 'strnig' })),
    message: /\/properties\/line\/type: "strnig" is not one of array, boolean, integer, null, number, object, string/,
  },
  {
    name: 'a meta-schema ajv does not know',
    text: edited((s) => (s.$schema = 'http://json-schema.org/draft-07/schema#')),
    message:
      /does not compile in ajv strict mode: no schema with key or ref "http:\/\/json-schema.org\/draft-07\/schema#"/,
  },
  {
    name: 'mapping with a typo',
    text: edited((s) => {
      s['x-warehouse'].tabel = s['x-warehouse'].table;
      delete s['x-warehouse'].table;
    }),
    message: /\/x-warehouse: missing "table"; unexpected "tabel"/,
  },
  {
    name: 'unknown keyword (strict mode)',
    text: edited((s) => (s.properties.line = { type: 'string', maxLenght: 3 })),
    message: /maxLenght/,
  },
  {
    name: 'example that fails the schema',
    text: edited((s) => (s.examples = [{ event_id: 'x' }])),
    message: /example/i,
  },
];

describe('schema files validate refuses', () => {
  it('should exit 2 for each with a message naming the file and the problem, and a JSON summary', async () => {
    const original = JSON.parse(await readFile(path.join(ROOT, 'schemas/train_arrival.schema.json'), 'utf8'));
    await eachInParallel(SCHEMA_CASES, 4, async (c) => {
      const dir = await tempDir('schemas');
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'train_arrival.schema.json'), c.text(structuredClone(original)));
      const r = await runCommand('validate', ['--schemas', dir]);
      try {
        expectClearError(r, 2, c.message);
        expect(r.stderr).toMatch(/train_arrival\.schema\.json/);
        expect(r.summary!['problems']).not.toEqual([]);
      } catch (err) {
        throw new Error(`validate, ${c.name}: ${(err as Error).message}`);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Conflicting schema changes

const CONFLICTS: Array<{ name: string; change: (s: Record<string, any>) => void; message: RegExp }> = [
  {
    name: 'a changed type',
    change: (s) => (s.properties.dwell_seconds = { type: 'string' }),
    message: /dwell_seconds/,
  },
  {
    name: 'a new required property without a default',
    change: (s) => {
      s.properties.platform = { type: 'string' };
      s.required.push('platform');
    },
    message: /platform/,
  },
  { name: 'a changed key', change: (s) => (s['x-warehouse'].key = ['train_id', 'occurred_at']), message: /key/i },
];

describe('conflicting schema changes', () => {
  it('should make load exit 2 before writing anything, and load once the schema is put back', async () => {
    for (const c of CONFLICTS) {
      const schema = await freshSchema(client, 'conflict');
      const root = await tempDir();
      const schemas = await copySchemas();
      const file = path.join(schemas, 'train_arrival.schema.json');
      const original = await readFile(file, 'utf8');
      await writeSnapshot(root, onPartition('train-arrivals', 0, [fixtureArrival()]));
      const args = ['--snapshots', root, '--schemas', schemas, '--db-schema', schema];
      expect((await runCommand('load', args)).code).toBe(0);

      const s = JSON.parse(original);
      c.change(s);
      await writeFile(file, JSON.stringify(s));
      await writeSnapshot(root, onPartition('train-arrivals', 0, [fixtureArrival()], 1));
      const refused = await runCommand('load', args);
      try {
        expectClearError(refused, 2, c.message);
        expect(refused.summary!['status']).toBe('refused');
      } catch (err) {
        throw new Error(`${c.name}: ${(err as Error).message}`);
      }
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${schema}".eventful_load_ledger`);
      expect(rows[0].n, c.name).toBe(1);

      await writeFile(file, original);
      const next = await runCommand('load', args);
      expect(next.code, `${c.name}: ${next.stderr}`).toBe(0);
      const count = await client.query(`SELECT count(*)::int AS n FROM "${schema}".train_arrivals`);
      expect(count.rows[0].n, c.name).toBe(2);
    }
  });
});
