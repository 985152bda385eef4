/**
 * `simulate`: produces a deterministic day (or any span) of metro traffic to Kafka, following the data
 * contract of the topics `train-arrivals` and `incidents`. Used by tests, benchmarks and the demo.
 */
import { hideBin } from 'yargs/helpers';
import { parseSimulatedDuration, parseStartTime, startOfUtcDay } from '../answer/simulation-settings.js';
import { runSimulation } from '../answer/simulation-run.js';
import { SIMULATION_DEFAULTS } from '../answer/simulator.js';
import { resolveKafkaConfig } from '../config/kafka-config.js';
import { UsageError } from '../basics/errors.js';
import { stderrLogger } from '../basics/log.js';
import { runCommand } from './run-command.js';
import { terminalWidth, withUsageErrors } from './command-support.js';
import {
  commandParser,
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
  const options = commandParser(argv, SCRIPT, `$0 [options]\n\n${DESCRIPTION}`, SIMULATE_OPTIONS).epilogue(
    helpEpilogue(),
  );
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
    throw new UsageError(
      `--duration "${args.duration}" is not a duration of at least a second: use e.g. 24h, 90m, 2d or 1h30m`,
    );
  if (startSeconds === undefined)
    throw new UsageError(`--start "${args.start}" is not an ISO 8601 time, e.g. 2026-11-27 or 2026-11-27T06:00:00Z`);
  if (!(args.rate >= 0))
    throw new UsageError(`--rate must be a number ≥ 0 (0 = as fast as possible), got ${args.rate}`);
  if (!(args['incidents-per-day'] >= 0))
    throw new UsageError(`--incidents-per-day must be a number ≥ 0, got ${args['incidents-per-day']}`);
  if (!Number.isInteger(args.partitions) || args.partitions < 1)
    throw new UsageError(`--partitions must be a positive integer, got ${args.partitions}`);
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
    const dryRun = args['dry-run'];
    return runSimulation(
      {
        seed: args.seed,
        startSeconds: args.startSeconds,
        durationSeconds: args.durationSeconds,
        incidentsPerLinePerDay: args['incidents-per-day'],
        rate: args.rate,
        topics: args.topics,
        dryRun,
        kafka: dryRun
          ? {}
          : resolveKafkaConfig({
              env: process.env,
              kafkaFlags: args.kafka,
              bootstrapServers: args['bootstrap-servers'],
            }),
        ...(args['create-topics'] && {
          createTopics: { partitions: args.partitions, replicationFactor: args['replication-factor'] },
        }),
        progressIntervalMs: SIMULATE_DEFAULTS.progressIntervalMs,
      },
      log,
    );
  });
}
