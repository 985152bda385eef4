import { describe, expect, it } from 'vitest';
import { CONSUMER_DEFAULTS, consumerConfig } from '../../src/kafka/consumer-config.js';

/** What bounds librdkafka's memory: a regression here lets a compressed topic's fetches grow RSS again. */
const MEMORY_BOUNDS = {
  'queued.max.messages.kbytes': 1_024,
  'max.partition.fetch.bytes': 262_144,
  'fetch.max.bytes': 1_048_576,
} as const;

describe('extract consumer configuration', () => {
  it('should bound the prefetch queue and the fetch sizes by default', () => {
    const conf = consumerConfig({ 'bootstrap.servers': 'k:9092' }, 'g');
    expect(conf).toMatchObject(MEMORY_BOUNDS);
    // librdkafka's own defaults are 64 MB of queue and 50 MB per fetch: nothing may fall back to them.
    expect(Number(conf['queued.max.messages.kbytes']) * 1024).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(Number(conf['fetch.max.bytes'])).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(conf).toMatchObject({ 'group.id': 'g', 'enable.auto.commit': false, 'enable.partition.eof': true });
  });

  it("should let the user's setting of a bound win over the default", () => {
    const conf = consumerConfig(
      { 'bootstrap.servers': 'k:9092', 'queued.max.messages.kbytes': '65536', 'fetch.max.bytes': 52_428_800 },
      'g',
    );
    expect(conf['queued.max.messages.kbytes']).toBe('65536');
    expect(conf['fetch.max.bytes']).toBe(52_428_800);
    expect(conf['max.partition.fetch.bytes']).toBe(CONSUMER_DEFAULTS['max.partition.fetch.bytes']);
  });

  it("should let the user's fetch.message.max.bytes replace the default under its alias max.partition.fetch.bytes", () => {
    const conf = consumerConfig({ 'bootstrap.servers': 'k:9092', 'fetch.message.max.bytes': 1_048_576 }, 'g');
    expect(conf['fetch.message.max.bytes']).toBe(1_048_576);
    expect('max.partition.fetch.bytes' in conf).toBe(false);
  });

  it('should keep manual commits and --group-id whatever the user passes, and say so', () => {
    const notes: string[] = [];
    const conf = consumerConfig({ 'enable.auto.commit': 'true', 'group.id': 'other' }, 'g', (m) => notes.push(m));
    expect(conf).toMatchObject({ 'enable.auto.commit': false, 'group.id': 'g' });
    expect(notes).toEqual([
      'ignoring enable.auto.commit=true: extract always uses enable.auto.commit=false',
      'ignoring group.id=other from the Kafka settings: extract commits the offsets of --group-id "g"',
    ]);
  });
});
