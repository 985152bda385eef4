/**
 * The load ledger `eventful_load_ledger`: one row per loaded snapshot, written in the same transaction as the
 * snapshot's rows. A snapshot is pending iff the ledger has no row with its id; a row with the same id but a
 * different manifest sha256 means the snapshot was changed after it was loaded, which is an error.
 */
import { NOW_SQL, qualified, type TableDef } from '../schema/ddl.js';
import type { WarehouseConnection } from './connection.js';

export const LEDGER_TABLE = 'eventful_load_ledger';

/** The ledger's definition (evolved additively like the other tables). */
export function ledgerTable(): TableDef {
  return {
    name: LEDGER_TABLE,
    kind: 'ledger',
    columns: [
      { name: 'snapshot_id', type: 'text', notNull: true },
      { name: 'manifest_sha256', type: 'text', notNull: true },
      { name: 'run_id', type: 'text', notNull: false },
      { name: 'group_id', type: 'text', notNull: false },
      { name: 'snapshot_started_at', type: 'timestamp with time zone', notNull: false },
      { name: 'messages', type: 'bigint', notNull: true },
      { name: 'events', type: 'bigint', notNull: true },
      { name: 'rejected', type: 'bigint', notNull: true },
      { name: 'rejected_by_load', type: 'bigint', notNull: true },
      { name: 'tables', type: 'jsonb', notNull: true },
      { name: 'schemas', type: 'jsonb', notNull: true },
      { name: 'loaded_at', type: 'timestamp with time zone', notNull: true, defaultSql: NOW_SQL },
    ],
    primaryKey: ['snapshot_id'],
  };
}

/** What the ledger records of one snapshot. */
export interface LedgerEntry {
  snapshotId: string;
  manifestSha256: string;
  runId: string | null;
  groupId: string | null;
  startedAt: string | null;
  messages: number;
  events: number;
  rejected: number;
  rejectedByLoad: number;
  /** Rows per table: inserted / updated / unchanged. */
  tables: Record<string, unknown>;
  /** sha256 of each schema file the load used, by schema name. */
  schemas: Record<string, string>;
}

/** The manifest sha256 the ledger holds for each of `ids` that it has recorded. */
export async function readLedger(
  conn: WarehouseConnection,
  dbSchema: string,
  ids: string[],
): Promise<Map<string, string>> {
  const { rows } = await conn.query<{ snapshot_id: string; manifest_sha256: string }>(
    `SELECT snapshot_id, manifest_sha256 FROM ${qualified(dbSchema, LEDGER_TABLE)} WHERE snapshot_id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.snapshot_id, r.manifest_sha256]));
}

/** Records a loaded snapshot (inside the snapshot's transaction). */
export async function insertLedgerEntry(conn: WarehouseConnection, dbSchema: string, e: LedgerEntry): Promise<void> {
  await conn.query(
    `INSERT INTO ${qualified(dbSchema, LEDGER_TABLE)}
       (snapshot_id, manifest_sha256, run_id, group_id, snapshot_started_at, messages, events, rejected, rejected_by_load, tables, schemas)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      e.snapshotId,
      e.manifestSha256,
      e.runId,
      e.groupId,
      e.startedAt,
      e.messages,
      e.events,
      e.rejected,
      e.rejectedByLoad,
      JSON.stringify(e.tables),
      JSON.stringify(e.schemas),
    ],
  );
}
