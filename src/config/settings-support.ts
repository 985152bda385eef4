/**
 * Parsing that extract's and lag's settings share: picking a text setting from a flag or its environment
 * variable, topic lists, durations, and the Kafka configuration with the consumer group it may carry.
 */
import { UsageError } from '../basics/errors.js';
import { durationProblem, parseDurationMs } from './duration.js';
import { resolveKafkaConfig, type KafkaProperties } from './kafka-config.js';
import { topicNameProblem } from './partition-selection.js';

/**
 * Variables no command reads any more, each with what replaced it. Set, they are refused (exit 2), never ignored:
 * a setting that silently stopped working is worse than one that fails.
 */
const RETIRED_ENV: Readonly<Record<string, string>> = {
  EVENTFUL_BATCH_SIZE:
    'it meant messages per consume call to extract and rows per COPY batch to load, so one value set for the ' +
    'workers changed both: set EVENTFUL_EXTRACT_BATCH_SIZE or EVENTFUL_LOAD_BATCH_SIZE instead',
};

/** Throws a {@link UsageError} naming a retired variable that is set, and what to set instead. */
export function refuseRetiredEnv(env: NodeJS.ProcessEnv): void {
  for (const [name, instead] of Object.entries(RETIRED_ENV))
    if (env[name] !== undefined && env[name] !== '') throw new UsageError(`${name} is no longer read: ${instead}`);
}

/** One text setting and where it came from (a flag such as `--topics`, or an environment variable's name). */
export interface Setting {
  value: string;
  from: string;
}

/** `maxMessages` → `--max-messages`. */
export function flagName(name: string): string {
  return '--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/**
 * One text setting: the flag if given (a boolean flag does not count), else its environment variable; says which
 * one it came from. A flag given twice is a {@link UsageError}.
 *
 * @param envNames - the environment variable behind each flag.
 * @param blankEnvIsUnset - whether a variable of only white space counts as unset (an empty one always does).
 */
export function pickSetting<N extends string>(
  flags: Partial<Record<N, unknown>>,
  env: NodeJS.ProcessEnv,
  envNames: Readonly<Record<N, string>>,
  name: N,
  blankEnvIsUnset = false,
): Setting | undefined {
  const flag = flags[name];
  if (Array.isArray(flag)) throw new UsageError(`${flagName(name)} is given more than once`);
  // A number flag that is not a number arrives as NaN: the text is gone, the flag is still named.
  if (typeof flag === 'number' && !Number.isFinite(flag)) throw new UsageError(`${flagName(name)} must be a number`);
  if (flag !== undefined && flag !== null && typeof flag !== 'boolean')
    return { value: String(flag), from: flagName(name) };
  const fromEnv = env[envNames[name]];
  if (fromEnv !== undefined && (blankEnvIsUnset ? fromEnv.trim() : fromEnv) !== '')
    return { value: fromEnv, from: envNames[name] };
  return undefined;
}

/** A comma-separated list of topics, trimmed and without repeats; empty or invalid names are a {@link UsageError}. */
export function parseTopicList(v: Setting): string[] {
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

/** A positive duration (90s, 5m, 1h, 250ms) in ms; undefined when not set; else a {@link UsageError}. */
export function parsePositiveDuration(v: Setting | undefined): number | undefined {
  if (!v) return undefined;
  const ms = parseDurationMs(v.value);
  if (ms === undefined || ms <= 0)
    throw new UsageError(
      `${v.from} must be a positive duration: ${ms === 0 ? `got "${v.value}"` : durationProblem(v.value)}`,
    );
  return ms;
}

/** The Kafka flags as the command line parser hands them over. */
export interface KafkaFlags {
  bootstrapServers?: unknown;
  kafka?: unknown;
}

/**
 * The user's librdkafka properties (from `--kafka`, `--bootstrap-servers` and the environment) and the consumer
 * group. A `group.id` in the passthrough config (an Airflow kafka connection's extra often has one) serves as the
 * group when `pickGroup` gives none, and is then taken out of the properties; one that differs from `pickGroup`'s
 * stays in them, for the consumer to say that it is ignored.
 *
 * @param pickGroup - the `--group-id` setting; called once the Kafka configuration resolved.
 * @param missingGroup - the {@link UsageError}'s message when there is no group at all.
 */
export function resolveKafkaAndGroup(
  flags: KafkaFlags,
  env: NodeJS.ProcessEnv,
  pickGroup: () => Setting | undefined,
  missingGroup: string,
): { kafka: KafkaProperties; groupId: string } {
  const kafkaFlags =
    flags.kafka === undefined ? [] : Array.isArray(flags.kafka) ? flags.kafka.map(String) : [String(flags.kafka)];
  if (Array.isArray(flags.bootstrapServers)) throw new UsageError('--bootstrap-servers is given more than once');
  const kafka = resolveKafkaConfig({
    env,
    kafkaFlags,
    bootstrapServers: flags.bootstrapServers === undefined ? undefined : String(flags.bootstrapServers),
  });
  const groupFromKafka = kafka['group.id'] === undefined ? undefined : String(kafka['group.id']);
  const picked = pickGroup()?.value;
  const groupId = (picked ?? groupFromKafka)?.trim();
  if (!groupId) throw new UsageError(missingGroup);
  // Serving as the group, it leaves the properties; one that --group-id overrides stays, so that the consumer
  // says it ignores it (consumerConfig) instead of dropping it unsaid.
  if (picked === undefined || groupFromKafka?.trim() === groupId) delete kafka['group.id'];
  return { kafka, groupId };
}
