/**
 * Schema → warehouse tables, and their DDL. Pure: no I/O.
 *
 * Every schema defines an event table (one row per event, keyed by `x-warehouse.key`) and optionally a state
 * table (one row per entity, keyed by `x-warehouse.state.key`). Both have one column per schema property, under
 * the property's name, plus the metadata columns below. Metadata column names start with `_kafka_` or
 * `_eventful_`; those prefixes are reserved, so a schema property can never collide with one.
 *
 * | column                  | type        | meaning                                                        |
 * |-------------------------|-------------|----------------------------------------------------------------|
 * | `_kafka_topic`          | text        | topic the event was read from                                  |
 * | `_kafka_partition`      | integer     | its partition                                                  |
 * | `_kafka_offset`         | bigint      | its offset                                                     |
 * | `_kafka_timestamp`      | timestamptz | Kafka's message timestamp (null when the broker gave none)     |
 * | `_eventful_snapshot_id` | text        | the snapshot that first brought the row (the state: last change) |
 * | `_eventful_loaded_at`   | timestamptz | when that load committed                                       |
 */
import type { LoadedSchema, PropertySchema } from './registry.js';
import { DECIMAL_FORMAT } from './decimal-text.js';
import { identifierProblem, quoteIdent } from './identifiers.js';
import { jsonTypes } from './json-types.js';

/** Postgres column types, spelled as `format_type()` prints them so plans compare them with the catalog directly. */
export type PgType =
  | 'text'
  | 'timestamp with time zone'
  | 'date'
  | 'uuid'
  | 'bigint'
  | 'integer'
  | 'double precision'
  | 'numeric'
  | 'boolean'
  | 'jsonb';

/**
 * Types a key column may have: scalars whose equality is plain value equality. Not numeric: `1.0` and `1.00` are
 * one key to Postgres but two texts to the loader.
 */
export const KEY_TYPES: ReadonlySet<PgType> = new Set<PgType>([
  'text',
  'timestamp with time zone',
  'date',
  'uuid',
  'bigint',
  'integer',
  'double precision',
  'boolean',
]);

/** Prefixes of the loader's own columns; schema properties may not use them. */
export const RESERVED_COLUMN_PREFIXES = ['_kafka_', '_eventful_'] as const;

/** Names of the metadata columns every event and state table carries. */
export const META = {
  topic: '_kafka_topic',
  partition: '_kafka_partition',
  offset: '_kafka_offset',
  timestamp: '_kafka_timestamp',
  snapshotId: '_eventful_snapshot_id',
  loadedAt: '_eventful_loaded_at',
} as const;

/** Trusted SQL for the default of a metadata column (never built from user input). */
export const NOW_SQL = 'now()';

/** One column of a table the warehouse manages. */
export interface ColumnDef {
  name: string;
  type: PgType;
  notNull: boolean;
  /** A trusted SQL default expression (only {@link NOW_SQL}); applies to CREATE and ADD COLUMN. */
  defaultSql?: string;
  /** The schema's `default` for the property: used only to fill existing rows when a required column is added. */
  defaultValue?: unknown;
  /** The schema property a column holds; absent for metadata columns. */
  property?: string;
}

/** What a table is for. */
export type TableKind = 'event' | 'state' | 'ledger' | 'quarantine';

/** A table the warehouse manages: its columns, primary key and, for a state table, where it comes from. */
export interface TableDef {
  name: string;
  kind: TableKind;
  columns: ColumnDef[];
  primaryKey: string[];
  /** The schema it is derived from (file name without `.schema.json`). */
  schema?: string;
  /** For a state table: the event table it is derived from, and the property giving event time (if any). */
  state?: { eventTable: string; eventTime?: string };
}

/** The metadata columns, in table order. */
export function metadataColumns(): ColumnDef[] {
  return [
    { name: META.topic, type: 'text', notNull: true },
    { name: META.partition, type: 'integer', notNull: true },
    { name: META.offset, type: 'bigint', notNull: true },
    { name: META.timestamp, type: 'timestamp with time zone', notNull: false },
    { name: META.snapshotId, type: 'text', notNull: true },
    { name: META.loadedAt, type: 'timestamp with time zone', notNull: true, defaultSql: NOW_SQL },
  ];
}

/**
 * The Postgres type of a property, and whether its value may be JSON null (then its column stays nullable).
 * string → text (date-time → timestamptz, date → date, uuid → uuid, decimal → numeric), integer → bigint,
 * number → double precision,
 * boolean → boolean, object/array → jsonb; anything else (no type, several types) → jsonb.
 */
export function columnTypeOf(prop: PropertySchema | boolean): { type: PgType; nullable: boolean } {
  const types = jsonTypes(prop);
  const nonNull = types.filter((t) => t !== 'null');
  const nullable = types.length === 0 || types.includes('null');
  if (nonNull.length !== 1) return { type: 'jsonb', nullable };
  const format = typeof prop === 'object' && prop !== null ? prop.format : undefined;
  switch (nonNull[0]) {
    case 'string':
      // isDateTimeProperty (json-types) names the same rule for the registry's exactness check.
      if (format === 'date-time') return { type: 'timestamp with time zone', nullable };
      if (format === 'date') return { type: 'date', nullable };
      if (format === 'uuid') return { type: 'uuid', nullable };
      if (format === DECIMAL_FORMAT) return { type: 'numeric', nullable };
      return { type: 'text', nullable };
    case 'integer':
      return { type: 'bigint', nullable };
    case 'number':
      return { type: 'double precision', nullable };
    case 'boolean':
      return { type: 'boolean', nullable };
    default:
      return { type: 'jsonb', nullable };
  }
}

/** A problem that keeps a schema from becoming tables, with a JSON pointer into the schema file. */
export interface DdlProblem {
  path: string;
  message: string;
}

/** Tables whose names the loader keeps for itself (ledger, quarantine, listing floor). */
export const RESERVED_TABLES: ReadonlySet<string> = new Set([
  'eventful_load_ledger',
  'eventful_rejected',
  'eventful_listing_floor',
]);

/**
 * The tables a schema defines: its event table and, if declared, its state table.
 * Returns the problems instead when a property or key cannot become a column.
 */
export function schemaTables(schema: LoadedSchema): { tables: TableDef[]; problems: DdlProblem[] } {
  const problems: DdlProblem[] = [];
  const columns: ColumnDef[] = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    const problem = identifierProblem(name);
    if (problem)
      problems.push({ path: `/properties/${name}`, message: `property name cannot be a column: ${problem}` });
    const prefix = RESERVED_COLUMN_PREFIXES.find((p) => name.startsWith(p));
    if (prefix)
      problems.push({
        path: `/properties/${name}`,
        message: `property "${name}" starts with "${prefix}", which is reserved for the loader's metadata columns; rename it`,
      });
    const { type, nullable } = columnTypeOf(prop);
    const col: ColumnDef = { name, type, notNull: schema.required.includes(name) && !nullable, property: name };
    if (typeof prop === 'object' && prop !== null && 'default' in prop) col.defaultValue = prop.default;
    columns.push(col);
  }
  columns.push(...metadataColumns());
  const byName = new Map(columns.map((c) => [c.name, c]));
  const checkKey = (keys: string[], where: string): void =>
    keys.forEach((k, i) => {
      const col = byName.get(k);
      if (!col) return; // the registry reports keys that are not properties
      if (!KEY_TYPES.has(col.type))
        problems.push({
          path: `${where}/${i}`,
          message: `key "${k}" maps to ${col.type}: a key column must be a scalar (string, integer, number, boolean)`,
        });
      else if (!col.notNull)
        problems.push({ path: `${where}/${i}`, message: `key "${k}" allows null: a key column must never be null` });
    });
  const m = schema.mapping;
  checkKey(m.key, '/x-warehouse/key');
  for (const t of [m.table, m.state?.table])
    if (t && RESERVED_TABLES.has(t))
      problems.push({ path: '/x-warehouse', message: `table "${t}" is reserved for the loader; choose another name` });
  const tables: TableDef[] = [{ name: m.table, kind: 'event', columns, primaryKey: [...m.key], schema: schema.name }];
  if (m.state) {
    checkKey(m.state.key, '/x-warehouse/state/key');
    const state: TableDef['state'] = { eventTable: m.table };
    if (m.eventTime !== undefined) state.eventTime = m.eventTime;
    tables.push({
      name: m.state.table,
      kind: 'state',
      columns: columns.map((c) => ({ ...c })),
      primaryKey: [...m.state.key],
      schema: schema.name,
      state,
    });
  }
  return problems.length ? { tables: [], problems } : { tables, problems };
}

/** `"schema"."table"`, both validated and quoted. */
export function qualified(dbSchema: string, table: string): string {
  return `${quoteIdent(dbSchema)}.${quoteIdent(table)}`;
}

function columnSql(c: ColumnDef): string {
  return `${quoteIdent(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}${c.defaultSql ? ` DEFAULT ${c.defaultSql}` : ''}`;
}

/** `CREATE SCHEMA IF NOT EXISTS` for the Postgres schema the warehouse lives in. */
export function createSchemaSql(dbSchema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(dbSchema)}`;
}

/** `CREATE TABLE` with every column and the primary key. */
export function createTableSql(dbSchema: string, table: TableDef): string {
  const lines = table.columns.map((c) => `  ${columnSql(c)}`);
  lines.push(`  PRIMARY KEY (${table.primaryKey.map(quoteIdent).join(', ')})`);
  return `CREATE TABLE ${qualified(dbSchema, table.name)} (\n${lines.join(',\n')}\n)`;
}

/**
 * `ALTER TABLE ... ADD COLUMN`. A NOT NULL column needs a value for existing rows: the trusted default, or the
 * schema's default rendered as a literal (see {@link literalSql}); the caller refuses one that has neither.
 */
export function addColumnSql(dbSchema: string, table: string, c: ColumnDef, defaultLiteral?: string): string {
  const dflt = c.defaultSql ?? defaultLiteral;
  return (
    `ALTER TABLE ${qualified(dbSchema, table)} ADD COLUMN ${quoteIdent(c.name)} ${c.type}` +
    `${c.notNull ? ' NOT NULL' : ''}${dflt ? ` DEFAULT ${dflt}` : ''}`
  );
}

/** `ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL`: relaxing a constraint never touches rows. */
export function dropNotNullSql(dbSchema: string, table: string, column: string): string {
  return `ALTER TABLE ${qualified(dbSchema, table)} ALTER COLUMN ${quoteIdent(column)} DROP NOT NULL`;
}

/**
 * `ALTER TABLE ... DROP CONSTRAINT <key>, ADD CONSTRAINT <key> PRIMARY KEY (...)`: one statement, so Postgres
 * builds the new key's index in one pass over the table (and the old one is gone only if that succeeds).
 */
export function replacePrimaryKeySql(dbSchema: string, table: string, constraint: string, key: string[]): string {
  const name = quoteIdent(constraint);
  return (
    `ALTER TABLE ${qualified(dbSchema, table)} DROP CONSTRAINT ${name}, ` +
    `ADD CONSTRAINT ${name} PRIMARY KEY (${key.map(quoteIdent).join(', ')})`
  );
}

/**
 * A JSON value as a typed SQL literal, `E'...'::type` (escape-string syntax, so its meaning does not depend on
 * `standard_conforming_strings`). `canonical` is the value's text as the loader would send it (see copy-text).
 */
export function literalSql(type: PgType, canonical: string): string {
  return `E'${canonical.replace(/\\/g, '\\\\').replace(/'/g, "''")}'::${type}`;
}

/** The whole DDL of a set of tables in a fresh Postgres schema, for `validate --ddl` and docs. */
export function renderDdl(dbSchema: string, tables: TableDef[]): string {
  return [createSchemaSql(dbSchema), ...tables.map((t) => createTableSql(dbSchema, t))]
    .map((s) => `${s};`)
    .join('\n\n');
}
