import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { airflowBin, airflowEnv, airflowPython } from '../helpers/airflow.js';
import { ROOT } from '../helpers/run.js';

interface AssetInfo {
  uri: string;
  name: string | null;
  watchers: Array<{ name: string; classpath: string; kwargs: Record<string, unknown> }>;
}
interface TaskInfo {
  outlets: string[];
  upstream: string[];
  trigger_rule: string;
  skip_on_exit_code: number[];
  airflow_operator: string | null;
  env: Record<string, string>;
  bash_command: string | null;
}
interface Inspection {
  version: string;
  import_errors: Record<string, string>;
  dags: Record<
    string,
    {
      schedule: { kind: 'time'; expression: string } | { kind: 'assets'; assets: AssetInfo[] };
      tasks: Record<string, TaskInfo>;
    }
  >;
}

/**
 * The DAG processor's environment: the parse-time settings (asset URIs, the trigger's arguments) come from these
 * variables, so the test sets values of its own and checks that they arrive.
 */
const PARSE_ENV = {
  AIRFLOW_VAR_EVENTFUL_TOPICS: 'arrivals-x,incidents-x',
  AIRFLOW_VAR_EVENTFUL_GROUP_ID: 'group-x',
  AIRFLOW_VAR_EVENTFUL_HOME: '/srv/eventful',
  AIRFLOW_VAR_EVENTFUL_SNAPSHOT_ROOT: '/data/snapshots',
  AIRFLOW_VAR_EVENTFUL_DB_SCHEMA: 'dw',
  AIRFLOW_CONN_EVENTFUL_POSTGRES: JSON.stringify({
    conn_type: 'postgres',
    host: 'pg.example',
    port: 6543,
    login: 'u',
    password: 'not-in-any-uri',
    schema: 'warehouse_db',
  }),
  EVENTFUL_LAG_MIN_LAG: '500',
  EVENTFUL_LAG_MAX_AGE: '20m',
  EVENTFUL_LAG_POLL_INTERVAL: '30',
};

const SNAPSHOT_URI = 'file:///data/snapshots';
const table = (t: string): string => `postgres://pg.example:6543/warehouse_db/dw/${t}`;
const TABLE_URIS = ['train_arrivals', 'incident_events', 'incidents'].map(table);
const SNAPSHOT_DAGS = ['eventful_snapshot', 'eventful_snapshot_fanout', 'eventful_snapshot_on_lag'];

function inspect(bin: string): Promise<Inspection> {
  return airflowEnv(PARSE_ENV).then(
    (env) =>
      airflowPython(
        bin,
        path.join(ROOT, 'test/airflow/inspect_assets.py'),
        [path.join(ROOT, 'dags')],
        env,
      ) as Promise<Inspection>,
  );
}

/** Assertions that hold on every Airflow version: outlets, the report's schedule, the secrets. */
function checkOutlets(info: Inspection): void {
  expect(info.import_errors).toEqual({});
  expect(Object.keys(info.dags).sort()).toEqual(['eventful_report', ...SNAPSHOT_DAGS]);
  for (const id of SNAPSHOT_DAGS) {
    const tasks = info.dags[id]!.tasks;
    expect(tasks['extract']!.outlets, id).toEqual([SNAPSHOT_URI]);
    expect(tasks['load']!.outlets, id).toEqual(TABLE_URIS);
  }
  const report = info.dags['eventful_report']!;
  expect(report.schedule).toMatchObject({ kind: 'assets', assets: [{ uri: table('train_arrivals') }] });
  expect(report.tasks['report']!.outlets).toEqual([]);
  expect(report.tasks['report']!.skip_on_exit_code).toEqual([99]);
  expect(report.tasks['report']!.env['PGPASSWORD']).toContain('eventful_postgres.password');
  expect(JSON.stringify(info)).not.toContain('not-in-any-uri');
}

describe('assets and the event-driven DAG on Airflow 3', () => {
  let info: Inspection;

  beforeAll(async () => {
    info = await inspect(await airflowBin());
  });

  it('should publish the snapshot location from extract and one asset per warehouse table from load', () => {
    expect(info.version).toMatch(/^3\./);
    checkOutlets(info);
  });

  it('should schedule the on-lag DAG on an asset watched by the lag trigger, with the parse-time settings', () => {
    const dag = info.dags['eventful_snapshot_on_lag']!;
    expect(dag.schedule).toEqual({
      kind: 'assets',
      assets: [
        {
          uri: 'eventful_kafka_backlog',
          name: 'eventful_kafka_backlog',
          watchers: [
            {
              name: 'eventful_kafka_lag',
              classpath: 'eventful_airflow.triggers.KafkaLagTrigger',
              kwargs: {
                topics: 'arrivals-x,incidents-x',
                group_id: 'group-x',
                home: '/srv/eventful',
                min_lag: 500,
                max_age: '20m',
                retention_warn: null,
                poll_interval: 30,
                rearm_after: 3600,
                timeout: 120,
                kafka_conn_id: 'eventful_kafka',
                node: 'node',
              },
            },
          ],
        },
      ],
    });
    // No lag task on Airflow 3: the trigger decides; extract drains exactly what the trigger watches.
    expect(Object.keys(dag.tasks).sort()).toEqual(['extract', 'load']);
    expect(dag.tasks['extract']!.env).toMatchObject({
      EVENTFUL_TOPICS: 'arrivals-x,incidents-x',
      EVENTFUL_GROUP_ID: 'group-x',
    });
  });
});

describe('the Airflow 2 fallback on a real Airflow 2.11', () => {
  let info: Inspection;

  beforeAll(async () => {
    info = await inspect(await airflowBin(2));
  }, 900_000);

  it('should import every DAG file, the trigger module included, and publish the same assets as Datasets', () => {
    expect(info.version).toMatch(/^2\./);
    checkOutlets(info);
    // Without the standard provider, the BashOperator comes from the Airflow 2 import path.
    expect(info.dags['eventful_snapshot']!.tasks['extract']!.airflow_operator).toBe(
      'airflow.operators.bash.BashOperator',
    );
  });

  it('should fall back to an hourly schedule with a lag task in front that skips the run below the thresholds', () => {
    const dag = info.dags['eventful_snapshot_on_lag']!;
    expect(dag.schedule).toEqual({ kind: 'time', expression: '@hourly' });
    expect(Object.keys(dag.tasks).sort()).toEqual(['extract', 'lag', 'load']);
    const lag = dag.tasks['lag']!;
    expect(lag.upstream).toEqual([]);
    expect(dag.tasks['extract']!.upstream).toEqual(['lag']);
    expect(dag.tasks['extract']!.trigger_rule).toBe('all_success');
    expect(dag.tasks['load']!.upstream).toEqual(['extract']);
    expect(lag.skip_on_exit_code).toEqual([99]);
    expect(lag.outlets).toEqual([]);
    expect(lag.bash_command).toMatch(/node .*\/dist\/lag\.js$/);
    expect(lag.env).toMatchObject({
      EVENTFUL_TOPICS: 'arrivals-x,incidents-x',
      EVENTFUL_GROUP_ID: 'group-x',
      EVENTFUL_LAG_MIN_LAG: '500',
      EVENTFUL_LAG_MAX_AGE: '20m',
    });
    expect(lag.env['EVENTFUL_KAFKA_CONFIG']).toContain('eventful_kafka.extra_dejson');
  });
});
