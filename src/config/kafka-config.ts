import { UsageError } from '../basics/errors.js';

/**
 * librdkafka properties for extract's consumer, gathered from (lowest precedence first):
 *   1. `EVENTFUL_KAFKA_CONFIG`: a JSON object of librdkafka properties (what the Airflow DAG renders from a
 *      `kafka` connection's extra; secrets may sit in it because the environment is not argv);
 *   2. `KAFKA_BOOTSTRAP_SERVERS`;
 *   3. `EVENTFUL_KAFKA__<PROP>` variables: `_` becomes `.` and the name is lowercased
 *      (`EVENTFUL_KAFKA__SASL_PASSWORD` → `sasl.password`);
 *   4. repeatable `--kafka key=value` flags, which must not carry secrets (refused: argv is visible to every
 *      user of the machine through `ps` and lands in Airflow's rendered command);
 *   5. `--bootstrap-servers`.
 */

/** A librdkafka property value as the client accepts it. */
export type KafkaValue = string | number | boolean;
/** librdkafka properties by name. */
export type KafkaProperties = Record<string, KafkaValue>;

export const KAFKA_CONFIG_ENV = 'EVENTFUL_KAFKA_CONFIG';
export const KAFKA_PROPERTY_ENV_PREFIX = 'EVENTFUL_KAFKA__';
export const BOOTSTRAP_SERVERS_ENV = 'KAFKA_BOOTSTRAP_SERVERS';
export const BOOTSTRAP_SERVERS = 'bootstrap.servers';
/** librdkafka's older name for `bootstrap.servers`. */
const BROKER_LIST_ALIAS = 'metadata.broker.list';

/** Property names whose values are secrets: refused in argv, redacted in logs and summaries. */
const SECRET_KEY = /password|secret|ssl\.key|ssl_key|sasl\.jaas|oauthbearer\.client\.secret|sasl\.oauthbearer\.config/i;
/** A `*.location` property names a file that holds a secret, not the secret itself: allowed in argv and logs. */
const FILE_LOCATION = /\.location$/i;
const REDACTED = '***';
const PROPERTY_NAME = /^[A-Za-z0-9_.-]+$/;

/** Whether the value of librdkafka property `key` is a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !FILE_LOCATION.test(key);
}

/** A copy of `props` with every secret value replaced by `***`: the only form in which a config may be logged. */
export function redactKafkaConfig(props: Readonly<KafkaProperties>): KafkaProperties {
  const out: KafkaProperties = {};
  for (const [k, v] of Object.entries(props)) out[k] = isSecretKey(k) ? REDACTED : v;
  return out;
}

/** Parses `EVENTFUL_KAFKA_CONFIG`. Its parse error never quotes the text: it may hold a password. */
export function parseKafkaConfigJson(text: string | undefined): KafkaProperties {
  if (text === undefined || text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UsageError(`${KAFKA_CONFIG_ENV} is not valid JSON: it must be a JSON object of librdkafka properties`);
  }
  // Airflow renders an empty connection extra as null.
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new UsageError(`${KAFKA_CONFIG_ENV} must be a JSON object of librdkafka properties`);
  const out: KafkaProperties = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      throw new UsageError(`${KAFKA_CONFIG_ENV}: property "${k}" must be a string, number or boolean`);
    out[k] = v;
  }
  return out;
}

/** The `EVENTFUL_KAFKA__<PROP>` variables as librdkafka properties. */
export function kafkaPropertiesFromEnv(env: NodeJS.ProcessEnv): KafkaProperties {
  const out: KafkaProperties = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(KAFKA_PROPERTY_ENV_PREFIX) || value === undefined) continue;
    const key = name.slice(KAFKA_PROPERTY_ENV_PREFIX.length).toLowerCase().replace(/_/g, '.');
    if (!key || !PROPERTY_NAME.test(key)) throw new UsageError(`${name} does not name a librdkafka property`);
    out[key] = value;
  }
  return out;
}

/** The environment variable that carries librdkafka property `key`. */
export function envNameFor(key: string): string {
  return KAFKA_PROPERTY_ENV_PREFIX + key.replace(/\./g, '_').toUpperCase();
}

/** Parses repeatable `--kafka key=value` flags; a secret property is refused with the variable to use instead. */
export function parseKafkaFlags(flags: readonly string[]): KafkaProperties {
  const out: KafkaProperties = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = (eq === -1 ? flag : flag.slice(0, eq)).trim();
    if (eq === -1 || !key || !PROPERTY_NAME.test(key))
      throw new UsageError(
        `--kafka expects key=value with a librdkafka property name, e.g. --kafka security.protocol=SASL_SSL`,
      );
    if (isSecretKey(key))
      throw new UsageError(
        `--kafka ${key}=... refused: secrets must not be passed on the command line; ` +
          `set the environment variable ${envNameFor(key)} (or put it in ${KAFKA_CONFIG_ENV}) instead`,
      );
    out[key] = flag.slice(eq + 1);
  }
  return out;
}

/** Where the consumer's librdkafka properties come from. */
export interface KafkaConfigSources {
  env: NodeJS.ProcessEnv;
  /** The values of the repeatable `--kafka key=value` flag. */
  kafkaFlags?: readonly string[];
  /** `--bootstrap-servers`. */
  bootstrapServers?: string | undefined;
}

/** Merges the sources (see the module comment for the order) and checks that a broker is named. */
export function resolveKafkaConfig(sources: KafkaConfigSources): KafkaProperties {
  const props: KafkaProperties = { ...parseKafkaConfigJson(sources.env[KAFKA_CONFIG_ENV]) };
  const envBootstrap = sources.env[BOOTSTRAP_SERVERS_ENV];
  if (envBootstrap !== undefined && envBootstrap.trim() !== '') props[BOOTSTRAP_SERVERS] = envBootstrap.trim();
  Object.assign(props, kafkaPropertiesFromEnv(sources.env), parseKafkaFlags(sources.kafkaFlags ?? []));
  if (sources.bootstrapServers !== undefined) {
    if (sources.bootstrapServers.trim() === '') throw new UsageError('--bootstrap-servers must not be empty');
    props[BOOTSTRAP_SERVERS] = sources.bootstrapServers.trim();
  }
  const bootstrap = props[BOOTSTRAP_SERVERS] ?? props[BROKER_LIST_ALIAS];
  if (bootstrap === undefined || String(bootstrap).trim() === '')
    throw new UsageError(
      `no Kafka broker given: pass --bootstrap-servers host:port or set ${BOOTSTRAP_SERVERS_ENV} ` +
        `(or "${BOOTSTRAP_SERVERS}" in ${KAFKA_CONFIG_ENV})`,
    );
  return props;
}
