import { describe, expect, it } from 'vitest';
import { eventLineText } from '../../src/extract/chunked-snapshot-builder.js';
import { BatchPacker, decodeBatch, decodedTransfer, packBatch, unpackMessage } from '../../src/extract/decode-batch.js';
import { decodeMessage, type EventChecker } from '../../src/kafka/decode.js';
import type { RawMessage } from '../../src/kafka/event-source.js';

const schemas: EventChecker = {
  check: (_t, v) =>
    typeof v['id'] === 'string' ? {} : { reason: { code: 'schema_violation', message: 'missing id' } },
};

const messages: RawMessage[] = [
  { topic: 'a', partition: 0, offset: 7, timestamp: 1_000, key: Buffer.from('k1'), value: Buffer.from('{"id":"x"}') },
  { topic: 'b', partition: 3, offset: 9, timestamp: -1, key: null, value: null },
  {
    topic: 'a',
    partition: 1,
    offset: 2,
    key: 'text key',
    value: Buffer.from('{"n":1}'),
    headers: [{ h: Buffer.from('v') }],
  },
  { topic: 'a', partition: 1, offset: 3, key: Buffer.alloc(0), value: Buffer.alloc(0) },
  { topic: 'b', partition: 0, offset: 0, key: null, value: Buffer.from('{"id":"ünï \\u2028"}') },
];

describe('packed batches', () => {
  it('should unpack every message as it was packed', () => {
    const { batch, transfer } = packBatch(messages);
    expect(transfer.every((b) => b instanceof ArrayBuffer)).toBe(true);
    const back = messages.map((_, i) => unpackMessage(batch, i, new Map(batch.headers).get(i)));
    expect(back.map((m) => [m.topic, m.partition, m.offset, m.timestamp])).toEqual([
      ['a', 0, 7, 1_000],
      ['b', 3, 9, -1],
      ['a', 1, 2, -1],
      ['a', 1, 3, -1],
      ['b', 0, 0, -1],
    ]);
    expect(back.map((m) => (m.value === null ? null : m.value.toString()))).toEqual(
      messages.map((m) => (m.value === null ? null : m.value.toString())),
    );
    expect(back.map((m) => (m.key === null || m.key === undefined ? null : m.key.toString()))).toEqual([
      'k1',
      null,
      'text key',
      '',
      null,
    ]);
    expect(back[2]!.headers).toEqual([{ h: Buffer.from('v') }]);
  });

  it('should decode a batch into the same lines as decoding message by message', () => {
    const { batch } = packBatch(messages);
    const d = decodeBatch(batch, schemas, true);
    const one = messages.map((m) => decodeMessage(m, schemas));
    expect([...d.isEvent]).toEqual(one.map((x) => (x.ok ? 1 : 0)));
    expect(Buffer.from(d.events).toString()).toBe(
      one.map((x) => (x.ok ? eventLineText(x.line, x.valueText) : '')).join(''),
    );
    expect(Buffer.from(d.rejected).toString()).toBe(
      one.map((x) => (x.ok ? '' : JSON.stringify(x.line) + '\n')).join(''),
    );
    expect([d.eventLines, d.rejectedLines]).toEqual([2, 3]);
    expect(d.rejects.map((r) => [r.index, r.code])).toEqual([
      [1, 'tombstone'],
      [2, 'schema_violation'],
      [3, 'empty_value'],
    ]);
  });

  it("should give decodeMessage's lines for every kind of value and key, with and without invalid UTF-8 nearby", () => {
    const bad = Buffer.from([0xff, 0xfe]);
    const kinds: RawMessage[] = [
      { topic: 'a', partition: 0, offset: 1, key: Buffer.from('ключ'), value: Buffer.from('{"id":"ü€𝄞"}') },
      { topic: 'a', partition: 0, offset: 2, value: Buffer.from('\ufeff{"id":"bom"}') },
      { topic: 'a', partition: 0, offset: 3, value: Buffer.from('{\n  "id": "pretty"\r\n}') },
      { topic: 'a', partition: 0, offset: 4, key: Buffer.from('k'), value: Buffer.from('{"id":"x"} ') },
      { topic: 'b', partition: 1, offset: 5, value: Buffer.from('[1]') },
      { topic: 'b', partition: 1, offset: 6, value: Buffer.from('{"id":"a\\u0000"}') },
      { topic: 'b', partition: 1, offset: 7, value: Buffer.from('{"id":') },
      // A character split across two values: the batch's bytes are valid UTF-8 as a whole, neither value is.
      { topic: 'b', partition: 1, offset: 8, value: Buffer.from('{"id":"é"}').subarray(0, 8) },
      { topic: 'b', partition: 1, offset: 9, value: Buffer.from('{"id":"é"}').subarray(8) },
    ];
    const withBadValue = [...kinds, { topic: 'a', partition: 2, offset: 0, value: bad }];
    const withBadKey = [...kinds, { topic: 'a', partition: 2, offset: 0, key: bad, value: Buffer.from('{"id":"k"}') }];
    // The first batch is all UTF-8 (the short path); in the others, invalid UTF-8 somewhere makes each message go its own way.
    for (const batch of [kinds.slice(0, 7), kinds, withBadValue, withBadKey]) {
      const d = decodeBatch(packBatch(batch).batch, schemas, true);
      const one = batch.map((m) => decodeMessage(m, schemas));
      expect([...d.isEvent]).toEqual(one.map((x) => (x.ok ? 1 : 0)));
      expect(Buffer.from(d.events).toString()).toBe(
        one.map((x) => (x.ok ? eventLineText(x.line, x.valueText) : '')).join(''),
      );
      expect(Buffer.from(d.rejected).toString()).toBe(
        one.map((x) => (x.ok ? '' : JSON.stringify(x.line) + '\n')).join(''),
      );
    }
    const d = decodeBatch(packBatch(withBadKey).batch, schemas, true);
    expect(d.rejects.map((r) => r.code)).toEqual(['not_object', 'nul_character', 'not_json', 'not_utf8', 'not_utf8']);
    expect(JSON.parse(Buffer.from(d.events).toString().trim().split('\n').at(-1)!).key_base64).toBe('//4=');
  });

  it("should write decodeMessage's line for keys that JSON escapes, empty keys, no key and headers", () => {
    const value = Buffer.from('{"id":"k"}');
    const batch: RawMessage[] = [
      ...['plain', 'a "quoted" key', 'back\\slash', 'tab\there', 'bell\u0007', 'ünï€𝄞', '', '\u007f'].map(
        (key, i): RawMessage => ({ topic: 'a', partition: 0, offset: i, timestamp: -1, key: Buffer.from(key), value }),
      ),
      { topic: 'a', partition: 0, offset: 20, key: null, value },
      { topic: 'a', partition: 0, offset: 21, key: 'h', value, headers: [{ trace: Buffer.from('t1') }] },
      { topic: 'a', partition: 0, offset: 22, key: 'h', value, headers: [] },
    ];
    const d = decodeBatch(packBatch(batch).batch, schemas, true);
    const one = batch.map((m) => decodeMessage(m, schemas));
    expect(one.every((x) => x.ok)).toBe(true);
    expect(Buffer.from(d.events).toString()).toBe(
      one.map((x) => (x.ok ? eventLineText(x.line, x.valueText) : '')).join(''),
    );
    expect(Buffer.from(d.events).toString()).toContain('"key":"a \\"quoted\\" key"');
  });

  it('should write every number of a line as JSON does', () => {
    const numbers = [0, 9, 10, 99, 100, 1_000_000, 1_796_419_482_689, Number.MAX_SAFE_INTEGER];
    const batch: RawMessage[] = numbers.map((n, i) => ({
      topic: 'a',
      partition: [0, 9, 10, 99, 100, 1000, 2_147_483_647, 5][i]!,
      offset: n,
      timestamp: n,
      key: n % 2 ? 'ключ' : null,
      value: Buffer.from('{"id":"n"}'),
    }));
    const d = decodeBatch(packBatch(batch).batch, schemas, true);
    const one = batch.map((m) => decodeMessage(m, schemas));
    expect(Buffer.from(d.events).toString()).toBe(
      one.map((x) => (x.ok ? eventLineText(x.line, x.valueText) : '')).join(''),
    );
    expect(Buffer.from(d.events).toString()).toContain('"offset":9007199254740991,"timestamp":9007199254740991');
  });

  it('should pack into the spent values buffer of a decoded batch as into a new one', () => {
    const first = decodeBatch(packBatch(messages).batch, schemas, true);
    expect(first.spentValues).toBeInstanceOf(ArrayBuffer);
    new Uint8Array(first.spentValues!).fill(0x7b);
    const packer = new BatchPacker(messages.length, first.spentValues);
    for (const m of messages) packer.add(m, m.topic, m.partition, m.offset);
    const { batch } = packer.finish();
    expect(batch.values.buffer).toBe(first.spentValues);
    const again = decodeBatch(batch, schemas, true);
    const fresh = decodeBatch(packBatch(messages).batch, schemas, true);
    expect(Buffer.from(again.events).toString()).toBe(Buffer.from(fresh.events).toString());
    expect(Buffer.from(again.rejected).toString()).toBe(Buffer.from(fresh.rejected).toString());
  });

  it('should only classify when not serialising (dry run)', () => {
    const d = decodeBatch(packBatch(messages).batch, schemas, false);
    expect([d.events.length, d.rejected.length, d.eventLines]).toEqual([0, 0, 2]);
  });

  it('should hand over results in buffers of their own, transferable without detaching anything else', () => {
    const small = Buffer.from('pooled');
    const d = decodeBatch(packBatch(messages.slice(0, 1)).batch, schemas, true);
    const text = Buffer.from(d.events).toString();
    const moved = structuredClone(d, { transfer: decodedTransfer(d) });
    expect(Buffer.from(moved.events).toString()).toBe(text);
    expect(small.toString()).toBe('pooled');
    expect(Buffer.from('still usable').toString()).toBe('still usable');
  });
});

describe('headers across threads', () => {
  it('should decode headers that arrive as plain Uint8Arrays (structured clone) like Buffers', () => {
    const { batch } = packBatch([
      {
        topic: 'a',
        partition: 0,
        offset: 0,
        value: Buffer.from('{"id":"x"}'),
        headers: [{ bin: new Uint8Array([0xff, 0]) as Buffer }],
      },
    ]);
    const cloned = structuredClone(batch);
    const d = decodeBatch(cloned, schemas, true);
    expect(JSON.parse(Buffer.from(d.events).toString()).headers).toEqual([
      { key: 'bin', value: '/wA=', encoding: 'base64' },
    ]);
  });
});
