import { isUtf8 } from 'node:buffer';
import { flatJsonText, type JsonSource } from '../schema/json-source.js';
import type { EventLine, HeaderEntry, RejectReason, RejectedLine } from '../snapshot/format.js';
import type { RawMessage } from './event-source.js';

/**
 * What decoding needs of the schema registry: the schema check of one event, given the JSON text it was parsed
 * from so integers beyond 2^53 are checked exactly (see `SchemaRegistry.check`).
 */
export interface EventChecker {
  check(topic: string, value: Record<string, unknown>, source: JsonSource): { reason: RejectReason } | object;
}

/**
 * A message turned into a snapshot line: an event (with `valueText`, the value's JSON text on one line, for
 * writing it out without serialising the parsed value again), or a quarantined message with its reason.
 */
export type Decoded = { ok: true; line: EventLine; valueText: string } | { ok: false; line: RejectedLine };

/** JSON's escape of U+0000, which PostgreSQL text and jsonb cannot hold. */
const ESCAPED_NUL = '\\u0000';
const BYTE_ORDER_MARK = 0xfeff;
/** The event is the whole message value. */
const TOP_LEVEL: readonly string[] = [];
/**
 * Deepest nesting of arrays and objects an event may have. JSON.parse takes any depth, but walking or serialising
 * a value recurses (V8's JSON.stringify overflows its stack at a few thousand levels, Postgres' jsonb input at
 * some tens of thousands): one deeper message would fail every run, so it is quarantined instead.
 */
export const MAX_JSON_DEPTH = 1000;

/** Whether valid JSON `text` nests arrays and objects deeper than `limit` (a scan of the text, no recursion). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  // Each level takes two characters at least.
  if (text.length <= 2 * limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Strict UTF-8 decoding: undefined for invalid bytes instead of U+FFFD replacements, so nothing is altered
 * silently. `isUtf8` (simdutf) + `toString` does what `new TextDecoder('utf-8', { fatal: true })` does, at half the cost.
 */
export function decodeUtf8(bytes: Buffer): string | undefined {
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
}

function asBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Headers as text where they are UTF-8, else base64 (see {@link HeaderEntry}). */
export function decodeHeaders(headers: RawMessage['headers']): HeaderEntry[] {
  if (!headers || headers.length === 0) return [];
  const out: HeaderEntry[] = [];
  for (const h of headers)
    for (const [key, raw] of Object.entries(h)) {
      if (raw === null || raw === undefined) {
        out.push({ key, value: null });
        continue;
      }
      if (typeof raw === 'string') {
        out.push({ key, value: raw });
        continue;
      }
      // A Buffer from the client, or a plain Uint8Array once a batch crossed to a decode thread.
      const bytes = Buffer.isBuffer(raw)
        ? raw
        : Buffer.from((raw as Uint8Array).buffer, (raw as Uint8Array).byteOffset, (raw as Uint8Array).byteLength);
      const text = decodeUtf8(bytes);
      out.push(
        text === undefined ? { key, value: bytes.toString('base64'), encoding: 'base64' } : { key, value: text },
      );
    }
  return out;
}

/** True when a string anywhere in `v` (a key or a value) holds U+0000. */
function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (Array.isArray(v)) return v.some(holdsNul);
  if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) if (k.includes('\u0000') || holdsNul(x)) return true;
  return false;
}

function timestampOf(m: RawMessage): number | null {
  return typeof m.timestamp === 'number' && m.timestamp >= 0 ? m.timestamp : null;
}

/** A message quarantined for `reason`, with its raw bytes. */
export function rejectMessage(m: RawMessage, reason: RejectReason): Decoded {
  const key = m.key === null || m.key === undefined ? null : asBuffer(m.key).toString('base64');
  return {
    ok: false,
    line: {
      topic: m.topic,
      partition: m.partition,
      offset: m.offset,
      timestamp: timestampOf(m),
      key_base64: key,
      value_base64: m.value === null ? null : m.value.toString('base64'),
      headers: decodeHeaders(m.headers),
      reason,
    },
  };
}

/** A value's text that passed every check: the parsed object and its JSON text on one line. */
export interface ParsedValue {
  value: Record<string, unknown>;
  /** The text the value was parsed from, without a byte order mark, its line breaks turned into spaces. */
  valueText: string;
}

/**
 * The checks of a message value's text (already decoded as UTF-8): JSON, an object, not too deep, no U+0000,
 * and `topic`'s schema. Pure. Returns the parsed value, or the reason to quarantine the message.
 */
export function parseValueText(
  topic: string,
  decoded: string,
  schemas: EventChecker,
): ParsedValue | { reason: RejectReason } {
  const text = decoded.charCodeAt(0) === BYTE_ORDER_MARK ? decoded.slice(1) : decoded;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { reason: { code: 'not_json', message: `value is not JSON: ${(err as Error).message}` } };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return {
      reason: {
        code: 'not_object',
        message: `value is JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}, not an object`,
      },
    };
  if (nestsDeeperThan(text, MAX_JSON_DEPTH))
    return {
      reason: { code: 'too_deep', message: `value nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels` },
    };
  // Cheap test first: U+0000 can only reach a parsed string through the escape `\u0000` in the text.
  if (text.includes(ESCAPED_NUL) && holdsNul(value))
    return {
      reason: {
        code: 'nul_character',
        message: 'value holds the character U+0000, which PostgreSQL text and jsonb cannot store',
      },
    };
  const checked = schemas.check(topic, value as Record<string, unknown>, { text, path: TOP_LEVEL });
  if ('reason' in checked) return { reason: checked.reason };
  // JSON may span lines (pretty-printed): an NDJSON line must not. Its line breaks are whitespace, so they become
  // spaces, and the text stays exact (serialising the parsed value again would round numbers beyond 2^53).
  const oneLine = text.indexOf('\n') === -1 && text.indexOf('\r') === -1;
  return { value: value as Record<string, unknown>, valueText: oneLine ? text : flatJsonText(text) };
}

/** A message key as the snapshot keeps it: UTF-8 text in `key`, else base64 in `key_base64`. */
export function keyFields(key: RawMessage['key']): { key: string | null; key_base64?: string } {
  if (key === null || key === undefined) return { key: null };
  if (typeof key === 'string') return { key };
  const text = decodeUtf8(key);
  return text === undefined ? { key: null, key_base64: key.toString('base64') } : { key: text };
}

/**
 * Turns one Kafka message into a snapshot line. Pure. A message is quarantined, with its raw bytes, when it is
 * a tombstone, empty, not UTF-8, or its text fails {@link parseValueText}.
 */
export function decodeMessage(m: RawMessage, schemas: EventChecker): Decoded {
  const bytes = m.value;
  if (bytes === null || bytes === undefined)
    return rejectMessage(m, { code: 'tombstone', message: 'tombstone (null value): a deletion marker, not an event' });
  if (bytes.length === 0) return rejectMessage(m, { code: 'empty_value', message: 'empty value' });
  const text = decodeUtf8(bytes);
  if (text === undefined) return rejectMessage(m, { code: 'not_utf8', message: 'value is not valid UTF-8' });
  const parsed = parseValueText(m.topic, text, schemas);
  if ('reason' in parsed) return rejectMessage(m, parsed.reason);
  const key = keyFields(m.key);
  const line: EventLine = {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    timestamp: timestampOf(m),
    key: key.key,
    headers: decodeHeaders(m.headers),
    value: parsed.value,
  };
  if (key.key_base64 !== undefined) line.key_base64 = key.key_base64;
  return { ok: true, line, valueText: parsed.valueText };
}
