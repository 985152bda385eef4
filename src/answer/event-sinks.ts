/**
 * Where `simulate` sends its events: the Kafka broker (a librdkafka Producer), or stdout as NDJSON
 * for `--dry-run`. The simulation loop only sees {@link EventSink}.
 */
import Kafka from '@confluentinc/kafka-javascript';
import { EventfulError, UsageError } from '../basics/errors.js';
import type { KafkaProperties } from '../config/kafka-config.js';
import { configuredClient, connectClient, disconnectClient } from '../kafka/client-support.js';

/** A destination for simulated messages. */
export interface EventSink {
  /** Queues one message; resolves when the sink can take the next one (back-pressure). */
  send(topic: string, key: string, value: unknown): Promise<void>;
  /** Waits until every queued message is delivered (or has failed) and releases the sink. */
  close(): Promise<SinkResult>;
  /** Messages acknowledged so far. */
  readonly delivered: number;
}

export interface SinkResult {
  delivered: number;
  failed: number;
  /** The first delivery error, if any. */
  firstError?: string;
}

/** Producer defaults; any of them can be overridden through the usual librdkafka property settings. */
export const PRODUCER_DEFAULTS: Readonly<KafkaProperties> = {
  'linger.ms': 20,
  'batch.num.messages': 10_000,
  'queue.buffering.max.messages': 200_000,
  'compression.type': 'lz4',
  'enable.idempotence': true,
};
/** How long to wait for the broker's metadata when connecting. */
export const CONNECT_TIMEOUT_MS = 30_000;
/** How long `close` waits for outstanding deliveries. */
export const FLUSH_TIMEOUT_MS = 60_000;
const POLL_INTERVAL_MS = 50;
const QUEUE_FULL_BACKOFF_MS = 10;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes `{"topic","key","value"}` lines to a stream, honouring its back-pressure. */
export class NdjsonSink implements EventSink {
  delivered = 0;
  constructor(private readonly out: NodeJS.WritableStream) {}

  async send(topic: string, key: string, value: unknown): Promise<void> {
    this.delivered++;
    if (!this.out.write(JSON.stringify({ topic, key, value }) + '\n'))
      await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }

  async close(): Promise<SinkResult> {
    return { delivered: this.delivered, failed: 0 };
  }
}

/** Produces to Kafka with a librdkafka Producer: delivery reports counted, a full queue waited out. */
export class KafkaSink implements EventSink {
  delivered = 0;
  private failed = 0;
  private produced = 0;
  private firstError: string | undefined;

  private constructor(private readonly producer: Kafka.Producer) {
    producer.on('delivery-report', (err) => {
      if (err) {
        this.failed++;
        this.firstError ??= err.message;
      } else this.delivered++;
    });
    producer.setPollInterval(POLL_INTERVAL_MS);
  }

  /**
   * Connects a producer for `topics`; fails with a clear message when the broker cannot be reached in time or a
   * topic is not there. Each topic is asked for by name, again while it has no partitions (a cluster that creates
   * topics on first use makes it on the first ask; a new topic takes a moment to reach every broker).
   */
  static async connect(props: Readonly<KafkaProperties>, topics: readonly string[]): Promise<KafkaSink> {
    const producer = configuredClient(
      () => new Kafka.Producer({ ...PRODUCER_DEFAULTS, ...props, dr_cb: true } as Kafka.ProducerGlobalConfig),
    );
    await connectClient(producer, props, CONNECT_TIMEOUT_MS);
    try {
      for (const topic of topics)
        if (!(await topicAppears(producer, topic)))
          throw new UsageError(
            `topic "${topic}" does not exist on ${String(props['bootstrap.servers'])}: create it, or pass --create-topics`,
          );
    } catch (err) {
      await disconnectClient(producer, CONNECT_TIMEOUT_MS);
      throw err;
    }
    return new KafkaSink(producer);
  }

  async send(topic: string, key: string, value: unknown): Promise<void> {
    const bytes = Buffer.from(JSON.stringify(value));
    for (;;) {
      try {
        // The Kafka timestamp is the time of production: retention then counts from now, whatever
        // simulated time the event carries in `occurred_at`.
        this.producer.produce(topic, null, bytes, key, Date.now());
        this.produced++;
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== Kafka.CODES.ERRORS.ERR__QUEUE_FULL) throw err;
        // librdkafka's queue is full: let it send and deliver before trying again.
        this.producer.poll();
        await sleep(QUEUE_FULL_BACKOFF_MS);
      }
    }
  }

  async close(): Promise<SinkResult> {
    try {
      await new Promise<void>((resolve, reject) =>
        this.producer.flush(FLUSH_TIMEOUT_MS, (err) =>
          err ? reject(new EventfulError(`flush failed: ${err.message}`)) : resolve(),
        ),
      );
      // Delivery reports arrive through the poll loop: wait for the last ones.
      const deadline = Date.now() + FLUSH_TIMEOUT_MS;
      while (this.delivered + this.failed < this.produced && Date.now() < deadline) {
        this.producer.poll();
        await sleep(POLL_INTERVAL_MS);
      }
    } finally {
      await new Promise<void>((resolve) => this.producer.disconnect(() => resolve()));
    }
    const undelivered = this.produced - this.delivered - this.failed;
    return {
      delivered: this.delivered,
      failed: this.failed + undelivered,
      ...(this.firstError !== undefined
        ? { firstError: this.firstError }
        : undelivered > 0
          ? { firstError: `${undelivered} messages had no delivery report within ${FLUSH_TIMEOUT_MS / 1000}s` }
          : {}),
    };
  }
}

/** How long a topic may take to appear (created on first use, or reaching every broker), and how often it is asked. */
const TOPIC_APPEARS_MS = 10_000;
const TOPIC_ASK_EVERY_MS = 500;

/**
 * Whether `topic` has partitions, asked until it does or {@link TOPIC_APPEARS_MS} passed. A metadata request that
 * fails counts as there: the first send then says what is wrong.
 */
async function topicAppears(producer: Kafka.Producer, topic: string): Promise<boolean> {
  const deadline = Date.now() + TOPIC_APPEARS_MS;
  for (;;) {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) =>
      producer.getMetadata({ topic, timeout: CONNECT_TIMEOUT_MS }, (err, m) => (err ? reject(err) : resolve(m))),
    ).catch(() => undefined);
    if (!metadata || metadata.topics.some((t) => t.name === topic && t.partitions.length > 0)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, TOPIC_ASK_EVERY_MS));
  }
}

/** Creates each topic with `partitions` partitions unless it exists; says which were created. */
export async function createTopics(
  props: Readonly<KafkaProperties>,
  topics: readonly string[],
  partitions: number,
  replicationFactor: number,
): Promise<Record<string, 'created' | 'exists'>> {
  const admin = configuredClient(() => Kafka.AdminClient.create(props as Kafka.GlobalConfig));
  const out: Record<string, 'created' | 'exists'> = {};
  try {
    for (const topic of topics)
      out[topic] = await new Promise<'created' | 'exists'>((resolve, reject) =>
        admin.createTopic(
          { topic, num_partitions: partitions, replication_factor: replicationFactor },
          CONNECT_TIMEOUT_MS,
          (err) => {
            if (!err) resolve('created');
            else if (err.code === Kafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve('exists');
            else reject(new EventfulError(`cannot create topic "${topic}": ${err.message}`));
          },
        ),
      );
  } finally {
    admin.disconnect();
  }
  return out;
}
