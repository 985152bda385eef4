import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { airflowBin } from '../helpers/airflow.js';
import { ROOT } from '../helpers/run.js';

const execFileAsync = promisify(execFile);

interface Service {
  image?: string;
  build?: { context: string; target: string };
  ports?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  depends_on?: Record<string, unknown>;
  command?: string | string[];
}

/** docker-compose.yml checked statically (no Docker engine runs here): parsed with PyYAML from the Airflow venv. */
describe('docker-compose.yml', () => {
  let services: Record<string, Service>;
  let volumes: Record<string, unknown>;
  let dagSettings: string;

  beforeAll(async () => {
    const bin = await airflowBin();
    const { stdout } = await execFileAsync(path.join(bin, 'python'), [
      '-c',
      'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))',
      path.join(ROOT, 'docker-compose.yml'),
    ]);
    const doc = JSON.parse(stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    services = doc.services;
    volumes = doc.volumes;
    dagSettings = await readFile(path.join(ROOT, 'airflow/src/eventful_airflow/settings.py'), 'utf8');
  });

  it('should define Kafka, kafka-ui, the warehouse, the lake, Airflow and a one-shot simulator', () => {
    expect(Object.keys(services).sort()).toEqual([
      'airflow',
      'kafka',
      'kafka-ui',
      'lake',
      'lake-init',
      'simulate',
      'warehouse',
    ]);
    expect(services['kafka']!.image).toMatch(/^apache\/kafka:4\./);
    expect(services['warehouse']!.image).toMatch(/^postgres:/);
    expect(services['airflow']!.build).toEqual({ context: '.', target: 'airflow' });
    expect(services['simulate']!.command).toContain('dist/simulate.js');
  });

  it('should run Kafka as a single KRaft node with internal topics at replication 1', () => {
    const env = services['kafka']!.environment!;
    expect(env['KAFKA_PROCESS_ROLES']).toBe('broker,controller');
    expect(env['KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR']).toBe(1);
    expect(env['KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS']).toBe(0);
  });

  it('should publish the UI and client ports on distinct host ports', () => {
    const hostPorts = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    expect(hostPorts).toEqual(expect.arrayContaining(['9092', '8080', '8081', '5432', '9000']));
  });

  it('should give Airflow an aws connection to the lake, whose bucket exists before it starts', () => {
    const lake = services['lake']!;
    const lakeEnv = lake.environment as Record<string, string>;
    expect(lake.image).toMatch(/^andrewgaul\/s3proxy:/);
    expect(lakeEnv['S3PROXY_AUTHORIZATION']).toBe('aws-v2-or-v4');
    expect(lakeEnv['JCLOUDS_PROVIDER']).toBe('filesystem-nio2');
    expect(lake.depends_on).toEqual({ 'lake-init': { condition: 'service_completed_successfully' } });
    const init = services['lake-init']!;
    expect(init.command).toEqual(['mkdir', '-p', `${lakeEnv['JCLOUDS_FILESYSTEM_BASEDIR']}/eventful-snapshots`]);
    expect(init.volumes).toEqual(lake.volumes);

    const env = services['airflow']!.environment as Record<string, string>;
    const conn = JSON.parse(env['AIRFLOW_CONN_EVENTFUL_S3']!) as {
      conn_type: string;
      login: string;
      password: string;
      extra: { endpoint_url: string; region_name: string };
    };
    expect(conn.conn_type).toBe('aws');
    expect(conn.login).toBe(lakeEnv['S3PROXY_IDENTITY']);
    expect(conn.password).toBe(lakeEnv['S3PROXY_CREDENTIAL']);
    const containerPort = lake.ports![0]!.split(':')[1];
    expect(conn.extra.endpoint_url).toBe(`http://lake:${containerPort}`);
    expect(lakeEnv['S3PROXY_ENDPOINT']).toBe(`http://0.0.0.0:${containerPort}`);
    expect(conn.extra.region_name).toBe('us-east-1');
    expect(services['airflow']!.depends_on).toHaveProperty('lake');
  });

  it('should declare every named volume it mounts', () => {
    for (const s of Object.values(services))
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (!source.startsWith('.') && !source.startsWith('/')) expect(Object.keys(volumes)).toContain(source);
      }
  });

  it('should give Airflow exactly the connections and Variables the DAG reads', () => {
    const env = services['airflow']!.environment as Record<string, string>;
    // Connection ids in templates (conn.ID), not method calls on a parsed connection (conn.get(...)).
    const connIds = [...new Set([...dagSettings.matchAll(/conn\.([a-z0-9_]+)\b(?!\()/g)].map((m) => m[1]!))];
    const varNames = [...new Set([...dagSettings.matchAll(/var\.value\.get\('([a-z_]+)'/g)].map((m) => m[1]!))];
    expect(connIds.sort()).toEqual(['eventful_kafka', 'eventful_postgres', 'eventful_s3']);
    for (const id of connIds) expect(env).toHaveProperty(`AIRFLOW_CONN_${id.toUpperCase()}`);
    expect(env['AIRFLOW_VAR_EVENTFUL_HOME']).toBe('/opt/eventful');
    for (const v of Object.keys(env).filter((k) => k.startsWith('AIRFLOW_VAR_')))
      expect(varNames).toContain(v.slice('AIRFLOW_VAR_'.length).toLowerCase());
    const kafka = JSON.parse(env['AIRFLOW_CONN_EVENTFUL_KAFKA']!) as { extra: Record<string, string> };
    expect(kafka.extra['bootstrap.servers']).toBe(`kafka:29092`);
    expect(services['kafka']!.environment!['KAFKA_ADVERTISED_LISTENERS']).toContain('INTERNAL://kafka:29092');
    const pg = JSON.parse(env['AIRFLOW_CONN_EVENTFUL_POSTGRES']!) as Record<string, string>;
    expect(pg['host']).toBe('warehouse');
    expect(pg['schema']).toBe(services['warehouse']!.environment!['POSTGRES_DB']);
  });

  it('should build the package into the Airflow image where the Variable points', async () => {
    const dockerfile = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/FROM apache\/airflow:3\.[0-9.]+ AS airflow/);
    expect(dockerfile).toContain('COPY --from=eventful --chown=airflow:root /opt/eventful /opt/eventful');
    expect(dockerfile).toContain('CKJS_LINKING=dynamic');
    // The DAGs and the triggerer import eventful-airflow from Airflow's Python, not from the dags folder.
    expect(dockerfile).toContain('COPY --chown=airflow:root airflow /tmp/eventful-airflow');
    expect(dockerfile).toContain('RUN pip install --no-cache-dir /tmp/eventful-airflow');
    expect(services['airflow']!.environment).not.toHaveProperty('PYTHONPATH');
  });
});
