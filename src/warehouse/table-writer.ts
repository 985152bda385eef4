/**
 * Set-based writes of immutable rows (event tables, the quarantine): rows are buffered per table and written
 * in batches, each with one COPY straight into the table (COPY's multi-row insert is several times faster than
 * `INSERT ... SELECT` from a staging table). Two modes:
 *
 * - checked: per batch, one query first finds the rows whose key is already in the table or repeats an earlier
 *   row of the batch (Postgres decides equality, so `urn:uuid:`, case or zone spellings cannot fool it), and
 *   only the others are copied. That is `INSERT ... ON CONFLICT DO NOTHING` in effect: events are immutable,
 *   the first copy of an event wins and a replay changes nothing.
 * - optimistic: no check; a key that exists makes the COPY fail with a unique violation (23505). The caller
 *   then rolls the snapshot's transaction back and loads it again checked. New events, the usual case, pay
 *   for nothing but the COPY.
 *
 * Loads are serialised per db-schema by an advisory lock; a writer outside eventful that inserts the same key
 * between a check and its COPY makes the COPY fail the same way, and the snapshot is retried.
 */
import { qualified, type PgType, type TableDef } from '../schema/ddl.js';
import { quoteIdent } from '../schema/identifiers.js';
import type { WarehouseConnection } from './connection.js';
import type { EncodedRow } from './event-rows.js';

/** Batch limits: a batch is written when it reaches either. */
export interface BatchLimits {
  rows: number;
  bytes: number;
}

export const DEFAULT_BATCH_ROWS = 50_000;
export const DEFAULT_BATCH_BYTES = 16 * 1024 * 1024;

/** Rows written and rows left alone (already there, or repeated), per table. */
export interface WriteCounts {
  inserted: number;
  unchanged: number;
}

/**
 * Runs batch writes one after another on the connection while the caller prepares the next batch:
 * at most one write in flight, so memory stays at about two batches per table.
 */
export class FlushQueue {
  private inflight: Promise<void> = Promise.resolve();

  /** Waits for the previous write (rethrowing its failure), then starts `job` without waiting for it. */
  async enqueue(job: () => Promise<void>): Promise<void> {
    await this.inflight;
    const p = job();
    p.catch(() => undefined); // observed by the next enqueue() or drain()
    this.inflight = p;
  }

  /** Waits for the last write. */
  async drain(): Promise<void> {
    await this.inflight;
  }
}

/**
 * The query returning the 1-based positions of a batch's rows to skip (repeated in the batch, or already stored),
 * as one comma-separated text (one value to parse instead of a row per position). Sorting by key (for the
 * window) also makes the index probes walk the index in order.
 */
export function skipQuerySql(dbSchema: string, table: TableDef): string {
  const types = table.primaryKey.map((k) => {
    const col = table.columns.find((c) => c.name === k);
    if (!col) throw new Error(`key "${k}" is not a column of ${table.name}`);
    return col.type;
  });
  const aliases = types.map((_, i) => `k${i + 1}`);
  const arrays = types.map((t: PgType, i) => `$${i + 1}::${t}[]`).join(', ');
  const match = table.primaryKey.map((k, i) => `t.${quoteIdent(k)} = u.${aliases[i]}`).join(' AND ');
  return `SELECT coalesce(string_agg(u.i::text, ','), '') AS skip FROM (
  SELECT b.*, row_number() OVER (PARTITION BY ${aliases.map((a) => `b.${a}`).join(', ')} ORDER BY b.i) AS rn
  FROM unnest(${arrays}) WITH ORDINALITY AS b(${aliases.join(', ')}, i)
) u
WHERE u.rn > 1 OR EXISTS (SELECT 1 FROM ${qualified(dbSchema, table.name)} t WHERE ${match})`;
}

/** Bytes a UTF-16 code unit can take in UTF-8, at most. */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/** One batch being filled: COPY text in a byte buffer (outside the JS heap, so long-lived batches cost no GC). */
class Batch {
  readonly data: Buffer;
  /** Start of each row in `data`; `starts[n]` is the end of row n - 1. */
  readonly starts: Int32Array;
  rows = 0;
  used = 0;
  readonly keys: string[][];

  constructor(bytes: number, rows: number, keyCount: number) {
    this.data = Buffer.allocUnsafe(bytes);
    this.starts = new Int32Array(rows + 1);
    this.keys = Array.from({ length: keyCount }, () => []);
  }

  fits(row: string): boolean {
    return this.rows < this.starts.length - 1 && this.data.length - this.used >= row.length * MAX_UTF8_BYTES_PER_UNIT;
  }

  push(r: EncodedRow): void {
    this.used += this.data.write(r.row, this.used, 'utf8');
    this.rows += 1;
    this.starts[this.rows] = this.used;
    for (let k = 0; k < r.keys.length; k++) this.keys[k]!.push(r.keys[k]!);
  }

  /** The COPY data without the rows at the given 0-based positions (sorted ascending). */
  without(skip: number[]): Buffer {
    if (skip.length === 0) return this.data.subarray(0, this.used);
    const parts: Buffer[] = [];
    let from = 0;
    for (const i of skip) {
      if (this.starts[i]! > from) parts.push(this.data.subarray(from, this.starts[i]));
      from = this.starts[i + 1]!;
    }
    if (this.used > from) parts.push(this.data.subarray(from, this.used));
    return Buffer.concat(parts);
  }
}

/** Buffers rows of one table and writes them in batches through a {@link FlushQueue}. */
export class TableWriter {
  readonly counts: WriteCounts = { inserted: 0, unchanged: 0 };
  private batch: Batch | undefined;
  private readonly skipSql: string;
  private readonly copySql: string;
  private readonly alsoCopySql: string | undefined;

  /**
   * @param columns the COPY column list the rows are encoded for
   * @param alsoInto a temp table that also receives every inserted row (the state merge's candidates)
   * @param checked look keys up before each COPY (see the module comment)
   */
  constructor(
    private readonly conn: WarehouseConnection,
    dbSchema: string,
    readonly table: TableDef,
    columns: string[],
    private readonly queue: FlushQueue,
    private readonly limits: BatchLimits,
    alsoInto?: string,
    private readonly checked = true,
  ) {
    this.skipSql = skipQuerySql(dbSchema, table);
    const cols = columns.map(quoteIdent).join(', ');
    this.copySql = `COPY ${qualified(dbSchema, table.name)} (${cols}) FROM STDIN`;
    this.alsoCopySql = alsoInto ? `COPY pg_temp.${quoteIdent(alsoInto)} (${cols}) FROM STDIN` : undefined;
  }

  /** Adds a row; when the batch is full, waits for the previous write and starts this one. */
  async add(r: EncodedRow): Promise<void> {
    if (this.batch && !this.batch.fits(r.row)) await this.startFlush();
    if (!this.batch) {
      // A row larger than a whole batch gets a batch of its own.
      const bytes = Math.max(this.limits.bytes, r.row.length * MAX_UTF8_BYTES_PER_UNIT);
      this.batch = new Batch(bytes, this.limits.rows, this.table.primaryKey.length);
    }
    this.batch.push(r);
    if (this.batch.rows >= this.limits.rows) await this.startFlush();
  }

  /** Starts writing whatever is buffered. Call {@link FlushQueue.drain} afterwards to wait for it. */
  async finish(): Promise<void> {
    if (this.batch?.rows) await this.startFlush();
  }

  private async startFlush(): Promise<void> {
    const batch = this.batch!;
    this.batch = undefined;
    await this.queue.enqueue(() => this.write(batch));
  }

  private async write(batch: Batch): Promise<void> {
    let skip: number[] = [];
    if (this.checked) {
      const T0 = performance.now();
      const { rows: found } = await this.conn.query<{ skip: string }>(this.skipSql, batch.keys);
      (globalThis as any).__tCheck = ((globalThis as any).__tCheck ?? 0) + performance.now() - T0;
      const text = found[0]?.skip ?? '';
      if (text !== '') skip = text.split(',').map((i) => Number(i) - 1);
      skip.sort((a, b) => a - b);
    }
    const kept = batch.rows - skip.length;
    if (kept > 0) {
      const data = batch.without(skip);
      const T1 = performance.now();
      const copied = await this.conn.copyIn(this.copySql, data);
      (globalThis as any).__tCopy = ((globalThis as any).__tCopy ?? 0) + performance.now() - T1;
      if (copied !== kept) throw new Error(`COPY into ${this.table.name} wrote ${copied} rows, expected ${kept}`);
      if (this.alsoCopySql) await this.conn.copyIn(this.alsoCopySql, data);
    }
    this.counts.inserted += kept;
    this.counts.unchanged += skip.length;
  }
}
