/**
 * The seam between the warehouse code and node-postgres: the few calls the loader needs, so the rest of
 * src/warehouse depends on this interface rather than on pg's types.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

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

  constructor(private readonly client: pg.Client) {}

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op, op);
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
 */
export async function connectWarehouse(applicationName: string): Promise<WarehouseConnection> {
  const url = process.env['DATABASE_URL'];
  const client = new pg.Client({ ...(url ? { connectionString: url } : {}), application_name: applicationName });
  await client.connect();
  await client.query(`SET TIME ZONE 'UTC'`);
  return new PgWarehouseConnection(client);
}
