import { setTimeout as sleep } from 'node:timers/promises';
import { EventfulError, ExitCode, UsageError } from '../basics/errors.js';
import type { Logger } from '../basics/log.js';
import type { CommandResult } from '../basics/command-result.js';
import type { ExtractSettings } from '../config/extract-settings.js';
import { planDrain, type DrainPlan, type PartitionStart, type TopicPartition } from '../kafka/drain-plan.js';
import type { EventSource, TopicPartitionOffset } from '../kafka/event-source.js';
import { snapshotId } from '../snapshot/format.js';
import type { SnapshotTally } from '../snapshot/snapshot-tally.js';
import type { SnapshotStore } from '../snapshot/store.js';
import { ChunkedSnapshotBuilder, CountingSink, type SnapshotSink } from './chunked-snapshot-builder.js';
import type { BatchDecoder } from './decode-pool.js';
import type { RunningHash } from './running-hash.js';
import { drainPartitions, type DrainOutcome } from './drain.js';
import { partitionSummaries, rejectedRatio, type ExtractSummary, type SummaryCounts } from './extract-summary.js';
import { ProgressReporter } from './progress.js';
import type { StopSignal } from './stop-signal.js';

/**
 * Points where a test may kill the process (`EVENTFUL_TEST_CRASH_AT`, see `src/cli/extract.ts`): after the first
 * batch was written, just before publishing, after the snapshot was renamed into place (not yet committed), and
 * after the commit.
 */
export type CrashPoint = 'mid-drain' | 'before-publish' | 'after-publish' | 'after-commit';

/** What extract's core asks of the schemas: which topics they cover (the decoder checks the events). */
export interface ExtractSchemas {
  hasTopic(topic: string): boolean;
}

/** What the extract core talks to. */
export interface ExtractDeps {
  source: EventSource;
  /** Where snapshots are written; undefined in a dry run. */
  store: SnapshotStore | undefined;
  /** The schemas, or their promise: they may be compiled while the consumer connects. */
  schemas: ExtractSchemas | Promise<ExtractSchemas>;
  log: Logger;
  stop: StopSignal;
  now?: () => Date;
  /** A short random suffix that makes the snapshot id unique per attempt. */
  random: () => string;
  /** Called at each {@link CrashPoint} (tests kill the process there). */
  checkpoint?: (point: CrashPoint) => void;
  /** Decodes batches (decode threads, which may still be starting, or this thread). The caller closes it. */
  decoder: BatchDecoder | Promise<BatchDecoder>;
  /** Batches being decoded at once before the oldest is written (default 2). */
  decodeDepth?: number;
  /** Makes the running sha256 of each snapshot file (e.g. on a decode thread); defaults to this thread. */
  newHash?: () => RunningHash;
  /** Progress output (defaults to a reporter on `log`). */
  progress?: (total: number) => ProgressReporter;
  /** Waits between commit tries (defaults to a timer; tests pass a quicker one). */
  wait?: (ms: number) => Promise<void>;
}

/** Batches being decoded at once when {@link ExtractDeps.decodeDepth} is not given. */
const DEFAULT_DECODE_DEPTH = 2;

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function key(tp: TopicPartition): string {
  return `${tp.topic}[${tp.partition}]`;
}

/** Resolve partitions: which partitions to drain; checks that the topics and partitions exist (exit 2 otherwise). */
async function resolvePartitions(settings: ExtractSettings, deps: ExtractDeps): Promise<TopicPartition[]> {
  const cluster = await deps.stop.race(deps.source.topicPartitions());
  const unknown = settings.topics.filter((t) => !cluster.has(t));
  if (unknown.length)
    throw new UsageError(
      `unknown topic${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `"${t}"`).join(', ')}: not on the cluster ` +
        `(extract never creates topics); check --topics / --partitions`,
    );
  const out: TopicPartition[] = [];
  for (const topic of settings.topics) {
    const existing = cluster.get(topic)!;
    const chosen = settings.partitions?.get(topic) ?? existing;
    const missing = chosen.filter((p) => !existing.includes(p));
    if (missing.length)
      throw new UsageError(
        `--partitions: topic "${topic}" has partitions ${existing.join(',')}; ${missing.join(',')} do${missing.length > 1 ? '' : 'es'} not exist`,
      );
    for (const partition of chosen) out.push({ topic, partition });
  }
  return out;
}

/** Checks that a schema applies to every topic (exit 2 otherwise). */
function checkSchemasCover(settings: ExtractSettings, schemas: ExtractSchemas): void {
  const noSchema = settings.topics.filter((t) => !schemas.hasTopic(t));
  if (noSchema.length)
    throw new UsageError(
      `no schema applies to topic${noSchema.length > 1 ? 's' : ''} ${noSchema.map((t) => `"${t}"`).join(', ')}: ` +
        `add a *.schema.json naming it in "x-warehouse".topics to the --schemas folder (${settings.schemasDir})`,
    );
}

/** Plan: reads the watermarks and committed offsets of the partitions and plans the drain; warns of gaps and resets. */
async function plan(settings: ExtractSettings, deps: ExtractDeps, partitions: TopicPartition[]): Promise<DrainPlan> {
  const [marks, committed] = await deps.stop.race(
    Promise.all([deps.source.watermarks(partitions), deps.source.committed(partitions)]),
  );
  const committedBy = new Map(committed.map((c) => [key(c), c.offset]));
  const starts: PartitionStart[] = marks.map((w) => ({ ...w, committed: committedBy.get(key(w)) ?? null }));
  const drain = planDrain(starts);
  for (const g of drain.gaps)
    deps.log.warn(
      `RETENTION GAP on ${key(g)}: the group "${settings.groupId}" had committed offset ${g.committed}, but the log now ` +
        `starts at ${g.logStart}: ${g.lost} events expired before any snapshot read them. Reading on from ${g.logStart}; ` +
        `run extract more often than the topic's retention`,
    );
  for (const r of drain.resets)
    deps.log.warn(
      `OFFSET RESET on ${key(r)}: the group's committed offset ${r.committed} is beyond the high watermark ${r.high} ` +
        `(topic recreated or truncated?); reading again from the log start ${r.restartAt}`,
    );
  return drain;
}

/** The summary's fields known once the drain is planned. */
type SummaryBase = Omit<
  ExtractSummary,
  'status' | 'counts' | 'partitions' | 'lagLeft' | 'durationMs' | 'messagesPerSecond'
>;

function summaryBase(settings: ExtractSettings, drain: DrainPlan, startedAt: Date): SummaryBase {
  return {
    command: 'extract',
    dryRun: settings.dryRun,
    runId: settings.runId,
    groupId: settings.groupId,
    topics: [...settings.topics],
    snapshot: null,
    committed: false,
    stoppedBy: null,
    rejectedRatio: 0,
    maxRejectedRatio: settings.maxRejectedRatio,
    retentionGaps: drain.gaps,
    offsetResets: drain.resets,
    startedAt: startedAt.toISOString(),
  };
}

function result(exitCode: ExitCode, summary: ExtractSummary): CommandResult {
  return { exitCode, summary: summary as unknown as Record<string, unknown> };
}

/** The result when every partition already is at its high watermark: exit 99, nothing read. */
function nothingNew(
  settings: ExtractSettings,
  deps: ExtractDeps,
  drain: DrainPlan,
  startedAt: Date,
  t0: number,
): CommandResult {
  deps.log.info(
    `nothing new: all ${drain.partitions.length} partitions are at their high watermark for group "${settings.groupId}"`,
  );
  const counts: SummaryCounts = {
    messages: 0,
    events: 0,
    rejected: 0,
    rejectedByReason: {},
    eventsByTopic: {},
    tombstones: 0,
    beyondWatermark: 0,
  };
  return result(ExitCode.NothingToDo, {
    ...summaryBase(settings, drain, startedAt),
    status: 'nothing_new',
    counts,
    partitions: partitionSummaries(drain, [], () => undefined),
    lagLeft: 0,
    durationMs: Date.now() - t0,
    messagesPerSecond: 0,
  });
}

/** Starts the snapshot being written (undefined in a dry run) and says what the drain is about to read. */
async function beginSnapshot(
  settings: ExtractSettings,
  deps: ExtractDeps,
  drain: DrainPlan,
  id: string,
  startedAt: Date,
): Promise<ChunkedSnapshotBuilder | undefined> {
  const builder = deps.store
    ? await ChunkedSnapshotBuilder.begin(
        deps.store,
        { snapshotId: id, runId: settings.runId, groupId: settings.groupId, startedAt, topics: [...settings.topics] },
        { compress: settings.compress },
        deps.newHash,
      )
    : undefined;
  const topicsRead = [...new Set(drain.toRead.map((p) => p.topic))];
  deps.log.info(
    `draining ${drain.pending.toLocaleString('en-US')} offsets from ${drain.toRead.length} of ${drain.partitions.length} ` +
      `partitions (${topicsRead.join(', ')}) up to the start-time high watermarks` +
      (settings.dryRun ? ' (dry run: nothing will be written or committed)' : ` into snapshot ${id}`),
  );
  return builder;
}

/** Drain: reads the planned partitions into `sink` (see {@link drainPartitions}), with progress on the log. */
async function drain(
  settings: ExtractSettings,
  deps: ExtractDeps,
  plan: DrainPlan,
  sink: SnapshotSink,
  t0: number,
): Promise<DrainOutcome> {
  const progress =
    deps.progress?.(plan.pending) ?? new ProgressReporter(deps.log, settings.progressIntervalMs, plan.pending);
  const outcome = await drainPartitions(
    settings,
    {
      source: deps.source,
      stop: deps.stop,
      decoder: deps.decoder,
      decodeDepth: deps.decodeDepth ?? DEFAULT_DECODE_DEPTH,
      progress,
      onFirstBatchWritten: () => {
        if (deps.store) deps.checkpoint?.('mid-drain');
      },
    },
    plan,
    sink,
    t0,
  );
  const { tracker } = outcome;
  progress.update({ messages: outcome.taken, rejected: sink.tally.counts.rejected, lagLeft: tracker.lagLeft }, true);
  progress.close();
  deps.stop.check();
  return outcome;
}

/** Summarise: the run's summary from what the drain read (status ok; the caller decides what follows). */
function summarise(base: SummaryBase, plan: DrainPlan, tally: SnapshotTally, outcome: DrainOutcome, t0: number) {
  const { tombstones, ratio } = rejectedRatio(tally.counts);
  const counts: SummaryCounts = { ...tally.counts, tombstones, beyondWatermark: outcome.beyondWatermark };
  const durationMs = Date.now() - t0;
  const summary: ExtractSummary = {
    ...base,
    status: 'ok',
    stoppedBy: outcome.stoppedBy,
    counts,
    rejectedRatio: ratio,
    partitions: partitionSummaries(plan, tally.partitions(), (t, p) => outcome.tracker.nextOffset(t, p)),
    lagLeft: outcome.tracker.lagLeft,
    durationMs,
    messagesPerSecond: durationMs > 0 ? Math.round((tally.counts.messages * 1000) / durationMs) : 0,
  };
  if (outcome.samples.length) summary.rejectedSamples = outcome.samples;
  return { summary, tombstones, ratio };
}

/** "N messages: E events, R rejected (by reason)", for the log. */
function countsLine(counts: SummaryCounts): string {
  return (
    `${counts.messages} messages: ${counts.events} events, ${counts.rejected} rejected` +
    (counts.rejected
      ? ` (${Object.entries(counts.rejectedByReason)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`
      : '')
  );
}

/** The failure when too many messages were quarantined: logs why and what to do, with the samples. */
function tooManyRejected(settings: ExtractSettings, deps: ExtractDeps, summary: ExtractSummary, tombstones: number) {
  const { counts, rejectedRatio: ratio } = summary;
  const message =
    `too many rejected messages: ${counts.rejected - tombstones} of ${counts.messages - tombstones} (${pct(ratio)}, ` +
    `tombstones aside) exceed --max-rejected-ratio ${settings.maxRejectedRatio}; the snapshot was discarded and no ` +
    `offset was committed. See rejectedSamples in the summary (or run with --dry-run) for what was refused; fix the ` +
    `producer or the schema, or raise --max-rejected-ratio to let them through to the quarantine file`;
  deps.log.error(message);
  for (const s of summary.rejectedSamples ?? [])
    deps.log.error(`  rejected ${s.topic}[${s.partition}]@${s.offset}: ${s.reason}: ${s.message}`);
  return result(ExitCode.Failure, { ...summary, status: 'failed', error: { code: 'too_many_rejected', message } });
}

/** Publish: writes the manifest and renames the snapshot into place; from here on a signal no longer aborts. */
async function publish(deps: ExtractDeps, builder: ChunkedSnapshotBuilder, id: string, summary: ExtractSummary) {
  deps.checkpoint?.('before-publish');
  deps.stop.check();
  // From here on the run finishes (publishing and committing take moments); a signal no longer aborts it.
  deps.stop.finish();
  await builder.publish((deps.now ?? (() => new Date()))());
  const snapshotPath = `${deps.store!.location.replace(/\/+$/, '')}/${id}`;
  summary.snapshot = { id, path: snapshotPath };
  deps.log.info(`published snapshot ${snapshotPath} (${countsLine(summary.counts)})`);
  deps.checkpoint?.('after-publish');
}

/** Tries of the commit before extract gives up: a broker that has just restarted often refuses the first ones. */
export const COMMIT_ATTEMPTS = 6;
/** The wait after the first failed try; it doubles after each (0.5 + 1 + 2 + 4 + 8 s at most in all). */
const COMMIT_RETRY_MS = 500;

/**
 * Commit: commits the group's offsets (last offset read + 1 per partition) once the snapshot is published, and
 * reads them back. A try that fails, or whose offsets did not take, is tried again with a doubling wait, up to
 * {@link COMMIT_ATTEMPTS} tries; then the run fails (exit 1), though the snapshot stays published.
 */
async function commit(settings: ExtractSettings, deps: ExtractDeps, tally: SnapshotTally, id: string): Promise<void> {
  const offsets = tally.offsetsToCommit();
  for (let attempt = 1; ; attempt++) {
    const failure = await tryCommit(deps.source, offsets);
    if (!failure) break;
    if (attempt === COMMIT_ATTEMPTS) {
      const fix =
        failure.code === 'group_in_use' ? 'Stop the other consumer of the group' : 'Check that the brokers are up';
      throw new EventfulError(
        `snapshot ${id} is published, but ${failure.message} (${COMMIT_ATTEMPTS} tries): the next run will read ` +
          `those events again (load skips what it already has). ${fix}, then run extract again`,
        ExitCode.Failure,
        failure.code,
      );
    }
    const waitMs = COMMIT_RETRY_MS * 2 ** (attempt - 1);
    deps.log.warn(`${failure.message}; trying again in ${waitMs} ms (try ${attempt + 1} of ${COMMIT_ATTEMPTS})`);
    await (deps.wait ?? sleep)(waitMs);
  }
  deps.log.info(`committed offsets of ${offsets.length} partitions for group "${settings.groupId}"`);
  deps.checkpoint?.('after-commit');
}

/** One try of the commit, read back: what went wrong, or undefined when every offset took. */
async function tryCommit(
  source: EventSource,
  offsets: readonly TopicPartitionOffset[],
): Promise<{ message: string; code: string } | undefined> {
  try {
    await source.commit(offsets);
    const after = await source.committed(offsets);
    const behind = after.filter((c) => {
      const want = offsets.find((o) => o.topic === c.topic && o.partition === c.partition)!.offset;
      return c.offset === null || c.offset < want;
    });
    if (behind.length)
      return { message: `the commit of ${behind.map(key).join(', ')} did not take`, code: 'commit_not_applied' };
    return undefined;
  } catch (err) {
    return {
      message: err instanceof Error ? err.message : String(err),
      code: err instanceof EventfulError ? err.code : 'kafka_commit',
    };
  }
}

/**
 * The extract command's core: resolve partitions, plan, drain up to the start-time high watermarks into a
 * snapshot, summarise, publish it (manifest last, atomic rename), and only then commit the group's offsets
 * synchronously. Exit 99 when there is nothing new; 1 when stopped, on too many rejects, or on any failure
 * (nothing committed).
 */
export async function runExtract(settings: ExtractSettings, deps: ExtractDeps): Promise<CommandResult> {
  const startedAt = (deps.now ?? (() => new Date()))();
  const t0 = Date.now();
  let builder: ChunkedSnapshotBuilder | undefined;
  try {
    await deps.stop.race(deps.source.connect());
    const partitions = await resolvePartitions(settings, deps);
    const drainPlan = await plan(settings, deps, partitions);
    // The client starts fetching while the schemas may still be compiling (since the consumer connected); a topic
    // without a schema still stops the run before anything is taken.
    const { toRead } = drainPlan;
    if (toRead.length)
      deps.source.assign(toRead.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.start })));
    checkSchemasCover(settings, await deps.stop.race(Promise.resolve(deps.schemas)));
    if (toRead.length === 0) return nothingNew(settings, deps, drainPlan, startedAt, t0);

    const id = snapshotId(startedAt, settings.runId, deps.random());
    builder = await beginSnapshot(settings, deps, drainPlan, id, startedAt);
    const sink: SnapshotSink = builder ?? new CountingSink();
    const outcome = await drain(settings, deps, drainPlan, sink, t0);
    const base = summaryBase(settings, drainPlan, startedAt);
    const { summary, tombstones, ratio } = summarise(base, drainPlan, sink.tally, outcome, t0);
    if (outcome.stoppedBy !== 'watermark')
      deps.log.info(
        `stopped by --${outcome.stoppedBy} with ${outcome.tracker.lagLeft.toLocaleString('en-US')} offsets left for the next run`,
      );

    const discard = async (): Promise<void> => {
      await builder?.abort();
      builder = undefined;
    };
    if (sink.tally.counts.messages === 0) {
      deps.log.info(
        'nothing new: the offsets below the watermarks held no message (compaction or transaction markers)',
      );
      await discard();
      return result(ExitCode.NothingToDo, { ...summary, status: 'nothing_new' });
    }
    if (ratio > settings.maxRejectedRatio) {
      const failed = tooManyRejected(settings, deps, summary, tombstones);
      await discard();
      return failed;
    }
    if (summary.counts.rejected > 0)
      deps.log.warn(
        `${summary.counts.rejected - tombstones} messages quarantined (${pct(ratio)}) and ${tombstones} tombstones`,
      );
    if (!builder) {
      const partitionsToCommit = summary.partitions.filter((p) => p.commitOffset !== null).length;
      deps.log.info(
        `dry run: would have written a snapshot of ${countsLine(summary.counts)} and committed ${partitionsToCommit} partitions`,
      );
      return result(ExitCode.Ok, summary);
    }

    await publish(deps, builder, id, summary);
    await commit(settings, deps, sink.tally, id);
    summary.committed = true;
    summary.durationMs = Date.now() - t0;
    return result(ExitCode.Ok, summary);
  } catch (err) {
    // Removes an unpublished snapshot's temporary folder; harmless once the snapshot was renamed into place.
    if (builder) await builder.abort().catch(() => undefined);
    throw err;
  } finally {
    await deps.source.disconnect();
  }
}
