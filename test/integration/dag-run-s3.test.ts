import type { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE } from '../../src/snapshot/format.js';
import { airflowLogs, dagTest, setUpSnapshotDag, type DagTestRun } from '../helpers/airflow.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { clearPrefix, listKeys, testBucket, testS3Client } from '../helpers/s3.js';

const DAG_ID = 'eventful_snapshot';
/** What a task prints when Kafka or Postgres restarts under it (another engineer's fault campaign). */
const TRANSIENT =
  /Not leader for partition|Leader not available|transport failure|brokers? (are )?down|ECONNREFUSED|ECONNRESET|terminating connection|Connection terminated|connection to PostgreSQL was lost|shutting down|starting up|not queryable/i;

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
  const prefix = `dag-s3-${randomUUID().slice(0, 8)}/snapshots/`;
  const secret = (): string => process.env['AWS_SECRET_ACCESS_KEY']!;
  /** What the worker's own environment holds: wrong, so that only the connection's settings can work. */
  const WORKER_SECRET = `worker-secret-${randomUUID()}`;

  /** One `airflow dags test`: its exit code, what it printed, and the states of the run's tasks. */
  async function runDag(): Promise<DagTestRun> {
    const run = await dagTest(bin, DAG_ID, env);
    output += run.text;
    return run;
  }

  beforeAll(async () => {
    s3 = testS3Client();
    dbSchema = await withDb((c) => freshSchema(c, 'dag_s3'));
    ({ bin, env, produced } = await setUpSnapshotDag({
      name: 'dag-s3',
      seed: 'dag-s3',
      duration: '2h',
      snapshotRoot: `s3://${testBucket()}/${prefix}`,
      dbSchema,
      groupId: `dag-s3-test-${dbSchema}`,
      extraEnv: {
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
      },
    }));
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
    const logs = output + (await airflowLogs(env));
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
