/**
 * The quarantine table `eventful_rejected`: every message that did not become a row, so operators can query it.
 * Pure: the table's definition and the encoding of its rows.
 *
 * One row per Kafka message, keyed by (kafka_topic, kafka_partition, kafka_offset) so a replay adds nothing.
 * Sources: the snapshot's rejected.ndjson (`rejected_by = 'extract'`: not UTF-8, not JSON, tombstones, schema
 * violations...) and events that load's own checks refused (`rejected_by = 'load'`: a NUL character, a value
 * Postgres cannot store, a schema that changed since extract). `reason` is the {@link RejectReason} as jsonb;
 * `key_base64`/`value_base64` hold the raw bytes (for load's rejects, the value as the snapshot holds it: JSON).
 */
import { NOW_SQL, type TableDef } from '../schema/ddl.js';
import { memberText, type JsonSource } from '../schema/json-source.js';
import type { EventLine, HeaderEntry, RejectedLine, RejectReason } from '../snapshot/format.js';
import { copyField, escapeCopyText, textProblem } from './copy-text.js';
import { kafkaTimestampText, type EncodedRow } from './event-rows.js';

export const QUARANTINE_TABLE = 'eventful_rejected';

/** Who refused a message. */
export type RejectedBy = 'extract' | 'load';

/** The quarantine table's definition (evolved additively like the others). */
export function quarantineTable(): TableDef {
  return {
    name: QUARANTINE_TABLE,
    kind: 'quarantine',
    columns: [
      { name: 'kafka_topic', type: 'text', notNull: true },
      { name: 'kafka_partition', type: 'integer', notNull: true },
      { name: 'kafka_offset', type: 'bigint', notNull: true },
      { name: 'kafka_timestamp', type: 'timestamp with time zone', notNull: false },
      { name: 'reason_code', type: 'text', notNull: true },
      { name: 'reason', type: 'jsonb', notNull: true },
      { name: 'key_base64', type: 'text', notNull: false },
      { name: 'value_base64', type: 'text', notNull: false },
      { name: 'headers', type: 'jsonb', notNull: false },
      { name: 'rejected_by', type: 'text', notNull: true },
      { name: 'snapshot_id', type: 'text', notNull: true },
      { name: 'loaded_at', type: 'timestamp with time zone', notNull: true, defaultSql: NOW_SQL },
    ],
    primaryKey: ['kafka_topic', 'kafka_partition', 'kafka_offset'],
  };
}

/** The COPY columns of the quarantine (all but `loaded_at`, which defaults to the transaction's time). */
export const QUARANTINE_COLUMNS = [
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
  'kafka_timestamp',
  'reason_code',
  'reason',
  'key_base64',
  'value_base64',
  'headers',
  'rejected_by',
  'snapshot_id',
];

const REPLACEMENT = '\ufffd';

/** A copy of a JSON value whose strings Postgres jsonb can hold: NULs and lone surrogates become U+FFFD. */
export function jsonbSafe(value: unknown): unknown {
  if (typeof value === 'string')
    return textProblem(value)
      ? value.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, REPLACEMENT)
      : value;
  if (Array.isArray(value)) return value.map(jsonbSafe);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [jsonbSafe(k) as string, jsonbSafe(v)]));
  return value;
}

/** Headers for jsonb: a text value Postgres cannot hold is kept exactly as base64 instead. */
function safeHeaders(headers: HeaderEntry[] | undefined): string | null {
  if (!Array.isArray(headers)) return null;
  const out = headers.map((h) =>
    h.encoding !== 'base64' && typeof h.value === 'string' && textProblem(h.value)
      ? { key: h.key, value: Buffer.from(h.value, 'utf8').toString('base64'), encoding: 'base64' as const }
      : h,
  );
  return JSON.stringify(jsonbSafe(out));
}

function row(
  c: { topic: string; partition: number; offset: number; timestamp: number | null },
  reason: RejectReason,
  keyBase64: string | null,
  valueBase64: string | null,
  headers: HeaderEntry[] | undefined,
  by: RejectedBy,
  snapshotId: string,
): EncodedRow {
  const fields = [
    escapeCopyText(c.topic),
    String(c.partition),
    String(c.offset),
    copyField(kafkaTimestampText(c.timestamp)),
    escapeCopyText(String(reason.code)),
    escapeCopyText(JSON.stringify(jsonbSafe(reason))),
    copyField(keyBase64),
    copyField(valueBase64),
    copyField(safeHeaders(headers)),
    by,
    escapeCopyText(snapshotId),
  ];
  return { row: fields.join('\t') + '\n', keys: [c.topic, String(c.partition), String(c.offset)] };
}

/** V8's RangeError for a recursion (JSON.stringify, a walk of a value) deeper than its stack. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** A line of rejected.ndjson as a quarantine row. */
export function quarantineRowFromRejected(line: RejectedLine, snapshotId: string): EncodedRow {
  return row(line, line.reason, line.key_base64, line.value_base64, line.headers, 'extract', snapshotId);
}

/**
 * An event that load refused, as a quarantine row. With `source`, the snapshot line it was parsed from, the
 * value is kept as its exact text there (JSON.parse rounds numbers beyond 2^53; re-serialising would keep that).
 */
export function quarantineRowFromEvent(
  line: EventLine,
  reason: RejectReason,
  snapshotId: string,
  source?: JsonSource,
): EncodedRow {
  const key = line.key_base64 ?? (line.key === null ? null : Buffer.from(line.key, 'utf8').toString('base64'));
  let value: string | null;
  try {
    const text = (source && memberText(source.text, source.path)) ?? JSON.stringify(line.value);
    value = Buffer.from(text, 'utf8').toString('base64');
  } catch (err) {
    // Too deep for JSON.stringify: the row keeps the coordinates; the value stays in the snapshot's file.
    if (!isStackOverflow(err)) throw err;
    value = null;
  }
  return row(line, reason, key, value, line.headers, 'load', snapshotId);
}
