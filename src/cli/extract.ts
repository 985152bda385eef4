import { randomBytes } from 'node:crypto';
import {
  EXTRACT_DEFAULTS,
  EXTRACT_ENV,
  MIN_DECODE_DEPTH,
  resolveExtractSettings,
  type ExtractFlags,
  type ExtractSettings,
} from '../config/extract-settings.js';
import { KAFKA_PROPERTY_ENV_PREFIX, redactKafkaConfig } from '../config/kafka-config.js';
import { formatDurationMs } from '../config/duration.js';
import { KafkaConsumerSource } from '../kafka/consumer-adapter.js';
import { CONSUMER_DEFAULTS } from '../kafka/consumer-config.js';
import { DecodePool, hashesOn, InlineDecoder, type BatchDecoder } from '../extract/decode-pool.js';
import { runExtract, type CrashPoint, type ExtractSchemas } from '../extract/run-extract.js';
import { StopSignal } from '../extract/stop-signal.js';
import type { SchemaRegistry } from '../schema/registry.js';
import { openSnapshotStore } from '../snapshot/open-store.js';
import { ExitCode, UsageError } from '../basics/errors.js';
import { stderrLogger, type Logger } from '../basics/log.js';
import { runCommand } from './run-command.js';
import { clientErrorLogger, parseFlagsOrExit, terminalWidth, withUsageErrors } from './command-support.js';
import {
  commandParser,
  helpEpilogue,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
} from './option-definitions.js';

/**
 * TEST ONLY: `EVENTFUL_TEST_CRASH_AT=mid-drain|before-publish|after-publish|after-commit` makes extract kill itself
 * with SIGKILL at that point, so integration tests can check what a crash there leaves behind. Never set it in
 * production. `EVENTFUL_TEST_STOP_AT=<point>` (same points) stops the process with SIGSTOP there instead, so a
 * test can freeze it at an exact moment (e.g. between publish and commit) and resume it with SIGCONT.
 */
export const TEST_CRASH_ENV = 'EVENTFUL_TEST_CRASH_AT';
export const TEST_STOP_ENV = 'EVENTFUL_TEST_STOP_AT';
const CRASH_POINTS: readonly CrashPoint[] = ['mid-drain', 'before-publish', 'after-publish', 'after-commit'];

const SCRIPT = 'eventful-extract';

/** extract's options: the shared ones and its own; each reads the variable {@link EXTRACT_ENV} names. */
export const EXTRACT_OPTIONS = {
  ...sharedOptions('topics'),
  partitions: {
    type: 'string',
    describe: 'Only these partitions, e.g. orders:0-2,refunds:1 (names its topics; for fanned-out tasks)',
    env: EXTRACT_ENV.partitions,
  },
  ...sharedOptions('group-id'),
  out: { type: 'string', describe: 'Snapshot root: a folder, or s3://bucket/prefix', env: EXTRACT_ENV.out },
  ...sharedOptions('bootstrap-servers', 'kafka', 'schemas'),
  'run-id': {
    type: 'string',
    describe: 'Run id recorded in the snapshot (Airflow: {{ run_id }}-try{{ ti.try_number }})',
    env: EXTRACT_ENV.runId,
    defaultDescription: 'manual-<start time>',
  },
  'max-messages': {
    type: 'number',
    describe: 'Stop after this many messages; the rest is left for the next run',
    env: EXTRACT_ENV.maxMessages,
  },
  'max-duration': {
    type: 'string',
    describe: 'Stop draining after this long (90s, 5m, 1h, 250ms: with its unit) and publish what was read',
    env: EXTRACT_ENV.maxDuration,
  },
  ...sharedOptions('max-rejected-ratio', 'dry-run'),
  compress: {
    type: 'string',
    describe: "Compress the snapshot's data files: gzip or none",
    env: EXTRACT_ENV.compress,
    default: 'none',
  },
  'connect-timeout': {
    type: 'string',
    describe: 'Give up when the broker does not answer within this long',
    env: EXTRACT_ENV.connectTimeout,
    default: formatDurationMs(EXTRACT_DEFAULTS.connectTimeoutMs),
  },
  'stall-timeout': {
    type: 'string',
    describe: 'Fail when the drain makes no progress for this long',
    env: EXTRACT_ENV.stallTimeout,
    default: formatDurationMs(EXTRACT_DEFAULTS.stallTimeoutMs),
  },
  'progress-interval': {
    type: 'string',
    describe: 'How often progress is logged on stderr',
    env: EXTRACT_ENV.progressInterval,
    default: formatDurationMs(EXTRACT_DEFAULTS.progressIntervalMs),
  },
  'decode-threads': {
    type: 'number',
    describe: 'Threads that parse and validate events; 0: none, all on the main thread',
    env: EXTRACT_ENV.decodeThreads,
    default: EXTRACT_DEFAULTS.decodeThreads,
  },
  'decode-depth': {
    type: 'number',
    describe: `Batches decoded at once before the oldest is written; with --batch-size it bounds what decoding holds`,
    env: EXTRACT_ENV.decodeDepth,
    defaultDescription: `${EXTRACT_DEFAULTS.decodeDepthPerThread} per decode thread, at least ${MIN_DECODE_DEPTH}`,
  },
  'batch-size': {
    type: 'number',
    describe: 'Messages per consume call',
    env: EXTRACT_ENV.batchSize,
    default: EXTRACT_DEFAULTS.batchSize,
  },
} as const satisfies OptionDefinitions;

const DESCRIPTION =
  "Drains everything new in Kafka topics (up to each partition's high watermark at the start) into a snapshot\n" +
  "folder, then commits the consumer group's offsets. --dry-run reads and counts, but writes no snapshot and\n" +
  'commits nothing (with --out, it checks that a real run could make its folder there, or list its bucket).\n' +
  'Exits 99 when there is nothing new; on any failure nothing is committed.';

function parser(argv: string[]) {
  const options = commandParser(argv, SCRIPT, `$0 [options]\n\n${DESCRIPTION}`, EXTRACT_OPTIONS)
    .epilogue(
      helpEpilogue(
        'Consumer defaults, which bound what the Kafka client buffers whatever the compression (a --kafka ' +
          `key=value or ${KAFKA_PROPERTY_ENV_PREFIX}<PROP> setting wins): ` +
          Object.entries(CONSUMER_DEFAULTS)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(', '),
      ),
    )
    .exitProcess(false);
  return withUsageErrors(options, terminalWidth());
}

/** The test-only crash and stop hooks (see {@link TEST_CRASH_ENV}). */
function crashHook(log: Logger): ((point: CrashPoint) => void) | undefined {
  const hooks: Array<[string, NodeJS.Signals]> = [
    [TEST_CRASH_ENV, 'SIGKILL'],
    [TEST_STOP_ENV, 'SIGSTOP'],
  ];
  const active = new Map<string, NodeJS.Signals>();
  for (const [name, signal] of hooks) {
    const at = process.env[name];
    if (!at) continue;
    if (!CRASH_POINTS.includes(at as CrashPoint))
      throw new UsageError(`${name} must be one of ${CRASH_POINTS.join(', ')}`);
    log.warn(`${name}=${at}: this process will send itself ${signal} there (test only)`);
    active.set(at, signal);
  }
  if (active.size === 0) return undefined;
  return (point) => {
    const signal = active.get(point);
    if (signal) process.kill(process.pid, signal);
  };
}

/** The schemas of `dir`, compiled on this thread; a usage error lists their problems. */
async function loadSchemas(dir: string): Promise<SchemaRegistry> {
  const { SchemaRegistry, schemaProblemsMessage } = await import('../schema/registry.js');
  const { registry, problems } = await SchemaRegistry.load(dir);
  if (problems.length) throw new UsageError(schemaProblemsMessage(dir, problems));
  return registry;
}

/**
 * Where the events are decoded, and which topics the schemas cover. The schemas compile while the consumer
 * connects: on the decode threads, which then need them, or, without any, on this thread (only then does it load
 * the schema compiler).
 */
function startDecoding(settings: ExtractSettings): {
  schemas: Promise<ExtractSchemas>;
  decoder: Promise<BatchDecoder>;
  pool?: Promise<DecodePool>;
} {
  if (settings.decodeThreads > 0) {
    const pool = DecodePool.start(settings.decodeThreads, {
      schemasDir: settings.schemasDir,
      serialise: !settings.dryRun,
    });
    return { schemas: pool, decoder: pool, pool };
  }
  const registry = loadSchemas(settings.schemasDir);
  return { schemas: registry, decoder: registry.then((r) => new InlineDecoder(r, !settings.dryRun)) };
}

/** `eventful-extract`: flags → settings → drain → summary line → exit code. */
export async function main(argv: string[]): Promise<never> {
  const log = stderrLogger('extract');
  const stop = new StopSignal();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.reason !== undefined) {
      log.error(`${signal} again: exiting at once (a temporary snapshot folder may be left; it is never loaded)`);
      process.exit(ExitCode.Failure);
    }
    if (stop.finishing)
      log.warn(`${signal}: the snapshot is being published and its offsets committed; finishing that first (moments)`);
    else log.warn(`${signal}: stopping; the unpublished snapshot is discarded and nothing is committed`);
    stop.request(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const flags = await parseFlagsOrExit<ExtractFlags>(log, () => withHelpHint(SCRIPT, () => parser(argv).parseAsync()));

  return runCommand(log, async () => {
    const settings = await withHelpHint(SCRIPT, () => resolveExtractSettings(flags, process.env));
    const checkpoint = crashHook(log);
    log.info(
      `group "${settings.groupId}", topics ${settings.topics.join(',')}, run id "${settings.runId}", ` +
        `kafka ${JSON.stringify(redactKafkaConfig(settings.kafka))}`,
    );
    // A dry run writes nothing, but checks --out when one is given: that a real run could make its folder (of a
    // folder store), or that its bucket can be listed (of S3: opening the store lists it, which needs the S3 settings).
    const opened = settings.out === undefined ? undefined : await openSnapshotStore(settings.out);
    await opened?.prepare(settings.dryRun);
    const store = settings.dryRun ? undefined : opened;
    const source = new KafkaConsumerSource({
      properties: settings.kafka,
      groupId: settings.groupId,
      timeoutMs: settings.connectTimeoutMs,
      onClientError: clientErrorLogger(log),
      onOverride: (m) => log.warn(m),
    });
    const { schemas, decoder, pool } = startDecoding(settings);
    schemas.catch(() => undefined);
    decoder.catch(() => undefined);
    // Files written uncompressed are hashed on a decode thread: this one has the Kafka client's work to do.
    const hashes = pool && !settings.compress ? hashesOn(pool) : undefined;
    try {
      return await runExtract(settings, {
        source,
        store,
        schemas,
        log,
        stop,
        decoder,
        decodeDepth: settings.decodeDepth,
        ...(hashes ? { newHash: hashes } : {}),
        random: () => randomBytes(4).toString('hex'),
        ...(checkpoint ? { checkpoint } : {}),
      });
    } finally {
      await (await decoder.catch(() => undefined))?.close();
    }
  });
}
