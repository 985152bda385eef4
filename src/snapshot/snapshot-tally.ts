import type { EventLine, PartitionRange, RejectedLine, SnapshotCounts } from './format.js';

/** Bookkeeping of the offset ranges and counts of a snapshot being written. Pure: no I/O. */
export class SnapshotTally {
  private readonly ranges = new Map<string, PartitionRange>();
  readonly counts: SnapshotCounts = { messages: 0, events: 0, rejected: 0, rejectedByReason: {}, eventsByTopic: {} };

  /** Records one message's coordinates; `highWatermark` is the one read at the start of the run. */
  private see(topic: string, partition: number, offset: number, highWatermark: number): void {
    const k = `${topic}\u0000${partition}`;
    const r = this.ranges.get(k);
    if (!r)
      this.ranges.set(k, { topic, partition, firstOffset: offset, lastOffset: offset, messages: 1, highWatermark });
    else {
      if (offset <= r.lastOffset)
        throw new Error(
          `offset ${offset} of ${topic}[${partition}] is not after ${r.lastOffset}: messages out of order`,
        );
      r.lastOffset = offset;
      r.messages += 1;
    }
    this.counts.messages += 1;
  }

  event(line: EventLine, highWatermark: number): void {
    this.see(line.topic, line.partition, line.offset, highWatermark);
    this.counts.events += 1;
    this.counts.eventsByTopic[line.topic] = (this.counts.eventsByTopic[line.topic] ?? 0) + 1;
  }

  rejected(line: RejectedLine, highWatermark: number): void {
    this.see(line.topic, line.partition, line.offset, highWatermark);
    this.counts.rejected += 1;
    const c = line.reason.code;
    this.counts.rejectedByReason[c] = (this.counts.rejectedByReason[c] ?? 0) + 1;
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
