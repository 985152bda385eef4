import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airflowLogs, dagTest, setUpSnapshotDag } from '../helpers/airflow.js';
import { connect, freshSchema } from '../helpers/pg.js';

const DAG_ID = 'eventful_snapshot';

/** `airflow dags test` of the snapshot DAG against the real Kafka and Postgres, in a throwaway AIRFLOW_HOME. */
describe('the snapshot DAG run by a real Airflow', () => {
  let bin: string;
  let env: Record<string, string>;
  let client: pg.Client;
  let dbSchema: string;
  let produced: { arrivals: number; incidents: number };
  /** Everything `airflow dags test` printed: it runs the tasks in-process and logs their output there. */
  let output = '';

  async function runDag(): Promise<Record<string, string>> {
    const run = await dagTest(bin, DAG_ID, env);
    output += run.text;
    expect(run.code, run.text.slice(-8000)).toBe(0);
    return run.states;
  }

  beforeAll(async () => {
    client = await connect();
    dbSchema = await freshSchema(client, 'dag');
    ({ bin, env, produced } = await setUpSnapshotDag({
      name: 'dag',
      seed: '7',
      duration: '3h',
      snapshotRoot: await mkdtemp(path.join(os.tmpdir(), 'eventful-dag-snapshots-')),
      dbSchema,
      groupId: `dag-test-${dbSchema}`,
    }));
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

  it("should write the report under the worker's AIRFLOW_HOME when no Variable names the page", async () => {
    const run = await dagTest(bin, 'eventful_report', env);
    output += run.text;
    expect(run.code, run.text.slice(-8000)).toBe(0);
    expect(run.states).toEqual({ report: 'success' });
    const html = await readFile(path.join(env['AIRFLOW_HOME']!, 'eventful/reports/wait-times.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/i);
  });

  it('should skip both tasks and change nothing when there is nothing new', async () => {
    const before = (await client.query(`SELECT count(*) AS n FROM "${dbSchema}".train_arrivals`)).rows[0].n;
    const states = await runDag();
    expect(states).toEqual({ extract: 'skipped', load: 'skipped' });
    expect((await client.query(`SELECT count(*) AS n FROM "${dbSchema}".train_arrivals`)).rows[0].n).toBe(before);
  });

  it('should never write the database password into a task log', async () => {
    const logs = output + (await airflowLogs(env));
    expect(logs).toContain('extract INFO');
    expect(logs).toContain('load INFO');
    expect(logs).not.toContain(process.env['PGPASSWORD']!);
  });
});
