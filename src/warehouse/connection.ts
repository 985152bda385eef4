/**
 * The seam between the warehouse code and node-postgres: the few calls the loader needs, so the rest of
 * src/warehouse depends on this interface rather than on pg's types.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Logger } from '../basics/log.js';
import { connectionError, connectionTarget, shadowedVariables } from './connection-target.js';

export interface QueryResultLike<R> {
  rows: R[];
  rowCount: number | null;
}

/** One session on the warehouse. Values travel only as bind parameters or COPY data. */
export interface WarehouseConnection {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResultLike<R>>;
  /** Runs `COPY ... FROM STDIN` (text format) with `data` as its rows; returns the number of rows copied. */
  copyIn(sql: string, data: Buffer): Promise<number>;
  close(): Promise<void>;
}

/**
 * The pg.Client adapter. Calls may overlap (the loader looks keys up while a COPY runs): they are queued here
 * and run one after another on the session, in call order.
 */
export class PgWarehouseConnection implements WarehouseConnection {
  private tail: Promise<unknown> = Promise.resolve();
  /** Why the server ended the session (a restart, pg_terminate_backend), if it did. */
  private lost: Error | undefined;

  constructor(private readonly client: pg.Client) {
    // Without a listener, pg's 'error' event for a session the server ended would crash the process with a bare
    // stack trace and no summary. The query in flight fails with the error; later ones fail with it below.
    client.on('error', (err) => (this.lost ??= err));
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const guarded = (): Promise<T> =>
      this.lost ? Promise.reject(new Error(`the connection to PostgreSQL was lost: ${this.lost.message}`)) : op();
    const run = this.tail.then(guarded, guarded);
    this.tail = run.catch(() => undefined);
    return run;
  }

  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResultLike<R>> {
    return this.serial(async () => {
      const r = await this.client.query(text, params);
      return { rows: r.rows as R[], rowCount: r.rowCount };
    });
  }

  copyIn(sql: string, data: Buffer): Promise<number> {
    return this.serial(() => {
      const stream = this.client.query(copyFrom(sql));
      return new Promise<number>((resolve, reject) => {
        stream.once('error', reject);
        stream.once('finish', () => resolve(stream.rowCount));
        stream.end(data);
      });
    });
  }

  async close(): Promise<void> {
    await this.tail;
    await this.client.end();
  }
}

/**
 * Connects with `DATABASE_URL` when set, else node-postgres' standard `PG*` variables (PGHOST, PGPORT, PGUSER,
 * PGPASSWORD, PGDATABASE...). The password only ever comes from the environment. The session runs in UTC so
 * a date-time without a zone (which the schemas refuse anyway) could never depend on the server's setting.
 * A failure to connect becomes an error that names the host and port tried, where they came from and what to do
 * (see {@link connectionError}).
 */
export async function connectWarehouse(applicationName: string, log?: Logger): Promise<WarehouseConnection> {
  const target = connectionTarget(process.env);
  for (const warning of shadowedVariables(process.env)) log?.warn(warning);
  const url = process.env['DATABASE_URL'];
  const client = new pg.Client({ ...(url ? { connectionString: url } : {}), application_name: applicationName });
  try {
    await client.connect();
  } catch (err) {
    throw connectionError(err, target);
  }
  await client.query(`SET TIME ZONE 'UTC'`);
  return new PgWarehouseConnection(client);
}
