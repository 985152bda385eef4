import Kafka from '@confluentinc/kafka-javascript';
import { EventfulError } from '../basics/errors.js';
import {
  committedOffsetsOf,
  connectClient,
  createConsumer,
  describe,
  type KafkaClientOptions,
  disconnectClient,
  GROUP_HAS_MEMBERS_CODES,
  readCommittedWithRetry,
  readTopicPartitions,
  readWatermarks,
} from './client-support.js';
import { consumerConfig } from './consumer-config.js';
import type { TopicPartition } from './drain-plan.js';
import type {
  CommittedOffset,
  ConsumedBatch,
  EventSource,
  RawMessage,
  TopicPartitionOffset,
  Watermarks,
} from './event-source.js';

/** Consume timeout: how long one `consume(n)` waits for a first message before returning to the drain loop. */
const CONSUME_TIMEOUT_MS = 200;
/** At most this many committed-offset reads while the group coordinator is unavailable. */
const COMMITTED_ATTEMPTS = 8;
const DISCONNECT_TIMEOUT_MS = 10_000;

/** Options of {@link KafkaConsumerSource}. */
export interface KafkaConsumerSourceOptions extends KafkaClientOptions {
  /** Called when a user property is overridden by a value extract needs (see {@link consumerConfig}). */
  onOverride?: (message: string) => void;
}

/**
 * The {@link EventSource} over `@confluentinc/kafka-javascript`'s librdkafka-backed `KafkaConsumer` (node-rdkafka
 * API). Partitions are assigned explicitly (no subscribe, so no rebalance can move them mid-drain); offsets are
 * still committed under the group id, and the group's committed offsets are what the next run starts from.
 */
export class KafkaConsumerSource implements EventSource {
  private readonly consumer: Kafka.KafkaConsumer;
  private readonly eofs: TopicPartitionOffset[] = [];
  private connected = false;

  constructor(private readonly options: KafkaConsumerSourceOptions) {
    const conf = consumerConfig(options.properties, options.groupId, options.onOverride);
    // Offsets are always given explicitly; should one fall out of range (retention), read from the oldest kept.
    this.consumer = createConsumer(conf, CONSUME_TIMEOUT_MS, this.eofs, options.onClientError);
    // Return what is ready once a first message arrived, rather than waiting up to the timeout for each one.
    const tuning = this.consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage?: (v: boolean) => void };
    tuning.setDefaultIsTimeoutOnlyForFirstMessage?.(true);
  }

  async connect(): Promise<void> {
    await connectClient(
      this.consumer,
      this.options.properties,
      this.options.timeoutMs,
      '; nothing was read or committed',
    );
    this.connected = true;
  }

  topicPartitions(): Promise<Map<string, number[]>> {
    return readTopicPartitions(this.consumer, this.options.timeoutMs);
  }

  watermarks(partitions: readonly TopicPartition[]): Promise<Watermarks[]> {
    return readWatermarks(this.consumer, partitions, this.options.timeoutMs);
  }

  async committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    if (partitions.length === 0) return [];
    return readCommittedWithRetry(
      async (remainingMs) => {
        const list = await new Promise<Kafka.TopicPartitionOffsetAndMetadata[]>((resolve, reject) =>
          this.consumer.committed(
            partitions.map(({ topic, partition }) => ({ topic, partition })),
            remainingMs,
            (err, tps) => (err ? reject(err) : resolve(tps)),
          ),
        );
        return committedOffsetsOf(list);
      },
      { groupId: this.options.groupId, timeoutMs: this.options.timeoutMs, maxAttempts: COMMITTED_ATTEMPTS },
    );
  }

  assign(partitions: readonly TopicPartitionOffset[]): void {
    this.consumer.assign(partitions.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
  }

  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length) this.consumer.pause(partitions.map(({ topic, partition }) => ({ topic, partition })));
  }

  consume(max: number): Promise<ConsumedBatch> {
    return new Promise((resolve, reject) =>
      this.consumer.consume(max, (err, messages) => {
        if (err) {
          reject(new EventfulError(`reading from Kafka failed: ${describe(err)}`, 1, 'kafka_consume'));
          return;
        }
        // The client emits 'partition.eof' synchronously before calling back: they belong to this batch.
        resolve({ messages: messages as RawMessage[], endOfPartition: this.eofs.splice(0) });
      }),
    );
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    try {
      this.consumer.commitSync(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const inUse = typeof code === 'number' && GROUP_HAS_MEMBERS_CODES.has(code);
      const hint = inUse
        ? ` (another consumer is a member of group "${this.options.groupId}", and the broker takes extract's ` +
          `commits only while the group has none: stop that consumer, or give extract a group of its own)`
        : '';
      throw new EventfulError(
        `committing the offsets of group "${this.options.groupId}" failed: ${describe(err)}${hint}`,
        1,
        inUse ? 'group_in_use' : 'kafka_commit',
      );
    }
  }

  async disconnect(): Promise<void> {
    if (!this.connected && !this.consumer.isConnected()) return;
    this.connected = false;
    await disconnectClient(this.consumer, DISCONNECT_TIMEOUT_MS);
  }
}
