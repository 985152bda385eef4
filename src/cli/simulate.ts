/**
 * `simulate`: produces a deterministic day (or any span) of metro traffic to Kafka, following the data
 * contract of the topics `train-arrivals` and `incidents`. Used by tests, benchmarks and the demo.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createTopics, KafkaSink, NdjsonSink, type EventSink } from '../answer/event-sinks.js';
import { parseSimulatedDuration, parseStartTime, startOfUtcDay } from '../answer/simulation-settings.js';
import { SimulationTally } from '../answer/simulation-tally.js';
import { isoSeconds } from '../answer/events.js';
import { simulate, SIMULATION_DEFAULTS } from '../answer/simulator.js';
import { resolveKafkaConfig } from '../config/kafka-config.js';
import { ExitCode, UsageError } from '../basics/errors.js';
import { stderrLogger, Throttle } from '../basics/log.js';
import { runCommand } from './run-command.js';
import { terminalWidth, withUsageErrors } from './command-support.js';
import {
  addOptions,
  helpEpilogue,
  resolveOptions,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
} from './option-definitions.js';

/** Defaults of every flag, in one place (shown by `--help`). */
export const SIMULATE_DEFAULTS = {
  seed: 'eventful',
  duration: '24h',
  arrivalsTopic: 'train-arrivals',
  incidentsTopic: 'incidents',
  partitions: 6,
  replicationFactor: 1,
  /** 0 = as fast as the broker takes them. */
  rate: 0,
  progressIntervalMs: 5_000,
} as const;

/** Let timers (delivery reports, signals, progress) run at least this often in a tight loop. */
const YIELD_EVERY_EVENTS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const SCRIPT = 'eventful-simulate';

/** simulate's options: the shared ones and its own. */
export const SIMULATE_OPTIONS = {
  seed: { type: 'string', describe: 'Any text; picks the random traffic', default: SIMULATE_DEFAULTS.seed },
  duration: {
    type: 'string',
    describe: 'Simulated time to cover, e.g. 24h, 90m, 2d, 1h30m',
    default: SIMULATE_DEFAULTS.duration,
  },
  start: {
    type: 'string',
    describe: 'Start of simulated time, ISO 8601 (UTC unless it names a zone)',
    defaultDescription: 'today 00:00 UTC',
  },
  rate: {
    type: 'number',
    describe: 'Events per second of wall-clock time; 0 = as fast as possible',
    default: SIMULATE_DEFAULTS.rate,
  },
  'incidents-per-day': {
    type: 'number',
    describe: 'Average incidents per line per simulated day',
    default: SIMULATION_DEFAULTS.incidentsPerLinePerDay,
  },
  ...sharedOptions('bootstrap-servers', 'kafka'),
  'arrivals-topic': { type: 'string', describe: 'Topic of train arrivals', default: SIMULATE_DEFAULTS.arrivalsTopic },
  'incidents-topic': { type: 'string', describe: 'Topic of incidents', default: SIMULATE_DEFAULTS.incidentsTopic },
  'create-topics': { type: 'boolean', describe: 'Create the two topics first when they do not exist', default: false },
  partitions: { type: 'number', describe: 'Partitions of created topics', default: SIMULATE_DEFAULTS.partitions },
  'replication-factor': {
    type: 'number',
    describe: 'Replication factor of created topics',
    default: SIMULATE_DEFAULTS.replicationFactor,
  },
  ...sharedOptions('dry-run'),
} as const satisfies OptionDefinitions;

const DESCRIPTION =
  'Produces simulated metro traffic (train arrivals at stations and checkpoints, incidents) to Kafka.\n' +
  'The same --seed and --start reproduce every event and event id exactly. --dry-run prints the events to\n' +
  'stdout as NDJSON ({"topic","key","value"}) instead of producing them. It never exits 99.';

async function parseArgs(argv: string[]) {
  const options = addOptions(
    yargs(argv).scriptName(SCRIPT).usage(`$0 [options]\n\n${DESCRIPTION}`),
    SIMULATE_OPTIONS,
  ).epilogue(helpEpilogue());
  const flags = await withUsageErrors(options, terminalWidth()).parseAsync();
  const o = resolveOptions(SIMULATE_OPTIONS, flags, process.env);
  return {
    seed: o.string('seed')!,
    duration: o.string('duration')!,
    start: o.string('start'),
    rate: o.number('rate')!,
    'incidents-per-day': o.number('incidents-per-day')!,
    // The Kafka settings' own variables are read by resolveKafkaConfig, in its order: only the flags here.
    'bootstrap-servers': flags['bootstrap-servers'] as string | undefined,
    kafka: ((flags['kafka'] as unknown[] | undefined) ?? []).map(String),
    'arrivals-topic': o.string('arrivals-topic')!,
    'incidents-topic': o.string('incidents-topic')!,
    'create-topics': o.boolean('create-topics'),
    partitions: o.number('partitions')!,
    'replication-factor': o.number('replication-factor')!,
    'dry-run': o.boolean('dry-run'),
  };
}

/** The flags, checked: each mistake is a usage error naming the flag. */
async function checkedArgs(argv: string[]) {
  const args = await parseArgs(argv);
  const durationSeconds = parseSimulatedDuration(args.duration);
  const startSeconds = args.start === undefined ? startOfUtcDay(Date.now()) : parseStartTime(args.start);
  const topics = { arrival: args['arrivals-topic'], incident: args['incidents-topic'] };
  if (durationSeconds === undefined)
    throw new UsageError(`--duration "${args.duration}" is not a duration: use e.g. 24h, 90m, 2d or 1h30m`);
  if (startSeconds === undefined)
    throw new UsageError(`--start "${args.start}" is not an ISO 8601 time, e.g. 2026-11-27 or 2026-11-27T06:00:00Z`);
  if (!(args.rate >= 0)) throw new UsageError('--rate must be a number ≥ 0 (0 = as fast as possible)');
  if (!(args['incidents-per-day'] >= 0)) throw new UsageError('--incidents-per-day must be a number ≥ 0');
  if (!Number.isInteger(args.partitions) || args.partitions < 1)
    throw new UsageError('--partitions must be a positive integer');
  if (!Number.isInteger(args['replication-factor']) || args['replication-factor'] < 1)
    throw new UsageError('--replication-factor must be a positive integer');
  if (!topics.arrival || !topics.incident || topics.arrival === topics.incident)
    throw new UsageError('--arrivals-topic and --incidents-topic must be two different, non-empty topic names');
  return { ...args, durationSeconds, startSeconds, topics };
}

/** Runs `simulate` with the given arguments (without `node` and the script). */
export async function main(argv: string[] = hideBin(process.argv)): Promise<never> {
  const log = stderrLogger('simulate');
  return runCommand(log, async () => {
    const args = await withHelpHint(SCRIPT, () => checkedArgs(argv));
    const { durationSeconds, startSeconds, topics } = args;

    const dryRun = args['dry-run'];
    const props = dryRun
      ? {}
      : resolveKafkaConfig({ env: process.env, kafkaFlags: args.kafka, bootstrapServers: args['bootstrap-servers'] });
    const endSeconds = startSeconds + durationSeconds;
    log.info(
      `simulating ${isoSeconds(startSeconds)} → ${isoSeconds(endSeconds)} with seed "${args.seed}"` +
        (dryRun ? ' (dry run: NDJSON to stdout)' : ` to ${String(props['bootstrap.servers'])}`),
    );

    let topicsCreated: Record<string, string> | undefined;
    if (args['create-topics'] && !dryRun) {
      topicsCreated = await createTopics(
        props,
        [topics.arrival, topics.incident],
        args.partitions,
        args['replication-factor'],
      );
      log.info(
        `topics: ${Object.entries(topicsCreated)
          .map(([t, s]) => `${t} ${s}`)
          .join(', ')}`,
      );
    }

    let stopping: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals): void => {
      stopping = signal;
      log.warn(`${signal}: stopping after the messages already queued are delivered`);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);

    const sink: EventSink = dryRun ? new NdjsonSink(process.stdout) : await KafkaSink.connect(props);
    const tally = new SimulationTally([topics.arrival, topics.incident]);
    const progress = new Throttle(SIMULATE_DEFAULTS.progressIntervalMs);
    const began = Date.now();
    let reached = startSeconds;
    const report = (force = false): void => {
      if (!progress.ready(force)) return;
      const s = (Date.now() - began) / 1000;
      log.info(
        `${tally.total} events (${Math.round(tally.total / Math.max(s, 0.001))}/s), ${sink.delivered} delivered, ` +
          `simulated time ${isoSeconds(reached)}`,
      );
    };
    progress.ready(); // the first report after one interval, not at once
    const produceAll = async (): Promise<void> => {
      for (const event of simulate({
        seed: args.seed,
        startSeconds,
        durationSeconds,
        incidentsPerLinePerDay: args['incidents-per-day'],
      })) {
        if (stopping) break;
        const topic = topics[event.kind];
        await sink.send(topic, event.key, event.value);
        tally.add(topic, event);
        reached = event.epochSeconds;
        if (args.rate > 0) {
          const due = began + (tally.total / args.rate) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
        } else if (tally.total % YIELD_EVERY_EVENTS === 0) await new Promise((r) => setImmediate(r));
        report();
      }
    };
    try {
      await produceAll();
    } catch (err) {
      await sink.close().catch(() => undefined);
      throw err;
    }
    const result = await sink.close();
    report(true);
    const elapsed = (Date.now() - began) / 1000;
    const summary = {
      status: stopping ? 'interrupted' : result.failed > 0 ? 'failed' : 'ok',
      dry_run: dryRun,
      seed: args.seed,
      start: isoSeconds(startSeconds),
      end: isoSeconds(endSeconds),
      simulated_seconds: durationSeconds,
      ...tally.counts(),
      events: tally.total,
      delivered: result.delivered,
      failed: result.failed,
      ...(result.firstError !== undefined && { error: { code: 'delivery_failed', message: result.firstError } }),
      ...(topicsCreated && { topics_created: topicsCreated }),
      elapsed_seconds: Math.round(elapsed * 1000) / 1000,
      events_per_second: Math.round(tally.total / Math.max(elapsed, 0.001)),
    };
    if (result.failed > 0)
      log.error(`${result.failed} messages were not delivered: ${result.firstError ?? 'unknown error'}`);
    if (stopping) log.warn(`stopped by ${stopping} after ${tally.total} events`);
    return { summary, exitCode: stopping || result.failed > 0 ? ExitCode.Failure : ExitCode.Ok };
  });
}
