import type { TopicPartition } from './drain-plan.js';

/**
 * The subset of a Kafka consumer that extract needs, so the drain can be driven by the real client
 * (`KafkaConsumerSource`) or, in unit tests, by a script. Offsets are plain numbers.
 */

/** A message as the client hands it over. */
export interface RawMessage {
  topic: string;
  partition: number;
  offset: number;
  /** Kafka timestamp in ms since the epoch; missing or negative when the broker has none. */
  timestamp?: number | undefined;
  key?: Buffer | string | null | undefined;
  /** null: a tombstone. */
  value: Buffer | null;
  /** Headers as the client gives them: one single-key object per header, in order. */
  headers?: Array<Record<string, string | Buffer>> | undefined;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

/** What one `consume` call returned: messages, and end-of-partition events (the offset where each partition ended). */
export interface ConsumedBatch {
  messages: RawMessage[];
  endOfPartition: TopicPartitionOffset[];
}

export interface Watermarks extends TopicPartition {
  low: number;
  high: number;
}

export interface CommittedOffset extends TopicPartition {
  /** The group's committed offset, or null when it has none. */
  offset: number | null;
}

export interface EventSource {
  /** Connects, failing after the connect timeout when no broker answers. */
  connect(): Promise<void>;
  /** Every topic of the cluster with its partition ids. */
  topicPartitions(): Promise<Map<string, number[]>>;
  /** Low and high watermarks, asked of the broker (not a local cache). */
  watermarks(partitions: readonly TopicPartition[]): Promise<Watermarks[]>;
  /** The group's committed offsets for these partitions. */
  committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]>;
  /** Reads exactly these partitions from these offsets (no group membership, no rebalance). */
  assign(partitions: readonly TopicPartitionOffset[]): void;
  /** Stops fetching these partitions (they reached their watermark). */
  pause(partitions: readonly TopicPartition[]): void;
  /** Up to `max` messages; returns early at the end of partitions or after the client's consume timeout. */
  consume(max: number): Promise<ConsumedBatch>;
  /** Commits the group's offsets synchronously (the next offset to read per partition). */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Closes the consumer; never throws. */
  disconnect(): Promise<void>;
}
