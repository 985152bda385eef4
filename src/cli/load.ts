/**
 * `load`: flags → settings → {@link runLoad} → JSON summary line → exit code.
 * Settings come from flags, then `EVENTFUL_*` environment variables, then defaults. The connection comes only
 * from the environment (`DATABASE_URL` or `PG*`), so no password ever appears in argv.
 */
import { availableParallelism } from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DEFAULT_SCHEMAS_DIR } from '../schema/registry.js';
import { connectWarehouse } from '../warehouse/connection.js';
import { runLoad, type LoadStatus } from '../warehouse/load-run.js';
import { DEFAULT_BATCH_BYTES, DEFAULT_BATCH_ROWS } from '../warehouse/table-writer.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { stderrLogger } from './log.js';
import { runCommand } from './run-command.js';
import { withUsageErrors } from './command-support.js';

/** Seconds between progress lines on stderr during a long snapshot. */
const DEFAULT_PROGRESS_SECONDS = 10;
const MIN_BATCH_ROWS = 1;
/** The same default as extract's: more than 10% refused means schemas and data disagree. */
const DEFAULT_MAX_REJECTED_RATIO = 0.1;
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
  refused: ExitCode.Usage,
  failed: ExitCode.Failure,
};

const HELP_EPILOG = `Loads every complete snapshot under --snapshots that the ledger table (eventful_load_ledger) of
--db-schema has not recorded, oldest first, each in one transaction with its ledger row. Tables are created
and evolved additively from the JSON Schemas; an unsafe change is refused before anything is written.

Connection: DATABASE_URL, or PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (the password only from the
environment). Every flag can also be set as EVENTFUL_<FLAG> (e.g. EVENTFUL_DB_SCHEMA=warehouse).

Exit codes: 0 loaded (or dry run done), 99 nothing pending, 2 bad usage, schema problem or refused
evolution, 1 any other failure (a tampered snapshot, too many events refused by load's checks, a database
error: Airflow retries). Events that fail load's checks go to the eventful_rejected table with the reason.
The last line on stdout is a JSON summary.`;

/** The environment variable of a flag: `--db-schema` → `EVENTFUL_DB_SCHEMA`. */
export function envName(flag: string): string {
  return `EVENTFUL_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function envString(flag: string): string | undefined {
  const v = process.env[envName(flag)];
  return v === undefined || v === '' ? undefined : v;
}

function envBoolean(flag: string): boolean | undefined {
  const v = envString(flag);
  if (v === undefined) return undefined;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new UsageError(`${envName(flag)} must be true or false, not ${JSON.stringify(v)}`);
}

function envNumber(flag: string): number | undefined {
  const v = envString(flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${envName(flag)} must be a number, not ${JSON.stringify(v)}`);
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
}> {
  // Only the flags' own variables are read: other EVENTFUL_* variables belong to other commands.
  const snapshotsEnv = envString('snapshots');
  const options = yargs(argv)
    .scriptName('eventful-load')
    .usage('$0 --snapshots <dir> [options]')
    .option('snapshots', {
      type: 'string',
      ...(snapshotsEnv ? { default: snapshotsEnv } : {}),
      describe: 'a snapshot folder, or a root folder holding many',
    })
    .option('schemas', {
      type: 'string',
      default: envString('schemas') ?? DEFAULT_SCHEMAS_DIR,
      describe: 'folder of *.schema.json files',
    })
    .option('db-schema', {
      type: 'string',
      default: envString('db-schema') ?? 'public',
      describe: 'Postgres schema to load into',
    })
    .option('dry-run', {
      type: 'boolean',
      default: envBoolean('dry-run') ?? false,
      describe: 'do everything in a transaction that is rolled back, and report what would change',
    })
    .option('answer', {
      type: 'boolean',
      default: envBoolean('answer') ?? true,
      describe:
        'keep the wait-time answer tables up to date (--no-answer: empty them instead, for a big backfill; ' +
        'the next load without it builds them once from the history)',
    })
    .option('batch-size', {
      type: 'number',
      default: envNumber('batch-size') ?? DEFAULT_BATCH_ROWS,
      describe: `rows per COPY batch and table (also capped at ${DEFAULT_BATCH_BYTES / 1024 / 1024} MiB)`,
    })
    .option('workers', {
      type: 'number',
      default: envNumber('workers') ?? DEFAULT_WORKERS,
      describe: `threads that parse and validate events of big snapshots (0: none, encode in the main thread)`,
    })
    .option('max-rejected-ratio', {
      type: 'number',
      default: envNumber('max-rejected-ratio') ?? DEFAULT_MAX_REJECTED_RATIO,
      describe: "largest share of a snapshot's events load may quarantine before it refuses the snapshot (0-1)",
    })
    .option('progress-seconds', {
      type: 'number',
      default: envNumber('progress-seconds') ?? DEFAULT_PROGRESS_SECONDS,
      describe: 'seconds between progress lines on stderr',
    })
    .epilog(HELP_EPILOG);
  const parsed = await withUsageErrors(options, 120).parseAsync();
  if (!parsed.snapshots) throw new UsageError('--snapshots is required (or EVENTFUL_SNAPSHOTS)');
  const batchSize = parsed['batch-size'];
  if (!Number.isInteger(batchSize) || batchSize < MIN_BATCH_ROWS || batchSize > MAX_BATCH_ROWS)
    throw new UsageError(`--batch-size must be an integer from ${MIN_BATCH_ROWS} to ${MAX_BATCH_ROWS}`);
  const workers = parsed.workers;
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS)
    throw new UsageError(`--workers must be an integer from 0 to ${MAX_WORKERS}`);
  const maxRejectedRatio = parsed['max-rejected-ratio'];
  if (!(maxRejectedRatio >= 0 && maxRejectedRatio <= 1))
    throw new UsageError('--max-rejected-ratio must be a number from 0 to 1');
  const progressSeconds = parsed['progress-seconds'];
  if (!Number.isFinite(progressSeconds) || progressSeconds <= 0)
    throw new UsageError('--progress-seconds must be a positive number');
  return {
    snapshots: parsed.snapshots,
    schemas: parsed.schemas,
    dbSchema: parsed['db-schema'],
    dryRun: parsed['dry-run'],
    batchSize,
    progressSeconds,
    workers,
    maxRejectedRatio,
    answer: parsed.answer,
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
    const args = await parseLoadArgs(argv);
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
      },
      { log, connect: () => connectWarehouse('eventful-load'), shouldStop: () => stopRequested },
    );
    return { summary: summary as unknown as Record<string, unknown>, exitCode: EXIT_CODES[summary.status] };
  });
}
