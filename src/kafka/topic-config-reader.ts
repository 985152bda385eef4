/**
 * Reads topic configs (`retention.ms`) from the broker with the Kafka protocol's DescribeConfigs request.
 *
 * Why by hand: `@confluentinc/kafka-javascript` 1.10.1 offers no describeConfigs, neither in its node-rdkafka
 * `AdminClient` (types/rdkafka.d.ts lists createTopic ... listOffsets, no configs) nor in its KafkaJS-compatible
 * admin (types/kafkajs.d.ts: no describeConfigs), and its native binding exposes none either. DescribeConfigs v1
 * is one small request (supported from Kafka 1.1 to 4.x; v0 was removed in 4.0), so it is spoken here over one
 * short-lived connection to a bootstrap server, over PLAINTEXT or SSL (the `ssl.*` librdkafka properties: CA,
 * client certificate and key, verification switches). SASL is not spoken here: with `security.protocol`
 * SASL_PLAINTEXT or SASL_SSL the reader refuses with {@link TopicConfigUnavailable}, and the caller carries on
 * with the retention unknown (or the user's `--retention` assumption).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { KafkaProperties } from '../config/kafka-config.js';

/** The DescribeConfigs API (Kafka protocol). */
const API_KEY_DESCRIBE_CONFIGS = 32;
const API_VERSION = 1;
/** Config resource type of a topic. */
const RESOURCE_TYPE_TOPIC = 2;
/** Bytes of a frame's size prefix and of a response's correlation id. */
const INT32 = 4;
/** A response larger than this is not a DescribeConfigs answer about a few topics: the peer is not a broker. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const DEFAULT_PORT = 9092;

/** The broker cannot be asked for topic configs here (unsupported security protocol, unreachable, refused). */
export class TopicConfigUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopicConfigUnavailable';
  }
}

/** One resource of a DescribeConfigs answer. */
export interface TopicConfigResult {
  topic: string;
  /** Kafka error code for this topic (0: none; 3: unknown topic; 29: not authorised). */
  errorCode: number;
  errorMessage: string | null;
  /** Config values by name (null: sensitive or unset). */
  configs: Map<string, string | null>;
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(INT32);
  b.writeInt32BE(n);
  return b;
}

function str(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([int16(bytes.length), bytes]);
}

/** A DescribeConfigs v1 request for `keys` of `topics`, framed (size prefix) and ready to send. */
export function encodeDescribeConfigsRequest(
  correlationId: number,
  clientId: string,
  topics: readonly string[],
  keys: readonly string[],
): Buffer {
  const parts: Buffer[] = [
    // Request header v1: api key, api version, correlation id, client id.
    int16(API_KEY_DESCRIBE_CONFIGS),
    int16(API_VERSION),
    int32(correlationId),
    str(clientId),
    // Body v1: resources [type, name, keys], include_synonyms.
    int32(topics.length),
  ];
  for (const topic of topics) {
    parts.push(Buffer.from([RESOURCE_TYPE_TOPIC]), str(topic), int32(keys.length), ...keys.map(str));
  }
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  return Buffer.concat([int32(body.length), body]);
}

/** Reads Kafka's primitive types from a response. */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new TopicConfigUnavailable('truncated DescribeConfigs response');
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.at++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    this.need(INT32);
    const v = this.buf.readInt32BE(this.at);
    this.at += INT32;
    return v;
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  string(): string {
    return this.nullableString() ?? '';
  }
  array<T>(item: () => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}

/**
 * Decodes a DescribeConfigs v1 response (without its size prefix): correlation id, throttle time, then per
 * resource its error, name and configs (name, value, read-only, source, sensitive, synonyms).
 */
export function decodeDescribeConfigsResponse(payload: Buffer): {
  correlationId: number;
  results: TopicConfigResult[];
} {
  const r = new Reader(payload);
  const correlationId = r.int32();
  r.int32(); // throttle_time_ms
  const results = r.array(() => {
    const errorCode = r.int16();
    const errorMessage = r.nullableString();
    r.int8(); // resource_type
    const topic = r.string();
    const configs = new Map<string, string | null>();
    r.array(() => {
      const name = r.string();
      const value = r.nullableString();
      r.bool(); // read_only
      r.int8(); // config_source
      r.bool(); // is_sensitive
      r.array(() => [r.string(), r.nullableString(), r.int8()]); // synonyms
      configs.set(name, value);
    });
    return { topic, errorCode, errorMessage, configs };
  });
  return { correlationId, results };
}

/** `host:port` entries of `bootstrap.servers` (a `proto://` prefix and IPv6 brackets allowed). */
export function parseBootstrapServers(text: string): Array<{ host: string; port: number }> {
  return text
    .split(',')
    .map((s) => s.trim().replace(/^[a-z_]+:\/\//i, ''))
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
      if (!m) return { host: s, port: DEFAULT_PORT };
      return { host: m[1]!, port: m[2] ? Number(m[2]) : DEFAULT_PORT };
    });
}

function prop(props: Readonly<KafkaProperties>, key: string): string | undefined {
  const v = props[key];
  return v === undefined ? undefined : String(v);
}

function fileOrPem(props: Readonly<KafkaProperties>, location: string, pem: string): string | Buffer | undefined {
  const inline = prop(props, pem);
  if (inline) return inline;
  const file = prop(props, location);
  // librdkafka's "probe" means "find the system's CA bundle": Node's default CAs serve the same purpose.
  if (!file || file === 'probe') return undefined;
  return readFileSync(file);
}

/** Node TLS options from librdkafka's `ssl.*` properties. */
function tlsOptions(props: Readonly<KafkaProperties>, host: string): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = {
    host,
    rejectUnauthorized: String(props['enable.ssl.certificate.verification'] ?? 'true') !== 'false',
  };
  if (!net.isIP(host)) options.servername = host;
  const ca = fileOrPem(props, 'ssl.ca.location', 'ssl.ca.pem');
  const cert = fileOrPem(props, 'ssl.certificate.location', 'ssl.certificate.pem');
  const key = fileOrPem(props, 'ssl.key.location', 'ssl.key.pem');
  const passphrase = prop(props, 'ssl.key.password');
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  if (passphrase !== undefined) options.passphrase = passphrase;
  if (String(props['ssl.endpoint.identification.algorithm'] ?? 'https').toLowerCase() === 'none')
    options.checkServerIdentity = () => undefined;
  return options;
}

/** Sends one framed request and resolves with the response payload (size prefix stripped). */
function exchange(
  props: Readonly<KafkaProperties>,
  secure: boolean,
  server: { host: string; port: number },
  request: Buffer,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket: net.Socket = secure
      ? tls.connect({ ...tlsOptions(props, server.host), port: server.port })
      : net.connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (err: Error | undefined, payload?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(payload!);
    };
    const timer = setTimeout(
      () => finish(new TopicConfigUnavailable(`no answer from ${server.host}:${server.port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('error', (err) => finish(new TopicConfigUnavailable(`${server.host}:${server.port}: ${err.message}`)));
    socket.on('close', () =>
      finish(new TopicConfigUnavailable(`${server.host}:${server.port} closed the connection before answering`)),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < INT32) return;
      const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const size = all.readInt32BE(0);
      if (size < 0 || size > MAX_RESPONSE_BYTES) {
        finish(
          new TopicConfigUnavailable(`${server.host}:${server.port} sent a frame of ${size} bytes: not a Kafka answer`),
        );
        return;
      }
      if (all.length >= INT32 + size) finish(undefined, all.subarray(INT32, INT32 + size));
    });
  });
}

/**
 * Reads `keys` of `topics` from the first bootstrap server that answers within `timeoutMs` overall.
 * Throws {@link TopicConfigUnavailable} when the security protocol is not spoken here or no server answers.
 */
export async function describeTopicConfigs(
  props: Readonly<KafkaProperties>,
  topics: readonly string[],
  keys: readonly string[],
  timeoutMs: number,
  clientId = 'eventful-lag',
): Promise<TopicConfigResult[]> {
  if (topics.length === 0) return [];
  const protocol = String(props['security.protocol'] ?? 'plaintext').toLowerCase();
  if (protocol !== 'plaintext' && protocol !== 'ssl')
    throw new TopicConfigUnavailable(
      `security.protocol=${protocol}: topic configs are read here over PLAINTEXT or SSL only (the Kafka client ` +
        `offers no describeConfigs)`,
    );
  const servers = parseBootstrapServers(String(props['bootstrap.servers'] ?? props['metadata.broker.list'] ?? ''));
  if (servers.length === 0) throw new TopicConfigUnavailable('no bootstrap server to ask for topic configs');
  const deadline = Date.now() + timeoutMs;
  const correlationId = 1;
  const request = encodeDescribeConfigsRequest(correlationId, clientId, topics, keys);
  const failures: string[] = [];
  for (const server of servers) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    try {
      const response = decodeDescribeConfigsResponse(await exchange(props, protocol === 'ssl', server, request, left));
      if (response.correlationId !== correlationId)
        throw new TopicConfigUnavailable(`${server.host}:${server.port} answered another request`);
      return response.results;
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  throw new TopicConfigUnavailable(`cannot read topic configs: ${failures.join('; ') || 'timed out'}`);
}
