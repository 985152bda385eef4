import { EventfulError, ExitCode } from '../basics/errors.js';
import type { ExtractSettings } from '../config/extract-settings.js';
import { formatDurationMs } from '../config/duration.js';
import { DrainTracker, type DrainPlan } from '../kafka/drain-plan.js';
import type { ConsumedBatch, EventSource } from '../kafka/event-source.js';
import type { RejectedLine } from '../snapshot/format.js';
import type { SnapshotSink } from './chunked-snapshot-builder.js';
import { BatchPacker, type DecodedBatch, type PackedBatch } from './decode-batch.js';
import type { BatchDecoder } from './decode-pool.js';
import type { ExtractSummary, StopCause } from './extract-summary.js';
import type { ProgressReporter } from './progress.js';
import type { StopSignal } from './stop-signal.js';

const MAX_REJECTED_SAMPLES = 10;

/** A few quarantined messages, as the summary shows them. */
export type RejectedSamples = NonNullable<ExtractSummary['rejectedSamples']>;

/** What the drain phase talks to. */
export interface DrainDeps {
  source: EventSource;
  stop: StopSignal;
  /** Awaited before the first batch (the client fetches meanwhile: the partitions are assigned). */
  decoder: BatchDecoder | Promise<BatchDecoder>;
  /** Batches being decoded at once before the oldest is written (at least 1). */
  decodeDepth: number;
  progress: ProgressReporter;
  /** Called once, after the first batch that held messages was handed to the sink. */
  onFirstBatchWritten: () => void;
}

/** How a drain went: where each partition got to, why it stopped, and what it counted beyond the sink's tally. */
export interface DrainOutcome {
  tracker: DrainTracker;
  stoppedBy: StopCause;
  /** Messages taken (written or quarantined). */
  taken: number;
  /** Messages at or beyond the start-time watermark that the client had already fetched. */
  beyondWatermark: number;
  samples: RejectedSamples;
}

/**
 * Batches handed to the decoder and not yet applied. Applying the oldest records its messages in the sink's
 * tally and hands its lines to the sink; batches are applied in the order they were read, so each partition
 * stays in order. Only a batch's packed coordinates are kept meanwhile: the client's message objects are let
 * go as soon as they are packed (kept longer, they would outlive young-generation collections).
 */
class DecodeQueue {
  private readonly inFlight: Array<{ batch: PackedBatch; decoded: Promise<DecodedBatch> }> = [];
  /** Values buffers of applied batches, to pack new batches into (at most one per batch in flight, plus one). */
  private readonly spent: ArrayBuffer[] = [];
  private firstBatchWritten = false;

  constructor(
    private readonly decoder: BatchDecoder,
    private readonly sink: SnapshotSink,
    private readonly tracker: DrainTracker,
    private readonly samples: RejectedSamples,
    private readonly onFirstBatchWritten: () => void,
  ) {}

  /** A packer for up to `capacity` messages, packing into a spent buffer when there is one. */
  packer(capacity: number): BatchPacker {
    return new BatchPacker(capacity, this.spent.pop());
  }

  submit(packer: BatchPacker): void {
    const job = packer.finish();
    const decoded = this.decoder.decode(job);
    // Observed when applied; until then a failure must not count as an unhandled rejection (which ends the
    // process with a bare stack trace and no summary).
    decoded.catch(() => undefined);
    this.inFlight.push({ batch: job.batch, decoded });
  }

  /** Applies the oldest batches until at most `depth` are left. */
  async applyUntil(depth: number): Promise<void> {
    while (this.inFlight.length > depth) await this.applyOldest();
  }

  /** Waits for every batch still being decoded (their results are not used). */
  async settle(): Promise<void> {
    await Promise.all(this.inFlight.map((j) => j.decoded.catch(() => undefined)));
  }

  private async applyOldest(): Promise<void> {
    const job = this.inFlight.shift()!;
    const d = await job.decoded;
    this.record(job.batch, d);
    if (d.spentValues && this.spent.length <= this.inFlight.length) this.spent.push(d.spentValues);
    this.sink.encoded(d.events, d.eventLines, d.rejected, d.rejectedLines);
    await this.sink.drained();
    if (!this.firstBatchWritten && this.sink.tally.counts.messages > 0) {
      this.firstBatchWritten = true;
      this.onFirstBatchWritten();
    }
  }

  /** Records a decoded batch in the tally: each run of messages of one partition at once, then each reject. */
  private record(b: PackedBatch, d: DecodedBatch): void {
    const { tally } = this.sink;
    const { topics, topicIndex, partitions, offsets, count } = b;
    let from = 0;
    let events = 0;
    for (let i = 0; i < count; i++) {
      events += d.isEvent[i]!;
      const next = i + 1;
      if (next < count && topicIndex[next] === topicIndex[from] && partitions[next] === partitions[from]) continue;
      const topic = topics[topicIndex[from]!]!;
      const partition = partitions[from]!;
      tally.seeRun(topic, partition, offsets, from, next, this.tracker.highWatermark(topic, partition));
      tally.countEvents(topic, events);
      from = next;
      events = 0;
    }
    for (const reject of d.rejects) {
      const i = reject.index;
      tally.countRejected(reject.code);
      this.sample({
        topic: topics[topicIndex[i]!]!,
        partition: partitions[i]!,
        offset: offsets[i]!,
        reason: { code: reject.code, message: reject.message },
      });
    }
  }

  private sample(line: Pick<RejectedLine, 'topic' | 'partition' | 'offset' | 'reason'>): void {
    if (this.samples.length < MAX_REJECTED_SAMPLES && line.reason.code !== 'tombstone')
      this.samples.push({
        topic: line.topic,
        partition: line.partition,
        offset: line.offset,
        reason: line.reason.code,
        message: line.reason.message,
      });
  }
}

/**
 * The messages of a batch below the start-time watermarks, up to `--max-messages`, packed for decoding; counts the
 * rest in `outcome`.
 */
function takeBatch(
  batch: ConsumedBatch,
  settings: ExtractSettings,
  outcome: DrainOutcome,
  take: BatchPacker,
): { take: BatchPacker; full: boolean } {
  for (const m of batch.messages) {
    if (settings.maxMessages !== undefined && outcome.taken >= settings.maxMessages) return { take, full: true };
    const { topic, partition, offset } = m;
    if (outcome.tracker.offer(topic, partition, offset)) {
      take.add(m, topic, partition, offset);
      outcome.taken += 1;
    } else outcome.beyondWatermark += 1;
  }
  return { take, full: false };
}

function stalled(lastAdvance: number, lagLeft: number): EventfulError {
  return new EventfulError(
    `no progress for ${formatDurationMs(Date.now() - lastAdvance)} with ${lagLeft.toLocaleString('en-US')} ` +
      `offsets still below the start-time watermarks (broker gone, or an open transaction?): giving up without ` +
      `committing; raise --stall-timeout if this is expected`,
    ExitCode.Failure,
    'stalled',
  );
}

/**
 * The drain phase: reads the planned partitions (which the caller has assigned at their start offsets) up to the start-time high watermarks
 * (or a stop, `--max-messages`, `--max-duration`), decodes each batch and hands its lines to `sink`. One consume
 * call is always in flight (the client fetches the next batch in its own thread while this one is decoded and
 * written), and up to `decodeDepth` batches are being decoded at once. Throws when the drain stalls.
 */
export async function drainPartitions(
  settings: ExtractSettings,
  deps: DrainDeps,
  plan: DrainPlan,
  sink: SnapshotSink,
  t0: number,
): Promise<DrainOutcome> {
  const { source, stop, progress } = deps;
  const tracker = new DrainTracker(plan.toRead);
  const outcome: DrainOutcome = { tracker, stoppedBy: 'watermark', taken: 0, beyondWatermark: 0, samples: [] };
  const decoder = await stop.race(Promise.resolve(deps.decoder));
  const queue = new DecodeQueue(decoder, sink, tracker, outcome.samples, deps.onFirstBatchWritten);
  const depth = Math.max(1, deps.decodeDepth);
  let lastAdvance = Date.now();
  let next: Promise<ConsumedBatch> | undefined = source.consume(settings.batchSize);
  try {
    while (!tracker.done) {
      if (stop.reason !== undefined) break;
      if (settings.maxDurationMs !== undefined && Date.now() - t0 >= settings.maxDurationMs) {
        outcome.stoppedBy = 'max-duration';
        break;
      }
      const lagBefore = tracker.lagLeft;
      const batch: ConsumedBatch = await next!;
      next = undefined;
      next = source.consume(settings.batchSize);
      const { take, full } = takeBatch(batch, settings, outcome, queue.packer(batch.messages.length));
      if (take.size) queue.submit(take);
      await queue.applyUntil(full ? 0 : depth);
      if (full) {
        outcome.stoppedBy = 'max-messages';
        break;
      }
      // End-of-partition events follow the partition's messages in a batch: apply them after the messages.
      for (const e of batch.endOfPartition) tracker.endOfPartition(e.topic, e.partition, e.offset);
      source.pause(tracker.takeNewlyDone());
      if (tracker.lagLeft < lagBefore || tracker.done) lastAdvance = Date.now();
      else if (Date.now() - lastAdvance >= settings.stallTimeoutMs) throw stalled(lastAdvance, tracker.lagLeft);
      progress.update({ messages: outcome.taken, rejected: sink.tally.counts.rejected, lagLeft: tracker.lagLeft });
    }
    if (stop.reason === undefined) await queue.applyUntil(0);
  } finally {
    // Let the calls in flight finish before committing or disconnecting; what they read is not used.
    await next?.catch(() => undefined);
    await queue.settle();
  }
  if (settings.maxMessages !== undefined && outcome.taken >= settings.maxMessages && !tracker.done)
    outcome.stoppedBy = 'max-messages';
  return outcome;
}
