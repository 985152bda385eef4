/**
 * The drain's bookkeeping, pure: where each partition starts, which partitions have anything to read, and when
 * a partition is done. A drain reads each partition up to the high watermark read at the start of the run, so
 * a snapshot is the topic as of that moment: a busy producer cannot make a run last forever, and a slow broker
 * cannot end it early (nothing here looks at poll timeouts).
 */

/** A topic partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A partition's state when the run starts: its watermarks and the group's committed offset. */
export interface PartitionStart extends TopicPartition {
  /** Log start offset (oldest offset still kept). */
  low: number;
  /** High watermark: the offset the next message will get. */
  high: number;
  /** The group's committed offset: the next offset it wants; null when the group never committed one. */
  committed: number | null;
}

/** Events that expired (retention) before any snapshot read them: offsets `committed .. logStart - 1`. */
export interface RetentionGap extends TopicPartition {
  committed: number;
  logStart: number;
  /** How many offsets were lost. */
  lost: number;
}

/** A committed offset beyond the high watermark (topic recreated or truncated): the drain starts over from the log start. */
export interface OffsetReset extends TopicPartition {
  committed: number;
  high: number;
  restartAt: number;
}

/** Where one partition's drain starts and ends. */
export interface PartitionPlan extends PartitionStart {
  /** First offset to read. */
  start: number;
  /** Offsets between `start` and `high`: an upper bound of the messages to read (compaction and markers leave holes). */
  pending: number;
  gap?: RetentionGap;
  reset?: OffsetReset;
}

/** The plan of a whole drain. */
export interface DrainPlan {
  /** Every partition considered, sorted by topic then partition. */
  partitions: PartitionPlan[];
  /** The partitions with anything to read. Empty means nothing new: the run ends with exit 99. */
  toRead: PartitionPlan[];
  gaps: RetentionGap[];
  resets: OffsetReset[];
  /** Sum of `pending` over all partitions. */
  pending: number;
}

/** Plans one partition. */
export function planPartition(p: PartitionStart): PartitionPlan {
  const { topic, partition, low, high } = p;
  const committed = p.committed !== null && p.committed >= 0 ? p.committed : null;
  let start: number;
  let gap: RetentionGap | undefined;
  let reset: OffsetReset | undefined;
  if (committed === null) start = low;
  else if (committed > high) {
    start = low;
    reset = { topic, partition, committed, high, restartAt: low };
  } else if (committed < low) {
    start = low;
    gap = { topic, partition, committed, logStart: low, lost: low - committed };
  } else start = committed;
  const plan: PartitionPlan = { topic, partition, low, high, committed, start, pending: Math.max(0, high - start) };
  if (gap) plan.gap = gap;
  if (reset) plan.reset = reset;
  return plan;
}

/** Plans a drain over the given partitions. */
export function planDrain(starts: readonly PartitionStart[]): DrainPlan {
  const partitions = starts
    .map(planPartition)
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return {
    partitions,
    toRead: partitions.filter((p) => p.pending > 0),
    gaps: partitions.flatMap((p) => (p.gap ? [p.gap] : [])),
    resets: partitions.flatMap((p) => (p.reset ? [p.reset] : [])),
    pending: partitions.reduce((n, p) => n + p.pending, 0),
  };
}

interface PartitionProgress {
  plan: PartitionPlan;
  /** The next offset expected. */
  next: number;
  done: boolean;
}

/**
 * Follows a drain message by message: a partition is done once its next offset reaches the high watermark read
 * at the start (a message there or beyond it, or an end-of-partition event at or beyond it, says so).
 */
export class DrainTracker {
  private readonly byTopic = new Map<string, Map<number, PartitionProgress>>();
  /** The partition of the last `offer`: messages come in runs of one partition, so most lookups end here. */
  private last: PartitionProgress | undefined;
  private readonly newlyDone: TopicPartition[] = [];
  private open: number;
  private left: number;

  constructor(plans: readonly PartitionPlan[]) {
    for (const plan of plans) {
      let m = this.byTopic.get(plan.topic);
      if (!m) this.byTopic.set(plan.topic, (m = new Map()));
      m.set(plan.partition, { plan, next: plan.start, done: plan.start >= plan.high });
    }
    const all = [...this.byTopic.values()].flatMap((m) => [...m.values()]);
    this.open = all.filter((p) => !p.done).length;
    this.left = all.reduce((n, p) => n + Math.max(0, p.plan.high - p.next), 0);
  }

  private finish(p: PartitionProgress): void {
    if (p.done) return;
    p.done = true;
    this.open -= 1;
    this.left -= Math.max(0, p.plan.high - p.next);
    this.newlyDone.push({ topic: p.plan.topic, partition: p.plan.partition });
  }

  /**
   * Decides about one consumed message and advances its partition: true to take it (write and count it);
   * false to drop it, being at or beyond the start-time watermark (or already taken), so it is neither written
   * nor committed.
   */
  offer(topic: string, partition: number, offset: number): boolean {
    let p = this.last;
    if (p === undefined || p.plan.partition !== partition || p.plan.topic !== topic)
      this.last = p = this.byTopic.get(topic)?.get(partition);
    if (!p || p.done || offset < p.next) return false;
    if (offset >= p.plan.high) {
      this.finish(p);
      return false;
    }
    this.left -= offset + 1 - p.next;
    p.next = offset + 1;
    if (p.next >= p.plan.high) this.finish(p);
    return true;
  }

  /** An end-of-partition event: `offset` is the partition's end when the consumer reached it. */
  endOfPartition(topic: string, partition: number, offset: number): void {
    const p = this.byTopic.get(topic)?.get(partition);
    if (p && offset >= p.plan.high) this.finish(p);
  }

  /** Whether every partition has reached its start-time watermark. */
  get done(): boolean {
    return this.open === 0;
  }

  /** Offsets still to read up to the start-time watermarks (the remaining lag of this drain). */
  get lagLeft(): number {
    return this.left;
  }

  /** Partitions that became done since the last call (to pause them, so nothing beyond the watermark is fetched). */
  takeNewlyDone(): TopicPartition[] {
    return this.newlyDone.splice(0);
  }

  /** The high watermark a partition had at the start of the run (-1 for a partition not in the drain). */
  highWatermark(topic: string, partition: number): number {
    return this.byTopic.get(topic)?.get(partition)?.plan.high ?? -1;
  }

  /** The next offset of a partition (after the last one taken). */
  nextOffset(topic: string, partition: number): number | undefined {
    return this.byTopic.get(topic)?.get(partition)?.next;
  }
}
