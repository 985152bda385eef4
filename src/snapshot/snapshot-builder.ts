import {
  EVENTS_FILE,
  REJECTED_FILE,
  storedFileName,
  type EventLine,
  type Manifest,
  type RejectedLine,
  type SnapshotMeta,
} from './format.js';
import { LineFileWriter } from './line-file.js';
import { publishManifest } from './manifest.js';
import { SnapshotTally } from './snapshot-tally.js';
import type { SnapshotStore, SnapshotWriter } from './store.js';

/** How a snapshot's data files are written. */
export interface SnapshotBuilderOptions {
  /**
   * Compress the data files (`events.ndjson.gz`, `rejected.ndjson.gz`); recorded per file in the manifest, whose
   * sizes and sha256 are then those of the compressed bytes. Absent: plain NDJSON.
   */
  compress?: 'gzip' | undefined;
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
