import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { airflowPython, dagTest, setUpSnapshotDag, type SnapshotDagSetup } from '../helpers/airflow.js';
import { committedOffsets } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand } from '../helpers/run.js';

const DAG_ID = 'eventful_snapshot_fanout';
/** The partitions `simulate --create-topics` gives each topic, and the group size the DAG's default cuts them by. */
const PARTITIONS = 6;
const GROUP_SIZE = 3;

/** The latest run of a DAG as run_tasks.py reads it from Airflow's database. */
interface RunTasks {
  run_id: string;
  tasks: Array<{ task_id: string; map_index: number; state: string }>;
  xcom: string[] | null;
}

/**
 * `airflow dags test` of the fan-out DAG on the real Airflow, Kafka and Postgres: the groups are computed by the
 * partition_groups task at run time, one mapped extract drains each group, then one load.
 */
describe('the fan-out DAG run by a real Airflow', () => {
  let setup: SnapshotDagSetup;
  let client: pg.Client;
  let dbSchema: string;
  let groupId: string;
  let topics: string[];
  let snapshotRoot: string;

  beforeAll(async () => {
    client = await connect();
    dbSchema = await freshSchema(client, 'fanout');
    groupId = `fanout-test-${dbSchema}`;
    snapshotRoot = await mkdtemp(path.join(os.tmpdir(), 'eventful-fanout-snapshots-'));
    setup = await setUpSnapshotDag({
      name: 'fanout',
      seed: '11',
      duration: '2h',
      snapshotRoot,
      dbSchema,
      groupId,
    });
    topics = setup.env['AIRFLOW_VAR_EVENTFUL_TOPICS']!.split(',');
  });

  afterAll(async () => {
    await client?.end();
  });

  it('should drain every partition through mapped extracts, one per computed group, then load once', async () => {
    const run = await dagTest(setup.bin, DAG_ID, setup.env);
    expect(run.code, run.text.slice(-8000)).toBe(0);
    const info = (await airflowPython(
      setup.bin,
      path.join(ROOT, 'test/airflow/run_tasks.py'),
      [DAG_ID, 'partition_groups'],
      setup.env,
    )) as RunTasks;

    // The groups were computed when the DAG ran, from the topics' partition counts and the default size.
    const [arrivals, incidents] = topics;
    expect(info.xcom).toEqual([`${arrivals}:0-2,${incidents}:0-2`, `${arrivals}:3-5,${incidents}:3-5`]);
    expect(info.xcom).toHaveLength(PARTITIONS / GROUP_SIZE);
    const extracts = info.tasks.filter((t) => t.task_id === 'extract');
    expect(extracts.map((t) => t.map_index)).toEqual(info.xcom!.map((_, i) => i));
    expect(new Set(info.tasks.map((t) => t.state))).toEqual(new Set(['success']));
    expect(info.tasks.filter((t) => t.task_id === 'load')).toHaveLength(1);
    // Map index i drained exactly group i: its snapshot's manifest lists partitions of that group only.
    for (const [i, group] of info.xcom!.entries()) {
      const dir = (await readdir(snapshotRoot)).find((d) => d.includes(`-map${i}-`))!;
      const manifest = JSON.parse(await readFile(path.join(snapshotRoot, dir, 'manifest.json'), 'utf8')) as {
        partitions: Array<{ topic: string; partition: number }>;
      };
      const first = i * GROUP_SIZE;
      expect(manifest.partitions.length, group).toBeGreaterThan(0);
      for (const p of manifest.partitions)
        expect(p.partition - first, `${p.topic}[${p.partition}] in ${group}`).toBeLessThan(GROUP_SIZE);
      for (const p of manifest.partitions) expect(p.partition, group).toBeGreaterThanOrEqual(first);
    }

    const q = async (sql: string): Promise<number> => Number((await client.query(sql)).rows[0].n);
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".train_arrivals`)).toBe(setup.produced.arrivals);
    expect(await q(`SELECT count(*) AS n FROM "${dbSchema}".incident_events`)).toBe(setup.produced.incidents);
  });

  it("should leave no partition uncommitted: every committed offset equals the partition's high watermark", async () => {
    const lag = await runCommand('lag', ['--topics', topics.join(','), '--group-id', groupId]);
    expect(lag.code, lag.stderr).toBe(0);
    const report = lag.summary!['topics'] as Array<{
      topic: string;
      partitions: Array<{ partition: number; committed: number | null; highWatermark: number }>;
    }>;
    expect(report.map((t) => t.topic).sort()).toEqual([...topics].sort());
    const produced: Record<string, number> = {
      [topics[0]!]: setup.produced.arrivals,
      [topics[1]!]: setup.produced.incidents,
    };
    for (const t of report) {
      expect(t.partitions).toHaveLength(PARTITIONS);
      const high = t.partitions.map((p) => p.highWatermark);
      expect(high.reduce((a, b) => a + b, 0)).toBe(produced[t.topic]); // fresh topics: offsets count events
      // A partition with events has its high watermark committed; an empty one has nothing to commit.
      const expected = high.map((h) => (h > 0 ? h : null));
      expect(t.partitions.map((p) => (p.committed !== null && p.committed >= 0 ? p.committed : null))).toEqual(
        expected,
      );
      // Read back with an independent client (confluent_kafka), not only through eventful's own lag command.
      const independent = await committedOffsets(groupId, t.topic, PARTITIONS);
      expect(independent.map((c) => (c >= 0 ? c : null))).toEqual(expected);
    }
    // Each group had events to drain and commit, so every mapped extract did real work (not a skip).
    for (let start = 0; start < PARTITIONS; start += GROUP_SIZE) {
      const inGroup = report.flatMap((t) =>
        t.partitions.filter((p) => p.partition >= start && p.partition < start + GROUP_SIZE),
      );
      expect(inGroup.reduce((n, p) => n + p.highWatermark, 0)).toBeGreaterThan(0);
    }
  });
});
