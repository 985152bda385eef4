import type { Writable } from 'node:stream';
import { closeLineFile, GzipMeter, waitDrain } from '../snapshot/line-file.js';
import { publishManifest } from '../snapshot/manifest.js';
import {
  EVENTS_FILE,
  REJECTED_FILE,
  storedFileName,
  type EventLine,
  type Manifest,
  type ManifestFile,
  type RejectedLine,
} from '../snapshot/format.js';
import type { SnapshotMeta } from '../snapshot/format.js';
import type { SnapshotBuilderOptions } from '../snapshot/snapshot-builder.js';
import { SnapshotTally } from '../snapshot/snapshot-tally.js';
import { localHash, type RunningHash } from './running-hash.js';
import type { SnapshotStore, SnapshotWriter } from '../snapshot/store.js';

/**
 * extract's snapshot writer: the same files and manifest as `SnapshotBuilder` (same tally, same manifest fields,
 * same store seam: data files first, manifest last, atomic publish), tuned for a drain of millions of events:
 * - an event line is spliced from its coordinates and the value's original JSON text (already parsed and
 *   validated) instead of serialising the parsed value again, which also keeps the producer's exact digits;
 * - lines are gathered into chunks of {@link CHUNK_CHARS} and hashed and written a chunk at a time, with one
 *   backpressure check per consumed batch instead of one await per line.
 * On a 2-core machine this roughly halves the per-event cost of writing (see bench/extract.sh).
 */

/** Lines are written to the file once this many characters have gathered. */
const CHUNK_CHARS = 256 * 1024;

/** The start of an event line of `topic`, up to its partition: `{"topic":...,"partition":`. */
export function eventLineHead(topic: string): string {
  return `{"topic":${JSON.stringify(topic)},"partition":`;
}

/**
 * An event line up to its value: `{"topic":...,"value":`. See {@link eventLineText}. `head` is
 * `eventLineHead(line.topic)`, which a caller writing many lines of one topic makes once.
 */
export function eventLinePrefix(line: Omit<EventLine, 'value'>, head = eventLineHead(line.topic)): string {
  return (
    `${head}${line.partition},"offset":${line.offset},` +
    `"timestamp":${line.timestamp === null ? 'null' : line.timestamp},"key":${line.key === null ? 'null' : JSON.stringify(line.key)},` +
    (line.key_base64 === undefined ? '' : `"key_base64":${JSON.stringify(line.key_base64)},`) +
    `"headers":${line.headers.length === 0 ? '[]' : JSON.stringify(line.headers)},"value":`
  );
}

/** What follows an event line's value. */
export const EVENT_LINE_END = '}\n';

/** Serialises an event line around the value's JSON text. `valueText` must be one line of valid JSON. */
export function eventLineText(line: EventLine, valueText: string): string {
  return eventLinePrefix(line) + valueText + EVENT_LINE_END;
}

/**
 * Gathers NDJSON lines into chunks; counts lines, and bytes and sha256 of what is stored (after gzip when
 * compressing, like `LineFileWriter`).
 */
export class ChunkedLineWriter {
  private parts: string[] = [];
  private chars = 0;
  private bytes = 0;
  private lines = 0;
  private failure: Error | undefined;
  private readonly gzip: GzipMeter | undefined;
  /** Where chunks go: the file, or the compressor in front of it. */
  private readonly sink: Writable;

  constructor(
    readonly name: string,
    private readonly out: Writable,
    compression: 'gzip' | undefined = undefined,
    /** The running sha256 of what is stored (unused when compressing: the compressor measures that). */
    private readonly hash: RunningHash = localHash(),
  ) {
    out.on('error', (err) => (this.failure ??= err));
    this.gzip = compression === 'gzip' ? new GzipMeter(out) : undefined;
    this.sink = this.gzip?.input ?? out;
  }

  /** Appends one line (ending in a newline). */
  add(text: string): void {
    this.parts.push(text);
    this.chars += text.length;
    this.lines += 1;
    if (this.chars >= CHUNK_CHARS) this.flushChunk();
  }

  /** Appends lines already encoded as UTF-8 (`lines` of them, each ending in a newline). */
  addEncoded(bytes: Uint8Array, lines: number): void {
    if (lines === 0) return;
    this.flushChunk();
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.lines += lines;
    if (!this.gzip) {
      this.hash.update(buf);
      this.bytes += buf.length;
    }
    this.sink.write(buf);
  }

  private flushChunk(): void {
    if (this.parts.length === 0) return;
    const buf = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.chars = 0;
    if (!this.gzip) {
      this.hash.update(buf);
      this.bytes += buf.length;
    }
    this.sink.write(buf);
  }

  /** Resolves when the stream can take more (call once per batch); throws the stream's error, if any. */
  async drained(): Promise<void> {
    const failed = (): Error | undefined => this.failure ?? this.gzip?.error;
    if (failed()) throw failed();
    // Asks the stream itself: a 'drain' may already have been emitted while nobody listened.
    if (!this.sink.writableNeedDrain) return;
    await waitDrain(
      this.sink,
      () => failed() ?? new Error(`${this.name}: the output stream closed before it could take more data`),
    );
  }

  /** Writes what is left, ends the stream and returns the file's manifest entry. */
  async close(): Promise<ManifestFile> {
    this.flushChunk();
    const { name, out, gzip, failure, lines, bytes, hash } = this;
    return closeLineFile({ name, out, gzip, failure, lines, bytes, hash: { digest: () => hash.digest() } });
  }
}

/**
 * Where a drain puts a decoded batch: a snapshot being written, or (dry run) nowhere. The caller records each
 * message in `tally` and hands over the batch's lines, already serialised and UTF-8 encoded.
 */
export interface SnapshotSink {
  readonly tally: SnapshotTally;
  /** Appends encoded lines to events.ndjson and rejected.ndjson. */
  encoded(events: Uint8Array, eventLines: number, rejected: Uint8Array, rejectedLines: number): void;
  /** Call after each batch: waits while the files' buffers are full. */
  drained(): Promise<void>;
}

/** The dry run's sink: counts and ranges only. */
export class CountingSink implements SnapshotSink {
  readonly tally = new SnapshotTally();
  encoded(): void {}
  async drained(): Promise<void> {}
}

/** Writes one snapshot through a {@link SnapshotStore}; `publish()` writes the manifest last. Call `abort()` on failure. */
export class ChunkedSnapshotBuilder implements SnapshotSink {
  readonly tally = new SnapshotTally();

  private constructor(
    private readonly meta: SnapshotMeta,
    private readonly writer: SnapshotWriter,
    private readonly events: ChunkedLineWriter,
    private readonly rejects: ChunkedLineWriter,
  ) {}

  /** Starts a snapshot; `newHash` makes each file's running sha256 (by default on this thread). */
  static async begin(
    store: SnapshotStore,
    meta: SnapshotMeta,
    options: SnapshotBuilderOptions = {},
    newHash: () => RunningHash = localHash,
  ): Promise<ChunkedSnapshotBuilder> {
    const writer = await store.beginWrite(meta.snapshotId);
    const file = (base: string): ChunkedLineWriter => {
      const name = storedFileName(base, options.compress);
      return new ChunkedLineWriter(name, writer.openFile(name), options.compress, newHash());
    };
    try {
      return new ChunkedSnapshotBuilder(meta, writer, file(EVENTS_FILE), file(REJECTED_FILE));
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  event(line: EventLine, valueText: string, highWatermark: number): void {
    this.tally.event(line, highWatermark);
    this.events.add(eventLineText(line, valueText));
  }

  rejected(line: RejectedLine, highWatermark: number): void {
    this.tally.rejected(line, highWatermark);
    this.rejects.add(JSON.stringify(line) + '\n');
  }

  encoded(events: Uint8Array, eventLines: number, rejected: Uint8Array, rejectedLines: number): void {
    this.events.addEncoded(events, eventLines);
    this.rejects.addEncoded(rejected, rejectedLines);
  }

  async drained(): Promise<void> {
    await this.events.drained();
    await this.rejects.drained();
  }

  /** Closes the data files, writes the manifest last and makes the snapshot complete (as `SnapshotBuilder.publish`). */
  async publish(now: Date = new Date()): Promise<Manifest> {
    const files = [await this.events.close(), await this.rejects.close()];
    return publishManifest(this.writer, this.meta, this.tally, files, now);
  }

  async abort(): Promise<void> {
    await this.writer.abort();
  }
}
