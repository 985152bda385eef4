import type { PartitionRange, RejectCode, SnapshotCounts } from '../snapshot/format.js';
import type { DrainPlan, OffsetReset, RetentionGap } from '../kafka/drain-plan.js';

/** Why a drain stopped reading. */
export type StopCause = 'watermark' | 'max-messages' | 'max-duration';

/** One partition in the summary: where it started, what was read, and the offset committed after the snapshot. */
export interface PartitionSummary {
  topic: string;
  partition: number;
  /** The group's committed offset at the start (null: none). */
  committedBefore: number | null;
  /** Log start offset and high watermark at the start of the run. */
  lowWatermark: number;
  highWatermark: number;
  /** First and last offsets read into the snapshot (null when none were read). */
  firstOffset: number | null;
  lastOffset: number | null;
  messages: number;
  /** The offset committed (or, in a dry run or a failed run, that would have been): last read + 1. */
  commitOffset: number | null;
  /** Offsets left below the start-time high watermark (non-zero when a bound stopped the run). */
  lagLeft: number;
}

/** Counts of a drain, from the snapshot's counts plus tombstones and messages dropped beyond the watermark. */
export interface SummaryCounts extends SnapshotCounts {
  tombstones: number;
  /** Messages at or beyond the start-time watermark that the client had already fetched: not written, not committed. */
  beyondWatermark: number;
}

/** extract's JSON summary: the last line on stdout (Airflow pushes it to XCom). */
export interface ExtractSummary {
  command: 'extract';
  status: 'ok' | 'nothing_new' | 'failed';
  dryRun: boolean;
  runId: string;
  groupId: string;
  topics: string[];
  /** The snapshot written (null when none was: nothing new, dry run, failure). */
  snapshot: { id: string; path: string } | null;
  /** Whether offsets were committed. */
  committed: boolean;
  stoppedBy: StopCause | null;
  counts: SummaryCounts;
  /** Quarantined messages (tombstones aside) over messages read (tombstones aside). */
  rejectedRatio: number;
  maxRejectedRatio: number;
  partitions: PartitionSummary[];
  retentionGaps: RetentionGap[];
  offsetResets: OffsetReset[];
  lagLeft: number;
  startedAt: string;
  durationMs: number;
  messagesPerSecond: number;
  /** A few quarantined messages (coordinates and reason), to see at once what went wrong. */
  rejectedSamples?: Array<{ topic: string; partition: number; offset: number; reason: RejectCode; message: string }>;
  error?: { code: string; message: string };
}

/** Tombstones and rejected counts without them: the basis of the rejected ratio. */
export function rejectedRatio(counts: SnapshotCounts): { tombstones: number; ratio: number } {
  const tombstones = counts.rejectedByReason.tombstone ?? 0;
  const considered = counts.messages - tombstones;
  const rejected = counts.rejected - tombstones;
  return { tombstones, ratio: considered > 0 ? rejected / considered : 0 };
}

/** Per-partition lines of the summary, from the plan, the ranges read and where each partition got to. */
export function partitionSummaries(
  plan: DrainPlan,
  ranges: readonly PartitionRange[],
  nextOffset: (topic: string, partition: number) => number | undefined,
): PartitionSummary[] {
  const byKey = new Map(ranges.map((r) => [`${r.topic}\u0000${r.partition}`, r]));
  return plan.partitions.map((p) => {
    const r = byKey.get(`${p.topic}\u0000${p.partition}`);
    const next = nextOffset(p.topic, p.partition) ?? p.start;
    return {
      topic: p.topic,
      partition: p.partition,
      committedBefore: p.committed,
      lowWatermark: p.low,
      highWatermark: p.high,
      firstOffset: r?.firstOffset ?? null,
      lastOffset: r?.lastOffset ?? null,
      messages: r?.messages ?? 0,
      commitOffset: r ? r.lastOffset + 1 : null,
      lagLeft: Math.max(0, p.high - next),
    };
  });
}
