import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Kafka from '@confluentinc/kafka-javascript';

const execFileAsync = promisify(execFile);

/** Debian's Python, which has python3-confluent-kafka (a pyenv python3 earlier on PATH may not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** The broker the global setup started. */
export function bootstrap(): string {
  const b = process.env['KAFKA_BOOTSTRAP_SERVERS'];
  if (!b)
    throw new Error('KAFKA_BOOTSTRAP_SERVERS is not set: run the integration tests through vitest (global setup)');
  return b;
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix = 'test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Creates a topic on the real broker with the admin client and waits until it is usable. */
export async function createTopic(topic: string, partitions = 6, config: Record<string, string> = {}): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'bootstrap.servers': bootstrap() });
  try {
    await new Promise<void>((resolve, reject) =>
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1, config }, 30_000, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  } finally {
    admin.disconnect();
  }
}

/** One message to produce: value `null` is a tombstone. */
export interface TestMessage {
  value: Buffer | string | null;
  key?: Buffer | string | null;
  partition?: number;
  headers?: Array<Record<string, string | Buffer>>;
}

/** Produces messages with the JS client's Producer and waits until every one is acknowledged. */
export async function produce(topic: string, messages: TestMessage[]): Promise<void> {
  const producer = new Kafka.Producer({
    'bootstrap.servers': bootstrap(),
    dr_cb: true,
    'linger.ms': 5,
    'message.max.bytes': 2_000_000,
  });
  await new Promise<void>((resolve, reject) => {
    producer.once('ready', () => resolve());
    producer.once('event.error', reject);
    producer.connect({ timeout: 20_000 }, (err) => err && reject(err));
  });
  let pending = messages.length;
  const done = new Promise<void>((resolve, reject) => {
    if (pending === 0) resolve();
    producer.on('delivery-report', (err) => {
      if (err) reject(err);
      else if (--pending === 0) resolve();
    });
  });
  producer.setPollInterval(10);
  for (const m of messages) {
    const value = typeof m.value === 'string' ? Buffer.from(m.value) : m.value;
    const key = typeof m.key === 'string' ? Buffer.from(m.key) : (m.key ?? null);
    for (;;) {
      try {
        producer.produce(topic, m.partition ?? null, value, key, Date.now(), undefined, m.headers as never);
        break;
      } catch (err) {
        // Queue full: give librdkafka a moment to send.
        await new Promise((r) => setTimeout(r, 20));
        void err;
      }
    }
  }
  await done;
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
}

/** Produces NDJSON-free text lines with Debian's kcat (an independent client): one message per line. */
export async function produceWithKcat(topic: string, lines: string[], key?: string): Promise<void> {
  const args = ['-P', '-b', bootstrap(), '-t', topic];
  if (key) args.push('-k', key);
  const child = execFile('kcat', args);
  child.stdin!.end(lines.join('\n') + '\n');
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}`)))),
  );
}

/** Produces JSON values with python3-confluent-kafka (another independent client). */
export async function produceWithPython(topic: string, values: unknown[]): Promise<void> {
  const script = `
import json, sys
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': sys.argv[1]})
for line in sys.stdin:
    p.produce(sys.argv[2], line.rstrip('\\n').encode())
    p.poll(0)
p.flush(30)
`;
  const child = execFile(SYSTEM_PYTHON, ['-c', script, bootstrap(), topic]);
  child.stdin!.end(values.map((v) => JSON.stringify(v)).join('\n') + '\n');
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`python producer exited ${code}`)))),
  );
}

/** Reads every message of a topic with kcat, as an independent consumer: returns the values as strings. */
export async function consumeAllWithKcat(topic: string): Promise<string[]> {
  const { stdout } = await execFileAsync(
    'kcat',
    ['-C', '-b', bootstrap(), '-t', topic, '-o', 'beginning', '-e', '-q', '-D', '\n'],
    { maxBuffer: 1 << 30 },
  );
  return stdout.split('\n').filter((l) => l !== '');
}

/** The committed offsets of a group for a topic's partitions, read with kcat's independent client. */
export async function committedOffsets(groupId: string, topic: string, partitions: number): Promise<number[]> {
  const script = `
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': sys.argv[2], 'enable.auto.commit': False})
parts = c.committed([TopicPartition(sys.argv[3], p) for p in range(int(sys.argv[4]))], timeout=20)
print(' '.join(str(tp.offset) for tp in parts))
c.close()
`;
  const { stdout } = await execFileAsync(SYSTEM_PYTHON, [
    '-c',
    script,
    bootstrap(),
    groupId,
    topic,
    String(partitions),
  ]);
  return stdout.trim().split(' ').map(Number);
}

/**
 * The test broker's SASL/PLAIN listener (scripts/kafka), and the settings (as variables) that log in to it with
 * `password` (default: the right one).
 */
export function saslListener(password = process.env['KAFKA_SASL_PASSWORD']!): {
  bootstrap: string;
  env: Record<string, string>;
} {
  return {
    bootstrap: process.env['KAFKA_SASL_BOOTSTRAP_SERVERS']!,
    env: {
      EVENTFUL_KAFKA__SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      EVENTFUL_KAFKA__SASL_MECHANISMS: 'PLAIN',
      EVENTFUL_KAFKA__SASL_USERNAME: process.env['KAFKA_SASL_USERNAME']!,
      EVENTFUL_KAFKA__SASL_PASSWORD: password,
    },
  };
}
