/**
 * Loads one snapshot inside a transaction the caller opened (and commits or rolls back).
 *
 * Every data file is streamed through {@link openSnapshotLineBlocks} (gunzipped when stored compressed) in blocks of
 * lines; a {@link BlockEncoder} turns them into rows (in worker threads for big snapshots) and the rows go into
 * the tables as they come, in file order. The file's size, line count and sha256 are checked when it ends: a
 * mismatch throws, so the caller rolls the whole transaction back and nothing of the snapshot is written.
 * Events are validated again with the schema registry (load is the second guard); see line-encoder.
 */
import type { Logger } from '../basics/log.js';
import { Throttle } from '../basics/log.js';
import { qualified, type TableDef } from '../schema/ddl.js';
import { quoteIdent } from '../schema/identifiers.js';
import { EVENTS_FILE, plainFileName, REJECTED_FILE, type ManifestFile } from '../snapshot/format.js';
import { openSnapshotLineBlocks } from '../snapshot/read-lines.js';
import type { SnapshotRef, SnapshotStore } from '../snapshot/store.js';
import type { WarehouseConnection } from './connection.js';
import type { BlockEncoder, InlineEncoder } from './encoder-pool.js';
import type { EncodedBlock, LineKind } from './line-encoder.js';
import { QUARANTINE_COLUMNS, quarantineTable } from './quarantine.js';
import { copyColumns } from './event-rows.js';
import { mergeStateSql } from './state-order.js';
import { FlushQueue, storedKeysSql, TableWriter, type BatchLimits } from './table-writer.js';

/** The tables of one schema. */
export interface SchemaTables {
  event: TableDef;
  state?: TableDef;
}

/** Row counts of one table for one snapshot. `updated` only for state tables. */
export interface TableCounts {
  inserted: number;
  updated?: number;
  unchanged: number;
}

/** What loading one snapshot did (before commit). */
export interface SnapshotLoadCounts {
  /** Lines of events.ndjson. */
  events: number;
  /** Lines of rejected.ndjson. */
  rejected: number;
  /** Events that load itself quarantined, by reason code. */
  rejectedByLoad: number;
  rejectedByLoadReasons: Record<string, number>;
  tables: Record<string, TableCounts>;
}

/** A snapshot that cannot be loaded as it is (its files, lines or manifest); retrying will not help. */
export class SnapshotRefusedError extends Error {
  readonly code = 'snapshot_refused';
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotRefusedError';
  }
}

/** The load was asked to stop (SIGTERM) and rolled back. */
export class InterruptedError extends Error {
  readonly code = 'interrupted';
  constructor() {
    super('stopped on request (SIGTERM) before the snapshot committed; it will load on the next run');
    this.name = 'InterruptedError';
  }
}

export interface SnapshotLoaderOptions {
  conn: WarehouseConnection;
  store: SnapshotStore;
  dbSchema: string;
  /** Tables by schema name, in a fixed order (the encoder's table slots). */
  tables: ReadonlyArray<readonly [schemaName: string, tables: SchemaTables]>;
  /** Picks the encoder for a snapshot of `lines` lines (in-thread for small ones, workers for big ones). */
  encoderFor: (lines: number) => Promise<BlockEncoder>;
  /** The in-thread encoder: a checked load prepares each block (its keys to look up) in this thread. */
  inline: InlineEncoder;
  limits: BatchLimits;
  log: Logger;
  /** Checked between blocks: true once SIGTERM arrived. */
  shouldStop: () => boolean;
  progressIntervalMs: number;
  /**
   * Event tables whose rows inserted by a snapshot are also kept in a temp table until the transaction ends
   * ({@link SnapshotLoader.insertedRows}), for a phase that follows the load (the wait-time answer).
   */
  keepInserted?: ReadonlySet<string>;
}

/** Lines per block handed to the encoder: big enough to amortise a thread hop, small enough to interleave. */
export const BLOCK_LINES = 2_000;
/** Blocks being encoded ahead of the one being written, per encoder thread. */
const BLOCKS_AHEAD_PER_THREAD = 2;
const CHECKED_BLOCKS_AHEAD = 8;

/** Loads snapshots one at a time into the open transaction of its connection. */
export class SnapshotLoader {
  /** The tables whose inserted rows the current load keeps. */
  private kept: ReadonlySet<string> | undefined;

  constructor(private readonly o: SnapshotLoaderOptions) {}

  /** The temp table of event table `i`'s inserted rows: state-merge candidates, or rows kept for a later phase. */
  private static tempTable(i: number): string {
    return `eventful_state_candidates_${i}`;
  }

  /**
   * The temp table (`pg_temp."..."`) holding the rows the current snapshot inserted into event table `name`, when
   * it was named in {@link SnapshotLoaderOptions.keepInserted}; valid until the transaction ends.
   */
  insertedRows(name: string): string | undefined {
    const i = this.o.tables.findIndex(([, t]) => t.event.name === name);
    if (i < 0 || !this.kept?.has(name)) return undefined;
    return `pg_temp.${quoteIdent(SnapshotLoader.tempTable(i))}`;
  }

  /**
   * Streams, verifies and writes one snapshot; returns its counts. Throws on anything that must roll it back.
   * `checked`: look event keys up before copying (see table-writer); when false, a key that is already stored
   * throws a unique violation (23505) and the caller retries checked. `keepInserted` replaces the option's tables
   * for this snapshot.
   */
  async load(ref: SnapshotRef, checked: boolean, keepInserted = this.o.keepInserted): Promise<SnapshotLoadCounts> {
    this.kept = keepInserted;
    // parseManifest already refused entries whose stored path leaves the snapshot.
    const files = ref.manifest.files;
    if (!files.some((f) => plainFileName(f) === EVENTS_FILE))
      throw new SnapshotRefusedError(`manifest lists no ${EVENTS_FILE}`);
    const totalLines = files.reduce((n, f) => n + f.lines, 0);
    const encoder = checked ? this.o.inline : await this.o.encoderFor(totalLines);
    const { queue, writers, states } = await this.openWriters(checked, keepInserted);
    const pass = new SnapshotPass(this.o, ref, checked, encoder, writers, totalLines);
    try {
      for (const file of files) await pass.readFile(file);
      await pass.applyAll();
      for (const w of writers) await w.finish();
      await queue.drain();
      pass.progress(true);
    } catch (err) {
      // Let every statement already started finish before the caller rolls back: a COPY queued behind the
      // ROLLBACK would otherwise run outside the transaction and commit on its own.
      await pass.settle();
      await queue.drain().catch(() => undefined);
      throw err;
    }
    for (const w of writers) pass.counts.tables[w.table.name] = { ...w.counts };
    await this.mergeStates(states, pass.counts);
    return pass.counts;
  }

  /**
   * One writer per event table (slot order), then the quarantine's. State tables, and event tables whose
   * inserted rows are kept, get a temp table their writer also copies into.
   */
  private async openWriters(
    checked: boolean,
    keepInserted: ReadonlySet<string> | undefined,
  ): Promise<{ queue: FlushQueue; writers: TableWriter[]; states: StateMerge[] }> {
    const { conn, dbSchema } = this.o;
    const queue = new FlushQueue();
    const writers: TableWriter[] = [];
    const states: StateMerge[] = [];
    for (const [i, [, t]] of this.o.tables.entries()) {
      let temp: string | undefined;
      if (t.state || keepInserted?.has(t.event.name)) {
        temp = SnapshotLoader.tempTable(i);
        await conn.query(`DROP TABLE IF EXISTS pg_temp.${quoteIdent(temp)}`);
        await conn.query(
          `CREATE TEMP TABLE ${quoteIdent(temp)} (LIKE ${qualified(dbSchema, t.event.name)} INCLUDING DEFAULTS) ON COMMIT DROP`,
        );
      }
      const writer = new TableWriter(
        conn,
        dbSchema,
        t.event,
        copyColumns(t.event),
        queue,
        this.o.limits,
        temp,
        checked,
      );
      writers.push(writer);
      if (t.state && temp) states.push({ state: t.state, temp });
    }
    writers.push(new TableWriter(conn, dbSchema, quarantineTable(), QUARANTINE_COLUMNS, queue, this.o.limits));
    return { queue, writers, states };
  }

  /** Merges each state table's candidates (the snapshot's new events) into it, counting what changed. */
  private async mergeStates(states: StateMerge[], counts: SnapshotLoadCounts): Promise<void> {
    for (const { state, temp } of states) {
      const { rows } = await this.o.conn.query<{ candidates: string; inserted: string; updated: string }>(
        mergeStateSql(this.o.dbSchema, state, `pg_temp.${quoteIdent(temp)}`),
      );
      const r = rows[0]!;
      const inserted = Number(r.inserted);
      const updated = Number(r.updated);
      counts.tables[state.name] = { inserted, updated, unchanged: Number(r.candidates) - inserted - updated };
    }
  }
}

/** A state table and the temp table of its candidates. */
interface StateMerge {
  state: TableDef;
  temp: string;
}

/**
 * One pass over a snapshot's files: lines in blocks to the encoder (encoded ahead, maybe in parallel), the
 * encoded blocks applied to the writers strictly in file order, with counts and progress.
 */
class SnapshotPass {
  readonly counts: SnapshotLoadCounts = {
    events: 0,
    rejected: 0,
    rejectedByLoad: 0,
    rejectedByLoadReasons: {},
    tables: {},
  };
  private readonly ahead: Array<Promise<EncodedBlock>> = [];
  private readonly maxAhead: number;
  private readonly storedSql: string[];
  private malformed: string | undefined;
  private linesDone = 0;
  private readonly started = Date.now();
  private readonly throttle: Throttle;

  constructor(
    private readonly o: SnapshotLoaderOptions,
    private readonly ref: SnapshotRef,
    private readonly checked: boolean,
    private readonly encoder: BlockEncoder,
    private readonly writers: TableWriter[],
    private readonly totalLines: number,
  ) {
    // A checked load waits on a key look-up per block: look further ahead so Postgres and parsing overlap.
    this.maxAhead = checked ? CHECKED_BLOCKS_AHEAD : BLOCKS_AHEAD_PER_THREAD * encoder.threads;
    this.storedSql = o.tables.map(([, t]) => storedKeysSql(o.dbSchema, t.event));
    this.throttle = new Throttle(o.progressIntervalMs);
    this.throttle.ready();
  }

  progress(force = false): void {
    if (!this.throttle.ready(force)) return;
    const s = (Date.now() - this.started) / 1000;
    const { linesDone, totalLines } = this;
    this.o.log.info(
      `snapshot ${this.ref.id}: ${linesDone}/${totalLines} lines (${Math.round((100 * linesDone) / Math.max(1, totalLines))}%), ` +
        `${Math.round(linesDone / Math.max(s, 0.001))} lines/s`,
    );
  }

  /**
   * Streams one file of the manifest: events and rejected lines go to the encoder in blocks; other files are
   * only verified (by the line reader). A malformed line is not thrown at once: the checksum tells tampering apart.
   */
  async readFile(file: ManifestFile): Promise<void> {
    const name = plainFileName(file);
    const kind: LineKind | undefined =
      name === EVENTS_FILE ? 'events' : name === REJECTED_FILE ? 'rejected' : undefined;
    let lines: string[] = [];
    let first = 1;
    let lineNo = 0;
    for await (const block of openSnapshotLineBlocks(this.o.store, this.ref.id, file)) {
      if (!kind) {
        lineNo += block.length;
        this.linesDone += block.length;
        continue;
      }
      for (const raw of block) {
        lineNo += 1;
        this.linesDone += 1;
        lines.push(raw);
        if (lines.length === BLOCK_LINES) {
          await this.submit(kind, lines, first);
          lines = [];
          first = lineNo + 1;
        }
      }
    }
    if (kind && lines.length) await this.submit(kind, lines, first);
  }

  /** Applies every block still being encoded; refuses the snapshot if a line was malformed. */
  async applyAll(): Promise<void> {
    while (this.ahead.length) await this.apply(await this.ahead.shift()!);
    if (this.malformed)
      throw new SnapshotRefusedError(`${this.malformed}, although the file matches its manifest checksum`);
  }

  /** Waits for every block being encoded (or looked up) to settle. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.ahead);
  }

  private async submit(kind: LineKind, lines: string[], firstLineNo: number): Promise<void> {
    if (this.o.shouldStop()) throw new InterruptedError();
    if (!this.malformed) {
      const p = this.checked
        ? this.lookUpFirst(kind, lines, firstLineNo)
        : this.encoder.encode(this.ref.id, kind, lines, firstLineNo);
      p.catch(() => undefined); // observed when applied
      this.ahead.push(p);
    }
    while (this.ahead.length > this.maxAhead || (this.ahead.length > 0 && this.malformed))
      await this.apply(await this.ahead.shift()!);
    this.progress();
  }

  /** Checked (a replay, or a dry run): look each block's keys up first, so stored events are not encoded again. */
  private async lookUpFirst(kind: LineKind, lines: string[], first: number): Promise<EncodedBlock> {
    const { inline, conn } = this.o;
    const prepared = inline.prepare(this.ref.id, kind, lines);
    const stored = await Promise.all(
      prepared.lookups.map(async (l, slot) => {
        if (!l) return undefined;
        const { rows } = await conn.query<{ found: string }>(this.storedSql[slot]!, l.keys);
        const found = rows[0]?.found ?? '';
        return new Set(found === '' ? [] : found.split(',').map((i) => l.lines[Number(i) - 1]!));
      }),
    );
    return inline.encodePrepared(this.ref.id, prepared, first, stored);
  }

  private async apply(block: EncodedBlock): Promise<void> {
    if (this.malformed) return;
    if (block.malformed) this.malformed = block.malformed;
    const { counts, writers } = this;
    counts.events += block.events;
    counts.rejected += block.rejected;
    counts.rejectedByLoad += block.rejectedByLoad;
    for (const [code, n] of Object.entries(block.rejectedByLoadReasons))
      counts.rejectedByLoadReasons[code] = (counts.rejectedByLoadReasons[code] ?? 0) + n;
    for (let slot = 0; slot < block.tables.length; slot++) {
      writers[slot]!.counts.unchanged += block.unchanged[slot] ?? 0;
      const rows = block.tables[slot];
      if (rows) await writers[slot]!.add(rows);
    }
  }
}
