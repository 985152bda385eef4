/**
 * Loads one snapshot inside a transaction the caller opened (and commits or rolls back).
 *
 * Every data file is streamed through {@link openSnapshotLines} (gunzipped when stored compressed): rows go into the tables as they come, and the
 * file's size, line count and sha256 are checked when it ends. A mismatch throws, so the caller rolls the
 * whole transaction back and nothing of the snapshot is written. Events are validated again with the schema
 * registry (load is the second guard); an event that fails, or holds a value Postgres cannot store (a NUL
 * character, year 0000...), is quarantined with its reason instead of failing the load.
 */
import {
  EVENTS_FILE,
  plainFileName,
  REJECTED_FILE,
  type EventLine,
  type RejectedLine,
  type RejectReason,
} from '../snapshot/format.js';
import { openSnapshotLines } from '../snapshot/read-lines.js';
import type { SnapshotRef, SnapshotStore } from '../snapshot/store.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { TableDef } from '../schema/ddl.js';
import { quoteIdent } from '../schema/identifiers.js';
import { qualified } from '../schema/ddl.js';
import type { Logger } from '../cli/log.js';
import { Throttle } from '../cli/log.js';
import type { WarehouseConnection } from './connection.js';
import { findTextProblem, mayHoldTextProblem } from './copy-text.js';
import { EventRowEncoder } from './event-rows.js';
import { QUARANTINE_COLUMNS, quarantineRowFromEvent, quarantineRowFromRejected, quarantineTable } from './quarantine.js';
import { mergeStateSql } from './state-order.js';
import { FlushQueue, TableWriter, type BatchLimits } from './table-writer.js';

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
  registry: SchemaRegistry;
  /** Tables by schema name. */
  tables: ReadonlyMap<string, SchemaTables>;
  limits: BatchLimits;
  log: Logger;
  /** Checked between lines: true once SIGTERM arrived. */
  shouldStop: () => boolean;
  progressIntervalMs: number;
}

const STOP_CHECK_EVERY_LINES = 1_000;

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

/** Loads snapshots one at a time into the open transaction of its connection. */
export class SnapshotLoader {
  constructor(private readonly o: SnapshotLoaderOptions) {}

  /**
   * Streams, verifies and writes one snapshot; returns its counts. Throws on anything that must roll it back.
   * `checked`: look event keys up before copying (see table-writer); when false, a key that is already stored
   * throws a unique violation (23505) and the caller retries checked.
   */
  async load(ref: SnapshotRef, checked: boolean): Promise<SnapshotLoadCounts> {
    const { conn, dbSchema, log } = this.o;
    // parseManifest already refused entries whose stored path leaves the snapshot.
    const files = ref.manifest.files;
    if (!files.some((f) => plainFileName(f) === EVENTS_FILE))
      throw new SnapshotRefusedError(`manifest lists no ${EVENTS_FILE}`);

    const queue = new FlushQueue();
    const writers = new Map<string, { encoder: EventRowEncoder; writer: TableWriter; state?: TableDef; temp?: string }>();
    let tempIndex = 0;
    for (const [name, t] of this.o.tables) {
      const encoder = new EventRowEncoder(t.event, ref.id);
      let temp: string | undefined;
      if (t.state) {
        temp = `eventful_state_candidates_${tempIndex++}`;
        await conn.query(`DROP TABLE IF EXISTS pg_temp.${quoteIdent(temp)}`);
        await conn.query(
          `CREATE TEMP TABLE ${quoteIdent(temp)} (LIKE ${qualified(dbSchema, t.event.name)} INCLUDING DEFAULTS) ON COMMIT DROP`,
        );
      }
      const writer = new TableWriter(conn, dbSchema, t.event, encoder.columns, queue, this.o.limits, temp, checked);
      writers.set(name, { encoder, writer, ...(t.state ? { state: t.state } : {}), ...(temp ? { temp } : {}) });
    }
    const quarantine = new TableWriter(conn, dbSchema, quarantineTable(), QUARANTINE_COLUMNS, queue, this.o.limits);

    const counts: SnapshotLoadCounts = {
      events: 0,
      rejected: 0,
      rejectedByLoad: 0,
      rejectedByLoadReasons: {},
      tables: {},
    };
    const totalLines = files.reduce((n, f) => n + f.lines, 0);
    let linesDone = 0;
    const started = Date.now();
    const throttle = new Throttle(this.o.progressIntervalMs);
    throttle.ready();
    const progress = (force = false): void => {
      if (!throttle.ready(force)) return;
      const s = (Date.now() - started) / 1000;
      log.info(
        `snapshot ${ref.id}: ${linesDone}/${totalLines} lines (${Math.round((100 * linesDone) / Math.max(1, totalLines))}%), ` +
          `${Math.round(linesDone / Math.max(s, 0.001))} lines/s`,
      );
    };

    const quarantineEvent = async (line: EventLine, reason: RejectReason): Promise<void> => {
      counts.rejectedByLoad += 1;
      counts.rejectedByLoadReasons[reason.code] = (counts.rejectedByLoadReasons[reason.code] ?? 0) + 1;
      await quarantine.add(quarantineRowFromEvent(line, reason, ref.id));
    };

    for (const file of files) {
      // A malformed line is remembered, not thrown at once: the checksum at the end tells tampering apart.
      let malformed: string | undefined;
      let lineNo = 0;
      const kind = plainFileName(file);
      for await (const raw of openSnapshotLines(this.o.store, ref.id, file)) {
        lineNo += 1;
        linesDone += 1;
        if (lineNo % STOP_CHECK_EVERY_LINES === 0) {
          if (this.o.shouldStop()) throw new InterruptedError();
          progress();
        }
        if (malformed || (kind !== EVENTS_FILE && kind !== REJECTED_FILE)) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          malformed = `${file.name} line ${lineNo} is not JSON`;
          continue;
        }
        if (kind === REJECTED_FILE) {
          if (!isRejectedLine(parsed)) malformed = `${file.name} line ${lineNo} is not a rejected-message line`;
          else {
            counts.rejected += 1;
            await quarantine.add(quarantineRowFromRejected(parsed, ref.id));
          }
          continue;
        }
        if (!isEventLine(parsed)) {
          malformed = `${file.name} line ${lineNo} is not an event line`;
          continue;
        }
        counts.events += 1;
        if (mayHoldTextProblem(raw)) {
          const found = findTextProblem(parsed.value);
          if (found) {
            await quarantineEvent(parsed, {
              code: found.problem === 'nul_character' ? 'nul_character' : 'not_utf8',
              message:
                found.problem === 'nul_character'
                  ? `${found.path} holds a NUL character, which Postgres text cannot store`
                  : `${found.path} holds a lone UTF-16 surrogate, which is not valid Unicode`,
            });
            continue;
          }
        }
        const checked = this.o.registry.check(parsed.topic, parsed.value);
        if ('reason' in checked) {
          await quarantineEvent(parsed, checked.reason);
          continue;
        }
        const w = writers.get(checked.schema.name);
        if (!w) throw new Error(`no tables for schema ${checked.schema.name}`);
        const encoded = w.encoder.encode(parsed, raw.includes('\\'));
        if ('reason' in encoded) await quarantineEvent(parsed, encoded.reason);
        else await w.writer.add(encoded);
      }
      if (malformed) throw new SnapshotRefusedError(`${malformed}, although the file matches its manifest checksum`);
    }
    for (const w of writers.values()) await w.writer.finish();
    await quarantine.finish();
    await queue.drain();
    progress(true);

    for (const w of writers.values()) {
      counts.tables[w.writer.table.name] = { ...w.writer.counts };
      if (w.state && w.temp) {
        const { rows } = await conn.query<{ candidates: string; inserted: string; updated: string }>(
          mergeStateSql(dbSchema, w.state, `pg_temp.${quoteIdent(w.temp)}`),
        );
        const r = rows[0]!;
        const inserted = Number(r.inserted);
        const updated = Number(r.updated);
        counts.tables[w.state.name] = { inserted, updated, unchanged: Number(r.candidates) - inserted - updated };
      }
    }
    counts.tables[quarantine.table.name] = { ...quarantine.counts };
    return counts;
  }
}
