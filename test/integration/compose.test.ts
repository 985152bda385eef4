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
  entrypoint?: string | string[];
  healthcheck?: { test: string[] };
  restart?: string;
}

/** The bucket the lake's init step creates (README, dags/eventful_common.py's s3:// example). */
const BUCKET = 'eventful-snapshots';

/** What docker compose makes of a value: `${VAR:-default}` is VAR from `env` or else the default, `$$` is `$`. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\$|\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (m, name?: string, fallback?: string) =>
    m === '$$' ? '$' : (env[name!] ?? fallback ?? ''),
  );
}

/** The Amazon provider's aws connection as Airflow reads it from AIRFLOW_CONN_EVENTFUL_S3. */
interface AwsConnection {
  conn_type: string;
  login: string;
  password: string;
  extra: { endpoint_url: string; region_name: string };
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
    // What docs/operations.md advises for a warehouse of years (PostgreSQL 15+ images are built with lz4).
    expect(services['warehouse']!.command).toEqual(['postgres', '-c', 'wal_compression=lz4']);
    expect(Number(/^postgres:(\d+)/.exec(services['warehouse']!.image!)![1])).toBeGreaterThanOrEqual(15);
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
    expect(hostPorts).toEqual(expect.arrayContaining(['9092', '8080', '8081', '5432', '9000', '9001']));
  });

  it('should run MinIO as the lake, healthy before its one-shot mc step creates the bucket', () => {
    const lake = services['lake']!;
    expect(lake.image).toMatch(/^(quay\.io\/)?minio\/minio:RELEASE\./);
    expect(lake.command).toEqual(['server', '/data', '--console-address', ':9001']);
    expect(lake.ports).toEqual(['9000:9000', '9001:9001']);
    expect(lake.volumes).toEqual(['lake-data:/data']);
    expect(lake.healthcheck?.test).toEqual(['CMD', 'mc', 'ready', 'local']);

    const init = services['lake-init']!;
    expect(init.image).toMatch(/^(quay\.io\/)?minio\/mc:RELEASE\./);
    expect(init.depends_on).toEqual({ lake: { condition: 'service_healthy' } });
    expect(init.restart).toBe('no');
    expect(init.entrypoint).toEqual(['/bin/sh', '-c']);
    const script = interpolate([init.command ?? []].flat().join(' '));
    expect(script).toBe(
      `mc alias set lake http://lake:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" && ` +
        `mc mb --ignore-existing lake/${BUCKET}`,
    );
    expect(init.environment).toEqual(lake.environment);
  });

  it('should give Airflow an aws connection to the lake, with its keys, once the bucket exists', () => {
    const env = services['airflow']!.environment as Record<string, string>;
    const lakeEnv = services['lake']!.environment as Record<string, string>;
    // The same keys with the defaults and with keys of one's own (from the environment or an .env file).
    for (const keys of [{}, { EVENTFUL_S3_ACCESS_KEY: 'team-key', EVENTFUL_S3_SECRET_KEY: 'team-secret' }]) {
      const conn = JSON.parse(interpolate(env['AIRFLOW_CONN_EVENTFUL_S3']!, keys)) as AwsConnection;
      expect(conn.conn_type).toBe('aws');
      expect(conn.login).toBe(interpolate(lakeEnv['MINIO_ROOT_USER']!, keys));
      expect(conn.password).toBe(interpolate(lakeEnv['MINIO_ROOT_PASSWORD']!, keys));
      expect(conn.extra.region_name).toBe('us-east-1');
      const apiPort = services['lake']!.ports![0]!.split(':')[1];
      expect(conn.extra.endpoint_url).toBe(`http://lake:${apiPort}`);
      expect(interpolate([services['lake-init']!.command].flat().join(' '))).toContain(conn.extra.endpoint_url);
    }
    expect(interpolate(lakeEnv['MINIO_ROOT_USER']!, { EVENTFUL_S3_ACCESS_KEY: 'team-key' })).toBe('team-key');
    expect(services['airflow']!.depends_on).toMatchObject({
      'lake-init': { condition: 'service_completed_successfully' },
    });
  });

  it('should read every password and key from the environment, each one listed in .env.example', async () => {
    const text = await readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    const example = await readFile(path.join(ROOT, '.env.example'), 'utf8');
    const used = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!))].sort();
    const listed = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]!).sort();
    expect(used).toEqual(['EVENTFUL_PG_PASSWORD', 'EVENTFUL_S3_ACCESS_KEY', 'EVENTFUL_S3_SECRET_KEY']);
    expect(listed).toEqual(used);
    const secrets = [
      services['warehouse']!.environment!['POSTGRES_PASSWORD'],
      services['lake']!.environment!['MINIO_ROOT_PASSWORD'],
      services['lake']!.environment!['MINIO_ROOT_USER'],
    ];
    for (const v of secrets) expect(v).toMatch(/^\$\{EVENTFUL_[A-Z0-9_]+:-[^}]+\}$/);
    const env = services['airflow']!.environment as Record<string, string>;
    for (const id of ['AIRFLOW_CONN_EVENTFUL_S3', 'AIRFLOW_CONN_EVENTFUL_POSTGRES']) {
      const conn = JSON.parse(env[id]!) as { password: string };
      expect(conn.password).toMatch(/^\$\{EVENTFUL_[A-Z0-9_]+:-[^}]+\}$/);
    }
  });

  it("should run Kafbat's Kafka UI on the broker's internal listener", () => {
    const ui = services['kafka-ui']!;
    expect(ui.image).toMatch(/^ghcr\.io\/kafbat\/kafka-ui:v1\./);
    const env = ui.environment as Record<string, string>;
    expect(env['KAFKA_CLUSTERS_0_NAME']).toBe('eventful');
    expect(services['kafka']!.environment!['KAFKA_ADVERTISED_LISTENERS']).toContain(
      `INTERNAL://${env['KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS']}`,
    );
    expect(ui.depends_on).toEqual({ kafka: { condition: 'service_healthy' } });
    expect(ui.ports).toEqual(['8081:8080']);
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
