import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** A client of the real PostgreSQL the global setup started (settings from the PG* environment). */
export async function connect(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: process.env['DATABASE_URL'] });
  await client.connect();
  return client;
}

/** A fresh Postgres schema for one test, so tests never see each other's tables. */
export async function freshSchema(client: pg.Client, prefix = 't'): Promise<string> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await client.query(`CREATE SCHEMA "${name}"`);
  return name;
}
