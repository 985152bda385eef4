import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airflowBin, airflowEnv, airflowPython } from '../helpers/airflow.js';
import { ROOT } from '../helpers/run.js';

interface TaskInfo {
  type: string;
  upstream: string[];
  downstream: string[];
  trigger_rule: string;
  retries: number;
  retry_delay_s: number | null;
  execution_timeout_s: number | null;
  append_env: boolean;
  skip_on_exit_code: number[];
  env: Record<string, string>;
  bash_command: string | string[] | null;
  mapped: boolean;
  expand_input: Record<string, unknown>;
}
interface DagInfo {
  max_active_runs: number;
  catchup: boolean;
  has_doc_md: boolean;
  tasks: Record<string, TaskInfo>;
}
interface Inspection {
  import_errors: Record<string, string>;
  dags: Record<string, DagInfo>;
}

describe('the DAG files in a real Airflow', () => {
  let info: Inspection;

  beforeAll(async () => {
    const bin = await airflowBin();
    info = (await airflowPython(
      bin,
      path.join(ROOT, 'test/airflow/inspect_dags.py'),
      [path.join(ROOT, 'dags')],
      await airflowEnv(),
    )) as Inspection;
  });

  /** The DAGs that snapshot Kafka into the warehouse (extract >> load); eventful_report only reads the warehouse. */
  const SNAPSHOT_DAGS = ['eventful_snapshot', 'eventful_snapshot_fanout', 'eventful_snapshot_on_lag'];

  it('should import without errors and define every DAG', () => {
    expect(info.import_errors).toEqual({});
    expect(Object.keys(info.dags).sort()).toEqual(['eventful_report', ...SNAPSHOT_DAGS]);
  });

  it('should run extract then load, and load even when extract was skipped', () => {
    for (const id of SNAPSHOT_DAGS) {
      const dag = info.dags[id]!;
      const fanout = id === 'eventful_snapshot_fanout';
      expect(Object.keys(dag.tasks).sort()).toEqual(
        fanout ? ['extract', 'load', 'partition_groups'] : ['extract', 'load'],
      );
      expect(dag.tasks['load']!.upstream).toEqual(['extract']);
      expect(dag.tasks['load']!.trigger_rule).toBe('none_failed');
    }
  });

  it('should allow one run at a time, no catchup, retries, timeouts and operator docs', () => {
    for (const dag of Object.values(info.dags)) {
      expect(dag.max_active_runs).toBe(1);
      expect(dag.catchup).toBe(false);
      expect(dag.has_doc_md).toBe(true);
      for (const task of Object.values(dag.tasks)) {
        expect(task.retries).toBeGreaterThanOrEqual(1);
        expect(task.retry_delay_s).toBeGreaterThan(0);
        expect(task.execution_timeout_s).toBeGreaterThan(0);
        if (task.type === 'PartitionGroupsOperator') continue; // Python, not a script: no exit codes, no env
        expect(task.skip_on_exit_code).toEqual([99]);
        expect(task.append_env).toBe(true);
      }
    }
  });

  it('should pass secrets through the environment, never the command line', () => {
    const plain = info.dags['eventful_snapshot']!.tasks;
    expect(plain['load']!.env['PGPASSWORD']).toContain('eventful_postgres.password');
    expect(plain['extract']!.env['EVENTFUL_KAFKA_CONFIG']).toContain('eventful_kafka.extra_dejson');
    expect(plain['extract']!.env['EVENTFUL_RUN_ID']).toContain('run_id');
    for (const dag of Object.values(info.dags))
      for (const task of Object.values(dag.tasks))
        expect(JSON.stringify(task.bash_command)).not.toMatch(/password|conn\./i);
  });

  it('should not parse the helper modules .airflowignore names as DAG files', async () => {
    // A copy of dags/ with a helper module under lib/ that would be an import error if Airflow parsed it.
    const folder = await mkdtemp(path.join(os.tmpdir(), 'eventful-dags-ignore-'));
    await cp(path.join(ROOT, 'dags'), folder, { recursive: true });
    await mkdir(path.join(folder, 'lib'));
    await writeFile(path.join(folder, 'lib/shared.py'), 'raise ImportError("airflow parsed a helper as a DAG file")\n');
    const bin = await airflowBin();
    const copy = (await airflowPython(
      bin,
      path.join(ROOT, 'test/airflow/inspect_dags.py'),
      [folder],
      await airflowEnv(),
    )) as Inspection;
    expect(copy.import_errors).toEqual({});
    expect(Object.keys(copy.dags).sort()).toEqual(Object.keys(info.dags).sort());
  });

  it('should fan extract out over partition groups in the fan-out DAG', () => {
    const extract = info.dags['eventful_snapshot_fanout']!.tasks['extract']!;
    expect(extract.mapped).toBe(true);
    expect(extract.env['EVENTFUL_RUN_ID']).toContain('map_index');
    // The groups travel with the run: computed by a task, expanded from its XCom, never read from the parse.
    expect(extract.upstream).toEqual(['partition_groups']);
    expect(extract.expand_input).toEqual({ partitions: 'XComArg(partition_groups)' });
    expect(String(extract.bash_command)).not.toContain('--partitions');
  });
});
