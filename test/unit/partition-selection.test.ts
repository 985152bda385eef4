import { describe, expect, it } from 'vitest';
import { formatPartitionSelection, parsePartitionSelection } from '../../src/config/partition-selection.js';

describe('--partitions', () => {
  it('should parse topics with partition numbers and inclusive ranges', () => {
    const s = parsePartitionSelection('train-arrivals:0-2,incidents:1');
    expect([...s]).toEqual([
      ['train-arrivals', [0, 1, 2]],
      ['incidents', [1]],
    ]);
  });

  it('should let an item without a topic continue the topic before it', () => {
    expect([...parsePartitionSelection('t:4-5,0,2')]).toEqual([['t', [0, 2, 4, 5]]]);
  });

  it('should refuse malformed lists, naming the flag', () => {
    expect(() => parsePartitionSelection('')).toThrow(/--partitions/);
    expect(() => parsePartitionSelection('orders')).toThrow(/topic:partitions/);
    expect(() => parsePartitionSelection('orders:2-1')).toThrow(/backwards/);
    expect(() => parsePartitionSelection('orders:x')).toThrow(/not a partition/);
    expect(() => parsePartitionSelection('bad topic:1')).toThrow(/not a Kafka topic name/);
    expect(() => parsePartitionSelection('x', 'EVENTFUL_PARTITIONS')).toThrow(/^EVENTFUL_PARTITIONS/);
  });

  it('should render a selection back in the same syntax', () => {
    const text = 'a:0-2,5,b:1';
    expect(formatPartitionSelection(parsePartitionSelection(text))).toBe(text);
  });
});
