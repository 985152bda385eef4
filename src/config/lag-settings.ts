import { UsageError } from '../basics/errors.js';
import type { KafkaProperties } from './kafka-config.js';
import {
  parsePositiveDuration,
  parseTopicList,
  pickSetting,
  refuseRetiredEnv,
  resolveKafkaAndGroup,
  type Setting,
} from './settings-support.js';

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

/** One text setting: the flag, else its variable (one of only white space counts as unset). */
function pick(flags: LagFlags, env: NodeJS.ProcessEnv, name: SettingName): Setting | undefined {
  return pickSetting(flags, env, LAG_ENV, name, true);
}

function positiveInteger(v: Setting | undefined): number | undefined {
  if (!v) return undefined;
  const text = v.value.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${v.from} must be a positive integer (a number of pending events), got "${v.value}"`);
  return n;
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
  return parseTopicList(v);
}

/**
 * Resolves lag's settings from flags, then environment variables, then defaults; validates them once and freezes
 * them. Throws {@link UsageError} (exit 2) naming the flag or variable at fault.
 */
export function resolveLagSettings(flags: LagFlags, env: NodeJS.ProcessEnv): LagSettings {
  refuseRetiredEnv(env);
  const topics = topicList(pick(flags, env, 'topics'));
  const { kafka, groupId } = resolveKafkaAndGroup(
    flags,
    env,
    () => pick(flags, env, 'groupId'),
    '--group-id is required (or EVENTFUL_GROUP_ID): the consumer group whose committed offsets mark what was snapshotted',
  );
  return Object.freeze({
    topics,
    groupId,
    retentionWarn: share(pick(flags, env, 'retentionWarn')) ?? LAG_DEFAULTS.retentionWarn,
    minLag: positiveInteger(pick(flags, env, 'minLag')),
    maxAgeMs: parsePositiveDuration(pick(flags, env, 'maxAge')),
    assumedRetentionMs: parsePositiveDuration(pick(flags, env, 'assumeRetention')),
    connectTimeoutMs: parsePositiveDuration(pick(flags, env, 'connectTimeout')) ?? LAG_DEFAULTS.connectTimeoutMs,
    kafka: Object.freeze(kafka),
  });
}
