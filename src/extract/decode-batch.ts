import { decodeMessage, type EventChecker } from '../kafka/decode.js';
import type { RawMessage } from '../kafka/event-source.js';
import type { RejectCode } from '../snapshot/format.js';
import { EVENT_LINE_END, eventLinePrefix } from './chunked-snapshot-builder.js';

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
}

function keyBytes(key: RawMessage['key']): Buffer | null {
  if (key === null || key === undefined) return null;
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/** Packs messages for a decode thread; returns the batch and the buffers to transfer. */
export function packBatch(messages: readonly RawMessage[]): { batch: PackedBatch; transfer: ArrayBuffer[] } {
  const count = messages.length;
  const topics: string[] = [];
  const topicIds = new Map<string, number>();
  const topicIndex = new Uint16Array(count);
  const partitions = new Int32Array(count);
  const offsets = new Float64Array(count);
  const timestamps = new Float64Array(count);
  const valueStarts = new Int32Array(count);
  const valueLengths = new Int32Array(count);
  const keyStarts = new Int32Array(count);
  const keyLengths = new Int32Array(count);
  const headers: PackedBatch['headers'] = [];
  let valueBytes = 0;
  let keyTotal = 0;
  for (const m of messages) {
    valueBytes += m.value?.length ?? 0;
    keyTotal += keyBytes(m.key)?.length ?? 0;
  }
  const values = new Uint8Array(valueBytes);
  const keys = new Uint8Array(keyTotal);
  let vAt = 0;
  let kAt = 0;
  for (let i = 0; i < count; i++) {
    const m = messages[i]!;
    let t = topicIds.get(m.topic);
    if (t === undefined) {
      t = topics.push(m.topic) - 1;
      topicIds.set(m.topic, t);
    }
    topicIndex[i] = t;
    partitions[i] = m.partition;
    offsets[i] = m.offset;
    timestamps[i] = typeof m.timestamp === 'number' ? m.timestamp : -1;
    if (m.value === null || m.value === undefined) valueLengths[i] = -1;
    else {
      values.set(m.value, vAt);
      valueStarts[i] = vAt;
      valueLengths[i] = m.value.length;
      vAt += m.value.length;
    }
    const k = keyBytes(m.key);
    if (k === null) keyLengths[i] = -1;
    else {
      keys.set(k, kAt);
      keyStarts[i] = kAt;
      keyLengths[i] = k.length;
      kAt += k.length;
    }
    if (m.headers && m.headers.length) headers.push([i, m.headers]);
  }
  const batch: PackedBatch = {
    count,
    topics,
    topicIndex,
    partitions,
    offsets,
    timestamps,
    values,
    valueStarts,
    valueLengths,
    keys,
    keyStarts,
    keyLengths,
    headers,
  };
  const transfer = [
    topicIndex,
    partitions,
    offsets,
    timestamps,
    values,
    valueStarts,
    valueLengths,
    keys,
    keyStarts,
    keyLengths,
  ].map((a) => a.buffer as ArrayBuffer);
  return { batch, transfer };
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

/** Bytes written as UTF-8 into one growing buffer of its own (transferable), instead of one long string. */
class Utf8Sink {
  private buf: Buffer;
  private at = 0;

  constructor(sizeHint: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1024, sizeHint));
  }

  write(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (this.at + text.length * 3 > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + text.length * 3));
      this.buf.copy(bigger, 0, 0, this.at);
      this.buf = bigger;
    }
    this.at += this.buf.write(text, this.at, 'utf8');
  }

  /** The bytes written, as a view on a buffer of their own. */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.at);
  }
}

/** Room per line beyond its value: coordinates, key, headers (a guess; the sink grows if it is short). */
const LINE_OVERHEAD_BYTES = 160;

/**
 * Decodes a packed batch (what a decode thread does): each message through `decodeMessage`, and, when
 * `serialise`, the lines of both files encoded as UTF-8. Pure apart from allocating.
 */
export function decodeBatch(b: PackedBatch, schemas: EventChecker, serialise: boolean): DecodedBatch {
  const isEvent = new Uint8Array(b.count);
  const rejects: DecodedBatch['rejects'] = [];
  const headersOf = new Map(b.headers);
  const events = serialise ? new Utf8Sink(b.values.length + b.count * LINE_OVERHEAD_BYTES) : undefined;
  let rejected: Utf8Sink | undefined;
  let eventLines = 0;
  for (let i = 0; i < b.count; i++) {
    const d = decodeMessage(unpackMessage(b, i, headersOf.get(i)), schemas);
    if (d.ok) {
      isEvent[i] = 1;
      eventLines += 1;
      if (events) {
        // Written in pieces: the value's text is never copied into a longer string.
        events.write(eventLinePrefix(d.line));
        events.write(d.valueText);
        events.write(EVENT_LINE_END);
      }
    } else {
      rejects.push({ index: i, code: d.line.reason.code, message: d.line.reason.message });
      if (serialise) (rejected ??= new Utf8Sink(1024)).write(JSON.stringify(d.line) + '\n');
    }
  }
  return {
    isEvent,
    rejects,
    events: events?.bytes() ?? new Uint8Array(0),
    eventLines,
    rejected: rejected?.bytes() ?? new Uint8Array(0),
    rejectedLines: rejects.length,
  };
}

/** The buffers of a decoded batch, to transfer rather than copy. */
export function decodedTransfer(d: DecodedBatch): ArrayBuffer[] {
  return [d.isEvent.buffer as ArrayBuffer, d.events.buffer as ArrayBuffer, d.rejected.buffer as ArrayBuffer];
}
