import { UsageError } from '../cli/exit-codes.js';
import { parseDurationMs } from './duration.js';
import { resolveKafkaConfig, type KafkaProperties } from './kafka-config.js';
import { topicNameProblem } from './partition-selection.js';

/** Defaults of lag's settings, in one place (shown by `--help`). */
export const LAG_DEFAULTS = {
  /** A pending event older than this share of its topic's `retention.ms` is at risk of expiring unread. */
  retentionWarn: 0.5,
  /**
   * Bound of the connect and of each later step (metadata, offsets, oldest pending events, topic configs).
   * Shorter than extract's: lag is a probe that a trigger repeats, and a retry comes soon anyway.
   */
  connectTimeoutMs: 15_000,
} as const;

/** lag's settings after validation; frozen. */
export interface LagSettings {
  readonly topics: readonly string[];
  /** The consumer group whose committed offsets mark what was snapshotted (only read, never joined). */
  readonly groupId: string;
  readonly retentionWarn: number;
  /** `--min-lag`: at least this many pending events make a run worth starting. */
  readonly minLag: number | undefined;
  /** `--max-age`: an oldest pending event older than this makes a run worth starting. */
  readonly maxAgeMs: number | undefined;
  /** `--assume-retention`: the retention (ms) of topics whose `retention.ms` cannot be read from the broker. */
  readonly assumedRetentionMs: number | undefined;
  readonly connectTimeoutMs: number;
  /** librdkafka properties from the user (may hold secrets: log only through `redactKafkaConfig`). */
  readonly kafka: Readonly<KafkaProperties>;
}

/** lag's flags as the command line parser hands them over. */
export interface LagFlags {
  topics?: unknown;
  groupId?: unknown;
  retentionWarn?: unknown;
  minLag?: unknown;
  maxAge?: unknown;
  assumeRetention?: unknown;
  connectTimeout?: unknown;
  bootstrapServers?: unknown;
  kafka?: unknown;
}

/**
 * The environment variable behind each flag (flags win). Topics, group and connect timeout share extract's
 * variables, so a DAG hands both commands the same environment.
 */
export const LAG_ENV = {
  topics: 'EVENTFUL_TOPICS',
  groupId: 'EVENTFUL_GROUP_ID',
  retentionWarn: 'EVENTFUL_LAG_RETENTION_WARN',
  minLag: 'EVENTFUL_LAG_MIN_LAG',
  maxAge: 'EVENTFUL_LAG_MAX_AGE',
  assumeRetention: 'EVENTFUL_LAG_ASSUME_RETENTION',
  connectTimeout: 'EVENTFUL_CONNECT_TIMEOUT',
} as const satisfies Partial<Record<keyof LagFlags, string>>;

type SettingName = keyof typeof LAG_ENV;
interface Setting {
  value: string;
  from: string;
}

function flagName(name: string): string {
  return '--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

function pick(flags: LagFlags, env: NodeJS.ProcessEnv, name: SettingName): Setting | undefined {
  const flag = flags[name];
  if (Array.isArray(flag)) throw new UsageError(`${flagName(name)} is given more than once`);
  if (flag !== undefined && flag !== null && typeof flag !== 'boolean')
    return { value: String(flag), from: flagName(name) };
  const fromEnv = env[LAG_ENV[name]];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { value: fromEnv, from: LAG_ENV[name] };
  return undefined;
}

function positiveInteger(v: Setting | undefined): number | undefined {
  if (!v) return undefined;
  const text = v.value.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${v.from} must be a positive integer (a number of pending events), got "${v.value}"`);
  return n;
}

function duration(v: Setting | undefined): number | undefined {
  if (!v) return undefined;
  const ms = parseDurationMs(v.value);
  if (ms === undefined || ms <= 0)
    throw new UsageError(
      `${v.from} must be a positive duration such as 90s, 5m, 1h or a number of milliseconds, got "${v.value}"`,
    );
  return ms;
}

function share(v: Setting | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v.value.trim());
  if (v.value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1)
    throw new UsageError(
      `${v.from} must be a number above 0 and at most 1 (a share of retention.ms), got "${v.value}"`,
    );
  return n;
}

function topicList(v: Setting | undefined): string[] {
  if (!v) throw new UsageError('--topics is required (or EVENTFUL_TOPICS): the comma-separated topics to check');
  const topics = [
    ...new Set(
      v.value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    ),
  ];
  if (topics.length === 0) throw new UsageError(`${v.from} names no topic: give a comma-separated list`);
  for (const t of topics) {
    const problem = topicNameProblem(t);
    if (problem) throw new UsageError(`${v.from}: ${problem}`);
  }
  return topics;
}

/**
 * Resolves lag's settings from flags, then environment variables, then defaults; validates them once and freezes
 * them. Throws {@link UsageError} (exit 2) naming the flag or variable at fault.
 */
export function resolveLagSettings(flags: LagFlags, env: NodeJS.ProcessEnv): LagSettings {
  const topics = topicList(pick(flags, env, 'topics'));
  const kafkaFlags =
    flags.kafka === undefined ? [] : Array.isArray(flags.kafka) ? flags.kafka.map(String) : [String(flags.kafka)];
  if (Array.isArray(flags.bootstrapServers)) throw new UsageError('--bootstrap-servers is given more than once');
  const kafka = resolveKafkaConfig({
    env,
    kafkaFlags,
    bootstrapServers: flags.bootstrapServers === undefined ? undefined : String(flags.bootstrapServers),
  });
  // As in extract: a group.id in the passthrough config (an Airflow kafka connection's extra) is the default.
  const groupFromKafka = kafka['group.id'] === undefined ? undefined : String(kafka['group.id']);
  delete kafka['group.id'];
  const groupId = (pick(flags, env, 'groupId')?.value ?? groupFromKafka)?.trim();
  if (!groupId)
    throw new UsageError(
      '--group-id is required (or EVENTFUL_GROUP_ID): the consumer group whose committed offsets mark what was snapshotted',
    );
  return Object.freeze({
    topics,
    groupId,
    retentionWarn: share(pick(flags, env, 'retentionWarn')) ?? LAG_DEFAULTS.retentionWarn,
    minLag: positiveInteger(pick(flags, env, 'minLag')),
    maxAgeMs: duration(pick(flags, env, 'maxAge')),
    assumedRetentionMs: duration(pick(flags, env, 'assumeRetention')),
    connectTimeoutMs: duration(pick(flags, env, 'connectTimeout')) ?? LAG_DEFAULTS.connectTimeoutMs,
    kafka: Object.freeze(kafka),
  });
}
