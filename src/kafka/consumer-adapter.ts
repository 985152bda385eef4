import Kafka from '@confluentinc/kafka-javascript';
import { EventfulError } from '../cli/exit-codes.js';
import type { KafkaProperties } from '../config/kafka-config.js';
import type { TopicPartition } from './drain-plan.js';
import type {
  CommittedOffset,
  ConsumedBatch,
  EventSource,
  RawMessage,
  TopicPartitionOffset,
  Watermarks,
} from './event-source.js';

/**
 * Defaults for the consumer that the user's properties may override. Measured on a 2-core machine
 * (1 M events of ~330 B, 6 partitions): librdkafka >= 2.4 waits `fetch.queue.backoff.ms` (1 s) before fetching
 * again once its prefetch queue is full, which starves a fast reader; 10 ms lifts a bare `consume(n)` loop
 * from ~120 k to ~300 k messages/s. Small prefetch and fetch sizes (librdkafka's defaults are 64 MB, 1 MB per
 * partition and 50 MB) cost no speed here and cut peak RSS by ~60 MB. A message larger than the fetch sizes
 * is still fetched (the broker always returns at least one message).
 */
export const CONSUMER_DEFAULTS: Readonly<KafkaProperties> = {
  'client.id': 'eventful-extract',
  'fetch.queue.backoff.ms': 10,
  'queued.max.messages.kbytes': 2_048,
  'fetch.message.max.bytes': 524_288,
  'fetch.max.bytes': 4_194_304,
};

/**
 * Properties extract sets whatever the user passes: offsets are committed by hand after the snapshot is
 * durable (never automatically), and end-of-partition events tell when a partition reached its watermark.
 */
export const MANAGED_PROPERTIES: Readonly<KafkaProperties> = {
  'enable.auto.commit': false,
  'enable.auto.offset.store': false,
  'enable.partition.eof': true,
};

/** Consume timeout: how long one `consume(n)` waits for a first message before returning to the drain loop. */
const CONSUME_TIMEOUT_MS = 200;
/** Group coordinator errors worth retrying while `__consumer_offsets` is created or moves. */
const RETRIABLE_COORDINATOR_CODES = new Set([
  Kafka.CODES.ERRORS.ERR_NOT_COORDINATOR, // 16
  Kafka.CODES.ERRORS.ERR_COORDINATOR_NOT_AVAILABLE, // 15
  Kafka.CODES.ERRORS.ERR_COORDINATOR_LOAD_IN_PROGRESS, // 14
  Kafka.CODES.ERRORS.ERR__TIMED_OUT, // -185
  Kafka.CODES.ERRORS.ERR__WAIT_COORD, // -180
]);
const COMMITTED_ATTEMPTS = 8;
const RETRY_DELAY_MS = 250;
const DISCONNECT_TIMEOUT_MS = 10_000;

/** Options of {@link KafkaConsumerSource}. */
export interface KafkaConsumerSourceOptions {
  /** The user's librdkafka properties (bootstrap servers, security...). */
  properties: Readonly<KafkaProperties>;
  groupId: string;
  /** Bound of the connect and of each metadata or offset request. */
  timeoutMs: number;
  /** Called with librdkafka's errors and notices (the client retries on its own); never with secrets. */
  onClientError?: (message: string) => void;
  /** Called when a user property is overridden by a {@link MANAGED_PROPERTIES} value. */
  onOverride?: (message: string) => void;
}

interface ClientError {
  code?: number;
  message?: string;
}

function describe(err: unknown): string {
  const e = err as ClientError;
  return `${e?.message ?? String(err)}${typeof e?.code === 'number' ? ` (code ${e.code})` : ''}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
    const conf: Record<string, unknown> = { ...CONSUMER_DEFAULTS, ...options.properties };
    for (const [k, v] of Object.entries(MANAGED_PROPERTIES)) {
      if (k in conf && String(conf[k]) !== String(v))
        options.onOverride?.(`ignoring ${k}=${String(conf[k])}: extract always uses ${k}=${String(v)}`);
      conf[k] = v;
    }
    conf['group.id'] = options.groupId;
    // Offsets are always given explicitly; should one fall out of range (retention), read from the oldest kept.
    this.consumer = new Kafka.KafkaConsumer(conf as Kafka.ConsumerGlobalConfig, { 'auto.offset.reset': 'earliest' });
    this.consumer.setDefaultConsumeTimeout(CONSUME_TIMEOUT_MS);
    // Return what is ready once a first message arrived, rather than waiting up to the timeout for each one.
    const tuning = this.consumer as unknown as { setDefaultIsTimeoutOnlyForFirstMessage?: (v: boolean) => void };
    tuning.setDefaultIsTimeoutOnlyForFirstMessage?.(true);
    this.consumer.on('partition.eof', (e) =>
      this.eofs.push({ topic: e.topic, partition: e.partition, offset: e.offset }),
    );
    this.consumer.on('event.error', (err) => options.onClientError?.(describe(err)));
  }

  async connect(): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.consumer.connect({ timeout: this.options.timeoutMs, allTopics: false }, (err) =>
        err ? reject(err) : resolve(),
      ),
    ).catch((err: unknown) => {
      throw new EventfulError(
        `cannot reach the Kafka broker at ${String(this.options.properties['bootstrap.servers'] ?? this.options.properties['metadata.broker.list'])} ` +
          `within ${this.options.timeoutMs} ms: ${describe(err)}. Check --bootstrap-servers, the network and the security ` +
          `settings; nothing was read or committed`,
        1,
        'broker_unreachable',
      );
    });
    this.connected = true;
  }

  async topicPartitions(): Promise<Map<string, number[]>> {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) =>
      this.consumer.getMetadata({ allTopics: true, timeout: this.options.timeoutMs }, (err, data) =>
        err ? reject(err) : resolve(data),
      ),
    ).catch((err: unknown) => {
      throw new EventfulError(`cannot read the cluster's topics: ${describe(err)}`, 1, 'kafka_metadata');
    });
    return new Map(metadata.topics.map((t) => [t.name, t.partitions.map((p) => p.id).sort((a, b) => a - b)]));
  }

  async watermarks(partitions: readonly TopicPartition[]): Promise<Watermarks[]> {
    return Promise.all(
      partitions.map(
        ({ topic, partition }) =>
          new Promise<Watermarks>((resolve, reject) =>
            this.consumer.queryWatermarkOffsets(topic, partition, this.options.timeoutMs, (err, o) =>
              err
                ? reject(
                    new EventfulError(
                      `cannot read the watermarks of ${topic}[${partition}]: ${describe(err)}`,
                      1,
                      'kafka_watermarks',
                    ),
                  )
                : resolve({ topic, partition, low: o.lowOffset, high: o.highOffset }),
            ),
          ),
      ),
    );
  }

  async committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    if (partitions.length === 0) return [];
    const deadline = Date.now() + this.options.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const list = await new Promise<Kafka.TopicPartitionOffsetAndMetadata[]>((resolve, reject) =>
          this.consumer.committed(
            partitions.map(({ topic, partition }) => ({ topic, partition })),
            Math.max(1, deadline - Date.now()),
            (err, tps) => (err ? reject(err) : resolve(tps)),
          ),
        );
        const failed = list.find((tp) => tp.error && tp.error.code !== 0);
        if (failed) throw failed.error;
        return list.map((tp) => ({
          topic: tp.topic,
          partition: tp.partition,
          // A group without a commit gives no usable offset (undefined or a negative logical offset).
          offset: typeof tp.offset === 'number' && tp.offset >= 0 ? tp.offset : null,
        }));
      } catch (err) {
        const code = (err as ClientError)?.code;
        if (
          attempt < COMMITTED_ATTEMPTS &&
          code !== undefined &&
          RETRIABLE_COORDINATOR_CODES.has(code) &&
          Date.now() < deadline
        ) {
          await sleep(RETRY_DELAY_MS * attempt);
          continue;
        }
        throw new EventfulError(
          `cannot read the committed offsets of group "${this.options.groupId}": ${describe(err)}`,
          1,
          'kafka_committed',
        );
      }
    }
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
      throw new EventfulError(
        `committing the offsets of group "${this.options.groupId}" failed: ${describe(err)}`,
        1,
        'kafka_commit',
      );
    }
  }

  async disconnect(): Promise<void> {
    if (!this.connected && !this.consumer.isConnected()) return;
    this.connected = false;
    await Promise.race([
      new Promise<void>((resolve) => this.consumer.disconnect(() => resolve())),
      // A bound that does not keep the process alive by itself.
      new Promise<void>((resolve) => setTimeout(resolve, DISCONNECT_TIMEOUT_MS).unref()),
    ]).catch(() => undefined);
  }
}
