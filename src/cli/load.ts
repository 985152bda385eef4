/**
 * `load`: flags → settings → {@link runLoad} → JSON summary line → exit code.
 * Settings come from flags, then `EVENTFUL_*` environment variables, then defaults. The connection comes only
 * from the environment (`DATABASE_URL` or `PG*`), so no password ever appears in argv.
 */
import { availableParallelism } from 'node:os';
import { hideBin } from 'yargs/helpers';
import { identifierProblem } from '../schema/identifiers.js';
import { DEFAULT_SCHEMAS_DIR } from '../schema/schema-folder.js';
import { connectWarehouse } from '../warehouse/connection.js';
import { runLoad, type LoadStatus } from '../warehouse/load-run.js';
import { DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS } from '../warehouse/table-writer.js';
import { ExitCode, UsageError } from '../basics/errors.js';
import { stderrLogger } from '../basics/log.js';
import { runCommand } from './run-command.js';
import { terminalWidth, withUsageErrors } from './command-support.js';
import {
  commandParser,
  DATABASE_SETTINGS,
  helpEpilogue,
  resolveOptions,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
  type ResolvedOptions,
} from './option-definitions.js';

/** Seconds between progress lines on stderr during a long snapshot. */
const DEFAULT_PROGRESS_SECONDS = 10;
const MIN_BATCH_ROWS = 1;
const MAX_WORKERS = 16;
/**
 * Encoder threads: 2 with 4 cores or more; none on fewer, because Postgres and the loader's own thread already
 * keep 2 cores busy and threads only add the cost of handing rows over. Each thread adds ~30 MB of memory.
 */
const MIN_CORES_FOR_WORKERS = 4;
const DEFAULT_WORKERS = availableParallelism() >= MIN_CORES_FOR_WORKERS ? 2 : 0;
const MAX_BATCH_ROWS = 1_000_000;

const EXIT_CODES: Record<LoadStatus, ExitCode> = {
  loaded: ExitCode.Ok,
  dry_run: ExitCode.Ok,
  nothing_pending: ExitCode.NothingToDo,
  answer_built: ExitCode.Ok,
  refused: ExitCode.Usage,
  failed: ExitCode.Failure,
};

const SCRIPT = 'eventful-load';

/** load's options: the shared ones and its own. */
export const LOAD_OPTIONS = {
  ...sharedOptions('snapshots', 'schemas', 'db-schema', 'dry-run'),
  answer: {
    type: 'boolean',
    describe:
      'Keep the wait-time answer tables up to date (--no-answer: empty them instead, for a big backfill; ' +
      'the next load without it builds them once from the history)',
    env: 'EVENTFUL_ANSWER',
    default: true,
  },
  'batch-size': {
    type: 'number',
    describe: `Rows per COPY batch and table (also capped at ${DEFAULT_BATCH_BYTES / 1024 / 1024} MiB)`,
    env: 'EVENTFUL_LOAD_BATCH_SIZE',
    default: DEFAULT_BATCH_ROWS,
  },
  workers: {
    type: 'number',
    describe: 'Threads that parse and validate events of big snapshots (0: none, encode in the main thread)',
    env: 'EVENTFUL_WORKERS',
    default: DEFAULT_WORKERS,
  },
  ...sharedOptions('max-rejected-ratio'),
  'verify-loaded': {
    type: 'boolean',
    describe:
      'List every snapshot id, read the manifest of every snapshot the ledger has recorded and fail on one that ' +
      'changed since it was loaded (an audit that reads the whole history; without it, a run lists the ids from ' +
      'its listing floor on and a page of older ones, and a recorded snapshot is not read again)',
    env: 'EVENTFUL_VERIFY_LOADED',
    default: false,
  },
  'progress-seconds': {
    type: 'number',
    describe: 'Seconds between progress lines on stderr',
    env: 'EVENTFUL_PROGRESS_SECONDS',
    default: DEFAULT_PROGRESS_SECONDS,
  },
} as const satisfies OptionDefinitions;

const DESCRIPTION = `Loads every complete snapshot under --snapshots that the ledger table (eventful_load_ledger) of
--db-schema has not recorded, oldest first, each in one transaction with its ledger row. Tables are created
and evolved additively from the JSON Schemas; an unsafe change is refused before anything is written (exit 2).
Events that fail load's checks go to the eventful_rejected table with the reason. --dry-run runs everything in
a transaction that is rolled back. Exits 99 when no snapshot is pending.`;

/** An integer option within [min, max]; the message names the flag or variable it came from. */
function integerIn(o: ResolvedOptions, name: string, min: number, max: number): number {
  const n = o.number(name)!;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${o.from(name)} must be an integer from ${min} to ${max}, got ${n}`);
  return n;
}

/** Parses argv (then the `EVENTFUL_*` environment, then defaults) into load settings; throws UsageError. */
export async function parseLoadArgs(argv: string[]): Promise<{
  snapshots: string;
  schemas: string;
  dbSchema: string;
  dryRun: boolean;
  batchSize: number;
  progressSeconds: number;
  workers: number;
  maxRejectedRatio: number;
  answer: boolean;
  verifyLoaded: boolean;
}> {
  const options = commandParser(
    argv,
    SCRIPT,
    `$0 --snapshots <folder|s3://bucket/prefix> [options]\n\n${DESCRIPTION}`,
    LOAD_OPTIONS,
  ).epilog(helpEpilogue(DATABASE_SETTINGS));
  const o = resolveOptions(LOAD_OPTIONS, await withUsageErrors(options, terminalWidth()).parseAsync(), process.env);
  const snapshots = o.string('snapshots');
  if (!snapshots) throw new UsageError(`--snapshots is required (or ${LOAD_OPTIONS.snapshots.env})`);
  const maxRejectedRatio = o.number('max-rejected-ratio')!;
  if (!(maxRejectedRatio >= 0 && maxRejectedRatio <= 1))
    throw new UsageError(`${o.from('max-rejected-ratio')} must be a number from 0 to 1`);
  const dbSchemaProblem = identifierProblem(o.string('db-schema')!);
  if (dbSchemaProblem) throw new UsageError(`${o.from('db-schema')}: ${dbSchemaProblem}`);
  const progressSeconds = o.number('progress-seconds')!;
  if (!Number.isFinite(progressSeconds) || progressSeconds <= 0)
    throw new UsageError(`${o.from('progress-seconds')} must be a positive number`);
  return {
    snapshots,
    schemas: o.string('schemas') ?? DEFAULT_SCHEMAS_DIR,
    dbSchema: o.string('db-schema')!,
    dryRun: o.boolean('dry-run'),
    batchSize: integerIn(o, 'batch-size', MIN_BATCH_ROWS, MAX_BATCH_ROWS),
    progressSeconds,
    workers: integerIn(o, 'workers', 0, MAX_WORKERS),
    maxRejectedRatio,
    answer: o.boolean('answer'),
    verifyLoaded: o.boolean('verify-loaded'),
  };
}

/** The `load` command, as `node dist/load.js` runs it. */
export async function main(argv: string[] = hideBin(process.argv)): Promise<never> {
  const log = stderrLogger('load');
  let stopRequested = false;
  process.on('SIGTERM', () => {
    if (!stopRequested) log.warn('SIGTERM: rolling back the snapshot in progress and stopping');
    stopRequested = true;
  });
  return runCommand(log, async () => {
    const args = await withHelpHint(SCRIPT, () => parseLoadArgs(argv));
    const summary = await runLoad(
      {
        snapshots: args.snapshots,
        schemasDir: args.schemas,
        dbSchema: args.dbSchema,
        dryRun: args.dryRun,
        limits: { rows: args.batchSize, bytes: DEFAULT_BATCH_BYTES },
        progressIntervalMs: args.progressSeconds * 1000,
        workers: args.workers,
        maxRejectedRatio: args.maxRejectedRatio,
        answer: args.answer,
        verifyLoaded: args.verifyLoaded,
      },
      { log, connect: () => connectWarehouse('eventful-load', log), shouldStop: () => stopRequested },
    );
    return { summary: summary as unknown as Record<string, unknown>, exitCode: EXIT_CODES[summary.status] };
  });
}
