/**
 * Exact values, from Kafka to the row: integers anywhere in the bigint range land exactly (JSON.parse would round
 * those beyond 2^53), integers outside it and malformed decimals are quarantined with their reason (by extract,
 * and by load as the second guard), `"format": "decimal"` strings land in numeric digit for digit, and a date-time
 * finer than a microsecond (which a timestamptz would round) is quarantined the same way.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTopic, produce, uniqueTopic } from '../helpers/kafka.js';
import { usePgClient } from '../helpers/load-test.js';
import { freshSchema } from '../helpers/pg.js';
import { runCommand } from '../helpers/run.js';
import { eventLines, extract, rejectedLines, snapshots, summaryOf, tempDir } from './extract-fixtures.js';

/** A ledger entry: a bigint key, an exact decimal amount, a double rate. */
function ledgerSchema(topic: string, strict: boolean): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    'x-warehouse': { topics: [topic], table: 'ledger_entries', key: ['entry_id'] },
    required: ['entry_id', 'amount'],
    properties: {
      // Lenient: what an extract with an older schema let through, for load's second guard to catch.
      entry_id: { type: strict ? 'integer' : 'number' },
      amount: strict ? { type: 'string', format: 'decimal' } : { type: 'string' },
      rate: { type: 'number' },
      meta: { type: 'object' },
      at: strict ? { type: 'string', format: 'date-time' } : { type: 'string' },
    },
  };
}

async function schemasDir(topic: string, strict: boolean): Promise<string> {
  const dir = await tempDir('exact-schemas');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'ledger.schema.json'), JSON.stringify(ledgerSchema(topic, strict)));
  return dir;
}

/** Values that must land exactly, as the producer wrote them (text: JSON.stringify would round them first). */
const EXACT = [
  // jsonb keeps its integers exact too; a tab between tokens must not end the COPY field.
  {
    id: '9007199254740993',
    amount: '12.30',
    rate: '0.1',
    meta: '{"ref":\t12345678901234567890, "n": [9007199254740993]}',
  },
  { id: '-9223372036854775808', amount: '-0.000000000000000000000000000001', rate: '-2.5e-7' },
  { id: '9223372036854775807', amount: '123456789012345678901234567890.123456789', rate: '1e300' },
  { id: '18014398509481985', amount: '0', rate: '3', at: '2026-11-27T07:45:12.123456Z' },
  // Digits past the microsecond that are zeros change nothing.
  { id: '18014398509481987', amount: '1', at: '2026-11-27T07:45:12.000001000+01:00' },
];
/** Values outside the bigint range, or not decimals, with what the quarantine must say about them. */
const BAD = [
  { id: '9223372036854775808', amount: '1', reason: /9223372036854775808 is beyond the bigint range/ },
  { id: '-9223372036854775809', amount: '1', reason: /-9223372036854775809 is beyond the bigint range/ },
  { id: '123456789012345678901234567890', amount: '1', reason: /beyond the bigint range/ },
  { id: '7', amount: '1.2.3', reason: /decimal/ },
  { id: '8', amount: '1e5', reason: /decimal/ },
  { id: '9', amount: ' 12', reason: /decimal/ },
  {
    id: '10',
    amount: '1',
    at: '2026-11-27T07:45:12.1234567Z',
    reason: /\/at a fraction of a second finer than a microsecond/,
  },
];

function messageText(e: { id: string; amount: string; rate?: string; meta?: string; at?: string }): string {
  const rate = e.rate ? `,"rate":${e.rate}` : '';
  const at = e.at ? `,"at":${JSON.stringify(e.at)}` : '';
  return `{"entry_id":${e.id},"amount":${JSON.stringify(e.amount)}${rate}${e.meta ? `,"meta":${e.meta}` : ''}${at}}`;
}

/** A pretty-printed event (spans lines) with a big integer: the snapshot must keep it exact too. */
const PRETTY = {
  id: '9007199254740995',
  amount: '5.00',
  text: '{\n  "entry_id": 9007199254740995,\n  "amount": "5.00"\n}',
};

let client: pg.Client;
usePgClient((c) => (client = c));

async function produceAll(topic: string): Promise<void> {
  await createTopic(topic, 1);
  await produce(topic, [...[...EXACT, ...BAD].map((e) => ({ value: messageText(e) })), { value: PRETTY.text }]);
}

interface StoredRow {
  id: string;
  amount: string;
  rate: number | null;
  meta: string | null;
  at: string | null;
}

async function storedRows(schema: string): Promise<StoredRow[]> {
  const { rows } = await client.query(
    `SELECT entry_id::text AS id, amount::text AS amount, rate, meta::text AS meta,
            to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
       FROM "${schema}".ledger_entries ORDER BY entry_id`,
  );
  return rows as StoredRow[];
}

/** EXACT's date-times as the warehouse must hold them, in UTC to the microsecond. */
const UTC_AT: Record<string, string> = {
  '2026-11-27T07:45:12.123456Z': '2026-11-27T07:45:12.123456Z',
  '2026-11-27T07:45:12.000001000+01:00': '2026-11-27T06:45:12.000001Z',
};

const sortById = <T extends { id: string }>(xs: T[]): T[] =>
  [...xs].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
const expectedRows = sortById([
  ...EXACT.map((e) => ({
    id: e.id,
    amount: e.amount,
    rate: e.rate === undefined ? null : Number(e.rate),
    meta: e.meta ? '{"n": [9007199254740993], "ref": 12345678901234567890}' : null,
    at: e.at === undefined ? null : UTC_AT[e.at]!,
  })),
  { id: PRETTY.id, amount: PRETTY.amount, rate: null, meta: null, at: null },
]);

describe('exact values from Kafka to the row', () => {
  it('should land bigints across the whole range and decimals exactly, and quarantine the rest at extract', async () => {
    const topic = uniqueTopic('exact-values');
    await produceAll(topic);
    const schemas = await schemasDir(topic, true);
    const root = await tempDir('exact-snapshots');

    const ex = await extract([
      ...['--topics', topic, '--group-id', `${topic}-g`, '--out', root, '--schemas', schemas],
      ...['--max-rejected-ratio', '1'],
    ]);

    expect(ex.code, ex.stderr).toBe(0);
    expect(summaryOf(ex).counts.events).toBe(EXACT.length + 1);
    const [manifest] = await snapshots(root);
    const rejected = await rejectedLines(root, manifest!.snapshotId);
    expect(rejected).toHaveLength(BAD.length);
    for (const [i, bad] of BAD.entries()) {
      expect(rejected[i]!.reason.code).toBe('schema_violation');
      expect(rejected[i]!.reason.message).toMatch(bad.reason);
      expect(Buffer.from(rejected[i]!.value_base64!, 'base64').toString()).toBe(messageText(bad));
    }
    // The snapshot keeps the producer's text, the pretty-printed event included (on one line).
    expect(await eventLines(root, manifest!.snapshotId)).toHaveLength(EXACT.length + 1);

    const dbSchema = await freshSchema(client, 'exact');
    const ld = await runCommand('load', [
      ...['--snapshots', root, '--db-schema', dbSchema, '--schemas', schemas],
      ...['--max-rejected-ratio', '1'],
    ]);

    expect(ld.code, ld.stderr).toBe(0);
    expect(await storedRows(dbSchema)).toEqual(expectedRows);
    const { rows: types } = await client.query(
      `SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'ledger_entries' AND column_name NOT LIKE '\\_%' ORDER BY ordinal_position`,
      [dbSchema],
    );
    expect(types.map((t) => `${t.column_name} ${t.data_type}`)).toEqual([
      'entry_id bigint',
      'amount numeric',
      'rate double precision',
      'meta jsonb',
      'at timestamp with time zone',
    ]);
    const { rows: quarantined } = await client.query(
      `SELECT count(*)::int AS n FROM "${dbSchema}".eventful_rejected WHERE rejected_by = 'extract'`,
    );
    expect(quarantined[0].n).toBe(BAD.length);
  });

  it('should quarantine at load what an extract with a lenient schema let through, keeping its exact text', async () => {
    const topic = uniqueTopic('exact-guard');
    await produceAll(topic);
    const root = await tempDir('exact-guard-snapshots');
    const ex = await extract([
      '--topics',
      topic,
      '--group-id',
      `${topic}-g`,
      '--out',
      root,
      '--schemas',
      await schemasDir(topic, false),
      '--max-rejected-ratio',
      '1',
    ]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(summaryOf(ex).counts.events).toBe(EXACT.length + BAD.length + 1);

    const dbSchema = await freshSchema(client, 'exactguard');
    const ld = await runCommand('load', [
      '--snapshots',
      root,
      '--db-schema',
      dbSchema,
      '--schemas',
      await schemasDir(topic, true),
      '--max-rejected-ratio',
      '1',
    ]);

    expect(ld.code, ld.stderr).toBe(0);
    expect(await storedRows(dbSchema)).toEqual(expectedRows);
    const { rows } = await client.query(
      `SELECT reason_code, reason->>'message' AS message, convert_from(decode(value_base64, 'base64'), 'UTF8') AS value
         FROM "${dbSchema}".eventful_rejected WHERE rejected_by = 'load' ORDER BY kafka_offset`,
    );
    expect(rows).toHaveLength(BAD.length);
    for (const [i, bad] of BAD.entries()) {
      expect(rows[i].reason_code).toBe('schema_violation');
      expect(rows[i].message).toMatch(bad.reason);
      expect(rows[i].value).toBe(messageText(bad));
    }
  });
});
