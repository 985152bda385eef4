import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { bootstrap, uniqueTopic } from './kafka.js';
import { ROOT, runCommand } from './run.js';

const execFileAsync = promisify(execFile);

/**
 * The bin folder of the real Airflow virtualenv made by `scripts/airflow venv` (Airflow 3 unless `major` is 2), with
 * the repository's eventful-airflow package installed into it: the DAGs and the trigger are imported from there.
 */
export async function airflowBin(major: 2 | 3 = 3): Promise<string> {
  await execFileAsync(path.join(ROOT, 'scripts/airflow'), ['venv', String(major)], { timeout: 900_000 });
  const { stdout } = await execFileAsync(path.join(ROOT, 'scripts/airflow'), ['path', String(major)]);
  return stdout.trim();
}

/** Environment of an Airflow with its own throwaway AIRFLOW_HOME (SQLite) pointed at the repo's dags/. */
export async function airflowEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'eventful-airflow-'));
  return {
    ...(process.env as Record<string, string>),
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: path.join(ROOT, 'dags'),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__LOGGING__LOGGING_LEVEL: 'ERROR',
    PYTHONWARNINGS: 'ignore',
    ...extra,
  };
}

/** Runs the venv's `airflow` CLI; resolves with its exit code and output (never throws on a non-zero exit). */
export async function airflow(
  bin: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 300_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(path.join(bin, 'airflow'), args, {
      env,
      timeout: timeoutMs,
      maxBuffer: 1 << 28,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs a Python script with the venv's interpreter and parses its JSON stdout. */
export async function airflowPython(
  bin: string,
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<unknown> {
  const { stdout } = await execFileAsync(path.join(bin, 'python'), [script, ...args], { env, maxBuffer: 1 << 26 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null');
}

/** One `airflow dags test`: its exit code, everything it printed (it runs the tasks in-process and logs their
 * output there), and the states of the run's tasks by task id. */
export interface DagTestRun {
  code: number;
  text: string;
  states: Record<string, string>;
}

/** Runs `airflow dags test DAG_ID`, then reads the task states of the latest run of that DAG. */
export async function dagTest(bin: string, dagId: string, env: Record<string, string>): Promise<DagTestRun> {
  const result = await airflow(bin, ['dags', 'test', dagId], env, 600_000);
  const runs = await airflow(bin, ['dags', 'list-runs', dagId, '-o', 'json'], env);
  const list = JSON.parse(runs.stdout.trim().split('\n').pop()!) as Array<{ run_id: string; start_date: string }>;
  const latest = list.sort((a, b) => b.start_date.localeCompare(a.start_date))[0]!;
  const states = await airflow(bin, ['tasks', 'states-for-dag-run', dagId, latest.run_id, '-o', 'json'], env);
  const rows = JSON.parse(states.stdout.trim().split('\n').pop()!) as Array<{ task_id: string; state: string }>;
  return {
    code: result.code,
    text: result.stdout + result.stderr,
    states: Object.fromEntries(rows.map((r) => [r.task_id, r.state])),
  };
}

/** Every task log file under the AIRFLOW_HOME of `env`, concatenated ('' when there is none yet). */
export async function airflowLogs(env: Record<string, string>): Promise<string> {
  const dir = path.join(env['AIRFLOW_HOME']!, 'logs');
  let out = '';
  try {
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
      if (e.isFile()) out += await readFile(path.join(e.parentPath, e.name), 'utf8');
  } catch {
    return '';
  }
  return out;
}

/** An Airflow ready to run the snapshot DAG against the test services, and what was produced for it. */
export interface SnapshotDagSetup {
  bin: string;
  env: Record<string, string>;
  produced: { arrivals: number; incidents: number };
}

/**
 * What the DAG-run tests start from: simulated train arrivals and incidents in two fresh topics (named after
 * `name`), the shipped schemas pointed at those topics, and a migrated Airflow with a throwaway AIRFLOW_HOME whose
 * Variables and connections point the snapshot DAG at the test broker and database (`dbSchema`, `groupId`) and at
 * `snapshotRoot`. The worker's own database and Kafka settings are wrong on purpose: the DAG must set its own from
 * the connections. `extraEnv` adds to (or overrides) that environment.
 */
export async function setUpSnapshotDag(options: {
  name: string;
  seed: string;
  duration: string;
  snapshotRoot: string;
  dbSchema: string;
  groupId: string;
  extraEnv?: Record<string, string>;
}): Promise<SnapshotDagSetup> {
  const { name, dbSchema } = options;
  const bin = await airflowBin();
  const arrivals = uniqueTopic(`${name}-arrivals`);
  const incidents = uniqueTopic(`${name}-incidents`);
  const sim = await runCommand('simulate', [
    ...['--create-topics', '--arrivals-topic', arrivals, '--incidents-topic', incidents],
    ...['--seed', options.seed, '--duration', options.duration],
  ]);
  expect(sim.code, sim.stderr).toBe(0);
  const topics = sim.summary!['topics'] as Record<string, { messages: number }>;
  const produced = { arrivals: topics[arrivals]!.messages, incidents: topics[incidents]!.messages };
  expect(produced.arrivals).toBeGreaterThan(100);
  // The shipped schemas, pointed at this test's own topics.
  const schemas = await mkdtemp(path.join(os.tmpdir(), `eventful-${name}-schemas-`));
  for (const [file, topic] of [
    ['train_arrival.schema.json', arrivals],
    ['incident.schema.json', incidents],
  ] as const) {
    const json = JSON.parse(await readFile(path.join(ROOT, 'schemas', file), 'utf8'));
    json['x-warehouse'].topics = [topic];
    await writeFile(path.join(schemas, file), JSON.stringify(json));
  }
  const env = await airflowEnv({
    AIRFLOW_VAR_EVENTFUL_HOME: ROOT,
    AIRFLOW_VAR_EVENTFUL_SNAPSHOT_ROOT: options.snapshotRoot,
    AIRFLOW_VAR_EVENTFUL_SCHEMAS: schemas,
    EVENTFUL_DAG_RETRIES: '0',
    // INFO, so the tasks' own output reaches `dags test`'s output, where the tests look for secrets.
    AIRFLOW__LOGGING__LOGGING_LEVEL: 'INFO',
    AIRFLOW_VAR_EVENTFUL_TOPICS: `${arrivals},${incidents}`,
    AIRFLOW_VAR_EVENTFUL_GROUP_ID: options.groupId,
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
    ...options.extraEnv,
  });
  const migrate = await airflow(bin, ['db', 'migrate'], env);
  expect(migrate.code, migrate.stderr.slice(-2000)).toBe(0);
  return { bin, env, produced };
}
