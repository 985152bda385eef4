/**
 * Snapshot lines → COPY rows, per table. Pure apart from the schema registry's validators, so it runs the same
 * in the loader's thread or in encoder worker threads (see encoder-pool).
 *
 * For each event line: parse, check the line's shape, refuse text Postgres cannot store (NUL, lone surrogates),
 * route and validate with the registry (load is the second guard), fit every value to its column. An event that
 * fails becomes a quarantine row with the reason. Rejected lines of the snapshot become quarantine rows as is.
 */
import type { TableDef } from '../schema/ddl.js';
import type { LoadedSchema, SchemaRegistry } from '../schema/registry.js';
import type { EventLine, RejectedLine, RejectReason } from '../snapshot/format.js';
import { canonicalText, findTextProblem, mayHoldTextProblem, textProblem, ValueProblem } from './copy-text.js';
import type { JsonSource } from '../schema/json-source.js';
import { EventRowEncoder, exactInteger, type EncodedRow } from './event-rows.js';
import { isStackOverflow, quarantineRowFromEvent, quarantineRowFromRejected } from './quarantine.js';

/** Which data file lines come from. */
export type LineKind = 'events' | 'rejected';

/** Rows of one table from one block of lines: COPY text bytes, where each row ends, and the key values. */
export interface EncodedRows {
  data: Buffer;
  /** `ends[i]`: byte offset just after row i in `data`. */
  ends: Int32Array;
  rows: number;
  /** Key values per key column, one entry per row. */
  keys: string[][];
}

/** The outcome of encoding a block of lines. `tables[slot]`; the last slot is the quarantine. */
export interface EncodedBlock {
  tables: Array<EncodedRows | undefined>;
  /** Per slot: events left out because their key was found stored before encoding (see {@link PreparedBlock}). */
  unchanged: number[];
  events: number;
  rejected: number;
  rejectedByLoad: number;
  rejectedByLoadReasons: Record<string, number>;
  /** The first line that is not a valid snapshot line (the snapshot is refused once its checksum is known). */
  malformed?: string;
}

/**
 * A block of lines with the key of every event that can be looked up before encoding: a replay then skips
 * validation and encoding of the events already stored (most of a replay's work). The parsed lines are not kept
 * while the look-up runs (blocks wait for it several at a time, and holding their objects cost a replay more in
 * garbage collection than parsing the few new events again).
 */
export interface PreparedBlock {
  kind: LineKind;
  raw: readonly string[];
  /** Per event-table slot: positions of lines in the block, and their key values per key column. */
  lookups: Array<{ lines: number[]; keys: string[][] } | undefined>;
}

/** Where the event sits in a snapshot line. */
const VALUE_PATH = ['value'] as const;

/** A source for the exact values of a block's events (see json-source), reused: its text is set per line. */
function lineSource(): JsonSource {
  return { text: '', path: VALUE_PATH };
}

/** Marks a line of a {@link PreparedBlock} that is not JSON. */
export const UNPARSABLE: unique symbol = Symbol('unparsable');

/** Bytes a UTF-16 code unit can take in UTF-8, at most. */
const MAX_UTF8_BYTES_PER_UNIT = 3;
const INITIAL_BUFFER_BYTES = 64 * 1024;
const NO_BYTES = Buffer.alloc(0);

/** Collects rows of one table as bytes (off the JS heap, and transferable between threads). */
class RowSink {
  private data = NO_BYTES;
  private ends = new Int32Array(256);
  private used = 0;
  private rows = 0;
  private readonly keys: string[][];

  /**
   * @param sizeHint bytes to reserve at the first row: a row is shorter than its snapshot line (as long as it in
   *   UTF-16 units, unless escapes grow it), so the block's line length spares copying into ever larger buffers
   */
  constructor(
    keyCount: number,
    private readonly sizeHint: number,
  ) {
    this.keys = Array.from({ length: keyCount }, () => []);
  }

  add(r: EncodedRow): void {
    const need = r.row.length * MAX_UTF8_BYTES_PER_UNIT;
    if (this.data.length - this.used < need) {
      const first = this.data.length === 0 ? Math.max(INITIAL_BUFFER_BYTES, this.sizeHint) : 0;
      const bigger = Buffer.allocUnsafeSlow(Math.max(first, this.data.length * 2, this.used + need));
      this.data.copy(bigger, 0, 0, this.used);
      this.data = bigger;
    }
    if (this.rows === this.ends.length) {
      const bigger = new Int32Array(this.ends.length * 2);
      bigger.set(this.ends);
      this.ends = bigger;
    }
    this.used += this.data.write(r.row, this.used, 'utf8');
    this.ends[this.rows++] = this.used;
    for (let k = 0; k < r.keys.length; k++) this.keys[k]!.push(r.keys[k]!);
  }

  take(): EncodedRows | undefined {
    if (this.rows === 0) return undefined;
    return {
      data: this.data.subarray(0, this.used),
      ends: this.ends.subarray(0, this.rows),
      rows: this.rows,
      keys: this.keys,
    };
  }
}

function isEventLine(v: unknown): v is EventLine {
  const e = v as EventLine;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof e.topic === 'string' &&
    Number.isSafeInteger(e.partition) &&
    Number.isSafeInteger(e.offset) &&
    typeof e.value === 'object' &&
    e.value !== null &&
    !Array.isArray(e.value)
  );
}

function isRejectedLine(v: unknown): v is RejectedLine {
  const r = v as RejectedLine;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof r.topic === 'string' &&
    Number.isSafeInteger(r.partition) &&
    Number.isSafeInteger(r.offset) &&
    typeof r.reason === 'object' &&
    r.reason !== null
  );
}

/** The state of encoding one block of lines (allocated once per block, not per line). */
interface BlockRun {
  block: EncodedBlock;
  /** Per table slot; the last is the quarantine. */
  sinks: RowSink[];
  quarantine: RowSink;
  source: JsonSource;
}

/** A line parsed as JSON, or {@link UNPARSABLE}. */
function parseLine(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return UNPARSABLE;
  }
}

/** Why an event's text cannot be stored (a NUL, a lone surrogate), or undefined when it can. */
function textRefusalOf(value: Record<string, unknown>): RejectReason | undefined {
  const found = findTextProblem(value);
  if (!found) return undefined;
  return found.problem === 'nul_character'
    ? { code: 'nul_character', message: `${found.path} holds a NUL character, which Postgres text cannot store` }
    : { code: 'not_utf8', message: `${found.path} holds a lone UTF-16 surrogate, which is not valid Unicode` };
}

/**
 * Encodes the lines of one snapshot. `eventTables` gives each schema's event table by schema name; table slots
 * are their positions in that order, then the quarantine.
 */
export class SnapshotLineEncoder {
  private readonly slotOf = new Map<string, number>();
  private readonly encoders: EventRowEncoder[];
  private readonly keyCounts: number[];
  private readonly byTopic = new Map<string, LoadedSchema[]>();
  private readonly keyColumns: Array<Array<{ name: string; type: TableDef['columns'][number]['type'] }>>;

  constructor(
    private readonly registry: SchemaRegistry,
    eventTables: ReadonlyArray<readonly [schemaName: string, table: TableDef]>,
    private readonly snapshotId: string,
    quarantineKeyCount = 3,
  ) {
    this.encoders = eventTables.map(([name, table], slot) => {
      this.slotOf.set(name, slot);
      return new EventRowEncoder(table, snapshotId);
    });
    this.keyCounts = [...eventTables.map(([, t]) => t.primaryKey.length), quarantineKeyCount];
    this.keyColumns = eventTables.map(([, t]) =>
      t.primaryKey.map((k) => ({ name: k, type: t.columns.find((c) => c.name === k)!.type })),
    );
    for (const sc of registry.schemas)
      for (const topic of sc.mapping.topics) this.byTopic.set(topic, [...(this.byTopic.get(topic) ?? []), sc]);
  }

  /** The schema an event goes to: the same choice as SchemaRegistry.check, without validating. */
  private route(topic: string, value: Record<string, unknown>): LoadedSchema | undefined {
    const candidates = this.byTopic.get(topic);
    if (!candidates?.length) return undefined;
    if (candidates.length === 1 && !candidates[0]!.mapping.match) return candidates[0];
    return candidates.find((sc) => sc.mapping.match?.values.includes(String(value[sc.mapping.match.property])));
  }

  /** Parses a block and collects the keys to look up before encoding it (see {@link encodePrepared}). */
  prepare(kind: LineKind, lines: readonly string[]): PreparedBlock {
    const lookups: PreparedBlock['lookups'] = this.encoders.map(() => undefined);
    const source = lineSource();
    for (let n = 0; n < lines.length && kind === 'events'; n++) {
      let v: unknown;
      try {
        v = JSON.parse(lines[n]!);
      } catch {
        continue;
      }
      if (!isEventLine(v)) continue;
      const schema = this.route(v.topic, v.value);
      const slot = schema ? this.slotOf.get(schema.name) : undefined;
      if (slot === undefined) continue;
      const cols = this.keyColumns[slot]!;
      const keys: string[] = [];
      source.text = lines[n]!;
      for (const c of cols) {
        const t = canonicalText(c.type, exactInteger(v.value[c.name], source, c.name));
        if (t === null || t instanceof ValueProblem || textProblem(t)) break;
        keys.push(t);
      }
      if (keys.length !== cols.length) continue;
      const l = (lookups[slot] ??= { lines: [], keys: cols.map(() => []) });
      l.lines.push(n);
      for (let k = 0; k < keys.length; k++) l.keys[k]!.push(keys[k]!);
    }
    return { kind, raw: lines, lookups };
  }

  /** Encodes a prepared block; `stored[slot]` holds the lines whose key the table already has (left out). */
  encodePrepared(
    block: PreparedBlock,
    firstLineNo: number,
    stored: Array<ReadonlySet<number> | undefined>,
  ): EncodedBlock {
    return this.encodeLines(block.kind, block.raw, firstLineNo, stored);
  }

  /** The slot of the quarantine in {@link EncodedBlock.tables}. */
  get quarantineSlot(): number {
    return this.encoders.length;
  }

  /** Encodes a block of lines; `firstLineNo` (1-based) names lines in messages. */
  encode(kind: LineKind, lines: readonly string[], firstLineNo: number): EncodedBlock {
    return this.encodeLines(kind, lines, firstLineNo, undefined);
  }

  /** Counts a line that prepare() found stored in its table (not parsed again); false when it is not one. */
  private countStored(block: EncodedBlock, stored: Array<ReadonlySet<number> | undefined>, n: number): boolean {
    const slot = stored.findIndex((set) => set?.has(n));
    if (slot < 0) return false;
    block.events += 1;
    block.unchanged[slot]! += 1;
    return true;
  }

  /** The empty outcome of a block and the row sinks it fills; allocated once per block. */
  private startBlock(lines: readonly string[]): BlockRun {
    let chars = 0;
    for (const line of lines) chars += line.length;
    const sinks = this.keyCounts.map((n) => new RowSink(n, chars));
    return {
      block: {
        tables: [],
        unchanged: this.encoders.map(() => 0),
        events: 0,
        rejected: 0,
        rejectedByLoad: 0,
        rejectedByLoadReasons: {},
      },
      sinks,
      quarantine: sinks[this.quarantineSlot]!,
      source: lineSource(),
    };
  }

  /** Quarantines an event that load refuses, counting it by reason. */
  private refuse(run: BlockRun, line: EventLine, reason: RejectReason): void {
    run.block.rejectedByLoad += 1;
    run.block.rejectedByLoadReasons[reason.code] = (run.block.rejectedByLoadReasons[reason.code] ?? 0) + 1;
    run.quarantine.add(quarantineRowFromEvent(line, reason, this.snapshotId, run.source));
  }

  /** Validates an event line and adds its row to its table, or quarantines it with the reason. */
  private encodeEvent(run: BlockRun, line: EventLine, raw: string): void {
    run.block.events += 1;
    run.source.text = raw;
    try {
      const textRefusal = mayHoldTextProblem(raw) ? textRefusalOf(line.value) : undefined;
      if (textRefusal) return this.refuse(run, line, textRefusal);
      const checked = this.registry.check(line.topic, line.value, run.source);
      if ('reason' in checked) return this.refuse(run, line, checked.reason);
      const slot = this.slotOf.get(checked.schema.name);
      if (slot === undefined) throw new Error(`no table for schema ${checked.schema.name}`);
      const encoded = this.encoders[slot]!.encode(line, raw.includes('\\'), true, run.source);
      if ('reason' in encoded) this.refuse(run, line, encoded.reason);
      else run.sinks[slot]!.add(encoded);
    } catch (err) {
      // A value nested too deeply to walk or serialise (a snapshot extract did not write: extract quarantines
      // those) is quarantined, rather than failing the snapshot on every run.
      if (!isStackOverflow(err)) throw err;
      this.refuse(run, line, { code: 'too_deep', message: 'value nests arrays or objects too deeply to store' });
    }
  }

  /** Quarantines a line of rejected.ndjson as is, or marks the block malformed when it is not one. */
  private addRejected(run: BlockRun, parsed: unknown, where: string): void {
    if (!isRejectedLine(parsed)) {
      run.block.malformed = `${where} is not a rejected-message line`;
      return;
    }
    run.block.rejected += 1;
    run.quarantine.add(quarantineRowFromRejected(parsed, this.snapshotId));
  }

  private encodeLines(
    kind: LineKind,
    lines: readonly string[],
    firstLineNo: number,
    stored: Array<ReadonlySet<number> | undefined> | undefined,
  ): EncodedBlock {
    const run = this.startBlock(lines);
    const { block } = run;
    const file = kind === 'events' ? 'events.ndjson' : 'rejected.ndjson';
    for (let n = 0; n < lines.length && !block.malformed; n++) {
      const raw = lines[n]!;
      if (stored && this.countStored(block, stored, n)) continue;
      const parsed = parseLine(raw);
      if (parsed === UNPARSABLE) block.malformed = `${file} line ${firstLineNo + n} is not JSON`;
      else if (kind === 'rejected') this.addRejected(run, parsed, `${file} line ${firstLineNo + n}`);
      else if (!isEventLine(parsed)) block.malformed = `${file} line ${firstLineNo + n} is not an event line`;
      else this.encodeEvent(run, parsed, raw);
    }
    block.tables = run.sinks.map((s) => s.take());
    return block;
  }
}
