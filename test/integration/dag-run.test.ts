import { mkdtemp } from 'node:fs/promises';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airflow, airflowBin, airflowEnv } from '../helpers/airflow.js';
import { bootstrap, uniqueTopic } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand } from '../helpers/run.js';

const DAG_ID = 'eventful_snapshot';

/** Every file under a folder, recursively (Airflow's task logs). */
async function readAll(dir: string): Promise<string> {
  let out = '';
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out += await readFile(path.join(e.parentPath, e.name), 'utf8');
  return out;
}

interface TaskState {
  task_id: string;
  state: string;
}

/** `airflow dags test` of the snapshot DAG against the real Kafka and Postgres, in a throwaway AIRFLOW_HOME. */
describe('the snapshot DAG run by a real Airflow', () => {
  let bin: string;
  let env: Record<string, string>;
  let client: pg.Client;
  let dbSchema: string;
  let produced: { arrivals: number; incidents: number };
  /** Everything `airflow dags test` printed: it runs the tasks in-process and logs their output there. */
  let output = '';
  const arrivals = uniqueTopic('dag-arrivals');
  const incidents = uniqueTopic('dag-incidents');

  async function runDag(): Promise<Record<string, string>> {
    const result = await airflow(bin, ['dags', 'test', DAG_ID], env, 600_000);
    output += result.stdout + result.stderr;
    expect(result.code, result.stderr.slice(-4000) + result.stdout.slice(-4000)).toBe(0);
    const runs = await airflow(bin, ['dags', 'list-runs', DAG_ID, '-o', 'json'], env);
    const list = JSON.parse(runs.stdout.trim().split('\n').pop()!) as Array<{ run_id: string; start_date: string }>;
    const latest = list.sort((a, b) => b.start_date.localeCompare(a.start_date))[0]!;
    const states = await airflow(bin, ['tasks', 'states-for-dag-run', DAG_ID, latest.run_id, '-o', 'json'], env);
    const rows = JSON.parse(states.stdout.trim().split('\n').pop()!) as TaskState[];
    return Object.fromEntries(rows.map((r) => [r.task_id, r.state]));
  }

  beforeAll(async () => {
    bin = await airflowBin();
    client = await connect();
    dbSchema = await freshSchema(client, 'dag');
    const sim = await runCommand('simulate', [
      '--create-topics',
      '--arrivals-topic',
      arrivals,
      '--incidents-topic',
      incidents,
      '--seed',
      '7',
      '--duration',
      '3h',
    ]);
    expect(sim.code, sim.stderr).toBe(0);
    const topics = sim.summary!['topics'] as Record<string, { messages: number }>;
    produced = { arrivals: topics[arrivals]!.messages, incidents: topics[incidents]!.messages };
    expect(produced.arrivals).toBeGreaterThan(100);
    const snapshots = await mkdtemp(path.join(os.tmpdir(), 'eventful-dag-snapshots-'));
    // The shipped schemas, pointed at this test's own topics.
    const schemas = await mkdtemp(path.join(os.tmpdir(), 'eventful-dag-schemas-'));
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
      AIRFLOW_VAR_EVENTFUL_SNAPSHOT_ROOT: snapshots,
      AIRFLOW_VAR_EVENTFUL_SCHEMAS: schemas,
      EVENTFUL_DAG_RETRIES: '0',
      // INFO, so the tasks' own output reaches `dags test`'s output, where the password test looks.
      AIRFLOW__LOGGING__LOGGING_LEVEL: 'INFO',
      AIRFLOW_VAR_EVENTFUL_TOPICS: `${arrivals},${incidents}`,
      AIRFLOW_VAR_EVENTFUL_GROUP_ID: `dag-test-${dbSchema}`,
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
      // The worker's own settings must not leak into the tasks: the DAG sets its own from the connections.
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nowhere',
      PGPASSWORD: 'wrong',
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1',
    });
    const migrate = await airflow(bin, ['db', 'migrate'], env);
    expect(migrate.code, migrate.stderr.slice(-2000)).toBe(0);
  });

  afterAll(async () => {
    await client?.end();
  });

  it('should extract and load every simulated event into the warehouse', async () => {
    const states = await runDag();
    expect(states).toEqual({ extract: 'success', load: 'success' });
    const q = async (sql: string): Promise<number> => Number((await client.query(sql)).rows[0].n);
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".train_arrivals`)).toBe(produced.arrivals);
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".incident_events`)).toBe(produced.incidents);
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".station_wait_times`)).toBeGreaterThan(0);
  });

  it('should skip both tasks and change nothing when there is nothing new', async () => {
    const before = (await client.query(`SELECT count(*) AS n FROM "${dbSchema}".train_arrivals`)).rows[0].n;
    const states = await runDag();
    expect(states).toEqual({ extract: 'skipped', load: 'skipped' });
    expect((await client.query(`SELECT count(*) AS n FROM "${dbSchema}".train_arrivals`)).rows[0].n).toBe(before);
  });

  it('should never write the database password into a task log', async () => {
    const logs = output + (await readAll(path.join(env['AIRFLOW_HOME']!, 'logs')).catch(() => ''));
    expect(logs).toContain('extract INFO');
    expect(logs).toContain('load INFO');
    expect(logs).not.toContain(process.env['PGPASSWORD']!);
  });
});
