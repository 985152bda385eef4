import { EventfulError, ExitCode, UsageError } from '../cli/exit-codes.js';
import type { Logger } from '../cli/log.js';
import type { CommandResult } from '../cli/run-command.js';
import type { ExtractSettings } from '../config/extract-settings.js';
import { formatDurationMs } from '../config/duration.js';
import type { EventChecker } from '../kafka/decode.js';
import {
  DrainTracker,
  planDrain,
  type DrainPlan,
  type PartitionStart,
  type TopicPartition,
} from '../kafka/drain-plan.js';
import type { ConsumedBatch, EventSource, RawMessage } from '../kafka/event-source.js';
import { snapshotId, type EventLine, type RejectedLine } from '../snapshot/format.js';
import type { SnapshotStore } from '../snapshot/store.js';
import { ChunkedSnapshotBuilder, CountingSink, type SnapshotSink } from './chunked-snapshot-builder.js';
import type { DecodedBatch } from './decode-batch.js';
import { InlineDecoder, type BatchDecoder } from './decode-pool.js';
import {
  partitionSummaries,
  rejectedRatio,
  type ExtractSummary,
  type StopCause,
  type SummaryCounts,
} from './extract-summary.js';
import { ProgressReporter } from './progress.js';
import type { StopSignal } from './stop-signal.js';

/**
 * Points where a test may kill the process (`EVENTFUL_TEST_CRASH_AT`, see `src/cli/extract.ts`): after the first
 * batch was written, just before publishing, after the snapshot was renamed into place (not yet committed), and
 * after the commit.
 */
export type CrashPoint = 'mid-drain' | 'before-publish' | 'after-publish' | 'after-commit';

/** The schema registry as extract uses it. */
export interface ExtractSchemas extends EventChecker {
  hasTopic(topic: string): boolean;
}

/** What the extract core talks to. */
export interface ExtractDeps {
  source: EventSource;
  /** Where snapshots are written; undefined in a dry run. */
  store: SnapshotStore | undefined;
  schemas: ExtractSchemas;
  log: Logger;
  stop: StopSignal;
  now?: () => Date;
  /** A short random suffix that makes the snapshot id unique per attempt. */
  random: () => string;
  /** Called at each {@link CrashPoint} (tests kill the process there). */
  checkpoint?: (point: CrashPoint) => void;
  /** Decodes batches (decode threads; may still be starting); defaults to decoding on this thread. The caller closes it. */
  decoder?: BatchDecoder | Promise<BatchDecoder>;
  /** Batches being decoded at once before the oldest is written (default 2). */
  decodeDepth?: number;
  /** Progress output (defaults to a reporter on `log`). */
  progress?: (total: number) => ProgressReporter;
}

const MAX_REJECTED_SAMPLES = 10;

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function key(tp: TopicPartition): string {
  return `${tp.topic}[${tp.partition}]`;
}

/** Resolves which partitions to drain and checks that topics exist and have a schema (exit 2 otherwise). */
async function partitionsToDrain(settings: ExtractSettings, deps: ExtractDeps): Promise<TopicPartition[]> {
  const cluster = await deps.stop.race(deps.source.topicPartitions());
  const unknown = settings.topics.filter((t) => !cluster.has(t));
  if (unknown.length)
    throw new UsageError(
      `unknown topic${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `"${t}"`).join(', ')}: not on the cluster ` +
        `(extract never creates topics); check --topics / --partitions`,
    );
  const noSchema = settings.topics.filter((t) => !deps.schemas.hasTopic(t));
  if (noSchema.length)
    throw new UsageError(
      `no schema applies to topic${noSchema.length > 1 ? 's' : ''} ${noSchema.map((t) => `"${t}"`).join(', ')}: ` +
        `add a *.schema.json naming it in "x-warehouse".topics to the --schemas folder (${settings.schemasDir})`,
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

/** Reads the watermarks and committed offsets of the partitions and plans the drain. */
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

/**
 * The extract command's core: drains the partitions up to their start-time high watermarks into a snapshot,
 * publishes it (manifest last, atomic rename), and only then commits the group's offsets synchronously.
 * Exit 99 when there is nothing new; 1 when stopped, on too many rejects, or on any failure (nothing committed).
 */
export async function runExtract(settings: ExtractSettings, deps: ExtractDeps): Promise<CommandResult> {
  const now = deps.now ?? (() => new Date());
  const { source, log, stop } = deps;
  const startedAt = now();
  const t0 = Date.now();
  let builder: ChunkedSnapshotBuilder | undefined;
  try {
    await stop.race(source.connect());
    const partitions = await partitionsToDrain(settings, deps);
    const drain = await plan(settings, deps, partitions);

    const base: Omit<
      ExtractSummary,
      'status' | 'counts' | 'partitions' | 'lagLeft' | 'durationMs' | 'messagesPerSecond'
    > = {
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
    const emptyCounts: SummaryCounts = {
      messages: 0,
      events: 0,
      rejected: 0,
      rejectedByReason: {},
      eventsByTopic: {},
      tombstones: 0,
      beyondWatermark: 0,
    };

    if (drain.toRead.length === 0) {
      log.info(
        `nothing new: all ${drain.partitions.length} partitions are at their high watermark for group "${settings.groupId}"`,
      );
      const summary: ExtractSummary = {
        ...base,
        status: 'nothing_new',
        counts: emptyCounts,
        partitions: partitionSummaries(drain, [], () => undefined),
        lagLeft: 0,
        durationMs: Date.now() - t0,
        messagesPerSecond: 0,
      };
      return { exitCode: ExitCode.NothingToDo, summary: summary as unknown as Record<string, unknown> };
    }

    const id = snapshotId(startedAt, settings.runId, deps.random());
    const topicsRead = [...new Set(drain.toRead.map((p) => p.topic))];
    if (deps.store)
      builder = await ChunkedSnapshotBuilder.begin(
        deps.store,
        {
          snapshotId: id,
          runId: settings.runId,
          groupId: settings.groupId,
          startedAt,
          topics: [...settings.topics],
        },
        { compress: settings.compress },
      );
    const sink: SnapshotSink = builder ?? new CountingSink();
    const tally = sink.tally;
    log.info(
      `draining ${drain.pending.toLocaleString('en-US')} offsets from ${drain.toRead.length} of ${drain.partitions.length} ` +
        `partitions (${topicsRead.join(', ')}) up to the start-time high watermarks` +
        (settings.dryRun ? ' (dry run: nothing will be written or committed)' : ` into snapshot ${id}`),
    );

    source.assign(drain.toRead.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.start })));
    const tracker = new DrainTracker(drain.toRead);
    const progress =
      deps.progress?.(drain.pending) ?? new ProgressReporter(log, settings.progressIntervalMs, drain.pending);
    const samples: NonNullable<ExtractSummary['rejectedSamples']> = [];
    const sample = (line: Pick<RejectedLine, 'topic' | 'partition' | 'offset' | 'reason'>): void => {
      if (samples.length < MAX_REJECTED_SAMPLES && line.reason.code !== 'tombstone')
        samples.push({
          topic: line.topic,
          partition: line.partition,
          offset: line.offset,
          reason: line.reason.code,
          message: line.reason.message,
        });
    };

    let stoppedBy: StopCause = 'watermark';
    let beyondWatermark = 0;
    let taken = 0;
    let lastAdvance = Date.now();
    let firstBatchWritten = false;
    const decoder = await stop.race(Promise.resolve(deps.decoder ?? new InlineDecoder(deps.schemas, !settings.dryRun)));
    const inFlight: Array<{ messages: RawMessage[]; decoded: Promise<DecodedBatch> }> = [];
    /** Records a decoded batch in the tally and hands its lines to the sink, in submission order. */
    const applyOldest = async (): Promise<void> => {
      const job = inFlight.shift()!;
      const d = await job.decoded;
      let r = 0;
      for (let i = 0; i < job.messages.length; i++) {
        const m = job.messages[i]!;
        const high = tracker.highWatermark(m.topic, m.partition);
        // The tally reads only the coordinates (and a reject's code).
        if (d.isEvent[i] === 1) tally.event(m as unknown as EventLine, high);
        else {
          const reject = d.rejects[r++]!;
          const line = {
            topic: m.topic,
            partition: m.partition,
            offset: m.offset,
            reason: { code: reject.code, message: reject.message },
          };
          tally.rejected(line as RejectedLine, high);
          sample(line);
        }
      }
      sink.encoded(d.events, d.eventLines, d.rejected, d.rejectedLines);
      await sink.drained();
      if (builder && !firstBatchWritten && tally.counts.messages > 0) {
        firstBatchWritten = true;
        deps.checkpoint?.('mid-drain');
      }
    };
    // One consume call is always in flight: the client fetches the next batch (in its own thread) while this one
    // is decoded and written; and up to `maxInFlight` batches are being decoded (in decode threads) at once.
    // Consume calls stay sequential and batches are applied in order, so each partition stays in order.
    const maxInFlight = Math.max(1, deps.decodeDepth ?? 2);
    let next: Promise<ConsumedBatch> | undefined = source.consume(settings.batchSize);
    try {
      while (!tracker.done) {
        if (stop.reason !== undefined) break;
        if (settings.maxDurationMs !== undefined && Date.now() - t0 >= settings.maxDurationMs) {
          stoppedBy = 'max-duration';
          break;
        }
        const lagBefore = tracker.lagLeft;
        const batch: ConsumedBatch = await next!;
        next = undefined;
        next = source.consume(settings.batchSize);
        const take: RawMessage[] = [];
        let full = false;
        for (const m of batch.messages) {
          if (settings.maxMessages !== undefined && taken >= settings.maxMessages) {
            full = true;
            break;
          }
          if (tracker.offer(m.topic, m.partition, m.offset)) {
            take.push(m);
            taken += 1;
          } else beyondWatermark += 1;
        }
        if (take.length) {
          const decoded = decoder.decode(take);
          // Observed when applied; until then a failure must not count as an unhandled rejection (which ends
          // the process with a bare stack trace and no summary).
          decoded.catch(() => undefined);
          inFlight.push({ messages: take, decoded });
        }
        while (inFlight.length > (full ? 0 : maxInFlight)) await applyOldest();
        if (full) {
          stoppedBy = 'max-messages';
          break;
        }
        // End-of-partition events follow the partition's messages in a batch: apply them after the messages.
        for (const e of batch.endOfPartition) tracker.endOfPartition(e.topic, e.partition, e.offset);
        source.pause(tracker.takeNewlyDone());
        if (tracker.lagLeft < lagBefore || tracker.done) lastAdvance = Date.now();
        else if (Date.now() - lastAdvance >= settings.stallTimeoutMs)
          throw new EventfulError(
            `no progress for ${formatDurationMs(Date.now() - lastAdvance)} with ${tracker.lagLeft.toLocaleString('en-US')} ` +
              `offsets still below the start-time watermarks (broker gone, or an open transaction?): giving up without ` +
              `committing; raise --stall-timeout if this is expected`,
            ExitCode.Failure,
            'stalled',
          );
        progress.update({ messages: taken, rejected: tally.counts.rejected, lagLeft: tracker.lagLeft });
      }
      if (stop.reason === undefined) while (inFlight.length) await applyOldest();
    } finally {
      // Let the calls in flight finish before committing or disconnecting; what they read is not used.
      await next?.catch(() => undefined);
      await Promise.all(inFlight.map((j) => j.decoded.catch(() => undefined)));
    }
    if (settings.maxMessages !== undefined && taken >= settings.maxMessages && !tracker.done)
      stoppedBy = 'max-messages';
    progress.update({ messages: taken, rejected: tally.counts.rejected, lagLeft: tracker.lagLeft }, true);
    progress.close();
    stop.check();

    const { tombstones, ratio } = rejectedRatio(tally.counts);
    const counts: SummaryCounts = { ...tally.counts, tombstones, beyondWatermark };
    const durationMs = Date.now() - t0;
    const summary: ExtractSummary = {
      ...base,
      status: 'ok',
      stoppedBy,
      counts,
      rejectedRatio: ratio,
      partitions: partitionSummaries(drain, tally.partitions(), (t, p) => tracker.nextOffset(t, p)),
      lagLeft: tracker.lagLeft,
      durationMs,
      messagesPerSecond: durationMs > 0 ? Math.round((tally.counts.messages * 1000) / durationMs) : 0,
    };
    if (samples.length) summary.rejectedSamples = samples;
    if (stoppedBy !== 'watermark')
      log.info(
        `stopped by --${stoppedBy} with ${tracker.lagLeft.toLocaleString('en-US')} offsets left for the next run`,
      );
    const countsLine =
      `${counts.messages} messages: ${counts.events} events, ${counts.rejected} rejected` +
      (counts.rejected
        ? ` (${Object.entries(counts.rejectedByReason)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : '');

    if (tally.counts.messages === 0) {
      log.info('nothing new: the offsets below the watermarks held no message (compaction or transaction markers)');
      await builder?.abort();
      builder = undefined;
      return {
        exitCode: ExitCode.NothingToDo,
        summary: { ...summary, status: 'nothing_new' } as unknown as Record<string, unknown>,
      };
    }

    if (ratio > settings.maxRejectedRatio) {
      const message =
        `too many rejected messages: ${counts.rejected - tombstones} of ${counts.messages - tombstones} (${pct(ratio)}, ` +
        `tombstones aside) exceed --max-rejected-ratio ${settings.maxRejectedRatio}; the snapshot was discarded and no ` +
        `offset was committed. See rejectedSamples in the summary (or run with --dry-run) for what was refused; fix the ` +
        `producer or the schema, or raise --max-rejected-ratio to let them through to the quarantine file`;
      log.error(message);
      for (const s of samples)
        log.error(`  rejected ${s.topic}[${s.partition}]@${s.offset}: ${s.reason}: ${s.message}`);
      await builder?.abort();
      builder = undefined;
      const failed: ExtractSummary = { ...summary, status: 'failed', error: { code: 'too_many_rejected', message } };
      return { exitCode: ExitCode.Failure, summary: failed as unknown as Record<string, unknown> };
    }
    if (counts.rejected > 0)
      log.warn(`${counts.rejected - tombstones} messages quarantined (${pct(ratio)}) and ${tombstones} tombstones`);

    if (!builder) {
      log.info(
        `dry run: would have written a snapshot of ${countsLine} and committed ${summary.partitions.filter((p) => p.commitOffset !== null).length} partitions`,
      );
      return { exitCode: ExitCode.Ok, summary: summary as unknown as Record<string, unknown> };
    }

    deps.checkpoint?.('before-publish');
    stop.check();
    // From here on the run finishes (publishing and committing take moments); a signal no longer aborts it.
    stop.finish();
    await builder.publish(now());
    const snapshotPath = `${deps.store!.location.replace(/\/+$/, '')}/${id}`;
    summary.snapshot = { id, path: snapshotPath };
    log.info(`published snapshot ${snapshotPath} (${countsLine})`);
    deps.checkpoint?.('after-publish');

    const offsets = tally.offsetsToCommit();
    await source.commit(offsets);
    const after = await source.committed(offsets);
    const behind = after.filter((c) => {
      const want = offsets.find((o) => o.topic === c.topic && o.partition === c.partition)!.offset;
      return c.offset === null || c.offset < want;
    });
    if (behind.length)
      throw new EventfulError(
        `snapshot ${id} is published, but the commit of ${behind.map(key).join(', ')} did not take: the next run will ` +
          `read those events again (load skips what it already has)`,
        ExitCode.Failure,
        'commit_not_applied',
      );
    summary.committed = true;
    log.info(`committed offsets of ${offsets.length} partitions for group "${settings.groupId}"`);
    deps.checkpoint?.('after-commit');
    summary.durationMs = Date.now() - t0;
    return { exitCode: ExitCode.Ok, summary: summary as unknown as Record<string, unknown> };
  } catch (err) {
    // Removes an unpublished snapshot's temporary folder; harmless once the snapshot was renamed into place.
    if (builder) await builder.abort().catch(() => undefined);
    throw err;
  } finally {
    await source.disconnect();
  }
}
