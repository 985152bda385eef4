import { describe, expect, it } from 'vitest';
import { KafkaConsumerSource } from '../../src/kafka/consumer-adapter.js';

describe('KafkaConsumerSource settings', () => {
  it('should say which of the Kafka settings it overrides: auto commit, and a group.id other than --group-id', async () => {
    const notes: string[] = [];
    const source = new KafkaConsumerSource({
      properties: { 'bootstrap.servers': '127.0.0.1:9', 'group.id': 'from-connection', 'enable.auto.commit': 'true' },
      groupId: 'eventful',
      timeoutMs: 1_000,
      onOverride: (m) => notes.push(m),
    });
    await source.disconnect();
    expect(notes).toEqual([
      'ignoring enable.auto.commit=true: extract always uses enable.auto.commit=false',
      'ignoring group.id=from-connection from the Kafka settings: extract commits the offsets of --group-id "eventful"',
    ]);
  });

  it('should say nothing when the settings agree with what extract needs', async () => {
    const notes: string[] = [];
    const source = new KafkaConsumerSource({
      properties: { 'bootstrap.servers': '127.0.0.1:9', 'group.id': 'eventful' },
      groupId: 'eventful',
      timeoutMs: 1_000,
      onOverride: (m) => notes.push(m),
    });
    await source.disconnect();
    expect(notes).toEqual([]);
  });

  it("should be accepted by librdkafka with the memory bounds, and with a user's own under either name", async () => {
    for (const properties of [
      { 'bootstrap.servers': '127.0.0.1:9' },
      {
        'bootstrap.servers': '127.0.0.1:9',
        'fetch.message.max.bytes': 1_048_576,
        'queued.max.messages.kbytes': 65_536,
      },
      { 'bootstrap.servers': '127.0.0.1:9', 'max.partition.fetch.bytes': 1_048_576, 'fetch.max.bytes': 52_428_800 },
    ]) {
      let source: KafkaConsumerSource | undefined;
      // librdkafka refuses an unknown property or a bad value when the client is made.
      expect(
        () => (source = new KafkaConsumerSource({ properties, groupId: 'eventful', timeoutMs: 1_000 })),
      ).not.toThrow();
      await source?.disconnect();
    }
  });

  it('should say that another consumer holds the group when the broker refuses a commit for that reason', async () => {
    const source = new KafkaConsumerSource({
      properties: { 'bootstrap.servers': '127.0.0.1:9' },
      groupId: 'eventful',
      timeoutMs: 1_000,
    });
    // What librdkafka throws when the broker answers Unknown member (25), and when it answers anything else.
    const client = (source as unknown as { consumer: { commitSync: () => void } }).consumer;
    for (const [code, message, expected] of [
      [25, 'Broker: Unknown member', 'group_in_use'],
      [16, 'Broker: Not coordinator', 'kafka_commit'],
    ] as const) {
      client.commitSync = () => {
        throw Object.assign(new Error(message), { code });
      };
      const failure = await source.commit([{ topic: 't', partition: 0, offset: 1 }]).catch((err: unknown) => err);
      expect(failure).toMatchObject({ code: expected });
      const hint =
        /another consumer is a member of group "eventful".*stop that consumer, or give extract a group of its own/;
      if (expected === 'group_in_use') expect((failure as Error).message).toMatch(hint);
      else expect((failure as Error).message).not.toMatch(hint);
    }
    await source.disconnect();
  });
});
