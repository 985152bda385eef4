import { describe, expect, it } from 'vitest';
import {
  decodeDescribeConfigsResponse,
  describeTopicConfigs,
  encodeDescribeConfigsRequest,
  parseBootstrapServers,
  TopicConfigUnavailable,
} from '../../src/kafka/topic-config-reader.js';

/** Builds a DescribeConfigs v1 response payload the way a broker lays it out. */
function response(results: Array<{ topic: string; error?: number; configs: Array<[string, string | null]> }>): Buffer {
  const parts: Buffer[] = [];
  const i8 = (n: number) => parts.push(Buffer.from([n & 0xff]));
  const i16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    parts.push(b);
  };
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    parts.push(b);
  };
  const s = (v: string | null) => {
    if (v === null) return i16(-1);
    i16(Buffer.byteLength(v));
    parts.push(Buffer.from(v));
  };
  i32(7); // correlation id
  i32(0); // throttle
  i32(results.length);
  for (const r of results) {
    i16(r.error ?? 0);
    s(null);
    i8(2);
    s(r.topic);
    i32(r.configs.length);
    for (const [name, value] of r.configs) {
      s(name);
      s(value);
      i8(0);
      i8(1);
      i8(0);
      i32(1); // one synonym
      s(name);
      s(value);
      i8(1);
    }
  }
  return Buffer.concat(parts);
}

describe('DescribeConfigs by hand', () => {
  it('should frame a v1 request for topic resources', () => {
    const buf = encodeDescribeConfigsRequest(1, 'c', ['orders'], ['retention.ms']);
    expect(buf.readInt32BE(0)).toBe(buf.length - 4);
    expect(buf.readInt16BE(4)).toBe(32); // api key
    expect(buf.readInt16BE(6)).toBe(1); // api version
    expect(buf.readInt32BE(8)).toBe(1); // correlation id
    expect(buf.subarray(12).toString('latin1')).toContain('orders');
    expect(buf.subarray(12).toString('latin1')).toContain('retention.ms');
    expect(buf[buf.length - 1]).toBe(0); // include_synonyms = false
  });

  it('should read each topic, its error and its configs, skipping synonyms', () => {
    const { correlationId, results } = decodeDescribeConfigsResponse(
      response([
        { topic: 'a', configs: [['retention.ms', '604800000']] },
        { topic: 'b', error: 3, configs: [] },
        { topic: 'c', configs: [['retention.ms', null]] },
      ]),
    );
    expect(correlationId).toBe(7);
    expect(results.map((r) => [r.topic, r.errorCode, r.configs.get('retention.ms')])).toEqual([
      ['a', 0, '604800000'],
      ['b', 3, undefined],
      ['c', 0, null],
    ]);
  });

  it('should refuse a truncated response', () => {
    const full = response([{ topic: 'a', configs: [['retention.ms', '1']] }]);
    expect(() => decodeDescribeConfigsResponse(full.subarray(0, full.length - 3))).toThrow(TopicConfigUnavailable);
  });

  it('should parse bootstrap servers with protocols, IPv6 and default ports', () => {
    expect(parseBootstrapServers('PLAINTEXT://k1:9093, k2 ,[::1]:9094')).toEqual([
      { host: 'k1', port: 9093 },
      { host: 'k2', port: 9092 },
      { host: '::1', port: 9094 },
    ]);
  });

  it('should not try SASL, which it does not speak', async () => {
    await expect(
      describeTopicConfigs(
        { 'bootstrap.servers': 'k:1', 'security.protocol': 'SASL_SSL' },
        ['t'],
        ['retention.ms'],
        100,
      ),
    ).rejects.toThrow(/PLAINTEXT or SSL only/);
  });
});
