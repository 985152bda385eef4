/**
 * One `load` run: schemas → tables → evolution plan → pending snapshots, each in its own transaction with
 * its ledger row, oldest first. Returns a summary in the style of Kysely's Migrator: one result per snapshot
 * with status Success / Error / NotExecuted; the first snapshot that fails stops the run.
 *
 * Transactions: the evolution plan (CREATE/ALTER) is applied in the transaction of the first pending snapshot,
 * so a run that fails or is killed before its first commit leaves the warehouse exactly as it was. With
 * `dryRun`, the plan and every snapshot run in one transaction that is rolled back at the end.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../basics/errors.js';
import type { Logger } from '../basics/log.js';
import { qualified, schemaTables, type TableDef } from '../schema/ddl.js';
import { identifierProblem } from '../schema/identifiers.js';
import { SchemaRegistry, type SchemaProblem } from '../schema/registry.js';
import { openSnapshotStore } from '../snapshot/open-store.js';
import { isS3Location } from '../snapshot/s3-location.js';
import { stampedTime } from '../snapshot/format.js';
import type { SnapshotRef } from '../snapshot/store.js';
import { ChecksumMismatchError } from '../snapshot/line-file.js';
import { MissingSnapshotFileError } from '../snapshot/read-lines.js';
import { acquireLoadLock, releaseLoadLock } from './advisory-lock.js';
import { readExistingTables } from './catalog.js';
import type { WarehouseConnection } from './connection.js';
import { describePlan, planEvolution, type EvolutionPlan, type Refusal } from './evolution.js';
import { insertLedgerEntry, LEDGER_TABLE, ledgerTable, readLedger } from './ledger.js';
import {
  LISTING_TABLE,
  listFromFloor,
  listingFloorTable,
  nextFloor,
  readListingFloor,
  writeListingFloor,
  type ListedIds,
  type ListingFloor,
} from './listing-floor.js';
import { applyPlan, applyViews, type ViewsOutcome } from './migrate.js';
import { answerBehind, forgetAnswer } from './answer-build.js';
import { answerPhase, noHeadwaysYet } from './answer-maintenance.js';
import { ARRIVALS_TABLE, INCIDENT_EVENTS_TABLE, relationExists } from './answer-tables.js';
import { resolveViewOptions } from './view-options.js';
import { quarantineTable } from './quarantine.js';
import {
  InterruptedError,
  SnapshotLoader,
  SnapshotRefusedError,
  type SchemaTables,
  type SnapshotLoadCounts,
} from './snapshot-loader.js';
import type { BatchLimits } from './table-writer.js';
import { InlineEncoder, WorkerEncoderPool, type BlockEncoder } from './encoder-pool.js';

/** Settings of a load, validated by the CLI. */
export interface LoadSettings {
  /** A snapshot folder, a root holding many, or an `s3://bucket/prefix` location. */
  snapshots: string;
  /** Folder of `*.schema.json` files. */
  schemasDir: string;
  /** Postgres schema the tables live in. */
  dbSchema: string;
  dryRun: boolean;
  limits: BatchLimits;
  progressIntervalMs: number;
  /** Encoder worker threads for big snapshots; 0 encodes in the loader's own thread. */
  workers: number;
  /**
   * Largest share of a snapshot's events that load itself may quarantine (0–1); above it the snapshot is not
   * loaded: that many refusals means the schemas and the data disagree, and someone must look.
   */
  maxRejectedRatio: number;
  /**
   * Keep the wait-time answer tables up to date (default). When false they are emptied and marked out of date
   * instead, and the next load that keeps them builds them once from the history: cheaper for a big backfill.
   */
  answer?: boolean;
  /**
   * Also read the manifest of every snapshot the ledger has recorded, and fail on one that changed since it was
   * loaded (an audit: it reads the whole history). Otherwise a recorded snapshot is not read again.
   */
  verifyLoaded?: boolean;
}

/** Snapshots with fewer lines are encoded in the loader's thread: starting workers costs more than it saves. */
export const WORKER_MIN_LINES = 20_000;

/** What the run needs from outside: a logger, a connection, and whether SIGTERM arrived. */
export interface LoadDeps {
  log: Logger;
  connect: () => Promise<WarehouseConnection>;
  shouldStop: () => boolean;
}

export type SnapshotStatus = 'Success' | 'Error' | 'NotExecuted';

/** The outcome of one snapshot. */
export interface SnapshotResult {
  snapshotId: string;
  status: SnapshotStatus;
  startedAt?: string;
  events?: number;
  rejected?: number;
  rejectedByLoad?: number;
  tables?: SnapshotLoadCounts['tables'];
  durationMs?: number;
  eventsPerSecond?: number;
  error?: { code: string; message: string };
}

/**
 * `loaded`: every pending snapshot committed; `dry_run`: the same, rolled back; `nothing_pending`: nothing to
 * load; `answer_built`: nothing to load, but the wait-time answer was behind the rows and was built (see
 * {@link buildAnswerBehind}); `refused`: schemas, settings or an evolution that cannot be applied (nothing
 * written); `failed`: a snapshot could not be loaded (those before it are committed).
 */
export type LoadStatus = 'loaded' | 'dry_run' | 'nothing_pending' | 'answer_built' | 'refused' | 'failed';

export interface LoadSummary {
  status: LoadStatus;
  dryRun: boolean;
  dbSchema: string;
  snapshots: string;
  schemas: string;
  /** What the evolution plan changes (applied, or in a dry run would apply), and the wait-time views. */
  /**
   * The schema changes the run planned, and whether they are in the warehouse after it (`applied`): false in a dry
   * run, with nothing pending, or when the first snapshot failed (its transaction held them and rolled back).
   */
  migration?: ReturnType<typeof describePlan> & { applied: boolean; notes: string[]; views?: ViewsOutcome };
  results: SnapshotResult[];
  /** Of the listed snapshot ids (see `listing`): those without a manifest yet, and how many the ledger has recorded. */
  skipped: { incomplete: string[]; alreadyLoaded: number };
  /**
   * Which snapshot ids the run listed (see listing-floor.ts): all of them (`full`), or those from the floor
   * `from` on and `swept` older ones; the floor the next run lists from (`next`), or why it was not moved.
   */
  listing?: { full: boolean; from: string | null; ids: number; swept: number; next?: string; notMoved?: string };
  totals: {
    snapshots: number;
    events: number;
    inserted: number;
    updated: number;
    unchanged: number;
    quarantined: number;
  };
  durationMs: number;
  problems?: SchemaProblem[];
  refusals?: Refusal[];
  error?: { code: string; message: string };
}

/** work_mem of a load's transactions (a trusted constant). */
const LOAD_WORK_MEM = '64MB';

/** Test-only: `EVENTFUL_TEST_CRASH_AT=<point>` kills the process with SIGKILL there, to test crash safety. */
function testCrashPoint(point: 'before-ledger' | 'before-commit'): void {
  if (process.env['EVENTFUL_TEST_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL');
}

/** Load refused more of a snapshot's events than `--max-rejected-ratio` allows. */
class TooManyRejectedError extends Error {
  readonly code = 'too_many_rejected';
  constructor(rejected: number, events: number, ratio: number, counts: SnapshotLoadCounts) {
    super(
      `${rejected} of ${events} events (${((100 * rejected) / events).toFixed(1)}%) failed load's checks, more than ` +
        `--max-rejected-ratio ${ratio} allows (${Object.entries(counts.rejectedByLoadReasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')}); nothing of the snapshot was written. Fix the schemas (or the producer), or raise the ratio`,
    );
    this.name = 'TooManyRejectedError';
  }
}

/** Postgres' unique_violation: an optimistic COPY met a key that is already stored. */
const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof ChecksumMismatchError) return { code: 'checksum_mismatch', message: err.message };
  if (err instanceof MissingSnapshotFileError) return { code: 'snapshot_file_missing', message: err.message };
  if (err instanceof SnapshotRefusedError || err instanceof InterruptedError || err instanceof TooManyRejectedError)
    return { code: err.code, message: err.message };
  const e = err as { code?: unknown; message?: unknown; detail?: unknown; where?: unknown };
  const pgCode = typeof e.code === 'string' ? e.code : undefined;
  const detail = typeof e.detail === 'string' ? ` (${e.detail})` : '';
  const message = `${err instanceof Error ? err.message : String(err)}${detail}`;
  return { code: pgCode ? `postgres_${pgCode}` : 'failure', message };
}

/** Loads every pending snapshot. Never throws for a snapshot's failure: it becomes a result with status Error. */
export async function runLoad(settings: LoadSettings, deps: LoadDeps): Promise<LoadSummary> {
  const { log } = deps;
  const summary = emptySummary(settings);
  const end = runEnding(summary, log);

  const schemaProblem = identifierProblem(settings.dbSchema);
  if (schemaProblem) return end.refuse(`--db-schema: ${schemaProblem}`);

  // Schemas → tables. Any problem refuses the run before the warehouse is touched.
  const { registry, problems } = await SchemaRegistry.load(settings.schemasDir);
  const { tablesBySchema, desired } = desiredTables(registry, problems);
  if (problems.length) {
    summary.problems = problems;
    for (const p of problems) log.error(`${p.file}${p.path ? ` ${p.path}` : ''}: ${p.message}`);
    return end.refuse(
      problems.length === 1
        ? `the schemas under ${settings.schemasDir}: ${problems[0]!.message}`
        : `${problems.length} problems in the schemas under ${settings.schemasDir} (listed above): fix them, ` +
            `and check with eventful-validate --schemas ${settings.schemasDir}, which touches no warehouse`,
    );
  }

  // Snapshots.
  if (await snapshotsMissing(settings.snapshots))
    return end.refuse(
      `--snapshots: ${settings.snapshots} does not exist: check the path (or EVENTFUL_SNAPSHOTS); it must be the ` +
        `folder extract writes to (--out), which extract makes on its first run`,
    );
  const store = await openSnapshotStore(settings.snapshots);
  summary.snapshots = store.location;
  // Which snapshot ids the run looks at, the warehouse's listing floor says (see loadUnderLock).
  return loadUnderLock(settings, deps, { registry, tablesBySchema, desired, store }, summary, end);
}

/** How a run ends: its status and duration in the summary; a refusal also logged and kept as the error. */
interface RunEnding {
  finish(status: LoadStatus): LoadSummary;
  refuse(message: string): LoadSummary;
}

function runEnding(summary: LoadSummary, log: Logger): RunEnding {
  const started = Date.now();
  const finish = (status: LoadStatus): LoadSummary => {
    summary.status = status;
    summary.durationMs = Date.now() - started;
    const failed = summary.results.filter((r) => r.status === 'Error').map((r) => r.snapshotId);
    if (status === 'failed' && !summary.error && failed.length) {
      // The last line says what failed and where to look, whatever was loaded after it.
      const message =
        `${failed.length} snapshot(s) not loaded: ${failed.join(', ')}. Each one's error is above; ` +
        `docs/operations.md says what to do for each (a snapshot altered or truncated since extract wrote it ` +
        `needs restoring, or moving out of --snapshots)`;
      log.error(message);
      summary.error = { code: 'snapshots_failed', message };
    }
    return summary;
  };
  return {
    finish,
    refuse(message) {
      log.error(message);
      summary.error = { code: 'refused', message };
      return finish('refused');
    },
  };
}

/** What the run knows before it touches the warehouse: the schemas, their tables and the snapshot store. */
interface Preflight {
  registry: SchemaRegistry;
  tablesBySchema: Array<[string, SchemaTables]>;
  desired: TableDef[];
  store: SnapshotStore;
}

/**
 * The run in the warehouse, under the schema's load lock: plan the DDL (refusing unsafe changes before anything
 * is written), list the snapshot ids from the listing floor on, read which of them are pending, load each in its
 * own transaction, and move the floor.
 */
async function loadUnderLock(
  settings: LoadSettings,
  deps: LoadDeps,
  { registry, tablesBySchema, desired, store }: Preflight,
  summary: LoadSummary,
  end: RunEnding,
): Promise<LoadSummary> {
  const { log } = deps;
  const conn = await deps.connect();
  let locked = false;
  const encoders: EncoderPoolHolder = {};
  try {
    await takeLoadLock(conn, settings.dbSchema, log);
    locked = true;

    const { existing, plan } = await planDdl(conn, settings.dbSchema, desired, summary, log);
    if (plan.refusals.length)
      return end.refuse(
        `the schemas ask for ${plan.refusals.length} change(s) that cannot be applied safely; nothing was written`,
      );

    const floor =
      existing.has(LISTING_TABLE) && !settings.verifyLoaded
        ? await readListingFloor(conn, settings.dbSchema, store.location)
        : undefined;
    const listed = await listFromFloor(store, floor);
    summary.listing = { full: listed.full, from: listed.from, ids: listed.ids.length, swept: listed.swept };
    const pending = await readPending(conn, settings, existing.has(LEDGER_TABLE), store, listed.ids, summary, log);
    if (pending.length === 0) {
      if (!summary.results.length)
        log.info(
          `nothing pending in ${store.location}: ${listed.ids.length} snapshot id(s) listed, ` +
            `${summary.skipped.alreadyLoaded} already loaded, ${summary.skipped.incomplete.length} without a manifest yet`,
        );
      await moveFloor(conn, settings, store, floor, listed, summary, log);
      if (summary.results.length) return end.finish('failed');
      const built = await buildAnswerBehind(conn, settings, plan, desired, summary, log);
      return end.finish(!built ? 'nothing_pending' : settings.dryRun ? 'dry_run' : 'answer_built');
    }
    log.info(
      `${pending.length} snapshot(s) to load into schema ${settings.dbSchema}` +
        `${summary.skipped.alreadyLoaded ? ` (${summary.skipped.alreadyLoaded} listed ones already loaded)` : ''}` +
        `${settings.dryRun ? ' (dry run: everything will be rolled back)' : ''}`,
    );

    const schemaHashes = Object.fromEntries(registry.schemas.map((s) => [s.name, s.sha256]));
    const loader = makeLoader(conn, store, settings, deps, registry, tablesBySchema, schemaHashes, encoders);
    const tableNames = desired.map((t) => t.name);
    const failed = await loadPending(conn, settings, plan, tableNames, pending, loader, schemaHashes, summary, log);
    await moveFloor(conn, settings, store, floor, listed, summary, log);
    const anyError = failed || summary.results.some((r) => r.status === 'Error');
    return end.finish(anyError ? 'failed' : settings.dryRun ? 'dry_run' : 'loaded');
  } finally {
    if (encoders.pool) await (await encoders.pool.catch(() => undefined))?.close();
    if (locked) await releaseLoadLock(conn, settings.dbSchema).catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
}

/** A run's summary before anything happened. */
function emptySummary(settings: LoadSettings): LoadSummary {
  return {
    status: 'nothing_pending',
    dryRun: settings.dryRun,
    dbSchema: settings.dbSchema,
    snapshots: settings.snapshots,
    schemas: settings.schemasDir,
    results: [],
    skipped: { incomplete: [], alreadyLoaded: 0 },
    totals: { snapshots: 0, events: 0, inserted: 0, updated: 0, unchanged: 0, quarantined: 0 },
    durationMs: 0,
  };
}

/** Schemas → tables: the tables of each schema, and every table the warehouse should have. Adds to `problems`. */
function desiredTables(
  registry: SchemaRegistry,
  problems: SchemaProblem[],
): { tablesBySchema: Array<[string, SchemaTables]>; desired: TableDef[] } {
  const tablesBySchema: Array<[string, SchemaTables]> = [];
  const desired: TableDef[] = [ledgerTable(), quarantineTable(), listingFloorTable()];
  for (const s of registry.schemas) {
    const r = schemaTables(s);
    for (const p of r.problems) problems.push({ file: s.file, path: p.path, message: p.message });
    if (r.tables.length) {
      const [event, state] = r.tables;
      tablesBySchema.push([s.name, { event: event!, ...(state ? { state } : {}) }]);
      desired.push(...r.tables);
    }
  }
  return { tablesBySchema, desired };
}

type SnapshotStore = Awaited<ReturnType<typeof openSnapshotStore>>;
type SnapshotListing = Awaited<ReturnType<SnapshotStore['list']>>;

/** A snapshot that cannot be loaded, or changed after it was: an Error result, logged. */
function snapshotError(summary: LoadSummary, log: Logger, snapshotId: string, code: string, message: string): void {
  log.error(message);
  summary.results.push({ snapshotId, status: 'Error', error: { code, message } });
}

/** Folders without a manifest that {@link nestedRoot} looks into, and the ids it lists in each. */
const NESTED_LOOKS = 5;
const NESTED_IDS = 20;

/**
 * The first of the `incomplete` ids (none named like a snapshot: extract names every one by its start time) that
 * holds complete snapshots itself: --snapshots then names the folder above the snapshots, and every run would skip
 * the task with nothing pending.
 */
async function nestedRoot(
  store: SnapshotStore,
  incomplete: readonly string[],
): Promise<{ id: string; location: string; complete: number } | undefined> {
  for (const id of incomplete.slice(0, NESTED_LOOKS)) {
    const location = isS3Location(store.location) ? `${store.location}${id}/` : path.join(store.location, id);
    const inner = await openSnapshotStore(location).catch(() => undefined);
    if (!inner) continue;
    try {
      const complete = (await inner.list(await inner.listIds({ limit: NESTED_IDS }))).complete.length;
      if (complete > 0) return { id, location, complete };
    } catch {
      // Not readable as a store: not what --snapshots meant either.
    } finally {
      (inner as { close?: () => void }).close?.();
    }
  }
  return undefined;
}

/** Incomplete snapshots named in the warning that skips them (the summary lists them all). */
const INCOMPLETE_NAMED = 5;

/**
 * Reads the manifests of snapshots `ids`. Unreadable ones become Error results; incomplete ones (no manifest yet)
 * are skipped with a warning, unless the ledger has recorded them (`ledger`): a loaded snapshot whose manifest is
 * gone is an Error result. `neverLoaded`: the warehouse has no ledger table yet.
 */
async function listSnapshots(
  store: SnapshotStore,
  ids: readonly string[],
  ledger: ReadonlyMap<string, string>,
  neverLoaded: boolean,
  summary: LoadSummary,
  log: Logger,
): Promise<SnapshotListing> {
  const listing = await store.list(ids);
  // A file system's lost+found is never a snapshot.
  const unrecorded = listing.incomplete.filter((id) => !ledger.has(id) && id !== 'lost+found');
  // A warehouse that never loaded, and folders of which none is a snapshot nor named like one: --snapshots names
  // some other folder. (With a ledger, a root whose snapshots were all pruned is just a root with nothing new.)
  if (neverLoaded && listing.complete.length === 0 && unrecorded.length && !unrecorded.some(stampedTime))
    throw new UsageError(
      `${store.location} holds ${unrecorded.length} folder(s) but no snapshot (a folder with a manifest.json, ` +
        `named like 20261206T061500123Z_<run>_<hash>): check --snapshots`,
    );
  // Only where the listing holds no snapshot nor a name like one: a lake with a hand-made folder of snapshots
  // beside its own is not one level too high.
  const nested =
    listing.complete.length === 0 && !ids.some(stampedTime) ? await nestedRoot(store, unrecorded) : undefined;
  if (nested)
    throw new UsageError(
      `${nested.id} in ${store.location} is not a snapshot but a folder of them (${nested.complete} or more ` +
        `complete): --snapshots names the folder above; did you mean --snapshots ${nested.location}?`,
    );
  if (unrecorded.length)
    log.warn(
      `skipping ${unrecorded.length} incomplete snapshot(s) (no manifest yet): ` +
        `${unrecorded.slice(0, INCOMPLETE_NAMED).join(', ')}${unrecorded.length > INCOMPLETE_NAMED ? ', …' : ''}`,
    );
  for (const id of listing.incomplete) {
    const recorded = ledger.get(id);
    if (recorded !== undefined)
      snapshotError(
        summary,
        log,
        id,
        'ledger_mismatch',
        `snapshot ${id} was loaded with manifest sha256 ${recorded}, but its manifest is gone: restore the snapshot`,
      );
  }
  summary.skipped.incomplete = unrecorded;
  for (const u of listing.unreadable)
    snapshotError(summary, log, u.id, 'unreadable_manifest', `snapshot ${u.id} is unreadable: ${u.reason}`);
  return listing;
}

/** Whether a local snapshots folder is missing (an s3:// location is checked when listed). */
async function snapshotsMissing(snapshots: string): Promise<boolean> {
  if (!isS3Location(snapshots))
    try {
      await stat(snapshots);
    } catch {
      return true;
    }
  return false;
}

/**
 * Plans the DDL: the evolution from the tables there are to the desired ones, described in the summary, its
 * notes logged and its refusals (if any) logged and put in the summary.
 */
async function planDdl(
  conn: WarehouseConnection,
  dbSchema: string,
  desired: TableDef[],
  summary: LoadSummary,
  log: Logger,
): Promise<{ existing: Awaited<ReturnType<typeof readExistingTables>>; plan: EvolutionPlan }> {
  const existing = await readExistingTables(
    conn,
    dbSchema,
    desired.map((t) => t.name),
  );
  const plan = planEvolution(desired, existing);
  summary.migration = { ...describePlan(plan), applied: false, notes: plan.notes };
  for (const n of plan.notes) log.info(n);
  if (plan.refusals.length) {
    summary.refusals = plan.refusals;
    for (const r of plan.refusals) log.error(r.message);
  }
  return { existing, plan };
}

/**
 * After the run's snapshots committed, moves the store's listing floor (`previous`: where it was) to the lowest
 * listed id the ledger has not recorded (see listing-floor.ts); not in a dry run, nor before a load has made the
 * floor's table. A floor that cannot be written is only a warning: the next run lists from the old one, which is
 * safe.
 */
async function moveFloor(
  conn: WarehouseConnection,
  settings: LoadSettings,
  store: SnapshotStore,
  previous: ListingFloor | undefined,
  listed: ListedIds,
  summary: LoadSummary,
  log: Logger,
): Promise<void> {
  const listing = summary.listing!;
  if (settings.dryRun) {
    listing.notMoved = 'dry run';
    return;
  }
  try {
    if (!(await relationExists(conn, qualified(settings.dbSchema, LISTING_TABLE)))) return;
    // The ledger as the run left it (its snapshots committed): what is settled now.
    const recorded = await readLedger(conn, settings.dbSchema, listed.ids);
    const unsettled = listed.ids.filter((id) => !recorded.has(id));
    const floor = nextFloor(unsettled, new Set(summary.skipped.incomplete), listed.listedAt);
    if (unsettled.includes(floor))
      log.info(`the listing floor stays at snapshot ${floor}, not loaded yet: every run lists the ids from it on`);
    if (floor !== previous?.floor || listed.nextSweepFrom !== previous.sweepFrom)
      await writeListingFloor(conn, settings.dbSchema, store.location, { floor, sweepFrom: listed.nextSweepFrom });
    listing.next = floor;
  } catch (err) {
    listing.notMoved = (err as Error).message;
    log.warn(`could not move the listing floor (the next run lists from the old one): ${listing.notMoved}`);
  }
}

/** Takes the schema's load lock, waiting (and saying so) while another load holds it. */
async function takeLoadLock(conn: WarehouseConnection, dbSchema: string, log: Logger): Promise<void> {
  await acquireLoadLock(conn, dbSchema, () =>
    log.info(`another load holds the lock on schema ${dbSchema}; waiting for it to finish`),
  );
}

/**
 * Reads the ledger, then the manifests of the snapshots it has not recorded: pending = those that are complete,
 * oldest first. A recorded snapshot is counted as already loaded without being read again, so that a run's cost
 * follows the new snapshots, not the store's age (a year of hourly snapshots on S3 had every run read 8,760
 * manifests). With `verifyLoaded` every manifest is read, and a recorded one that hashes otherwise than when it
 * was loaded is an Error result.
 */
async function readPending(
  conn: WarehouseConnection,
  settings: LoadSettings,
  hasLedger: boolean,
  store: SnapshotStore,
  ids: string[],
  summary: LoadSummary,
  log: Logger,
): Promise<Array<{ ref: SnapshotRef; sha: string }>> {
  const ledger = hasLedger ? await readLedger(conn, settings.dbSchema, ids) : new Map<string, string>();
  const toRead = settings.verifyLoaded ? ids : ids.filter((id) => !ledger.has(id));
  summary.skipped.alreadyLoaded = ids.length - toRead.length;
  const { complete } = await listSnapshots(store, toRead, ledger, !hasLedger, summary, log);
  const pending: Array<{ ref: SnapshotRef; sha: string }> = [];
  for (const ref of complete) {
    const sha = sha256(ref.manifestText);
    const recorded = ledger.get(ref.id);
    if (recorded === undefined) pending.push({ ref, sha });
    else if (recorded === sha) summary.skipped.alreadyLoaded += 1;
    else
      snapshotError(
        summary,
        log,
        ref.id,
        'ledger_mismatch',
        `snapshot ${ref.id} was loaded with manifest sha256 ${recorded}, but its manifest now hashes to ${sha}: ` +
          `the snapshot changed after it was loaded. Restore it, or give the new data a new snapshot id.`,
      );
  }
  return pending;
}

/** Where the run keeps its worker pool, started on the first big snapshot, so the run can close it. */
interface EncoderPoolHolder {
  pool?: Promise<WorkerEncoderPool>;
}

/** The snapshot loader of a run, encoding inline or (big snapshots) in the worker pool it starts on demand. */
function makeLoader(
  conn: WarehouseConnection,
  store: SnapshotStore,
  settings: LoadSettings,
  deps: LoadDeps,
  registry: SchemaRegistry,
  tablesBySchema: Array<[string, SchemaTables]>,
  schemaHashes: Record<string, string>,
  encoders: EncoderPoolHolder,
): SnapshotLoader {
  const eventTables = tablesBySchema.map(([name, t]): [string, TableDef] => [name, t.event]);
  const inline = new InlineEncoder(registry, eventTables);
  const encoderFor = async (lines: number): Promise<BlockEncoder> => {
    if (settings.workers === 0 || lines < WORKER_MIN_LINES) return inline;
    encoders.pool ??= WorkerEncoderPool.start(settings.workers, {
      schemasDir: settings.schemasDir,
      schemaHashes,
      eventTables,
    });
    return encoders.pool;
  };
  return new SnapshotLoader({
    conn,
    store,
    dbSchema: settings.dbSchema,
    tables: tablesBySchema,
    encoderFor,
    inline,
    limits: settings.limits,
    log: deps.log,
    shouldStop: deps.shouldStop,
    progressIntervalMs: settings.progressIntervalMs,
    // The answer phase reads the arrivals and incident events a snapshot inserted; without it (--no-answer) they are
    // not copied twice (incident events are kept anyway: the incidents' state merge reads them).
    keepInserted: new Set(settings.answer === false ? [] : [ARRIVALS_TABLE, INCIDENT_EVENTS_TABLE]),
  });
}

/** No event table's inserted rows kept (see {@link SnapshotLoader.load}). */
const NOTHING_KEPT: ReadonlySet<string> = new Set();

/**
 * Writes one snapshot's rows in the open transaction; a snapshot holding stored events rolls back (`restart`)
 * and is loaded again with key checks. `build`: the answer is to be built (the first station arrivals, see
 * maintainAnswer), so no copy of the inserted rows was kept.
 */
async function loadRows(
  conn: WarehouseConnection,
  settings: LoadSettings,
  loader: SnapshotLoader,
  ref: SnapshotRef,
  answered: boolean,
  restart: () => Promise<void>,
  log: Logger,
): Promise<{ counts: SnapshotLoadCounts; build: boolean }> {
  const building = async (): Promise<boolean> => answered && (await noHeadwaysYet(conn, settings.dbSchema));
  let build = await building();
  try {
    // A dry run cannot roll one snapshot back on its own: it always checks keys.
    return { counts: await loader.load(ref, settings.dryRun, build ? NOTHING_KEPT : undefined), build };
  } catch (err) {
    if (settings.dryRun || !isUniqueViolation(err)) throw err;
    log.info(`snapshot ${ref.id} holds events already loaded (or twice): loading it again with key checks`);
    await restart();
    build = await building();
    return { counts: await loader.load(ref, true, build ? NOTHING_KEPT : undefined), build };
  }
}

/** BEGIN of one of load's transactions, with its settings. */
async function beginLoadTransaction(conn: WarehouseConnection): Promise<void> {
  await conn.query('BEGIN');
  // Sorts of a batch's keys and of state candidates stay in memory.
  await conn.query(`SET LOCAL work_mem = '${LOAD_WORK_MEM}'`);
  // No JIT: against a big warehouse, the estimates of a load's statements (key lookups, the answer's index ranges
  // per platform, hour and incident) run into millions, and Postgres then compiles statements that take
  // milliseconds for a second or more each (one day into a 365-day warehouse: 10 s of the answer's 11).
  await conn.query(`SET LOCAL jit = off`);
}

/**
 * Applies the evolution plan, then the wait-time views over the tables (building the answer behind them when it is
 * behind), in the open transaction. Returns what became of the views.
 */
async function migrateWarehouse(
  conn: WarehouseConnection,
  settings: LoadSettings,
  plan: EvolutionPlan,
  tableNames: string[],
  summary: LoadSummary,
  log: Logger,
): Promise<ViewsOutcome> {
  await applyPlan(conn, settings.dbSchema, plan);
  const views: ViewsOutcome = await applyViews(conn, settings.dbSchema, tableNames, log, settings.answer ?? true);
  if (summary.migration) summary.migration.views = views;
  if ('skipped' in views) log.warn(`wait-time views not created: ${views.skipped}`);
  return views;
}

/**
 * With no snapshot pending, builds the wait-time answer when the warehouse holds station arrivals but no answer
 * built with these settings: after a backfill with --no-answer, or an upgrade that changed the answer's layout.
 * Otherwise its views would stay empty until the next snapshot arrives. One transaction (rolled back on a dry run);
 * returns whether it built.
 */
async function buildAnswerBehind(
  conn: WarehouseConnection,
  settings: LoadSettings,
  plan: EvolutionPlan,
  desired: ReadonlyArray<{ name: string }>,
  summary: LoadSummary,
  log: Logger,
): Promise<boolean> {
  const tableNames = desired.map((t) => t.name);
  if (settings.answer === false || !tableNames.includes(ARRIVALS_TABLE)) return false;
  if (!(await answerBehind(conn, settings.dbSchema, resolveViewOptions()))) return false;
  await beginLoadTransaction(conn);
  let built = false;
  try {
    const views = await migrateWarehouse(conn, settings, plan, tableNames, summary, log);
    // Views skipped (a customised schema lacks a column they read): nothing was built, and nothing is kept.
    built = 'answer' in views && views.answer === 'built';
    await conn.query(built && !settings.dryRun ? 'COMMIT' : 'ROLLBACK');
    if (built && !settings.dryRun && summary.migration) summary.migration.applied = true;
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  if (built)
    log.info(
      `nothing pending, but the wait-time answer was behind the rows (emptied by a load with --no-answer, or made ` +
        `by another version): ${settings.dryRun ? 'would have built it' : 'built it'}`,
    );
  return built;
}

/** Runs the pending snapshots' transactions; returns true when one failed. */
async function loadPending(
  conn: WarehouseConnection,
  settings: LoadSettings,
  plan: EvolutionPlan,
  tableNames: string[],
  pending: Array<{ ref: SnapshotRef; sha: string }>,
  loader: SnapshotLoader,
  schemaHashes: Record<string, string>,
  summary: LoadSummary,
  log: Logger,
): Promise<boolean> {
  let failedAt = -1;
  // Whether the views are there, so load maintains the answer tables behind them.
  let answered = false;
  // Tables first, then the wait-time views over them, in the transaction of the first snapshot.
  const migrate = async (): Promise<void> => {
    const views = await migrateWarehouse(conn, settings, plan, tableNames, summary, log);
    answered = 'answer' in views && views.answer !== undefined && views.answer !== 'emptied';
  };
  const begin = (): Promise<void> => beginLoadTransaction(conn);
  if (settings.dryRun) await begin();
  try {
    for (let i = 0; i < pending.length; i++) {
      const { ref, sha } = pending[i]!;
      const t0 = Date.now();
      try {
        if (!settings.dryRun) await begin();
        if (i === 0) await migrate();
        const restart = async (): Promise<void> => {
          await conn.query('ROLLBACK');
          await begin();
          if (i === 0) await migrate();
        };
        const { counts, build } = await loadRows(conn, settings, loader, ref, answered, restart, log);
        if (!answered) await forgetAnswerBehind(conn, settings.dbSchema, counts, log);
        const arrivals = build ? 'build' : loader.insertedRows(ARRIVALS_TABLE);
        if (answered && arrivals) {
          const incidentEvents = loader.insertedRows(INCIDENT_EVENTS_TABLE);
          await answerPhase(conn, settings.dbSchema, { arrivals, incidentEvents }, log);
        }
        if (counts.events > 0 && counts.rejectedByLoad / counts.events > settings.maxRejectedRatio)
          throw new TooManyRejectedError(counts.rejectedByLoad, counts.events, settings.maxRejectedRatio, counts);
        testCrashPoint('before-ledger');
        await writeLedgerEntry(conn, settings.dbSchema, ref, sha, counts, schemaHashes);
        testCrashPoint('before-commit');
        if (!settings.dryRun) await conn.query('COMMIT');
        if (!settings.dryRun && summary.migration) summary.migration.applied = true;
        reportLoaded(summary, settings.dryRun, ref, counts, Date.now() - t0, log);
      } catch (err) {
        if (!settings.dryRun) await conn.query('ROLLBACK').catch(() => undefined);
        const error = errorOf(err);
        log.error(`snapshot ${ref.id} not loaded, nothing of it was written: ${error.message}`);
        summary.results.push({ snapshotId: ref.id, status: 'Error', startedAt: ref.manifest.startedAt, error });
        failedAt = i;
        break;
      }
    }
  } finally {
    if (settings.dryRun) await conn.query('ROLLBACK').catch(() => undefined);
  }
  if (failedAt >= 0)
    for (const { ref } of pending.slice(failedAt + 1))
      summary.results.push({ snapshotId: ref.id, status: 'NotExecuted', startedAt: ref.manifest.startedAt });
  return failedAt >= 0;
}

/** Empties the answer when a snapshot that does not keep it up to date added rows it is made from. */
async function forgetAnswerBehind(
  conn: WarehouseConnection,
  dbSchema: string,
  counts: SnapshotLoadCounts,
  log: Logger,
): Promise<void> {
  const added = [ARRIVALS_TABLE, INCIDENT_EVENTS_TABLE].filter((t) => (counts.tables[t]?.inserted ?? 0) > 0);
  if (added.length === 0 || !(await forgetAnswer(conn, dbSchema))) return;
  log.warn(
    `wait-time answer emptied: this snapshot added rows to ${added.join(' and ')} without keeping it up to date ` +
      `(${ARRIVALS_TABLE} not among the loaded schemas, or the views skipped); the next load that keeps it builds ` +
      'it again. Load the train-arrival and incident schemas together to keep it up to date',
  );
}

/** Writes the snapshot's ledger row, in the snapshot's transaction. */
async function writeLedgerEntry(
  conn: WarehouseConnection,
  dbSchema: string,
  ref: SnapshotRef,
  sha: string,
  counts: SnapshotLoadCounts,
  schemaHashes: Record<string, string>,
): Promise<void> {
  await insertLedgerEntry(conn, dbSchema, {
    snapshotId: ref.id,
    manifestSha256: sha,
    runId: ref.manifest.runId ?? null,
    groupId: ref.manifest.groupId ?? null,
    startedAt: ref.manifest.startedAt ?? null,
    messages: counts.events + counts.rejected,
    events: counts.events,
    rejected: counts.rejected,
    rejectedByLoad: counts.rejectedByLoad,
    tables: counts.tables,
    schemas: schemaHashes,
  });
}

/** Summarises a committed (or, dry run, rolled-back-later) snapshot: its result, the totals, the log lines. */
function reportLoaded(
  summary: LoadSummary,
  dryRun: boolean,
  ref: SnapshotRef,
  counts: SnapshotLoadCounts,
  durationMs: number,
  log: Logger,
): void {
  const result: SnapshotResult = {
    snapshotId: ref.id,
    status: 'Success',
    startedAt: ref.manifest.startedAt,
    events: counts.events,
    rejected: counts.rejected,
    rejectedByLoad: counts.rejectedByLoad,
    tables: counts.tables,
    durationMs,
    eventsPerSecond: Math.round((counts.events * 1000) / Math.max(durationMs, 1)),
  };
  summary.results.push(result);
  addTotals(summary, counts);
  log.info(`${dryRun ? 'would load' : 'loaded'} snapshot ${ref.id}: ${describeCounts(counts)} in ${durationMs} ms`);
  if (counts.rejectedByLoad)
    log.warn(
      `snapshot ${ref.id}: ${counts.rejectedByLoad} event(s) quarantined by load in eventful_rejected ` +
        `(${Object.entries(counts.rejectedByLoadReasons)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')})`,
    );
}

function addTotals(summary: LoadSummary, counts: SnapshotLoadCounts): void {
  const t = summary.totals;
  t.snapshots += 1;
  t.events += counts.events;
  t.quarantined += counts.rejectedByLoad + counts.rejected;
  for (const [table, c] of Object.entries(counts.tables)) {
    if (table === quarantineTable().name) continue;
    t.inserted += c.inserted;
    t.updated += c.updated ?? 0;
    t.unchanged += c.unchanged;
  }
}

function describeCounts(counts: SnapshotLoadCounts): string {
  const parts = Object.entries(counts.tables)
    .filter(([, c]) => c.inserted || c.updated || c.unchanged)
    .map(([t, c]) => `${t} +${c.inserted}${c.updated ? ` ~${c.updated}` : ''}${c.unchanged ? ` =${c.unchanged}` : ''}`);
  return `${counts.events} events, ${counts.rejected} rejected by extract, ${counts.rejectedByLoad} by load; ${parts.join(', ') || 'no rows'}`;
}
