#!/usr/bin/env node
/**
 * The client's own ceiling, for bench/extract.sh: reads a whole topic with @confluentinc/kafka-javascript's
 * KafkaConsumer and nothing else (the `consume(n)` loop with extract's consumer settings, every partition
 * assigned from its start, stopping at each partition's end; no decoding, no files, no commit), and prints the
 * number of messages it read.
 *
 *   node bench/consume-floor.mjs BROKER TOPIC [BATCH_SIZE]
 */
import Kafka from '@confluentinc/kafka-javascript';
import { CONSUMER_DEFAULTS } from '../dist/kafka/consumer-config.js';

const [broker, topic, batchArg] = process.argv.slice(2);
if (!broker || !topic) {
  console.error('usage: node bench/consume-floor.mjs BROKER TOPIC [BATCH_SIZE]');
  process.exit(2);
}
const batchSize = Number(batchArg ?? 1000);

const consumer = new Kafka.KafkaConsumer(
  {
    ...CONSUMER_DEFAULTS,
    'bootstrap.servers': broker,
    'group.id': `consume-floor-${process.pid}`,
    'enable.auto.commit': false,
    'enable.partition.eof': true,
  },
  { 'auto.offset.reset': 'earliest' },
);
consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);
consumer.setDefaultConsumeTimeout(200);

await new Promise((resolve, reject) => consumer.connect({ timeout: 30_000 }, (err) => (err ? reject(err) : resolve())));
const metadata = await new Promise((resolve, reject) =>
  consumer.getMetadata({ topic, timeout: 30_000 }, (err, m) => (err ? reject(err) : resolve(m))),
);
const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
if (partitions.length === 0) {
  console.error(`consume-floor: topic ${topic} has no partitions`);
  process.exit(1);
}
const open = new Set(partitions);
consumer.on('partition.eof', (e) => open.delete(e.partition));
consumer.assign(partitions.map((partition) => ({ topic, partition, offset: 0 })));

let count = 0;
while (open.size > 0) {
  const messages = await new Promise((resolve, reject) =>
    consumer.consume(batchSize, (err, m) => (err ? reject(err) : resolve(m))),
  );
  count += messages.length;
}
await new Promise((resolve) => consumer.disconnect(() => resolve()));
console.log(count);
