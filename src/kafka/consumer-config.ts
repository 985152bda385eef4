import type { KafkaProperties } from '../config/kafka-config.js';
import { NO_AUTO_COMMIT_PROPERTIES } from './client-support.js';

/**
 * Defaults for extract's consumer that the user's properties (`--kafka key=value`, `EVENTFUL_KAFKA__*`,
 * `EVENTFUL_KAFKA_CONFIG`) override. They bound what librdkafka holds, whatever the topic's compression:
 *
 * - `queued.max.messages.kbytes`: the prefetch queue (decompressed messages, one queue for all assigned
 *   partitions) stops fetching at this size; librdkafka's default is 64 MB.
 * - `max.partition.fetch.bytes` (alias of `fetch.message.max.bytes`) and `fetch.max.bytes`: one fetch response
 *   holds at most this much compressed data per partition and in all. What it decompresses to is added to the
 *   queue at once, so with zstd at ~6x a 4 MB response became ~26 MB (1 MB now: ~6 MB); librdkafka's defaults are 1 MB and 50 MB.
 *   A record batch larger than these is still fetched whole (the broker always returns at least one), and
 *   librdkafka raises `fetch.max.bytes` to at least `message.max.bytes` (1,000,000 by default).
 * - `fetch.queue.backoff.ms`: librdkafka >= 2.4 waits this long (1 s by default) before fetching again once the
 *   queue is full, which starves a fast reader with a small queue; 10 ms keeps a bare `consume(n)` loop at full
 *   speed.
 *
 * Measured on 2 cores (docs/benchmarks.md): these cost no speed on plain, lz4 or zstd topics.
 */
export const CONSUMER_DEFAULTS: Readonly<KafkaProperties> = {
  'client.id': 'eventful-extract',
  'fetch.queue.backoff.ms': 10,
  'queued.max.messages.kbytes': 1_024,
  'max.partition.fetch.bytes': 262_144,
  'fetch.max.bytes': 1_048_576,
};

/**
 * Properties extract sets whatever the user passes: offsets are committed by hand after the snapshot is
 * durable (never automatically), and end-of-partition events tell when a partition reached its watermark.
 */
export const MANAGED_PROPERTIES: Readonly<KafkaProperties> = NO_AUTO_COMMIT_PROPERTIES;

/** librdkafka's other names for a property: the user's setting under any of them replaces the default. */
const ALIASES: ReadonlyArray<readonly string[]> = [
  ['max.partition.fetch.bytes', 'fetch.message.max.bytes'],
  ['bootstrap.servers', 'metadata.broker.list'],
];

function namesOf(key: string): readonly string[] {
  return ALIASES.find((names) => names.includes(key)) ?? [key];
}

/**
 * The configuration extract's consumer is made with: {@link CONSUMER_DEFAULTS}, then the user's properties
 * (which win, under whichever name of a property they use), then {@link MANAGED_PROPERTIES} and `group.id`,
 * which always win; `onOverride` is told of each user setting that the last step replaces. Pure.
 */
export function consumerConfig(
  user: Readonly<KafkaProperties>,
  groupId: string,
  onOverride?: (message: string) => void,
): KafkaProperties {
  const conf: KafkaProperties = {};
  for (const [k, v] of Object.entries(CONSUMER_DEFAULTS)) if (!namesOf(k).some((name) => name in user)) conf[k] = v;
  Object.assign(conf, user);
  for (const [k, v] of Object.entries(MANAGED_PROPERTIES)) {
    if (k in conf && String(conf[k]) !== String(v))
      onOverride?.(`ignoring ${k}=${String(conf[k])}: extract always uses ${k}=${String(v)}`);
    conf[k] = v;
  }
  // A Kafka connection's settings often carry a group.id of their own (Airflow's kafka connections do): the
  // group whose offsets extract commits is always --group-id, and saying so beats dropping it silently.
  if ('group.id' in conf && String(conf['group.id']) !== groupId)
    onOverride?.(
      `ignoring group.id=${String(conf['group.id'])} from the Kafka settings: extract commits the offsets of ` +
        `--group-id "${groupId}"`,
    );
  conf['group.id'] = groupId;
  return conf;
}
