/**
 * A session-level advisory lock per db-schema, so two loads into the same Postgres schema never interleave.
 * Held until released or until the session ends (a killed load's lock goes with its connection).
 */
import type { WarehouseConnection } from './connection.js';

/** The first half of the two-key lock: names the lock's purpose, the second half names the db-schema. */
const LOCK_NAMESPACE = 'eventful.load';

/**
 * Takes the load lock of `dbSchema`. When another load holds it, calls `onWait` once and waits for it: that
 * load finishes its snapshots and this one then finds them in the ledger.
 */
export async function acquireLoadLock(conn: WarehouseConnection, dbSchema: string, onWait: () => void): Promise<void> {
  const { rows } = await conn.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok', [
    LOCK_NAMESPACE,
    dbSchema,
  ]);
  if (rows[0]?.ok) return;
  onWait();
  await conn.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', [LOCK_NAMESPACE, dbSchema]);
}

/** Releases the lock taken by {@link acquireLoadLock}. */
export async function releaseLoadLock(conn: WarehouseConnection, dbSchema: string): Promise<void> {
  await conn.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', [LOCK_NAMESPACE, dbSchema]);
}
