import { randomUUID } from 'node:crypto';
import { createServer, connect as tcpConnect } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCommand, type RunResult } from '../helpers/run.js';
import { tempDir, writeSnapshot } from '../helpers/snapshot-fixtures.js';

/** A local port that nothing listens on: bound once by the OS, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts connections at host:port. */
function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Every connection setting unset, as on a fresh machine; `env` then sets some. */
function onlyThese(env: Record<string, string>): Record<string, string | undefined> {
  const none = { DATABASE_URL: undefined, PGHOST: undefined, PGPORT: undefined, PGUSER: undefined };
  return { ...none, PGPASSWORD: undefined, PGDATABASE: undefined, ...env };
}

function errorOf(r: RunResult): { code: string; message: string } {
  return r.summary?.['error'] as { code: string; message: string };
}

describe('the error of a command that cannot use its database', () => {
  let snapshots: string;
  beforeAll(async () => {
    // load connects only when the store holds a snapshot (it then asks the ledger which are new).
    snapshots = await tempDir('eventful-connection-errors-');
    await writeSnapshot(snapshots, []);
  });
  const load = (env: Record<string, string | undefined>): Promise<RunResult> =>
    runCommand('load', ['--snapshots', snapshots, '--db-schema', 'connection_errors'], { env });

  it('should name the host and port tried, where they came from and what to do when nothing listens there', async () => {
    const port = await freePort();
    for (const command of ['load', 'report'] as const) {
      const env = onlyThese({ PGHOST: '127.0.0.1', PGPORT: String(port) });
      const r = command === 'load' ? await load(env) : await runCommand('report', [], { env });
      expect(r.code, `${command}: ${r.stderr}`).toBe(1);
      expect(errorOf(r).code).toBe('db_unreachable');
      expect(r.stderr).toContain(
        `cannot connect to PostgreSQL at 127.0.0.1:${port} (host from PGHOST, port from PGPORT): nothing accepts ` +
          'connections there. Start PostgreSQL, or set DATABASE_URL=postgres://USER@HOST:PORT/DATABASE',
      );
      expect(r.stderr).not.toMatch(/ECONNREFUSED|\n\s+at /);
    }
  });

  it('should say the defaults were used when no database setting is given at all', async (ctx) => {
    if (await listening('localhost', 5432)) ctx.skip();
    const r = await load(onlyThese({}));
    expect(r.code, r.stderr).toBe(1);
    expect(errorOf(r).message).toMatch(
      /^cannot connect to PostgreSQL at localhost:5432 \(the defaults: neither DATABASE_URL nor PGHOST\/PGPORT is set\)/,
    );
  });

  it('should refuse a wrong password with exit 2, naming the user and where the password came from, never the password', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const r = await load({ PGPASSWORD: wrong });
    expect(r.code, r.stderr).toBe(2);
    expect(errorOf(r).code).toBe('db_auth_failed');
    const url = new URL(process.env['DATABASE_URL']!);
    expect(errorOf(r).message).toBe(
      `PostgreSQL at ${url.hostname}:${url.port} (host and port from DATABASE_URL) refused the password of user ` +
        `"${url.username}" (from DATABASE_URL) (the password from PGPASSWORD): set the right one in PGPASSWORD ` +
        '(or in DATABASE_URL), or check the user',
    );
    expect(r.stdout + r.stderr).not.toContain(wrong);
  });

  it('should name a missing database and what to do, with exit 2', async () => {
    const url = new URL(process.env['DATABASE_URL']!);
    const missing = `connection_errors_${randomUUID().slice(0, 8)}`;
    url.pathname = `/${missing}`;
    const r = await load({ DATABASE_URL: url.toString() });
    expect(r.code, r.stderr).toBe(2);
    expect(errorOf(r).code).toBe('db_missing');
    expect(errorOf(r).message).toContain(
      `has no database "${missing}" (from DATABASE_URL): create it (createdb), or name an existing one in PGDATABASE`,
    );
  });

  it('should name a missing schema, the database and server it looked in, and the load that creates it', async () => {
    const schema = `connection_errors_${randomUUID().slice(0, 8)}`;
    const r = await runCommand('report', ['--db-schema', schema]);
    expect(r.code, r.stderr).toBe(2);
    const url = new URL(process.env['DATABASE_URL']!);
    expect(errorOf(r).message).toBe(
      `schema "${schema}" does not exist in database "${url.pathname.slice(1)}" at ${url.hostname}:${url.port}: ` +
        `run eventful-load --db-schema ${schema} first (it creates the schema, its tables and the wait-time views), ` +
        'or point --db-schema (or EVENTFUL_DB_SCHEMA) at the schema load wrote to',
    );
  });
});
