/** Reads which of the warehouse's tables exist in a Postgres schema, with their columns and primary keys. */
import type { WarehouseConnection } from './connection.js';
import type { ExistingTable } from './evolution.js';

interface CatalogRow {
  table_name: string;
  column_name: string;
  type: string;
  not_null: boolean;
  key_position: number | null;
  key_name: string | null;
  est_rows: string;
}

/** The tables named `names` that exist in `dbSchema` (ordinary or partitioned tables), by name. */
export async function readExistingTables(
  conn: WarehouseConnection,
  dbSchema: string,
  names: string[],
): Promise<Map<string, ExistingTable>> {
  const { rows } = await conn.query<CatalogRow>(
    `SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, array_position(i.indkey::int2[], a.attnum) AS key_position,
            k.relname AS key_name, c.reltuples::bigint AS est_rows
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
       LEFT JOIN pg_catalog.pg_class k ON k.oid = i.indexrelid
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')
      ORDER BY c.relname, a.attnum`,
    [dbSchema, names],
  );
  const tables = new Map<string, ExistingTable & { keyed: Array<{ name: string; pos: number }> }>();
  for (const r of rows) {
    let t = tables.get(r.table_name);
    if (!t) {
      const estimatedRows = Number(r.est_rows);
      t = { name: r.table_name, columns: [], primaryKey: [], keyed: [] };
      if (r.key_name) t.primaryKeyName = r.key_name;
      if (estimatedRows > 0) t.estimatedRows = estimatedRows;
      tables.set(r.table_name, t);
    }
    t.columns.push({ name: r.column_name, type: r.type, notNull: r.not_null });
    if (r.key_position !== null) t.keyed.push({ name: r.column_name, pos: r.key_position });
  }
  const out = new Map<string, ExistingTable>();
  for (const [name, { keyed, ...t }] of tables)
    out.set(name, { ...t, primaryKey: keyed.sort((a, b) => a.pos - b.pos).map((k) => k.name) });
  return out;
}
