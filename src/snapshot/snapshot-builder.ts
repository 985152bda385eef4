import {
  EVENTS_FILE,
  REJECTED_FILE,
  storedFileName,
  type EventLine,
  type Manifest,
  type PartitionRange,
  type RejectedLine,
  type SnapshotCounts,
} from './format.js';
import { LineFileWriter } from './line-file.js';
import { publishManifest } from './manifest.js';
import type { SnapshotStore, SnapshotWriter } from './store.js';

/** Who wrote a snapshot and when. */
export interface SnapshotMeta {
  snapshotId: string;
  runId: string;
  groupId: string;
  startedAt: Date;
  topics: string[];
}

/** How a snapshot's data files are written. */
export interface SnapshotBuilderOptions {
  /**
   * Compress the data files (`events.ndjson.gz`, `rejected.ndjson.gz`); recorded per file in the manifest, whose
   * sizes and sha256 are then those of the compressed bytes. Absent: plain NDJSON.
   */
  compress?: 'gzip' | undefined;
}

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

/**
 * Writes one snapshot through a {@link SnapshotStore}: events and rejected lines streamed to their files,
 * then `publish()` closes them and writes the manifest last. Call `abort()` on any failure.
 */
export class SnapshotBuilder {
  readonly tally = new SnapshotTally();

  private constructor(
    private readonly meta: SnapshotMeta,
    private readonly writer: SnapshotWriter,
    private readonly events: LineFileWriter,
    private readonly rejects: LineFileWriter,
  ) {}

  static async begin(
    store: SnapshotStore,
    meta: SnapshotMeta,
    options: SnapshotBuilderOptions = {},
  ): Promise<SnapshotBuilder> {
    const writer = await store.beginWrite(meta.snapshotId);
    const file = (base: string): LineFileWriter => {
      const name = storedFileName(base, options.compress);
      return new LineFileWriter(name, writer.openFile(name), { compression: options.compress });
    };
    try {
      return new SnapshotBuilder(meta, writer, file(EVENTS_FILE), file(REJECTED_FILE));
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  async addEvent(line: EventLine, highWatermark: number): Promise<void> {
    this.tally.event(line, highWatermark);
    await this.events.write(line);
  }

  async addRejected(line: RejectedLine, highWatermark: number): Promise<void> {
    this.tally.rejected(line, highWatermark);
    await this.rejects.write(line);
  }

  /** Closes the data files, writes the manifest last and makes the snapshot complete. Returns the manifest. */
  async publish(now: Date = new Date()): Promise<Manifest> {
    const files = [await this.events.close(), await this.rejects.close()];
    return publishManifest(this.writer, this.meta, this.tally, files, now);
  }

  async abort(): Promise<void> {
    await this.writer.abort();
  }
}
