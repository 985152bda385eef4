import { describe, expect, it } from 'vitest';
import { decodeHeaders, decodeMessage, type EventChecker } from '../../src/kafka/decode.js';
import type { RawMessage } from '../../src/kafka/event-source.js';
import type { RejectReason } from '../../src/snapshot/format.js';

/** A schema check that accepts objects with a string `id` and refuses the rest. */
const schemas: EventChecker = {
  check(topic, value): { reason: RejectReason } | object {
    if (topic === 'unknown') return { reason: { code: 'no_schema', message: 'no schema applies to topic "unknown"' } };
    if (typeof value['id'] === 'string') return { schema: 'ok' };
    return {
      reason: {
        code: 'schema_violation',
        message: 'missing id',
        issues: [{ code: 'required', path: '/', message: 'missing required property "id"' }],
      },
    };
  },
};

const msg = (value: Buffer | string | null, extra: Partial<RawMessage> = {}): RawMessage => ({
  topic: 't',
  partition: 2,
  offset: 41,
  timestamp: 1_764_224_712_000,
  key: Buffer.from('BL-1042'),
  value: typeof value === 'string' ? Buffer.from(value) : value,
  ...extra,
});

function rejectCode(m: RawMessage, topicChecker = schemas): string | undefined {
  const d = decodeMessage(m, topicChecker);
  return d.ok ? undefined : d.line.reason.code;
}

describe('decoding a message', () => {
  it('should give the schema check the JSON text the value was parsed from', () => {
    const seen: unknown[] = [];
    const spy: EventChecker = { check: (_t, _v, source) => (seen.push(source), {}) };
    decodeMessage(msg('{"id":"a","n":9223372036854775807}'), spy);
    expect(seen).toEqual([{ text: '{"id":"a","n":9223372036854775807}', path: [] }]);
  });

  it('should turn a valid JSON object into an event line with its coordinates, key, headers and value text', () => {
    const d = decodeMessage(msg('{"id":"a","n":1}', { headers: [{ trace: Buffer.from('abc') }] }), schemas);
    expect(d).toEqual({
      ok: true,
      valueText: '{"id":"a","n":1}',
      line: {
        topic: 't',
        partition: 2,
        offset: 41,
        timestamp: 1_764_224_712_000,
        key: 'BL-1042',
        headers: [{ key: 'trace', value: 'abc' }],
        value: { id: 'a', n: 1 },
      },
    });
  });

  it('should quarantine each kind of bad input with its reason', () => {
    expect(rejectCode(msg(null))).toBe('tombstone');
    expect(rejectCode(msg(''))).toBe('empty_value');
    expect(rejectCode(msg(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])))).toBe('not_utf8');
    expect(rejectCode(msg('{"id": "a",'))).toBe('not_json');
    expect(rejectCode(msg('[1,2]'))).toBe('not_object');
    expect(rejectCode(msg('"text"'))).toBe('not_object');
    expect(rejectCode(msg('null'))).toBe('not_object');
    expect(rejectCode(msg('{"id":"a\\u0000b"}'))).toBe('nul_character');
    expect(rejectCode(msg('{"id":"a","deep":[{"k\\u0000":1}]}'))).toBe('nul_character');
    expect(rejectCode(msg('{"id":"a"}', { topic: 'unknown' }))).toBe('no_schema');
    expect(rejectCode(msg('{"name":"no id"}'))).toBe('schema_violation');
  });

  it('should not mistake an escaped backslash before u0000 for a NUL character', () => {
    expect(rejectCode(msg('{"id":"C:\\\\u0000"}'))).toBeUndefined();
  });

  it('should keep the raw bytes in base64, the coordinates and the validation issues of a rejected message', () => {
    const raw = Buffer.from([0xc3, 0x28]);
    const d = decodeMessage(msg(raw, { key: Buffer.from([0xff]) }), schemas);
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.line).toMatchObject({
      topic: 't',
      partition: 2,
      offset: 41,
      key_base64: '/w==',
      value_base64: raw.toString('base64'),
      reason: { code: 'not_utf8' },
    });
    const v = decodeMessage(msg('{"x":1}'), schemas);
    expect(!v.ok && v.line.reason.issues).toEqual([
      { code: 'required', path: '/', message: 'missing required property "id"' },
    ]);
    expect(!v.ok && Buffer.from(v.line.value_base64!, 'base64').toString()).toBe('{"x":1}');
  });

  it('should give a tombstone null raw value and a missing key null', () => {
    const d = decodeMessage(msg(null, { key: null }), schemas);
    expect(!d.ok && [d.line.key_base64, d.line.value_base64]).toEqual([null, null]);
  });

  it('should keep a key that is not UTF-8 in key_base64', () => {
    const d = decodeMessage(msg('{"id":"a"}', { key: Buffer.from([0xfe, 0x01]) }), schemas);
    expect(d.ok && [d.line.key, d.line.key_base64]).toEqual([null, '/gE=']);
  });

  it('should put a value that spans lines on one NDJSON line with its text exact, and drop a byte order mark', () => {
    const d = decodeMessage(msg('{\r\n  "id": "a\\nb",\n  "n": 9007199254740993\n}'), schemas);
    expect(d.ok && d.valueText).toBe('{    "id": "a\\nb",   "n": 9007199254740993 }');
    expect(d.ok && JSON.parse(d.valueText)).toEqual(d.ok && d.line.value);
    const bom = decodeMessage(
      msg(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":"b"}')])),
      schemas,
    );
    expect(bom.ok && bom.valueText).toBe('{"id":"b"}');
  });

  it('should give a missing or negative timestamp as null', () => {
    const d = decodeMessage(msg('{"id":"a"}', { timestamp: -1 }), schemas);
    expect(d.ok && d.line.timestamp).toBeNull();
  });

  it('should give headers as text where they are UTF-8 and base64 where they are not', () => {
    expect(decodeHeaders([{ a: Buffer.from('x') }, { b: Buffer.from([0xff]) }, { c: 'str' }])).toEqual([
      { key: 'a', value: 'x' },
      { key: 'b', value: '/w==', encoding: 'base64' },
      { key: 'c', value: 'str' },
    ]);
    expect(decodeHeaders(undefined)).toEqual([]);
  });
});
