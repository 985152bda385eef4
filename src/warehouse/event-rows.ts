/**
 * Snapshot event lines → COPY rows of an event table. Pure.
 */
import { META, type ColumnDef, type PgType, type TableDef } from '../schema/ddl.js';
import { holdsUnsafeInteger, JsonText } from '../schema/json-integer.js';
import { flatJsonText, propertyText, type JsonSource } from '../schema/json-source.js';
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

/** Which property column refused its value, and why. */
interface FieldFailure {
  at: number;
  message: string;
}

/**
 * The COPY fields of an event's property columns, each followed by a tab, storing the key columns' texts
 * (unescaped) into `keys`; or null with `failure` filled in when a value does not fit its column.
 */
type PropertyFields = (
  value: Record<string, unknown>,
  escape: boolean,
  validated: boolean,
  keys: string[],
  failure: FieldFailure,
  source: JsonSource | undefined,
) => string | null;

/**
 * A bigint column's value as it should be read: a number beyond 2^53 was rounded by JSON.parse, so its exact text
 * from `source` replaces it (see {@link canonicalText}).
 */
export function exactInteger(value: unknown, source: JsonSource | undefined, property: string): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value) || !Number.isInteger(value) || !source) return value;
  const text = propertyText(source, property);
  return text === undefined ? value : new JsonText(text);
}

/**
 * A jsonb column's value as it should be written: one holding an integer beyond 2^53 (rounded by JSON.parse) is
 * written from its exact text in `source`; other numbers keep what a double holds, as `number` columns do.
 */
function exactJson(value: unknown, source: JsonSource | undefined, property: string): unknown {
  if (!source || !holdsUnsafeInteger(value)) return value;
  const text = propertyText(source, property);
  // A tab between tokens would end the COPY field: as a space it is the same JSON.
  return text === undefined ? value : new JsonText(flatJsonText(text));
}

/**
 * Compiles {@link PropertyFields} for a table's property columns: straight-line code reading each property by
 * its literal name, so every read is a monomorphic property access rather than a lookup by a variable name in a
 * loop (about a third of the encoding time per event). Names and types enter the code only as JSON string
 * literals, so no schema text can become code.
 */
function compilePropertyFields(props: readonly PropertyColumn[], keyIndexes: readonly number[]): PropertyFields {
  const lines = ["let row = '';", 'let t;'];
  props.forEach((p, i) => {
    const exact = p.type === 'bigint' ? 'exactInteger' : p.type === 'jsonb' ? 'exactJson' : undefined;
    const read = exact
      ? `${exact}(value[${JSON.stringify(p.name)}], source, ${JSON.stringify(p.name)})`
      : `value[${JSON.stringify(p.name)}]`;
    lines.push(`t = canonicalText(${JSON.stringify(p.type)}, ${read}, validated);`);
    lines.push(`if (t instanceof ValueProblem) { failure.at = ${i}; failure.message = t.message; return null; }`);
    if (p.notNull)
      lines.push(`if (t === null) { failure.at = ${i}; failure.message = 'a value is required'; return null; }`);
    const k = keyIndexes.indexOf(i);
    if (k >= 0) lines.push(`keys[${k}] = t;`);
    lines.push("row += (t === null ? COPY_NULL : escape ? escapeCopyText(t) : t) + '\\t';");
  });
  lines.push('return row;');
  const make = new Function(
    'canonicalText',
    'ValueProblem',
    'COPY_NULL',
    'escapeCopyText',
    'exactInteger',
    'exactJson',
    `return function propertyFields(value, escape, validated, keys, failure, source) {\n${lines.join('\n')}\n};`,
  ) as (...deps: unknown[]) => PropertyFields;
  return make(canonicalText, ValueProblem, COPY_NULL, escapeCopyText, exactInteger, exactJson);
}

/** Turns the events of one schema into rows of its event table (the same rows feed its state table). */
export class EventRowEncoder {
  /** Columns of each row, in order: pass to `COPY table (columns)`. */
  readonly columns: string[];
  private readonly props: PropertyColumn[];
  private readonly keyIndexes: number[];
  /** The property columns' fields of a row, each followed by a tab (see {@link compilePropertyFields}). */
  private readonly propertyFields: PropertyFields;
  /** Where propertyFields says which column refused a value, and why. */
  private readonly failure: FieldFailure = { at: 0, message: '' };
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
    this.propertyFields = compilePropertyFields(this.props, this.keyIndexes);
    this.snapshotField = escapeCopyText(snapshotId);
  }

  /**
   * The event as a row, or the reason it cannot go into the table (the event is then quarantined).
   * `rawHasBackslash`: whether the NDJSON line held a backslash. JSON writes backslash, tab, newline and CR
   * inside strings as escapes that start with one, so a line without any needs no COPY escaping at all.
   * `validated`: the value passed the schema's validator, formats included (see {@link canonicalText}).
   * `source`: the JSON text the line was parsed from, where bigints beyond 2^53 are read exactly.
   */
  encode(
    line: EventLine,
    rawHasBackslash = true,
    validated = false,
    source?: JsonSource,
  ): EncodedRow | { reason: RejectReason } {
    const keys: string[] = new Array<string>(this.keyIndexes.length);
    const head = this.propertyFields(line.value, rawHasBackslash, validated, keys, this.failure, source);
    if (head === null) return this.reject(this.props[this.failure.at]!, this.failure.message);
    const topic = rawHasBackslash ? escapeCopyText(line.topic) : line.topic;
    // ISO text never needs escaping.
    const timestamp = kafkaTimestampText(line.timestamp) ?? COPY_NULL;
    return {
      row: `${head}${topic}\t${line.partition}\t${line.offset}\t${timestamp}\t${this.snapshotField}\n`,
      keys,
    };
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
