import path from 'node:path';
import { UsageError } from '../basics/errors.js';
import { DEFAULT_SCHEMAS_DIR } from '../schema/schema-folder.js';
import { checkLocationScheme } from '../snapshot/s3-location.js';
import type { KafkaProperties } from './kafka-config.js';
import { parsePartitionSelection, type PartitionSelection } from './partition-selection.js';
import {
  parsePositiveDuration,
  parseTopicList,
  pickSetting,
  refuseRetiredEnv,
  resolveKafkaAndGroup,
  type Setting,
} from './settings-support.js';

export { flagName } from './settings-support.js';

/** Defaults of extract's settings, in one place (shown by `--help`). */
export const EXTRACT_DEFAULTS = {
  /**
   * Fail (exit 1, nothing committed) when more than 10% of the messages read, tombstones aside, are quarantined:
   * a few bad events are normal, a tenth means a producer or a schema is broken and a person should look.
   */
  maxRejectedRatio: 0.1,
  /** How long to wait for the broker when connecting and for each metadata or offset request. */
  connectTimeoutMs: 30_000,
  /** Fail when the drain has made no progress at all for this long (a broker gone away mid-run). */
  stallTimeoutMs: 300_000,
  /** How often progress is logged on stderr. */
  progressIntervalMs: 5_000,
  /** Messages asked of the client per `consume(n)` call (smaller batches keep the heap young: less GC, less RSS). */
  batchSize: 1_000,
  /**
   * Threads that parse, validate and serialise events while the main thread talks to Kafka; 0 does it all on the
   * main thread. One is best on 2 cores (the main thread, the client's threads and the broker share them).
   */
  decodeThreads: 1,
  /**
   * Batches being decoded at once, per decode thread, before the oldest is written (at least
   * {@link MIN_DECODE_DEPTH} in all): enough to keep the threads busy while the main thread writes. Each holds
   * `batchSize` messages twice (as read, and decoded), so this with `batchSize` bounds what the decode pipeline
   * holds, whatever the topic's compression.
   */
  decodeDepthPerThread: 2,
} as const;

/** The fewest batches in the decode pipeline: one being decoded while the one before is written. */
export const MIN_DECODE_DEPTH = 2;
const MAX_DECODE_DEPTH = 64;

/** The decode depth used when none is given: {@link EXTRACT_DEFAULTS}.decodeDepthPerThread per decode thread. */
export function defaultDecodeDepth(decodeThreads: number): number {
  return Math.max(MIN_DECODE_DEPTH, EXTRACT_DEFAULTS.decodeDepthPerThread * decodeThreads);
}

const MAX_BATCH_SIZE = 100_000;
const MAX_DECODE_THREADS = 16;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** extract's settings after validation; frozen. */
export interface ExtractSettings {
  /** Topics to drain (from `--topics`, or the topics named by `--partitions`). */
  readonly topics: readonly string[];
  /** Only these partitions (`--partitions`); all partitions of `topics` when undefined. */
  readonly partitions: PartitionSelection | undefined;
  /** The consumer group whose committed offsets say where the last snapshot ended. */
  readonly groupId: string;
  /** Snapshot root (absolute); undefined only in a dry run. */
  readonly out: string | undefined;
  /** Folder of `*.schema.json` files. */
  readonly schemasDir: string;
  /** Airflow's run id (plus try number), recorded in the manifest and the snapshot id. */
  readonly runId: string;
  /** Stop after this many messages (the rest is left for the next run). */
  readonly maxMessages: number | undefined;
  /** Stop draining after this long and publish what was read. */
  readonly maxDurationMs: number | undefined;
  /** Fail when quarantined messages (tombstones aside) exceed this share of the messages read. */
  readonly maxRejectedRatio: number;
  /** Read and count, but write no snapshot and commit nothing. */
  readonly dryRun: boolean;
  /** Compress the snapshot's data files (`gzip`), or not (undefined). */
  readonly compress: 'gzip' | undefined;
  readonly connectTimeoutMs: number;
  readonly stallTimeoutMs: number;
  readonly progressIntervalMs: number;
  readonly batchSize: number;
  readonly decodeThreads: number;
  /** Batches being decoded at once before the oldest is written (`--decode-depth`). */
  readonly decodeDepth: number;
  /** librdkafka properties from the user (may hold secrets: log only through `redactKafkaConfig`). */
  readonly kafka: Readonly<KafkaProperties>;
}

/** extract's flags as the command line parser hands them over (repeated single flags arrive as arrays). */
export interface ExtractFlags {
  topics?: unknown;
  partitions?: unknown;
  groupId?: unknown;
  out?: unknown;
  schemas?: unknown;
  runId?: unknown;
  maxMessages?: unknown;
  maxDuration?: unknown;
  maxRejectedRatio?: unknown;
  dryRun?: unknown;
  compress?: unknown;
  connectTimeout?: unknown;
  stallTimeout?: unknown;
  progressInterval?: unknown;
  batchSize?: unknown;
  decodeThreads?: unknown;
  decodeDepth?: unknown;
  bootstrapServers?: unknown;
  kafka?: unknown;
}

/** The environment variable behind each flag (flags win over them). */
export const EXTRACT_ENV = {
  topics: 'EVENTFUL_TOPICS',
  partitions: 'EVENTFUL_PARTITIONS',
  groupId: 'EVENTFUL_GROUP_ID',
  out: 'EVENTFUL_OUT',
  schemas: 'EVENTFUL_SCHEMAS',
  runId: 'EVENTFUL_RUN_ID',
  maxMessages: 'EVENTFUL_MAX_MESSAGES',
  maxDuration: 'EVENTFUL_MAX_DURATION',
  maxRejectedRatio: 'EVENTFUL_MAX_REJECTED_RATIO',
  dryRun: 'EVENTFUL_DRY_RUN',
  compress: 'EVENTFUL_COMPRESS',
  connectTimeout: 'EVENTFUL_CONNECT_TIMEOUT',
  stallTimeout: 'EVENTFUL_STALL_TIMEOUT',
  progressInterval: 'EVENTFUL_PROGRESS_INTERVAL',
  batchSize: 'EVENTFUL_EXTRACT_BATCH_SIZE',
  decodeThreads: 'EVENTFUL_DECODE_THREADS',
  decodeDepth: 'EVENTFUL_DECODE_DEPTH',
} as const satisfies Partial<Record<keyof ExtractFlags, string>>;

type SettingName = keyof typeof EXTRACT_ENV;

/** One text setting: the flag if given, else its environment variable; says which one it came from. */
function pick(flags: ExtractFlags, env: NodeJS.ProcessEnv, name: SettingName): Setting | undefined {
  return pickSetting(flags, env, EXTRACT_ENV, name);
}

function positiveInteger(
  v: { value: string; from: string } | undefined,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (!v) return undefined;
  const n = Number(v.value.trim());
  if (!/^\s*\d+\s*$/.test(v.value) || !Number.isSafeInteger(n) || n < 1 || n > max)
    throw new UsageError(
      `${v.from} must be a positive integer${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}, got "${v.value}"`,
    );
  return n;
}

function count(v: { value: string; from: string } | undefined, max: number): number | undefined {
  if (!v) return undefined;
  const n = Number(v.value.trim());
  if (!/^\s*\d+\s*$/.test(v.value) || n > max)
    throw new UsageError(`${v.from} must be an integer from 0 to ${max}, got "${v.value}"`);
  return n;
}

function ratio(v: { value: string; from: string } | undefined): number | undefined {
  if (!v) return undefined;
  const n = Number(v.value.trim());
  if (v.value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new UsageError(`${v.from} must be a number from 0 to 1 (a share of the messages read), got "${v.value}"`);
  return n;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function boolean(flags: ExtractFlags, env: NodeJS.ProcessEnv, name: 'dryRun'): boolean {
  if (typeof flags[name] === 'boolean') return flags[name] as boolean;
  const text = env[EXTRACT_ENV[name]]?.trim().toLowerCase();
  if (text === undefined || text === '') return false;
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw new UsageError(`${EXTRACT_ENV[name]} must be true or false, got "${text}"`);
}

function compression(v: { value: string; from: string } | undefined): 'gzip' | undefined {
  const text = v?.value.trim().toLowerCase();
  if (text === undefined || text === 'none') return undefined;
  if (text === 'gzip') return 'gzip';
  throw new UsageError(`${v!.from} must be gzip or none, got "${v!.value}"`);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Which topics and partitions to drain: a flag wins over the environment, `--partitions` over `--topics`. */
function selection(
  flags: ExtractFlags,
  env: NodeJS.ProcessEnv,
): { topics: string[]; partitions: PartitionSelection | undefined } {
  const hint = 'name the topics to drain: --topics a,b (or EVENTFUL_TOPICS), or --partitions a:0-2,b:1';
  const topicsFlag = pick(flags, {}, 'topics');
  const partitionsFlag = pick(flags, {}, 'partitions');
  const topicsAny = topicsFlag ?? pick({}, env, 'topics');
  const partitionsAny = partitionsFlag ?? (topicsFlag ? undefined : pick({}, env, 'partitions'));
  if (partitionsAny) {
    const partitions = parsePartitionSelection(partitionsAny.value, partitionsAny.from);
    const topics = [...partitions.keys()];
    if (topicsFlag && partitionsFlag && !sameSet(parseTopicList(topicsFlag), topics))
      throw new UsageError(
        `--topics and --partitions name different topics: give only --partitions (it names its topics)`,
      );
    return { topics, partitions };
  }
  if (!topicsAny) throw new UsageError(hint);
  return { topics: parseTopicList(topicsAny), partitions: undefined };
}

/** A run id for a run that was given none: the start time, so ids sort by time. */
export function defaultRunId(now: Date): string {
  return (
    'manual-' +
    now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')
  );
}

/**
 * Resolves extract's settings from flags, then environment variables, then defaults; validates them once
 * and freezes them. Throws {@link UsageError} (exit 2) with a message naming the flag or variable at fault.
 */
export function resolveExtractSettings(
  flags: ExtractFlags,
  env: NodeJS.ProcessEnv,
  now: Date = new Date(),
): ExtractSettings {
  refuseRetiredEnv(env);
  const { topics, partitions } = selection(flags, env);
  const { kafka, groupId } = resolveKafkaAndGroup(
    flags,
    env,
    () => pick(flags, env, 'groupId'),
    '--group-id is required (or EVENTFUL_GROUP_ID): the consumer group whose offsets mark what was snapshotted',
  );

  const dryRun = boolean(flags, env, 'dryRun');
  const outText = pick(flags, env, 'out')?.value.trim();
  if (!outText && !dryRun)
    throw new UsageError(
      '--out is required (or EVENTFUL_OUT): the snapshot root folder, e.g. a volume shared by the Airflow workers',
    );

  if (outText) checkLocationScheme(outText);
  const runId = pick(flags, env, 'runId')?.value.trim() || defaultRunId(now);
  const decodeThreads = count(pick(flags, env, 'decodeThreads'), MAX_DECODE_THREADS) ?? EXTRACT_DEFAULTS.decodeThreads;
  const settings: ExtractSettings = {
    topics,
    partitions,
    groupId,
    // A folder is made absolute (Airflow runs tasks in a throwaway cwd); a URL such as s3://bucket/prefix is kept.
    out: outText ? (URL_LIKE.test(outText) ? outText : path.resolve(outText)) : undefined,
    schemasDir: path.resolve(pick(flags, env, 'schemas')?.value.trim() || DEFAULT_SCHEMAS_DIR),
    runId,
    maxMessages: positiveInteger(pick(flags, env, 'maxMessages')),
    maxDurationMs: parsePositiveDuration(pick(flags, env, 'maxDuration')),
    maxRejectedRatio: ratio(pick(flags, env, 'maxRejectedRatio')) ?? EXTRACT_DEFAULTS.maxRejectedRatio,
    dryRun,
    compress: compression(pick(flags, env, 'compress')),
    connectTimeoutMs: parsePositiveDuration(pick(flags, env, 'connectTimeout')) ?? EXTRACT_DEFAULTS.connectTimeoutMs,
    stallTimeoutMs: parsePositiveDuration(pick(flags, env, 'stallTimeout')) ?? EXTRACT_DEFAULTS.stallTimeoutMs,
    progressIntervalMs:
      parsePositiveDuration(pick(flags, env, 'progressInterval')) ?? EXTRACT_DEFAULTS.progressIntervalMs,
    batchSize: positiveInteger(pick(flags, env, 'batchSize'), MAX_BATCH_SIZE) ?? EXTRACT_DEFAULTS.batchSize,
    decodeThreads,
    decodeDepth:
      positiveInteger(pick(flags, env, 'decodeDepth'), MAX_DECODE_DEPTH) ?? defaultDecodeDepth(decodeThreads),
    kafka: Object.freeze(kafka),
  };
  return Object.freeze(settings);
}
