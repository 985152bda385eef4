/**
 * Snapshot event lines → COPY rows of an event table. Pure.
 */
import { META, type ColumnDef, type PgType, type TableDef } from '../schema/ddl.js';
import type { EventLine, RejectReason } from '../snapshot/format.js';
import { canonicalText, COPY_NULL, escapeCopyText, ValueProblem } from './copy-text.js';

/** One event as a COPY text line, with its key values (unescaped canonical text, in key order). */
export interface EncodedRow {
  row: string;
  keys: string[];
}

/** The largest timestamp Postgres and `toISOString()` agree on (9999-12-31T23:59:59.999Z). */
const MAX_TIMESTAMP_MS = 253_402_300_799_999;

const MS_PER_DAY = 86_400_000;
let cachedDay = NaN;
let cachedDayPrefix = '';

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Kafka's timestamp (epoch ms) as timestamptz text (`2026-11-27T07:45:12.250Z`, what `toISOString()` gives);
 * null when absent or outside years 1970–9999. The date part is cached: a snapshot's events share few days.
 */
export function kafkaTimestampText(ms: number | null | undefined): string | null {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_TIMESTAMP_MS) return null;
  const day = Math.floor(ms / MS_PER_DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * MS_PER_DAY).toISOString().slice(0, 11);
  }
  let rest = ms - day * MS_PER_DAY;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  const milliText = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : String(milli);
  return `${cachedDayPrefix}${pad2(hour)}:${pad2(min)}:${pad2(sec)}.${milliText}Z`;
}

/** The COPY column list of an event-shaped table: every property column, then the Kafka and snapshot metadata. */
export function copyColumns(table: TableDef): string[] {
  return [
    ...table.columns.filter((c) => c.property !== undefined).map((c) => c.name),
    META.topic,
    META.partition,
    META.offset,
    META.timestamp,
    META.snapshotId,
  ];
}

interface PropertyColumn {
  name: string;
  type: PgType;
  notNull: boolean;
}

/** Turns the events of one schema into rows of its event table (the same rows feed its state table). */
export class EventRowEncoder {
  /** Columns of each row, in order: pass to `COPY table (columns)`. */
  readonly columns: string[];
  private readonly props: PropertyColumn[];
  private readonly keyIndexes: number[];
  /** Per property column: its position in the key, or -1. */
  private readonly keySlot: Int32Array;
  private readonly snapshotField: string;

  constructor(
    readonly table: TableDef,
    snapshotId: string,
  ) {
    this.props = table.columns
      .filter((c): c is ColumnDef & { property: string } => c.property !== undefined)
      .map((c) => ({ name: c.property, type: c.type, notNull: c.notNull }));
    this.columns = copyColumns(table);
    this.keyIndexes = table.primaryKey.map((k) => {
      const i = this.props.findIndex((p) => p.name === k);
      if (i < 0) throw new Error(`key "${k}" of ${table.name} is not a property column`);
      return i;
    });
    this.keySlot = new Int32Array(this.props.length).fill(-1);
    this.keyIndexes.forEach((i, k) => (this.keySlot[i] = k));
    this.snapshotField = escapeCopyText(snapshotId);
  }

  /**
   * The event as a row, or the reason it cannot go into the table (the event is then quarantined).
   * `rawHasBackslash`: whether the NDJSON line held a backslash. JSON writes backslash, tab, newline and CR
   * inside strings as escapes that start with one, so a line without any needs no COPY escaping at all.
   * `validated`: the value passed the schema's validator, formats included (see {@link canonicalText}).
   */
  encode(line: EventLine, rawHasBackslash = true, validated = false): EncodedRow | { reason: RejectReason } {
    const fields: string[] = new Array<string>(this.props.length + 5);
    const keys: string[] = new Array<string>(this.keyIndexes.length);
    const value = line.value;
    for (let i = 0; i < this.props.length; i++) {
      const p = this.props[i]!;
      const text = canonicalText(p.type, value[p.name], validated);
      if (text instanceof ValueProblem) return this.reject(p, text.message);
      if (text === null && p.notNull) return this.reject(p, 'a value is required');
      fields[i] = text === null ? COPY_NULL : rawHasBackslash ? escapeCopyText(text) : text;
      const k = this.keySlot[i]!;
      if (k >= 0) keys[k] = text as string;
    }
    const n = this.props.length;
    fields[n] = rawHasBackslash ? escapeCopyText(line.topic) : line.topic;
    fields[n + 1] = String(line.partition);
    fields[n + 2] = String(line.offset);
    fields[n + 3] = kafkaTimestampText(line.timestamp) ?? COPY_NULL; // ISO text never needs escaping
    fields[n + 4] = this.snapshotField;
    return { row: fields.join('\t') + '\n', keys };
  }

  private reject(p: PropertyColumn, message: string): { reason: RejectReason } {
    const path = `/${p.name}`;
    return {
      reason: {
        code: 'schema_violation',
        message: `does not fit column ${this.table.name}.${p.name} (${p.type}): ${path} ${message}`,
        issues: [{ code: 'column_type', path, message }],
      },
    };
  }
}
