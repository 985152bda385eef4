import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Kafka from '@confluentinc/kafka-javascript';
import type pg from 'pg';
import { bootstrap, consumeAllWithKcat, createTopic, produce, produceWithKcat, uniqueTopic } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';

/** Reads `count` messages from the beginning of a topic with the JS client's KafkaConsumer. */
async function consumeWithJs(topic: string, count: number): Promise<string[]> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap(), 'group.id': `harness-${randomUUID()}`, 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) =>
    consumer.connect({ timeout: 20_000 }, (err) => (err ? reject(err) : resolve())),
  );
  consumer.subscribe([topic]);
  const values: string[] = [];
  const deadline = Date.now() + 60_000;
  while (values.length < count && Date.now() < deadline) {
    const batch = await new Promise<Kafka.Message[]>((resolve, reject) =>
      consumer.consume(100, (err, msgs) => (err ? reject(err) : resolve(msgs))),
    );
    for (const m of batch) values.push(m.value?.toString() ?? '');
  }
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  return values;
}

describe('the real Kafka broker', () => {
  it('should deliver a message produced by the JS client to the JS client and to kcat', async () => {
    const topic = uniqueTopic('harness');
    await createTopic(topic, 1);
    const value = JSON.stringify({ hello: randomUUID() });
    await produce(topic, [{ value, key: 'k1' }]);
    expect(await consumeWithJs(topic, 1)).toEqual([value]);
    expect(await consumeAllWithKcat(topic)).toEqual([value]);
  });

  it('should deliver messages produced by kcat to the JS client', async () => {
    const topic = uniqueTopic('harness');
    await createTopic(topic, 3);
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ n: i }));
    await produceWithKcat(topic, lines);
    expect((await consumeWithJs(topic, 10)).sort()).toEqual([...lines].sort());
  });
});

describe('the real PostgreSQL', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = await connect();
  });
  afterAll(async () => {
    await client.end();
  });

  it('should create a table and round-trip a row with bind parameters', async () => {
    const schema = await freshSchema(client, 'harness');
    await client.query(`CREATE TABLE "${schema}".t (id uuid PRIMARY KEY, note text, at timestamptz)`);
    const id = randomUUID();
    const note = `it's "quoted"; DROP TABLE t; -- ünïcode`;
    await client.query(`INSERT INTO "${schema}".t VALUES ($1, $2, $3)`, [id, note, '2026-11-27T07:45:12Z']);
    const { rows } = await client.query(`SELECT id, note, at FROM "${schema}".t`);
    expect(rows).toEqual([{ id, note, at: new Date('2026-11-27T07:45:12Z') }]);
    await client.query(`DROP SCHEMA "${schema}" CASCADE`);
  });
});
