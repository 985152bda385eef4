import { describe, expect, it } from 'vitest';
import type { TopicPartition } from '../../src/kafka/drain-plan.js';
import type { TopicPartitionOffset } from '../../src/kafka/event-source.js';
import { observeLag, partitionKey, type LagSource } from '../../src/kafka/lag-probe.js';

/** A cluster in memory: partitions with watermarks, the group's commits, timestamps of first pending messages. */
function scriptedSource(): LagSource & { timestampRequests: TopicPartitionOffset[][] } {
  const marks: Record<string, [number, number]> = { 'a[0]': [0, 10], 'a[1]': [5, 5], 'b[0]': [20, 30] };
  const commits: Record<string, number> = { 'a[0]': 4, 'b[0]': 10 };
  const timestampRequests: TopicPartitionOffset[][] = [];
  return {
    timestampRequests,
    connect: async () => undefined,
    disconnect: async () => undefined,
    topicPartitions: async () =>
      new Map([
        ['a', [0, 1]],
        ['b', [0]],
        ['other', [0]],
      ]),
    watermarks: async (ps: readonly TopicPartition[]) =>
      ps.map((tp) => ({ ...tp, low: marks[partitionKey(tp)]![0], high: marks[partitionKey(tp)]![1] })),
    committed: async (ps: readonly TopicPartition[]) =>
      ps.map((tp) => ({ ...tp, offset: commits[partitionKey(tp)] ?? null })),
    timestampsAt: async (starts: readonly TopicPartitionOffset[]) => {
      timestampRequests.push([...starts]);
      return new Map(starts.map((s) => [partitionKey(s), 1_000 + s.offset]));
    },
    retentionMs: async (topics: readonly string[]) => new Map(topics.map((t) => [t, t === 'a' ? 3_600_000 : null])),
  };
}

describe('observing lag', () => {
  it('should fetch the oldest pending event only where something is pending, from where the next snapshot starts', async () => {
    const source = scriptedSource();
    const observed = await observeLag(source, { topics: ['a', 'b'] });
    // a[1] is empty (low = high); b[0] lost offsets 10..19, so its oldest pending event is at the log start.
    expect(source.timestampRequests).toEqual([
      [
        { topic: 'a', partition: 0, offset: 4 },
        { topic: 'b', partition: 0, offset: 20 },
      ],
    ]);
    expect(observed).toEqual([
      {
        topic: 'a',
        retentionMs: 3_600_000,
        partitions: [
          { topic: 'a', partition: 0, low: 0, high: 10, committed: 4, oldestPendingTimestamp: 1_004 },
          { topic: 'a', partition: 1, low: 5, high: 5, committed: null, oldestPendingTimestamp: null },
        ],
      },
      {
        topic: 'b',
        retentionMs: null,
        partitions: [{ topic: 'b', partition: 0, low: 20, high: 30, committed: 10, oldestPendingTimestamp: 1_020 }],
      },
    ]);
  });

  it('should assume the given retention only where the broker did not say', async () => {
    const observed = await observeLag(scriptedSource(), { topics: ['a', 'b'], assumedRetentionMs: 42 });
    expect(observed.map((t) => t.retentionMs)).toEqual([3_600_000, 42]);
  });

  it('should refuse unknown topics as a usage error (exit 2)', async () => {
    await expect(observeLag(scriptedSource(), { topics: ['a', 'nope', 'gone'] })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('unknown topics "nope", "gone"'),
    });
  });
});
