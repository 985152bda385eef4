/**
 * What the two librdkafka consumers of eventful (extract's {@link KafkaConsumerSource} and lag's
 * {@link KafkaLagProbe}) share: the managed properties, error description, the retry of committed-offset reads
 * while the group coordinator moves, and the connect, metadata, watermark and disconnect calls.
 */
import Kafka from '@confluentinc/kafka-javascript';
import { EventfulError, ExitCode, UsageError } from '../basics/errors.js';
import type { KafkaProperties } from '../config/kafka-config.js';
import type { TopicPartition } from './drain-plan.js';
import type { CommittedOffset, TopicPartitionOffset, Watermarks } from './event-source.js';

/**
 * Properties set whatever the user passes: offsets are never committed automatically (extract commits by hand
 * once the snapshot is durable; the lag probe never commits), and end-of-partition events tell when a partition
 * reached its watermark.
 */
export const NO_AUTO_COMMIT_PROPERTIES: Readonly<KafkaProperties> = {
  'enable.auto.commit': false,
  'enable.auto.offset.store': false,
  'enable.partition.eof': true,
};

/** Group coordinator errors worth retrying while `__consumer_offsets` is created or moves. */
export const RETRIABLE_COORDINATOR_CODES: ReadonlySet<number> = new Set([
  Kafka.CODES.ERRORS.ERR_NOT_COORDINATOR, // 16
  Kafka.CODES.ERRORS.ERR_COORDINATOR_NOT_AVAILABLE, // 15
  Kafka.CODES.ERRORS.ERR_COORDINATOR_LOAD_IN_PROGRESS, // 14
  Kafka.CODES.ERRORS.ERR__TIMED_OUT, // -185
  Kafka.CODES.ERRORS.ERR__WAIT_COORD, // -180
]);

/** Base delay between two committed-offset attempts; attempt n waits n times this. */
export const RETRY_DELAY_MS = 250;

/**
 * What the broker answers a commit from outside a consumer group (extract's: partitions assigned, no membership)
 * while the group has members: it takes such commits only from an empty group.
 */
export const GROUP_HAS_MEMBERS_CODES: ReadonlySet<number> = new Set([
  Kafka.CODES.ERRORS.ERR_UNKNOWN_MEMBER_ID, // 25
  Kafka.CODES.ERRORS.ERR_ILLEGAL_GENERATION, // 22
  Kafka.CODES.ERRORS.ERR_REBALANCE_IN_PROGRESS, // 27
]);

/** What both consumers are given. */
export interface KafkaClientOptions {
  /** The user's librdkafka properties (bootstrap servers, security...). */
  properties: Readonly<KafkaProperties>;
  /** The group whose committed offsets are read (extract also commits under it; lag never joins it). */
  groupId: string;
  /** Bound of the connect and of each later request. */
  timeoutMs: number;
  /** Called with librdkafka's errors and notices (the client retries on its own); never with secrets. */
  onClientError?: (message: string) => void;
}

/**
 * Makes a Kafka client with `make`. librdkafka refuses an unknown property or a bad value when a client is made:
 * that is configuration (exit 2, a retry will not help), not a failure.
 */
export function configuredClient<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    throw new UsageError(
      `the Kafka client refused its configuration: ${(err as Error).message} ` +
        '(check --kafka, the EVENTFUL_KAFKA__* variables and --bootstrap-servers)',
    );
  }
}

/**
 * A consumer over `conf` that reads from the oldest kept offset when one falls out of range (retention), waits
 * up to `consumeTimeoutMs` per `consume(n)`, pushes end-of-partition events onto `eofs` and hands librdkafka's
 * errors to `onClientError`.
 */
export function createConsumer(
  conf: Record<string, unknown>,
  consumeTimeoutMs: number,
  eofs: TopicPartitionOffset[],
  onClientError: ((message: string) => void) | undefined,
): Kafka.KafkaConsumer {
  const consumer = configuredClient(
    () => new Kafka.KafkaConsumer(conf as Kafka.ConsumerGlobalConfig, { 'auto.offset.reset': 'earliest' }),
  );
  consumer.setDefaultConsumeTimeout(consumeTimeoutMs);
  consumer.on('partition.eof', (e) => eofs.push({ topic: e.topic, partition: e.partition, offset: e.offset }));
  consumer.on('event.error', (err) => onClientError?.(describe(err)));
  return consumer;
}

/** The shape of librdkafka's errors (a code and a message, both optional). */
export interface ClientError {
  code?: number;
  message?: string;
}

/** A one-line description of a client error: its message and, when there is one, its code. */
export function describe(err: unknown): string {
  const e = err as ClientError;
  return `${e?.message ?? String(err)}${typeof e?.code === 'number' ? ` (code ${e.code})` : ''}`;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `read` until it succeeds, retrying while it fails with one of {@link RETRIABLE_COORDINATOR_CODES} and the
 * deadline has not passed (and, with `maxAttempts`, no more than that many times). Attempt n is followed by a wait
 * of n x {@link RETRY_DELAY_MS}, cut at the deadline when `capDelayAtDeadline`. Any other failure, or the last
 * one, is reported as a `kafka_committed` {@link EventfulError} naming the group.
 *
 * @param read - one attempt; given the milliseconds left before the deadline (at least 1).
 */
export async function readCommittedWithRetry<T>(
  read: (remainingMs: number) => Promise<T>,
  options: { groupId: string; timeoutMs: number; maxAttempts?: number; capDelayAtDeadline?: boolean },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const maxAttempts = options.maxAttempts ?? Infinity;
  for (let attempt = 1; ; attempt++) {
    try {
      return await read(Math.max(1, deadline - Date.now()));
    } catch (err) {
      const code = (err as ClientError)?.code;
      if (
        attempt < maxAttempts &&
        code !== undefined &&
        RETRIABLE_COORDINATOR_CODES.has(code) &&
        Date.now() < deadline
      ) {
        const delay = RETRY_DELAY_MS * attempt;
        await sleep(options.capDelayAtDeadline ? Math.min(delay, Math.max(0, deadline - Date.now())) : delay);
        continue;
      }
      throw new EventfulError(
        `cannot read the committed offsets of group "${options.groupId}": ${describe(err)}`,
        1,
        'kafka_committed',
      );
    }
  }
}

/**
 * A group's committed offsets as the client returns them, per partition; throws the first partition's error. A
 * partition without a commit has no usable offset (undefined or a negative logical offset): null.
 */
export function committedOffsetsOf(
  list: ReadonlyArray<{ topic: string; partition: number; offset?: number | undefined; error?: unknown }>,
): CommittedOffset[] {
  const failed = list.find((tp) => tp.error && (tp.error as ClientError).code !== 0);
  if (failed) throw failed.error;
  return list.map((tp) => ({
    topic: tp.topic,
    partition: tp.partition,
    offset: typeof tp.offset === 'number' && tp.offset >= 0 ? tp.offset : null,
  }));
}

/** A librdkafka log line as the client hands it to 'event.log'. */
interface ClientLogLine {
  severity: number;
  fac: string;
  message: string;
}

/**
 * librdkafka's log severities up to info (syslog's 0–6): a connection the peer closed is logged at info when one
 * request was in flight (at warning with more), and it is the line that says a listener wants SASL or TLS.
 */
const FAILURE_SEVERITY = 6;
/** How long a failed connect waits for the log lines that explain it: the client hands them over after the error. */
const LOG_GRACE_MS = 200;
/**
 * The broker's refusal of the SASL credentials, in a log line. Not the error events' "authentication failure": the
 * client raises that one too when it could not even try (an OAUTHBEARER token it could not fetch, a SASL plugin it
 * lacks), where a retry may help.
 */
const AUTHENTICATION_FAILED = /SASL authentication (?:error|failure)/i;
/** A listener that takes no SASL (or not this mechanism): the handshake fails before any credential is sent. */
const SASL_HANDSHAKE_FAILED = /SASL (\S+) mechanism handshake failed/i;

/**
 * A log line as it may be quoted: without its thread (`[thrd:...]: `), and without what follows a SCRAM
 * "ServerSignature mismatch", which prints a value derived from the password.
 */
const quotable = (message: string): string =>
  message.replace(/^\[thrd:[^\]]*\]: /, '').replace(/(ServerSignature mismatch).*$/, '$1 (details withheld)');

/**
 * What librdkafka's log said while a connect failed: its first failure on the connection ({@link quotable}), and
 * whether any line said the broker refused the SASL handshake or the credentials, closed the connection at once, or
 * failed the TLS handshake.
 */
interface ConnectNotes {
  said?: string;
  /** The SASL mechanism whose handshake the broker refused. */
  refusedMechanism?: string | undefined;
  authenticationFailed: boolean;
  closedAtOnce: boolean;
  tlsFailed: boolean;
}

/** Notes what the log line `line` says of the connection. */
function note(notes: ConnectNotes, line: string): void {
  notes.said ??= quotable(line);
  notes.refusedMechanism ??= SASL_HANDSHAKE_FAILED.exec(line)?.[1];
  notes.authenticationFailed ||= AUTHENTICATION_FAILED.test(line);
  notes.closedAtOnce ||= /connection closed by peer|while requesting ApiVersion|Broken pipe/i.test(line);
  notes.tlsFailed ||= /SSL handshake failed|certificate/i.test(line);
}

/**
 * The error of a failed connect, from the client's error and what librdkafka said, ending with `afterHint`: exit 2
 * when the broker refused the SASL handshake or the credentials (a retry will not help), else `broker_unreachable`
 * (exit 1) with what to check. A listener that closed the connection at once likely wants another
 * `security.protocol`; a failed TLS handshake, other TLS settings.
 */
function connectError(
  properties: Readonly<KafkaProperties>,
  timeoutMs: number,
  err: unknown,
  notes: ConnectNotes,
  afterHint: string,
): EventfulError {
  const servers = String(properties['bootstrap.servers'] ?? properties['metadata.broker.list']);
  const { said } = notes;
  const quoted = said ? `: ${said}` : '';
  if (notes.refusedMechanism)
    return new EventfulError(
      `the Kafka broker at ${servers} does not take SASL mechanism ${notes.refusedMechanism} on ` +
        `this listener${quoted}. Check security.protocol (the listener may be PLAINTEXT or SSL) and sasl.mechanisms${afterHint}`,
      ExitCode.Usage,
      'kafka_authentication',
    );
  if (notes.authenticationFailed)
    return new EventfulError(
      `the Kafka broker at ${servers} refused the SASL credentials${quoted}. Check sasl.mechanisms, sasl.username ` +
        "and the password (EVENTFUL_KAFKA__SASL_PASSWORD, or the Airflow connection's extra); a retry will not " +
        `help${afterHint}`,
      ExitCode.Usage,
      'kafka_authentication',
    );
  const protocol = String(properties['security.protocol'] ?? 'plaintext').toLowerCase();
  let advice = 'Check --bootstrap-servers, the network and the security settings';
  if (notes.tlsFailed)
    advice =
      'The TLS handshake failed: check security.protocol (the listener may not use TLS) and that ssl.ca.location ' +
      "names the CA of the broker's certificate";
  else if (notes.closedAtOnce && protocol === 'plaintext')
    advice =
      'The broker closed the connection at once: its listener probably wants SASL or TLS. Set security.protocol ' +
      '(SASL_SSL, SASL_PLAINTEXT or SSL) and its sasl.* or ssl.* settings (EVENTFUL_KAFKA__SECURITY_PROTOCOL, ...)';
  return new EventfulError(
    `cannot reach the Kafka broker at ${servers} within ${timeoutMs} ms: ${describe(err)}` +
      `${said ? ` (librdkafka: ${said})` : ''}. ${advice}${afterHint}`,
    1,
    'broker_unreachable',
  );
}

/** What connecting needs of a client: a consumer or a producer. */
interface ConnectingClient {
  on(event: 'event.log', listener: (line: ClientLogLine) => void): unknown;
  removeListener(event: 'event.log', listener: (line: ClientLogLine) => void): unknown;
  connect(options: { timeout: number; allTopics: boolean }, cb: (err: unknown) => void): unknown;
}

/**
 * Connects a consumer (or a producer), failing with the error {@link connectError} makes of what the client said
 * while it tried: `kafka_authentication` (exit 2) or `broker_unreachable` (exit 1) when none answers within
 * `timeoutMs`.
 *
 * @param afterHint - appended to the error's advice (for instance what was not done).
 */
export async function connectClient(
  client: ConnectingClient,
  properties: Readonly<KafkaProperties>,
  timeoutMs: number,
  afterHint = '',
): Promise<void> {
  const notes: ConnectNotes = {
    authenticationFailed: false,
    closedAtOnce: false,
    tlsFailed: false,
  };
  // The client hands librdkafka's log lines to 'event.log' (its event callback is on unless event_cb is false).
  const onLog = (line: ClientLogLine): void => {
    if (line.severity <= FAILURE_SEVERITY && line.fac === 'FAIL') note(notes, line.message);
  };
  client.on('event.log', onLog);
  try {
    await new Promise<void>((resolve, reject) =>
      client.connect({ timeout: timeoutMs, allTopics: false }, (err) => (err ? reject(err) : resolve())),
    );
  } catch (err) {
    await sleep(LOG_GRACE_MS);
    throw connectError(properties, timeoutMs, err, notes, afterHint);
  } finally {
    client.removeListener('event.log', onLog);
  }
}

/** Every topic of the cluster with its partition ids in ascending order (`kafka_metadata` error on failure). */
export async function readTopicPartitions(
  consumer: Kafka.KafkaConsumer,
  timeoutMs: number,
): Promise<Map<string, number[]>> {
  const metadata = await new Promise<Kafka.Metadata>((resolve, reject) =>
    consumer.getMetadata({ allTopics: true, timeout: timeoutMs }, (err, data) => (err ? reject(err) : resolve(data))),
  ).catch((err: unknown) => {
    throw new EventfulError(`cannot read the cluster's topics: ${describe(err)}`, 1, 'kafka_metadata');
  });
  return new Map(metadata.topics.map((t) => [t.name, t.partitions.map((p) => p.id).sort((a, b) => a - b)]));
}

/** Low and high watermarks of each partition, asked of the broker (`kafka_watermarks` error on failure). */
export function readWatermarks(
  consumer: Kafka.KafkaConsumer,
  partitions: readonly TopicPartition[],
  timeoutMs: number,
): Promise<Watermarks[]> {
  return Promise.all(
    partitions.map(
      ({ topic, partition }) =>
        new Promise<Watermarks>((resolve, reject) =>
          consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (err, o) =>
            err
              ? reject(
                  new EventfulError(
                    `cannot read the watermarks of ${topic}[${partition}]: ${describe(err)}`,
                    1,
                    'kafka_watermarks',
                  ),
                )
              : resolve({ topic, partition, low: o.lowOffset, high: o.highOffset }),
          ),
        ),
    ),
  );
}

/**
 * Disconnects the consumer, waiting at most `timeoutMs` (a bound that does not keep the process alive by
 * itself); never throws.
 */
export async function disconnectClient(
  client: { disconnect(cb: () => void): unknown },
  timeoutMs: number,
): Promise<void> {
  await Promise.race([
    new Promise<void>((resolve) => client.disconnect(() => resolve())),
    new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
  ]).catch(() => undefined);
}
