import { durationProblem, formatDurationMs, parseDurationMs } from '../config/duration.js';
import { refuseRetiredEnv } from '../config/settings-support.js';
import { openSnapshotStore } from '../snapshot/open-store.js';
import type { PruneCandidate, PruneReport } from '../snapshot/store.js';
import { parseFlagsOrExit, terminalWidth, withUsageErrors } from './command-support.js';
import {
  commandParser,
  helpEpilogue,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
} from './option-definitions.js';
import { ExitCode, UsageError } from '../basics/errors.js';
import { stderrLogger } from '../basics/log.js';
import { runCommand, type CommandResult } from './run-command.js';

/** The environment variable behind each flag (flags win over them). */
export const PRUNE_ENV = {
  snapshots: 'EVENTFUL_SNAPSHOTS',
  grace: 'EVENTFUL_PRUNE_GRACE',
  dryRun: 'EVENTFUL_DRY_RUN',
} as const;

/** Leftovers younger than this are left alone: an extract may still be writing them. */
export const DEFAULT_GRACE = '24h';
/** A grace shorter than this is warned of: extract runs can take that long. */
const SHORT_GRACE_MS = 3_600_000;
/** Leftovers named one by one in the summary line; the counts cover all of them. */
const SUMMARY_ITEMS = 100;
const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** What `prune` does, validated once. */
export interface PruneSettings {
  readonly snapshots: string;
  readonly graceMs: number;
  readonly dryRun: boolean;
}

/** The flags as yargs parses them. */
export interface PruneFlags {
  snapshots?: unknown;
  grace?: unknown;
  dryRun?: unknown;
}

/** Flags, then environment variables, then defaults. Throws {@link UsageError} on anything unusable. */
export function resolvePruneSettings(flags: PruneFlags, env: NodeJS.ProcessEnv): PruneSettings {
  refuseRetiredEnv(env);
  for (const [name, flag] of [
    ['snapshots', '--snapshots'],
    ['grace', '--grace'],
    ['dryRun', '--dry-run'],
  ] as const)
    if (Array.isArray(flags[name])) throw new UsageError(`${flag} is given more than once`);
  const snapshots =
    typeof flags.snapshots === 'string' && flags.snapshots !== '' ? flags.snapshots : env[PRUNE_ENV.snapshots];
  if (!snapshots)
    throw new UsageError(
      `say where the snapshots are: --snapshots /path or s3://bucket/prefix (or ${PRUNE_ENV.snapshots})`,
    );
  const graceFrom = typeof flags.grace === 'string' ? '--grace' : env[PRUNE_ENV.grace] ? PRUNE_ENV.grace : undefined;
  const graceText = graceFrom === '--grace' ? String(flags.grace) : (env[PRUNE_ENV.grace] ?? DEFAULT_GRACE);
  const graceMs = parseDurationMs(graceText);
  if (graceMs === undefined || graceMs < 0)
    throw new UsageError(`${graceFrom ?? '--grace'} must be a duration: ${durationProblem(graceText)}`);
  let dryRun: boolean;
  if (typeof flags.dryRun === 'boolean') dryRun = flags.dryRun;
  else {
    const v = (env[PRUNE_ENV.dryRun] ?? '').trim().toLowerCase();
    if (!TRUE.has(v) && !FALSE.has(v)) throw new UsageError(`${PRUNE_ENV.dryRun} must be true or false, got "${v}"`);
    dryRun = TRUE.has(v);
  }
  return Object.freeze({ snapshots, graceMs, dryRun });
}

/** prune's JSON summary: the last line on stdout (Airflow pushes it to XCom). */
export interface PruneSummary {
  command: 'prune';
  status: 'ok' | 'nothing_to_prune';
  dryRun: boolean;
  location: string;
  graceMs: number;
  cutoff: string;
  /** Leftovers found older than the grace period. */
  found: number;
  removed: number;
  objects: number;
  bytes: number;
  /** The first leftovers, one by one. */
  leftovers: PruneCandidate[];
  /** On S3: where the listing started (null: the whole lake), objects listed, of them below the floor. */
  listing?: PruneReport['listing'];
}

/** The summary of a prune run, and its exit code: 99 when there was nothing to prune. */
export function pruneResult(location: string, graceMs: number, report: PruneReport): CommandResult {
  const found = report.candidates.length;
  const summary: PruneSummary = {
    command: 'prune',
    status: found ? 'ok' : 'nothing_to_prune',
    dryRun: report.dryRun,
    location,
    graceMs,
    cutoff: report.cutoff,
    found,
    removed: report.removed,
    objects: report.candidates.reduce((n, c) => n + c.objects, 0),
    bytes: report.candidates.reduce((n, c) => n + c.bytes, 0),
    leftovers: report.candidates.slice(0, SUMMARY_ITEMS),
    ...(report.listing ? { listing: report.listing } : {}),
  };
  return {
    summary: summary as unknown as Record<string, unknown>,
    exitCode: found ? ExitCode.Ok : ExitCode.NothingToDo,
  };
}

const SCRIPT = 'eventful-prune';

/** prune's options: the shared ones and its own; each reads the variable {@link PRUNE_ENV} names. */
export const PRUNE_OPTIONS = {
  ...sharedOptions('snapshots'),
  grace: {
    type: 'string',
    describe: 'Leave leftovers younger than this (30m, 24h, 7d; longer than any extract run)',
    env: PRUNE_ENV.grace,
    default: DEFAULT_GRACE,
  },
  ...sharedOptions('dry-run'),
} as const satisfies OptionDefinitions;

const DESCRIPTION =
  'Lists and removes what failed or killed extract attempts left behind: temporary snapshot folders (.tmp-*) in a\n' +
  'directory, or data objects that no manifest names and unfinished multipart uploads in an s3:// location, once\n' +
  'last written longer ago than the grace period. Complete snapshots are never touched. --dry-run lists what would\n' +
  'be removed and removes nothing. Exits 99 when there is nothing to prune.';

function parser(argv: string[]) {
  const options = commandParser(argv, SCRIPT, `$0 [options]\n\n${DESCRIPTION}`, PRUNE_OPTIONS)
    .epilogue(helpEpilogue())
    .exitProcess(false);
  return withUsageErrors(options, terminalWidth());
}

/** `eventful-prune`: flags → settings → store.prune → summary line → exit code. */
export async function main(argv: string[]): Promise<never> {
  const log = stderrLogger('prune');
  const flags = await parseFlagsOrExit<PruneFlags>(log, () => withHelpHint(SCRIPT, () => parser(argv).parseAsync()));

  return runCommand(log, async () => {
    const settings = await withHelpHint(SCRIPT, () => resolvePruneSettings(flags, process.env));
    const store = await openSnapshotStore(settings.snapshots);
    log.info(
      `${settings.dryRun ? 'listing' : 'removing'} leftovers older than ${formatDurationMs(settings.graceMs)} in ${store.location}`,
    );
    if (settings.graceMs < SHORT_GRACE_MS)
      log.warn(
        `--grace ${formatDurationMs(settings.graceMs)} is shorter than an hour: the files of an extract still ` +
          'running can be removed (that run then fails, publishing and committing nothing)',
      );
    const report = await store.prune(settings.graceMs, settings.dryRun);
    for (const c of report.candidates)
      log.info(
        `${settings.dryRun ? 'would remove' : 'removed'} ${c.location}: ${c.objects} object(s), ${c.bytes} bytes, ` +
          `last written ${c.lastModified}`,
      );
    if (report.warning) log.warn(report.warning);
    log.info(
      report.candidates.length === 0
        ? 'nothing to prune'
        : `${settings.dryRun ? 'would remove' : 'removed'} ${report.candidates.length} leftover(s)`,
    );
    return pruneResult(store.location, settings.graceMs, report);
  });
}
