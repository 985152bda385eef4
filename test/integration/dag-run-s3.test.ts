import type { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/snapshot/format.js';
import { airflow, airflowBin, airflowEnv } from '../helpers/airflow.js';
import { bootstrap, uniqueTopic } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand } from '../helpers/run.js';
import { clearPrefix, listKeys, testBucket, testS3Client } from '../helpers/s3.js';

const DAG_ID = 'eventful_snapshot';
/** What a task prints when Kafka or Postgres restarts under it (another engineer's fault campaign). */
const TRANSIENT =
  /Not leader for partition|Leader not available|transport failure|brokers? (are )?down|ECONNREFUSED|ECONNRESET|terminating connection|Connection terminated|connection to PostgreSQL was lost|shutting down|starting up|not queryable/i;

/** Every file under a folder, recursively (Airflow's task logs). */
async function readAll(dir: string): Promise<string> {
  let out = '';
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out += await readFile(path.join(e.parentPath, e.name), 'utf8');
  return out;
}

/**
 * Runs `fn` on a connection of its own, again on a new one when the server ended the session (a fault campaign
 * beside the tests terminates backends and restarts Postgres): no connection is held while the DAG runs.
 */
async function withDb<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.Client | undefined;
    try {
      client = await connect();
      client.on('error', () => undefined);
      return await fn(client);
    } catch (err) {
      if (attempt >= 4 || !TRANSIENT.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 3_000 * attempt));
    } finally {
      await client?.end().catch(() => undefined);
    }
  }
}

interface TaskState {
  task_id: string;
  state: string;
}

/**
 * `airflow dags test` of the snapshot DAG with the snapshot root Variable set to an s3:// location and the
 * `eventful_s3` aws connection pointing at the real s3proxy: the tasks take their AWS_* settings from the
 * connection (the worker's own are wrong on purpose), the snapshot lands in the bucket, load reads it from
 * there, and the secret key appears in no log.
 */
describe('the snapshot DAG with its snapshots in an S3-compatible lake, run by a real Airflow', () => {
  let bin: string;
  let env: Record<string, string>;
  let s3: S3Client;
  let dbSchema: string;
  let produced: { arrivals: number; incidents: number };
  /** Everything `airflow dags test` printed: it runs the tasks in-process and logs their output there. */
  let output = '';
  const arrivals = uniqueTopic('dag-s3-arrivals');
  const incidents = uniqueTopic('dag-s3-incidents');
  const prefix = `dag-s3-${randomUUID().slice(0, 8)}/snapshots/`;
  const secret = (): string => process.env['AWS_SECRET_ACCESS_KEY']!;
  /** What the worker's own environment holds: wrong, so that only the connection's settings can work. */
  const WORKER_SECRET = `worker-secret-${randomUUID()}`;

  /** One `airflow dags test`: its exit code, what it printed, and the states of the run's tasks. */
  async function runDag(): Promise<{ code: number; text: string; states: Record<string, string> }> {
    const result = await airflow(bin, ['dags', 'test', DAG_ID], env, 600_000);
    const text = result.stdout + result.stderr;
    output += text;
    const runs = await airflow(bin, ['dags', 'list-runs', DAG_ID, '-o', 'json'], env);
    const list = JSON.parse(runs.stdout.trim().split('\n').pop()!) as Array<{ run_id: string; start_date: string }>;
    const latest = list.sort((a, b) => b.start_date.localeCompare(a.start_date))[0]!;
    const states = await airflow(bin, ['tasks', 'states-for-dag-run', DAG_ID, latest.run_id, '-o', 'json'], env);
    const rows = JSON.parse(states.stdout.trim().split('\n').pop()!) as TaskState[];
    return { code: result.code, text, states: Object.fromEntries(rows.map((r) => [r.task_id, r.state])) };
  }

  beforeAll(async () => {
    bin = await airflowBin();
    s3 = testS3Client();
    dbSchema = await withDb((c) => freshSchema(c, 'dag_s3'));
    const sim = await runCommand('simulate', [
      ...['--create-topics', '--arrivals-topic', arrivals, '--incidents-topic', incidents],
      ...['--seed', 'dag-s3', '--duration', '2h'],
    ]);
    expect(sim.code, sim.stderr).toBe(0);
    const topics = sim.summary!['topics'] as Record<string, { messages: number }>;
    produced = { arrivals: topics[arrivals]!.messages, incidents: topics[incidents]!.messages };
    expect(produced.arrivals).toBeGreaterThan(100);
    // The shipped schemas, pointed at this test's own topics.
    const schemas = await mkdtemp(path.join(os.tmpdir(), 'eventful-dag-s3-schemas-'));
    for (const [file, topic] of [
      ['train_arrival.schema.json', arrivals],
      ['incident.schema.json', incidents],
    ] as const) {
      const json = JSON.parse(await readFile(path.join(ROOT, 'schemas', file), 'utf8'));
      json['x-warehouse'].topics = [topic];
      await writeFile(path.join(schemas, file), JSON.stringify(json));
    }
    env = await airflowEnv({
      AIRFLOW_VAR_EVENTFUL_HOME: ROOT,
      AIRFLOW_VAR_EVENTFUL_SNAPSHOT_ROOT: `s3://${testBucket()}/${prefix}`,
      AIRFLOW_VAR_EVENTFUL_SCHEMAS: schemas,
      EVENTFUL_DAG_RETRIES: '0',
      // INFO, so the tasks' own output reaches `dags test`'s output, where the secret test looks.
      AIRFLOW__LOGGING__LOGGING_LEVEL: 'INFO',
      AIRFLOW_VAR_EVENTFUL_TOPICS: `${arrivals},${incidents}`,
      AIRFLOW_VAR_EVENTFUL_GROUP_ID: `dag-s3-test-${dbSchema}`,
      AIRFLOW_VAR_EVENTFUL_DB_SCHEMA: dbSchema,
      AIRFLOW_CONN_EVENTFUL_KAFKA: JSON.stringify({ conn_type: 'kafka', extra: { 'bootstrap.servers': bootstrap() } }),
      AIRFLOW_CONN_EVENTFUL_POSTGRES: JSON.stringify({
        conn_type: 'postgres',
        host: process.env['PGHOST'],
        port: Number(process.env['PGPORT']),
        login: process.env['PGUSER'],
        password: process.env['PGPASSWORD'],
        schema: process.env['PGDATABASE'],
      }),
      // The lake, in the Amazon provider's convention: login = access key, password = secret key.
      AIRFLOW_CONN_EVENTFUL_S3: JSON.stringify({
        conn_type: 'aws',
        login: process.env['AWS_ACCESS_KEY_ID'],
        password: secret(),
        extra: { endpoint_url: process.env['AWS_ENDPOINT_URL_S3'], region_name: process.env['AWS_REGION'] },
      }),
      // The worker's own settings must not reach the tasks: the DAG sets its own from the connections.
      AWS_ACCESS_KEY_ID: 'worker-key',
      AWS_SECRET_ACCESS_KEY: WORKER_SECRET,
      AWS_SESSION_TOKEN: 'worker-stale-session-token',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere',
      PGPASSWORD: 'wrong',
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1',
    });
    const migrate = await airflow(bin, ['db', 'migrate'], env);
    expect(migrate.code, migrate.stderr.slice(-2000)).toBe(0);
  });

  afterAll(async () => {
    if (s3) {
      await clearPrefix(s3, prefix).catch(() => undefined);
      s3.destroy();
    }
  });

  it('should extract every simulated event into the bucket and load it from there', async () => {
    let run = await runDag();
    // Kafka or Postgres restarted by a fault campaign running beside the tests: run the DAG again, as Airflow's
    // retries would (the tests set none). extract may then skip: the failed run may have published already.
    const retried = run.code !== 0 && TRANSIENT.test(run.text);
    if (retried) {
      await new Promise((r) => setTimeout(r, 5_000));
      run = await runDag();
    }
    expect(run.code, run.text.slice(-8000)).toBe(0);
    if (retried) expect(run.states).toEqual({ extract: expect.stringMatching(/^(success|skipped)$/), load: 'success' });
    else expect(run.states).toEqual({ extract: 'success', load: 'success' });
    const keys = await listKeys(s3, prefix);
    const manifests = keys.filter((k) => k.endsWith(`/${MANIFEST_FILE}`));
    if (retried) expect(manifests.length).toBeGreaterThanOrEqual(1);
    else expect(manifests).toHaveLength(1);
    for (const m of manifests) expect(m).toMatch(new RegExp(`^${prefix}[^/]+-try1_[0-9a-f]+/${MANIFEST_FILE}$`));
    expect(keys.filter((k) => /\/attempt-[0-9a-f]+\/(events|rejected)\.ndjson$/.test(k))).toHaveLength(
      2 * manifests.length,
    );
    const q = (sql: string): Promise<number> => withDb(async (c) => Number((await c.query(sql)).rows[0].n));
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".train_arrivals`)).toBe(produced.arrivals);
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".incident_events`)).toBe(produced.incidents);
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".eventful_load_ledger`)).toBe(manifests.length);
    expect(output).toContain(`published snapshot s3://${testBucket()}/${prefix}`);
  });

  it('should never write the secret key into a task log', async () => {
    const logs = output + (await readAll(path.join(env['AIRFLOW_HOME']!, 'logs')).catch(() => ''));
    expect(logs).toContain('extract INFO');
    expect(logs).toContain('load INFO');
    expect(logs).not.toContain(secret());
    expect(logs).not.toContain(WORKER_SECRET);
    // Here the database password is a prefix of the lake's secret: a secret masked only through that prefix
    // would still show its tail.
    const pg = process.env['PGPASSWORD']!;
    if (secret().startsWith(pg)) expect(logs).not.toContain(`***${secret().slice(pg.length)}`);
  });
});
