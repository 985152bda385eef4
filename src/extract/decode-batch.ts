import { isUtf8 } from 'node:buffer';
import { decodeHeaders, decodeMessage, parseValueText, type EventChecker } from '../kafka/decode.js';
import type { RawMessage } from '../kafka/event-source.js';
import type { RejectCode } from '../snapshot/format.js';
import { EVENT_LINE_END, eventLineHead, eventLinePrefix, eventLineText } from './chunked-snapshot-builder.js';

/**
 * A batch of messages packed into a few typed arrays, so it can move to a decode thread without copying each
 * message: values and keys are concatenated into one buffer each (transferred, not cloned).
 */
export interface PackedBatch {
  count: number;
  topics: string[];
  topicIndex: Uint16Array;
  partitions: Int32Array;
  offsets: Float64Array;
  /** -1: none. */
  timestamps: Float64Array;
  values: Uint8Array;
  /** Start of each value in `values`; its length in `valueLengths` (-1: null value, a tombstone). */
  valueStarts: Int32Array;
  valueLengths: Int32Array;
  keys: Uint8Array;
  keyStarts: Int32Array;
  keyLengths: Int32Array;
  /** Headers of the few messages that have any, by index. */
  headers: Array<[number, NonNullable<RawMessage['headers']>]>;
}

/** What decoding a batch gave: per message, event or quarantined, and the NDJSON of both files, UTF-8 encoded. */
export interface DecodedBatch {
  /** 1 for an event, 0 for a quarantined message, by index. */
  isEvent: Uint8Array;
  /** The quarantined messages' reasons, by index. */
  rejects: Array<{ index: number; code: RejectCode; message: string }>;
  /** events.ndjson lines of the batch (empty when not serialising). */
  events: Uint8Array;
  eventLines: number;
  /** rejected.ndjson lines of the batch (empty when not serialising). */
  rejected: Uint8Array;
  rejectedLines: number;
  /** The batch's values buffer, done with: handed back so that a later batch can be packed into it. */
  spentValues: ArrayBuffer | undefined;
}

/** Room for values a packer starts with per message (it grows when short). */
const VALUE_BYTES_GUESS = 512;

/** Grows `bytes` to hold at least `need` bytes, keeping its first `used`. */
function grown(bytes: Uint8Array, used: number, need: number): Uint8Array {
  if (need <= bytes.length) return bytes;
  const bigger = new Uint8Array(Math.max(need, bytes.length * 2));
  bigger.set(bytes.subarray(0, used));
  return bigger;
}

/** One packed column of byte strings (values, or keys): the bytes one after another, and each one's start and length. */
class ByteColumn {
  readonly starts: Int32Array;
  readonly lengths: Int32Array;
  private used = 0;

  constructor(
    capacity: number,
    private bytes: Uint8Array,
  ) {
    this.starts = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
  }

  /** Sets entry `i` to `value`, or to none (length -1). */
  put(i: number, value: Uint8Array | null | undefined): void {
    if (value === null || value === undefined) {
      this.lengths[i] = -1;
      return;
    }
    this.bytes = grown(this.bytes, this.used, this.used + value.length);
    this.bytes.set(value, this.used);
    this.starts[i] = this.used;
    this.lengths[i] = value.length;
    this.used += value.length;
  }

  /** The bytes, starts and lengths of the first `n` entries. */
  packed(n: number): { bytes: Uint8Array; starts: Int32Array; lengths: Int32Array } {
    return {
      bytes: this.bytes.subarray(0, this.used),
      starts: this.starts.subarray(0, n),
      lengths: this.lengths.subarray(0, n),
    };
  }
}

/**
 * Packs messages one by one into a {@link PackedBatch} for a decode thread (one pass over the client's message
 * objects, which the drain reads once). `finish` returns the batch and the buffers to transfer. The coordinates
 * (`topicIndex`, `partitions`, `offsets`) are not among them: they are cloned, so the caller keeps them to record
 * the batch once decoded, and the messages themselves can be let go at once.
 */
export class BatchPacker {
  private count = 0;
  private readonly topics: string[] = [];
  private lastTopic: string | undefined;
  private lastTopicIndex = 0;
  private readonly topicIndex: Uint16Array;
  private readonly partitions: Int32Array;
  private readonly offsets: Float64Array;
  private readonly timestamps: Float64Array;
  private readonly values: ByteColumn;
  private readonly keys: ByteColumn;
  private readonly headers: PackedBatch['headers'] = [];

  /**
   * `capacity`: the most messages that will be added; `reuse`: a spent values buffer (see
   * {@link DecodedBatch.spentValues}) to pack into instead of a new one (a fresh ~0.5 MB buffer costs its page
   * faults and zeroing each time: ~0.1 µs per message).
   */
  constructor(capacity: number, reuse?: ArrayBuffer) {
    this.topicIndex = new Uint16Array(capacity);
    this.partitions = new Int32Array(capacity);
    this.offsets = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
    const want = capacity * VALUE_BYTES_GUESS;
    this.values = new ByteColumn(
      capacity,
      reuse && reuse.byteLength >= want ? new Uint8Array(reuse) : new Uint8Array(want),
    );
    this.keys = new ByteColumn(capacity, new Uint8Array(0));
  }

  get size(): number {
    return this.count;
  }

  /** Adds message `m`, whose topic, partition and offset the caller has read already. */
  add(m: RawMessage, topic: string, partition: number, offset: number): void {
    const i = this.count++;
    if (topic !== this.lastTopic) {
      const known = this.topics.indexOf(topic);
      this.lastTopicIndex = known >= 0 ? known : this.topics.push(topic) - 1;
      this.lastTopic = topic;
    }
    this.topicIndex[i] = this.lastTopicIndex;
    this.partitions[i] = partition;
    this.offsets[i] = offset;
    const timestamp = m.timestamp;
    this.timestamps[i] = typeof timestamp === 'number' ? timestamp : -1;
    this.values.put(i, m.value);
    const key = m.key;
    this.keys.put(i, typeof key === 'string' ? Buffer.from(key, 'utf8') : key);
    const headers = m.headers;
    if (headers && headers.length) this.headers.push([i, headers]);
  }

  /** The packed batch, and the buffers of it that may move to another thread. */
  finish(): { batch: PackedBatch; transfer: ArrayBuffer[] } {
    const n = this.count;
    const packedValues = this.values.packed(n);
    const packedKeys = this.keys.packed(n);
    const batch: PackedBatch = {
      count: n,
      topics: this.topics,
      topicIndex: this.topicIndex.subarray(0, n),
      partitions: this.partitions.subarray(0, n),
      offsets: this.offsets.subarray(0, n),
      timestamps: this.timestamps.subarray(0, n),
      values: packedValues.bytes,
      valueStarts: packedValues.starts,
      valueLengths: packedValues.lengths,
      keys: packedKeys.bytes,
      keyStarts: packedKeys.starts,
      keyLengths: packedKeys.lengths,
      headers: this.headers,
    };
    const { timestamps, values, valueStarts, valueLengths, keys, keyStarts, keyLengths } = batch;
    const transfer = [timestamps, values, valueStarts, valueLengths, keys, keyStarts, keyLengths].map(
      (a) => a.buffer as ArrayBuffer,
    );
    return { batch, transfer };
  }
}

/** Packs messages for a decode thread (see {@link BatchPacker}). */
export function packBatch(messages: readonly RawMessage[]): { batch: PackedBatch; transfer: ArrayBuffer[] } {
  const packer = new BatchPacker(messages.length);
  for (const m of messages) packer.add(m, m.topic, m.partition, m.offset);
  return packer.finish();
}

/** Message `i` of a packed batch (values and keys are views, not copies). */
export function unpackMessage(b: PackedBatch, i: number, headers?: RawMessage['headers']): RawMessage {
  const view = (bytes: Uint8Array, start: number, length: number): Buffer =>
    Buffer.from(bytes.buffer, bytes.byteOffset + start, length);
  return {
    topic: b.topics[b.topicIndex[i]!]!,
    partition: b.partitions[i]!,
    offset: b.offsets[i]!,
    timestamp: b.timestamps[i]!,
    key: b.keyLengths[i]! < 0 ? null : view(b.keys, b.keyStarts[i]!, b.keyLengths[i]!),
    value: b.valueLengths[i]! < 0 ? null : view(b.values, b.valueStarts[i]!, b.valueLengths[i]!),
    headers,
  };
}

/** A buffer of `bytes` in a SharedArrayBuffer of its own. */
function sharedBuffer(bytes: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(bytes));
}

/**
 * Bytes written as UTF-8 into one growing buffer instead of one long string. The buffer is shared memory of its
 * own: the main thread writes it to the file and a hash thread hashes it without a copy (nobody changes it once
 * it is handed over).
 */
class Utf8Sink {
  private buf: Buffer;
  private at = 0;

  constructor(sizeHint: number) {
    this.buf = sharedBuffer(Math.max(1024, sizeHint));
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const bigger = sharedBuffer(Math.max(this.buf.length * 2, this.at + bytes));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  write(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    this.room(text.length * 3);
    this.at += this.buf.write(text, this.at);
  }

  /** Appends `from[start..end)`, bytes already UTF-8. */
  copy(from: Uint8Array, start: number, end: number): void {
    this.room(end - start);
    // Uint8Array's subarray, not Buffer's (which makes a Buffer, at several times the cost).
    this.buf.set(Uint8Array.prototype.subarray.call(from, start, end), this.at);
    this.at += end - start;
  }

  /** Appends a few bytes, one by one (cheaper than a copy for two or three). */
  put(bytes: Uint8Array): void {
    this.room(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.buf[this.at++] = bytes[i]!;
  }

  /** The bytes written, as a view on a buffer of their own. */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.at);
  }
}

/** Room per line beyond its value: coordinates, key, headers (a guess; the sink grows if it is short). */
const LINE_OVERHEAD_BYTES = 160;
const EVENT_LINE_END_BYTES = Buffer.from(EVENT_LINE_END, 'utf8');
/** The bits of a UTF-8 continuation byte (0b10xxxxxx), which never starts a character. */
const CONTINUATION_MASK = 0xc0;
const CONTINUATION = 0x80;

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Whether every piece of `bytes` (at `starts`, `lengths` long; -1: none) is valid UTF-8, checked at once: the whole
 * is, and each piece starts on a character (pieces are contiguous, so none then splits a character). False says
 * nothing of any one piece.
 */
function allUtf8(bytes: Buffer, starts: Int32Array, lengths: Int32Array): boolean {
  if (!isUtf8(bytes)) return false;
  for (let i = 0; i < lengths.length; i++)
    if (lengths[i]! > 0 && (bytes[starts[i]!]! & CONTINUATION_MASK) === CONTINUATION) return false;
  return true;
}

/**
 * Decodes one packed batch. Messages whose value and key are valid UTF-8 (checked for the whole batch at once)
 * take a short path: the value's text is read straight from the batch's buffer and, when it is already the line's
 * value text, its bytes are copied into the line unchanged. Every other message, and every message that is
 * quarantined, goes through `decodeMessage` itself, so the answers are always `decodeMessage`'s.
 */
class PackedDecoder {
  readonly isEvent: Uint8Array;
  readonly rejects: DecodedBatch['rejects'] = [];
  eventLines = 0;
  private rejected: Utf8Sink | undefined;
  private readonly events: Utf8Sink | undefined;
  private readonly headersOf: Map<number, NonNullable<RawMessage['headers']>>;
  private readonly values: Buffer;
  private readonly keys: Buffer;
  private readonly valuesUtf8: boolean;
  private readonly keysUtf8: boolean;
  /** `eventLineHead` of each topic of the batch. */
  private readonly heads: string[];

  constructor(
    private readonly b: PackedBatch,
    private readonly schemas: EventChecker,
    serialise: boolean,
  ) {
    this.isEvent = new Uint8Array(b.count);
    this.headersOf = new Map(b.headers);
    this.events = serialise ? new Utf8Sink(b.values.length + b.count * LINE_OVERHEAD_BYTES) : undefined;
    this.values = bufferOf(b.values);
    this.keys = bufferOf(b.keys);
    this.valuesUtf8 = allUtf8(this.values, b.valueStarts, b.valueLengths);
    this.keysUtf8 = allUtf8(this.keys, b.keyStarts, b.keyLengths);
    this.heads = b.topics.map(eventLineHead);
  }

  run(): DecodedBatch {
    for (let i = 0; i < this.b.count; i++) if (!this.shortPath(i)) this.slowPath(i);
    return {
      isEvent: this.isEvent,
      rejects: this.rejects,
      events: this.events?.bytes() ?? new Uint8Array(0),
      eventLines: this.eventLines,
      rejected: this.rejected?.bytes() ?? new Uint8Array(0),
      rejectedLines: this.rejects.length,
      spentValues: this.b.values.buffer instanceof ArrayBuffer ? this.b.values.buffer : undefined,
    };
  }

  /** Decodes message `i` if it is an event that the short path can take; false to leave it to `slowPath`. */
  private shortPath(i: number): boolean {
    const { b } = this;
    const start = b.valueStarts[i]!;
    const end = start + b.valueLengths[i]!;
    const keyLength = b.keyLengths[i]!;
    if (end <= start || !this.valuesUtf8 || (keyLength >= 0 && !this.keysUtf8)) return false;
    const t = b.topicIndex[i]!;
    const text = this.values.toString('utf8', start, end);
    const parsed = parseValueText(b.topics[t]!, text, this.schemas);
    if ('reason' in parsed) return false;
    this.isEvent[i] = 1;
    this.eventLines += 1;
    if (!this.events) return true;
    const keyStart = b.keyStarts[i]!;
    const timestamp = b.timestamps[i]!;
    const line = {
      topic: b.topics[t]!,
      partition: b.partitions[i]!,
      offset: b.offsets[i]!,
      timestamp: timestamp >= 0 ? timestamp : null,
      key: keyLength < 0 ? null : this.keys.toString('utf8', keyStart, keyStart + keyLength),
      headers: decodeHeaders(this.headersOf.get(i)),
    };
    // Written in pieces: the value's text is never copied into a longer string.
    this.events.write(eventLinePrefix(line, this.heads[t]));
    if (parsed.valueText === text) this.events.copy(this.values, start, end);
    else this.events.write(parsed.valueText);
    this.events.put(EVENT_LINE_END_BYTES);
    return true;
  }

  private slowPath(i: number): void {
    const d = decodeMessage(unpackMessage(this.b, i, this.headersOf.get(i)), this.schemas);
    if (d.ok) {
      this.isEvent[i] = 1;
      this.eventLines += 1;
      this.events?.write(eventLineText(d.line, d.valueText));
    } else {
      this.rejects.push({ index: i, code: d.line.reason.code, message: d.line.reason.message });
      if (this.events) (this.rejected ??= new Utf8Sink(1024)).write(JSON.stringify(d.line) + '\n');
    }
  }
}

/**
 * Decodes a packed batch (what a decode thread does): each message as `decodeMessage` would, and, when
 * `serialise`, the lines of both files encoded as UTF-8. Pure apart from allocating.
 */
export function decodeBatch(b: PackedBatch, schemas: EventChecker, serialise: boolean): DecodedBatch {
  return new PackedDecoder(b, schemas, serialise).run();
}

/** The buffers of a decoded batch to transfer rather than copy (the lines are in shared memory: neither). */
export function decodedTransfer(d: DecodedBatch): ArrayBuffer[] {
  return [d.isEvent.buffer, d.events.buffer, d.rejected.buffer].filter(
    (b): b is ArrayBuffer => b instanceof ArrayBuffer,
  );
}
