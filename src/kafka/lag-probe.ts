/**
 * Reads what the lag report needs from the cluster, and only reads: the consumer group is never joined and
 * nothing is ever committed, whatever happens.
 *
 * How it stays out of the group:
 * - The one consumer here uses a random throwaway `group.id` (`eventful-lag-<hex>`), never the real group's, and
 *   never subscribes, so it never sends JoinGroup; it never commits either (auto commit and offset store off, no
 *   commit call). A mistake here could at worst touch the throwaway group.
 * - The real group's committed offsets are read with the admin API (`listConsumerGroupOffsets`, an OffsetFetch
 *   request), which has no way to join or commit. The admin client rides on the consumer's connection.
 * - The oldest pending event's Kafka timestamp is read by fetching one message per lagging partition: the
 *   throwaway consumer `assign`s each at the offset the next snapshot starts from and takes the first message it
 *   gets. `offsetsForTimes` answers the opposite question (offset for a time), and ListOffsets gives timestamps
 *   only for the newest message, so a fetch is the only way. It costs one small fetch per lagging partition.
 */
import { randomBytes } from 'node:crypto';
import Kafka from '@confluentinc/kafka-javascript';
import { EventfulError, UsageError } from '../basics/errors.js';
import type { KafkaProperties } from '../config/kafka-config.js';
import {
  committedOffsetsOf,
  connectClient,
  createConsumer,
  describe,
  type KafkaClientOptions,
  disconnectClient,
  NO_AUTO_COMMIT_PROPERTIES,
  readCommittedWithRetry,
  readTopicPartitions,
  readWatermarks,
} from './client-support.js';
import { planPartition, type TopicPartition } from './drain-plan.js';
import type { CommittedOffset, TopicPartitionOffset, Watermarks } from './event-source.js';
import type { PartitionObservation, TopicObservation } from './lag-report.js';
import { describeTopicConfigs } from './topic-config-reader.js';

/** The topic config that says how long the broker keeps events. */
const RETENTION_MS = 'retention.ms';

/** What the lag report needs from a cluster (the real {@link KafkaLagProbe}, or a script in unit tests). */
export interface LagSource {
  /** Connects, failing after the connect timeout when no broker answers. */
  connect(): Promise<void>;
  /** Every topic of the cluster with its partition ids. */
  topicPartitions(): Promise<Map<string, number[]>>;
  /** Low and high watermarks, asked of the broker. */
  watermarks(partitions: readonly TopicPartition[]): Promise<Watermarks[]>;
  /** The group's committed offsets, read without joining it. */
  committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]>;
  /** The Kafka timestamp of the first message at or after each offset; null where none could be read in time. */
  timestampsAt(starts: readonly TopicPartitionOffset[]): Promise<Map<string, number | null>>;
  /** `retention.ms` per topic; null where it could not be read. */
  retentionMs(topics: readonly string[]): Promise<Map<string, number | null>>;
  /** Closes the connection; never throws. */
  disconnect(): Promise<void>;
}

/** The key of a partition in the maps above. */
export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}[${tp.partition}]`;
}

/** Reads every topic's observation for the lag report. Unknown topics are a usage error (exit 2). */
export async function observeLag(
  source: LagSource,
  request: { topics: readonly string[]; assumedRetentionMs?: number | undefined },
): Promise<TopicObservation[]> {
  const cluster = await source.topicPartitions();
  const unknown = request.topics.filter((t) => !cluster.has(t));
  if (unknown.length)
    throw new UsageError(
      `unknown topic${unknown.length > 1 ? 's' : ''} ${unknown.map((t) => `"${t}"`).join(', ')}: not on the cluster; ` +
        `check --topics`,
    );
  const partitions = request.topics.flatMap((topic) => cluster.get(topic)!.map((partition) => ({ topic, partition })));
  const [marks, committed, retention] = await Promise.all([
    source.watermarks(partitions),
    source.committed(partitions),
    source.retentionMs(request.topics),
  ]);
  const committedBy = new Map(committed.map((c) => [partitionKey(c), c.offset]));
  const starts = marks.map((w) => ({ ...w, committed: committedBy.get(partitionKey(w)) ?? null }));
  const pending = starts
    .map(planPartition)
    .filter((p) => p.pending > 0)
    .map(({ topic, partition, start }) => ({ topic, partition, offset: start }));
  const timestamps = await source.timestampsAt(pending);
  return request.topics.map((topic) => ({
    topic,
    retentionMs: retention.get(topic) ?? request.assumedRetentionMs ?? null,
    partitions: starts
      .filter((s) => s.topic === topic)
      .map((s): PartitionObservation => ({ ...s, oldestPendingTimestamp: timestamps.get(partitionKey(s)) ?? null })),
  }));
}

/**
 * Defaults the user's properties may override: small fetches, since one message per partition is all that is
 * read, and a client id that says who is asking.
 */
export const PROBE_DEFAULTS: Readonly<KafkaProperties> = {
  'client.id': 'eventful-lag',
  'fetch.message.max.bytes': 65_536,
  'fetch.max.bytes': 1_048_576,
  'queued.max.messages.kbytes': 1_024,
  'fetch.wait.max.ms': 100,
};

/** Properties the probe sets whatever the user passes: it never commits, and it learns where partitions end. */
export const PROBE_MANAGED: Readonly<KafkaProperties> = NO_AUTO_COMMIT_PROPERTIES;

/** Properties of the user's config that have no place in a throwaway consumer (static membership). */
const DROPPED = ['group.instance.id'];

const CONSUME_TIMEOUT_MS = 100;
const CONSUME_BATCH = 100;
const DISCONNECT_TIMEOUT_MS = 5_000;

/** Options of {@link KafkaLagProbe}. */
export interface KafkaLagProbeOptions extends KafkaClientOptions {
  /** Things a person should know that do not stop the report (a topic config that could not be read). */
  onWarning?: (message: string) => void;
  /** Makes the throwaway group id (tests may fix it). */
  random?: () => string;
}

/** The {@link LagSource} over `@confluentinc/kafka-javascript` (see the module comment for how it stays read-only). */
export class KafkaLagProbe implements LagSource {
  private readonly consumer: Kafka.KafkaConsumer;
  private admin: Kafka.IAdminClient | undefined;
  private readonly eofs: TopicPartitionOffset[] = [];
  private connected = false;
  /** The throwaway group id of the probe's consumer (never the real group's). */
  readonly probeGroupId: string;

  constructor(private readonly options: KafkaLagProbeOptions) {
    const conf: Record<string, unknown> = { ...PROBE_DEFAULTS, ...options.properties, ...PROBE_MANAGED };
    for (const k of DROPPED) delete conf[k];
    this.probeGroupId = `eventful-lag-${options.random?.() ?? randomBytes(6).toString('hex')}`;
    conf['group.id'] = this.probeGroupId;
    // Should an offset fall out of range between reading the watermarks and fetching, read the oldest kept.
    this.consumer = createConsumer(conf, CONSUME_TIMEOUT_MS, this.eofs, options.onClientError);
  }

  async connect(): Promise<void> {
    await connectClient(this.consumer, this.options.properties, this.options.timeoutMs);
    this.connected = true;
    this.admin = Kafka.AdminClient.createFrom(this.consumer);
  }

  topicPartitions(): Promise<Map<string, number[]>> {
    return readTopicPartitions(this.consumer, this.options.timeoutMs);
  }

  watermarks(partitions: readonly TopicPartition[]): Promise<Watermarks[]> {
    return readWatermarks(this.consumer, partitions, this.options.timeoutMs);
  }

  async committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    if (partitions.length === 0) return [];
    const admin = this.admin;
    if (!admin) throw new EventfulError('the lag probe is not connected', 1, 'kafka_committed');
    return readCommittedWithRetry(
      async (remainingMs) => {
        const [group] = await new Promise<Kafka.GroupResults[]>((resolve, reject) =>
          admin.listConsumerGroupOffsets(
            [
              {
                groupId: this.options.groupId,
                partitions: partitions.map(({ topic, partition }) => ({ topic, partition })),
              },
            ],
            { timeout: remainingMs },
            (err, result) => (err ? reject(err) : resolve(result)),
          ),
        );
        if (!group) throw new Error('the broker returned no result for the group');
        if (group.error && group.error.code !== 0) throw group.error;
        return committedOffsetsOf(group.partitions);
      },
      { groupId: this.options.groupId, timeoutMs: this.options.timeoutMs, capDelayAtDeadline: true },
    );
  }

  async timestampsAt(starts: readonly TopicPartitionOffset[]): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    if (starts.length === 0) return out;
    const wanted = new Map(starts.map((s) => [partitionKey(s), s]));
    this.eofs.length = 0;
    this.consumer.assign(starts.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
    const deadline = Date.now() + this.options.timeoutMs;
    try {
      while (out.size < wanted.size && Date.now() < deadline) {
        const messages = await new Promise<Kafka.Message[]>((resolve, reject) =>
          this.consumer.consume(CONSUME_BATCH, (err, m) => (err ? reject(err) : resolve(m))),
        ).catch((err: unknown) => {
          throw new EventfulError(`reading the oldest pending events failed: ${describe(err)}`, 1, 'kafka_consume');
        });
        const done: TopicPartition[] = [];
        for (const m of messages) {
          const key = partitionKey(m);
          if (!wanted.has(key) || out.has(key)) continue;
          out.set(key, typeof m.timestamp === 'number' && m.timestamp >= 0 ? m.timestamp : null);
          done.push({ topic: m.topic, partition: m.partition });
        }
        // A partition that ends before any message (only transaction markers or aborted data pending) has no
        // readable pending event.
        for (const e of this.eofs.splice(0)) {
          const key = partitionKey(e);
          if (wanted.has(key) && !out.has(key)) {
            out.set(key, null);
            done.push({ topic: e.topic, partition: e.partition });
          }
        }
        if (done.length) this.consumer.pause(done);
      }
    } finally {
      this.consumer.unassign();
    }
    for (const key of wanted.keys()) if (!out.has(key)) out.set(key, null);
    return out;
  }

  async retentionMs(topics: readonly string[]): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>(topics.map((t) => [t, null]));
    try {
      const results = await describeTopicConfigs(
        this.options.properties,
        topics,
        [RETENTION_MS],
        this.options.timeoutMs,
      );
      for (const r of results) {
        const text = r.configs.get(RETENTION_MS);
        const ms = text === undefined || text === null ? NaN : Number(text);
        if (r.errorCode === 0 && Number.isSafeInteger(ms)) out.set(r.topic, ms);
        else
          this.options.onWarning?.(
            `cannot read retention.ms of "${r.topic}" (Kafka error ${r.errorCode}${r.errorMessage ? `: ${r.errorMessage}` : ''})`,
          );
      }
    } catch (err) {
      this.options.onWarning?.(`retention.ms unknown: ${describe(err)}`);
    }
    return out;
  }

  async disconnect(): Promise<void> {
    this.admin = undefined;
    if (!this.connected && !this.consumer.isConnected()) return;
    this.connected = false;
    await disconnectClient(this.consumer, DISCONNECT_TIMEOUT_MS);
  }
}
