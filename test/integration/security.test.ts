/**
 * Security: secrets from the environment never reach argv, logs, summaries, snapshot files, the warehouse or error
 * messages; snapshot files and folders are created with restrictive modes whatever the umask; identifiers from
 * schema files cannot inject SQL (validate and load refuse them before touching the database); paths from flags
 * and manifests cannot leave the snapshot root.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, createTopic, produce, uniqueTopic } from '../helpers/kafka.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand, type RunResult } from '../helpers/run.js';
import { copySchemas, onPartition, arrival as fixtureArrival, writeSnapshot } from '../helpers/snapshot-fixtures.js';
import { arrival, schemasFor, summaryOf, tempDir } from './extract-fixtures.js';

const SASL_SECRET = `sasl-${randomUUID()}`;
const SSL_KEY_SECRET = `sslkey-${randomUUID()}`;
const WRONG_PG_SECRET = `pg-${randomUUID()}`;

let client: pg.Client;
beforeAll(async () => {
  client = await connect();
});
afterAll(async () => {
  await client.end();
});

/** Every file under `dir`, recursively: path → content. */
async function allFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out.set(p, await readFile(p));
  }
  return out;
}

function expectNoSecret(where: string, text: string | Buffer, secrets: string[]): void {
  const s = text.toString();
  for (const secret of secrets) {
    expect(s.includes(secret), `${where} holds a secret`).toBe(false);
    // Nor its base64 (a header or a rejected value is stored that way).
    expect(s.includes(Buffer.from(secret).toString('base64')), `${where} holds a secret in base64`).toBe(false);
  }
}

/**
 * Runs `dist/<name>.js` under `umask 000` (so only the modes the code asks for count) and reads its argv from /proc
 * while it runs.
 */
function runWatched(name: string, args: string[], env: Record<string, string>): Promise<RunResult & { argv: string }> {
  const child = spawn(
    'sh',
    ['-c', 'umask 000; exec "$@"', 'sh', process.execPath, path.join(ROOT, 'dist', `${name}.js`), ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  let argv = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  // What `ps` shows: the process' command line, read as soon as node runs (after sh's exec).
  const readArgv = async (): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      try {
        const text = (await readFile(`/proc/${child.pid}/cmdline`)).toString().replace(/\0/g, ' ');
        // Once sh has exec'd node, the command line starts with node's path.
        if (text.startsWith(`${process.execPath} `) && text.includes(`${name}.js`)) {
          argv = text;
          return;
        }
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const watched = readArgv();
  return new Promise((resolve) =>
    child.on('close', async (code, signal) => {
      await watched;
      let summary: Record<string, unknown> | undefined;
      try {
        summary = JSON.parse(stdout.trimEnd().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        summary = undefined;
      }
      resolve({ code, signal, stdout, stderr, summary, argv });
    }),
  );
}

describe('secrets', () => {
  it('should keep the SASL password out of argv, logs, summaries, snapshot files and the warehouse', async () => {
    const topic = uniqueTopic('sec');
    await createTopic(topic, 3);
    // A secret in a message header and key is data, not a setting: it must survive; the settings' must not leak.
    await produce(
      topic,
      Array.from({ length: 50 }, (_, i) => ({ value: JSON.stringify(arrival(i)), key: `BL-${i}` })),
    );
    await produce(topic, [{ value: 'not json at all' }]);
    const schemas = await schemasFor([topic]);
    const parent = await tempDir('sec');
    const root = path.join(parent, 'lake', 'nested');
    const secretEnv = {
      EVENTFUL_KAFKA__SASL_PASSWORD: SASL_SECRET,
      EVENTFUL_KAFKA_CONFIG: JSON.stringify({ 'ssl.key.password': SSL_KEY_SECRET, 'sasl.username': 'svc-eventful' }),
    };
    const secrets = [SASL_SECRET, SSL_KEY_SECRET];
    const group = `g-${randomUUID()}`;
    const args = ['--topics', topic, '--group-id', group, '--out', root];
    const r = await runWatched(
      'extract',
      [
        '--bootstrap-servers',
        bootstrap(),
        ...args,
        '--schemas',
        schemas,
        '--max-rejected-ratio',
        '0.5',
        '--kafka',
        'debug=all',
      ],
      secretEnv,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.argv).toMatch(/extract\.js --bootstrap-servers \S+ --topics/);
    expectNoSecret('argv', r.argv, secrets);
    expectNoSecret('stdout', r.stdout, secrets);
    expectNoSecret('stderr', r.stderr, secrets);
    // The settings are logged, with the secrets masked.
    expect(r.stderr).toMatch(/"sasl.password":"\*\*\*"/);
    const files = await allFiles(root);
    expect([...files.keys()].map((f) => path.basename(f)).sort()).toEqual([
      'events.ndjson',
      'manifest.json',
      'rejected.ndjson',
    ]);
    for (const [f, content] of files) expectNoSecret(f, content, secrets);

    // A failing run (SASL against a plaintext listener: exit 2, a setting to fix; then an unreachable broker: exit 1)
    // does not print them either.
    for (const [code, extra] of [
      [
        2,
        [
          '--bootstrap-servers',
          bootstrap(),
          '--kafka',
          'security.protocol=SASL_PLAINTEXT',
          '--kafka',
          'sasl.mechanisms=PLAIN',
          '--connect-timeout',
          '4s',
        ],
      ],
      [1, ['--bootstrap-servers', '127.0.0.1:1', '--connect-timeout', '3s']],
    ] as const) {
      const failed = await runWatched('extract', [...args, '--schemas', schemas, ...extra], secretEnv);
      expect(failed.code, failed.stderr).toBe(code);
      expectNoSecret('argv', failed.argv, secrets);
      expectNoSecret('stdout', failed.stdout, secrets);
      expectNoSecret('stderr', failed.stderr, secrets);
    }
    // The simulator takes the same settings.
    const sim = await runWatched(
      'simulate',
      ['--bootstrap-servers', '127.0.0.1:1', '--duration', '1m', '--arrivals-topic', topic, '--incidents-topic', topic],
      secretEnv,
    );
    expectNoSecret('simulate stdout', sim.stdout, secrets);
    expectNoSecret('simulate stderr', sim.stderr, secrets);

    // load with PGPASSWORD (and a password inside DATABASE_URL): nothing of them anywhere.
    const schema = await freshSchema(client, 'sec');
    const pgPassword = process.env['PGPASSWORD']!;
    const url = new URL(process.env['DATABASE_URL']!);
    url.password = pgPassword;
    for (const env of [{ PGPASSWORD: pgPassword }, { DATABASE_URL: url.toString(), PGPASSWORD: '' }]) {
      const l = await runWatched('load', ['--snapshots', root, '--schemas', schemas, '--db-schema', schema], env);
      expect([0, 99], l.stderr).toContain(l.code);
      for (const [where, text] of [
        ['argv', l.argv],
        ['stdout', l.stdout],
        ['stderr', l.stderr],
      ] as const)
        expectNoSecret(`load ${where}`, text, [pgPassword, ...secrets]);
    }
    // The warehouse keeps no setting: not in the ledger, the quarantine or the tables.
    const { rows } = await client.query<{ t: string }>(
      `SELECT string_agg(to_jsonb(x)::text, ' ') AS t FROM (
         SELECT to_jsonb(l) AS x FROM "${schema}".eventful_load_ledger l
         UNION ALL SELECT to_jsonb(q) FROM "${schema}".eventful_rejected q
         UNION ALL SELECT to_jsonb(a) FROM "${schema}".train_arrivals a) s`,
    );
    expect(rows[0]!.t).toContain('not_json');
    expectNoSecret('warehouse', rows[0]!.t, [pgPassword, ...secrets]);

    // A wrong password fails clearly, without echoing it.
    const wrong = await runWatched('load', ['--snapshots', root, '--schemas', schemas, '--db-schema', schema], {
      PGPASSWORD: WRONG_PG_SECRET,
    });
    // A refused password is a setting to fix, not a transient failure: exit 2 (usage), with what to set.
    expect(wrong.code, wrong.stderr).toBe(2);
    expect(wrong.stderr).toMatch(
      /refused the password of .* \(the password from PGPASSWORD\): set the right one in PGPASSWORD/,
    );
    expectNoSecret('wrong-password output', wrong.stdout + wrong.stderr + wrong.argv, [WRONG_PG_SECRET]);
    const urlWrong = new URL(process.env['DATABASE_URL']!);
    urlWrong.password = WRONG_PG_SECRET;
    const wrongUrl = await runWatched('load', ['--snapshots', root, '--schemas', schemas, '--db-schema', schema], {
      DATABASE_URL: urlWrong.toString(),
      PGPASSWORD: '',
    });
    expect(wrongUrl.code, wrongUrl.stderr).toBe(2);
    expect(wrongUrl.stderr).toMatch(/refused the password/);
    expectNoSecret('wrong-url output', wrongUrl.stdout + wrongUrl.stderr, [WRONG_PG_SECRET]);
  });

  it('should refuse a secret passed as a flag, so it never sits in argv', async () => {
    for (const prop of ['sasl.password', 'ssl.key.password', 'sasl.oauthbearer.client.secret']) {
      const r = await runCommand('extract', [
        '--topics',
        't',
        '--group-id',
        'g',
        '--out',
        '/tmp/x',
        '--kafka',
        `${prop}=${SASL_SECRET}`,
      ]);
      expect(r.code, prop).toBe(2);
      expect(r.stderr, prop).toMatch(/must not be passed on the command line/);
      expectNoSecret(`extract --kafka ${prop}`, r.stdout + r.stderr, [SASL_SECRET]);
    }
  });
});

describe('snapshot files', () => {
  it('should be 0640 and their folders 0750 or stricter even under umask 000, temporary folders included', async () => {
    const topic = uniqueTopic('sec-modes');
    await createTopic(topic, 2);
    await produce(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ value: JSON.stringify(arrival(i)) })),
    );
    const schemas = await schemasFor([topic]);
    const parent = await tempDir('sec-modes');
    const root = path.join(parent, 'a', 'b');
    const common = ['--bootstrap-servers', bootstrap(), '--topics', topic, '--out', root, '--schemas', schemas];
    // One killed while draining (its temporary folder stays behind), one complete, one gzip-compressed.
    const killed = await runWatched('extract', [...common, '--group-id', `g-${randomUUID()}`], {
      EVENTFUL_TEST_CRASH_AT: 'mid-drain',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect((await runWatched('extract', [...common, '--group-id', `g-${randomUUID()}`], {})).code).toBe(0);
    const gz = await runWatched('extract', [...common, '--group-id', `g-${randomUUID()}`, '--compress', 'gzip'], {});
    expect(gz.code, gz.stderr).toBe(0);

    const modes: Array<[string, number]> = [];
    for (const dir of [path.join(parent, 'a'), root]) modes.push([dir, (await stat(dir)).mode & 0o777]);
    for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
      const p = path.join(e.parentPath, e.name);
      modes.push([p, (await stat(p)).mode & 0o777]);
    }
    const names = (await readdir(root)).sort();
    expect(names.some((n) => n.startsWith('.tmp-'))).toBe(true);
    expect(names.filter((n) => !n.startsWith('.')).length).toBe(2);
    for (const [p, mode] of modes) {
      const isDir = (await stat(p)).isDirectory();
      // Nothing for "other"; nothing writable by the group; files not executable.
      expect(mode & 0o007, `${p} ${mode.toString(8)}`).toBe(0);
      expect(mode & 0o020, `${p} ${mode.toString(8)}`).toBe(0);
      if (isDir) expect(mode, p).toBe(0o750);
      else expect(mode, p).toBe(0o640);
    }
  });

  it('should keep a hostile run id inside the snapshot root', async () => {
    const topic = uniqueTopic('sec-runid');
    await createTopic(topic, 1);
    await produce(topic, [{ value: JSON.stringify(arrival(1)) }]);
    const schemas = await schemasFor([topic]);
    const parent = await tempDir('sec-runid');
    const root = path.join(parent, 'root');
    const r = await runCommand('extract', [
      ...['--bootstrap-servers', bootstrap(), '--topics', topic, '--out', root, '--schemas', schemas],
      ...['--group-id', `g-${randomUUID()}`, '--run-id', '../../../escaped/..\\evil run;$(id)'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(parent)).toEqual(['root']);
    const [id] = await readdir(root);
    expect(id).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(summaryOf(r).snapshot.id).toBe(id);
  });

  it('should refuse a manifest whose file path leaves the snapshot', async () => {
    const schema = await freshSchema(client, 'sec');
    const root = await tempDir('sec-manifest');
    const id = await writeSnapshot(root, onPartition('train-arrivals', 0, [fixtureArrival()]));
    const file = path.join(root, id, 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8'));
    m.files[0].path = '../../../../etc/passwd';
    await writeFile(file, JSON.stringify(m));
    const r = await runCommand('load', ['--snapshots', root, '--db-schema', schema]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a plain relative path/);
    expect(r.stdout + r.stderr).not.toMatch(/root:x:0:0/);
  });
});

/** Identifiers an attacker (or a careless edit) could put into a schema file. */
const HOSTILE: Array<[string, (s: Record<string, any>) => void]> = [
  ['table', (s) => (s['x-warehouse'].table = 'arrivals"; DROP TABLE eventful_load_ledger; --')],
  ['table with a comment', (s) => (s['x-warehouse'].table = 'arrivals/**/')],
  ['table with a schema', (s) => (s['x-warehouse'].table = 'pg_catalog.pg_class')],
  ['property', (s) => (s.properties['x" text); DROP TABLE t; --'] = { type: 'string' })],
  ['property with a newline', (s) => (s.properties['a\nb'] = { type: 'string' })],
  ['property with unicode', (s) => (s.properties['ｄｒｏｐ'] = { type: 'string' })],
  ['key', (s) => (s['x-warehouse'].key = ['event_id"); DROP TABLE x; --'])],
  ['state table', (s) => (s['x-warehouse'].state = { table: "s'; DELETE FROM t; --", key: ['train_id'] })],
  ['state key', (s) => (s['x-warehouse'].state = { table: 'trains', key: ['train_id") --'] })],
  ['event time', (s) => (s['x-warehouse'].eventTime = 'occurred_at" DESC; --')],
];

describe('hostile identifiers in schema files', () => {
  it('should be refused by validate (exit 2) and by load before it touches the database', async () => {
    for (const [name, change] of HOSTILE) {
      const dir = await copySchemas();
      const file = path.join(dir, 'train_arrival.schema.json');
      const s = JSON.parse(await readFile(file, 'utf8'));
      change(s);
      await writeFile(file, JSON.stringify(s, null, 2));
      const v = await runCommand('validate', ['--schemas', dir]);
      expect(v.code, `${name}: ${v.stderr}`).toBe(2);
      expect(v.stderr, name).toMatch(/train_arrival\.schema\.json/);
      expect((v.summary as { problems: unknown[] }).problems.length, name).toBeGreaterThan(0);

      const dbSchema = `hostile_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
      const root = await tempDir('sec-hostile');
      await writeSnapshot(root, onPartition('train-arrivals', 0, [fixtureArrival()]));
      const l = await runCommand('load', ['--snapshots', root, '--schemas', dir, '--db-schema', dbSchema]);
      expect(l.code, `${name}: ${l.stderr}`).toBe(2);
      expect(l.summary!['status'], name).toBe('refused');
      const { rows } = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [dbSchema]);
      expect(rows, name).toEqual([]);
    }
    // The ledger of other tests is still there.
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'eventful_load_ledger'`,
    );
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it('should store hostile values verbatim as bind data, never as SQL', async () => {
    const schema = await freshSchema(client, 'sec');
    const root = await tempDir('sec-values');
    const hostile = ["Robert'); DROP TABLE train_arrivals; --", '\\.\n\\N\t$$; SELECT 1; $$', 'x" OR "1"="1'];
    await writeSnapshot(
      root,
      onPartition(
        'train-arrivals',
        0,
        hostile.map((h) => fixtureArrival({ station_name: h, train_id: h })),
      ),
    );
    const r = await runCommand('load', ['--snapshots', root, '--db-schema', schema]);
    expect(r.code, r.stderr).toBe(0);
    const { rows } = await client.query<{ s: string }>(
      `SELECT station_name AS s FROM "${schema}".train_arrivals ORDER BY _kafka_offset`,
    );
    expect(rows.map((x) => x.s)).toEqual(hostile);
  });
});
