import type { EventLine, PartitionRange, RejectedLine, SnapshotCounts } from './format.js';

/** Bookkeeping of the offset ranges and counts of a snapshot being written. Pure: no I/O. */
export class SnapshotTally {
  private readonly ranges = new Map<string, PartitionRange>();
  readonly counts: SnapshotCounts = { messages: 0, events: 0, rejected: 0, rejectedByReason: {}, eventsByTopic: {} };

  /** Records one message's coordinates; `highWatermark` is the one read at the start of the run. */
  private see(topic: string, partition: number, offset: number, highWatermark: number): void {
    this.seeRun(topic, partition, [offset], 0, 1, highWatermark);
  }

  /**
   * Records the coordinates of messages `from` to `to - 1` of one partition, read in this order, whose offsets
   * are `offsets[from..to)` (as many messages as calls of `event` or `rejected`, which also count them).
   */
  seeRun(
    topic: string,
    partition: number,
    offsets: ArrayLike<number>,
    from: number,
    to: number,
    highWatermark: number,
  ): void {
    if (to <= from) return;
    const k = `${topic}\u0000${partition}`;
    let r = this.ranges.get(k);
    let last = r === undefined ? -Infinity : r.lastOffset;
    for (let i = from; i < to; i++) {
      const offset = offsets[i]!;
      if (offset <= last)
        throw new Error(`offset ${offset} of ${topic}[${partition}] is not after ${last}: messages out of order`);
      last = offset;
    }
    if (!r) {
      r = { topic, partition, firstOffset: offsets[from]!, lastOffset: last, messages: 0, highWatermark };
      this.ranges.set(k, r);
    }
    r.lastOffset = last;
    r.messages += to - from;
    this.counts.messages += to - from;
  }

  /** Counts `n` events of `topic` whose coordinates `seeRun` recorded. */
  countEvents(topic: string, n: number): void {
    if (n === 0) return;
    this.counts.events += n;
    this.counts.eventsByTopic[topic] = (this.counts.eventsByTopic[topic] ?? 0) + n;
  }

  /** Counts one quarantined message whose coordinates `seeRun` recorded. */
  countRejected(code: RejectedLine['reason']['code']): void {
    this.counts.rejected += 1;
    this.counts.rejectedByReason[code] = (this.counts.rejectedByReason[code] ?? 0) + 1;
  }

  event(line: EventLine, highWatermark: number): void {
    this.see(line.topic, line.partition, line.offset, highWatermark);
    this.countEvents(line.topic, 1);
  }

  rejected(line: RejectedLine, highWatermark: number): void {
    this.see(line.topic, line.partition, line.offset, highWatermark);
    this.countRejected(line.reason.code);
  }

  /** Partition ranges, sorted by topic then partition. */
  partitions(): PartitionRange[] {
    return [...this.ranges.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** The offsets to commit after publishing: `lastOffset + 1` per partition read. */
  offsetsToCommit(): Array<{ topic: string; partition: number; offset: number }> {
    return this.partitions().map((r) => ({ topic: r.topic, partition: r.partition, offset: r.lastOffset + 1 }));
  }
}
