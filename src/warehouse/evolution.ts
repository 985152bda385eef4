/**
 * Additive evolution: what to change so the warehouse matches the schemas, or why that is refused. Pure.
 *
 * Applied: a missing table is created; a missing column is added (nullable, or NOT NULL with the schema's
 * `default` filling existing rows); a NOT NULL column that the schemas no longer require loses NOT NULL (relaxing
 * a constraint never touches rows); a new state table next to an existing event table is backfilled from it; an
 * event table's primary key widened by NOT NULL columns the table has (every old key column still in it, so the
 * rows stay unique) is rebuilt. Refused, before anything is written: a column whose type changed, a new required
 * property without a default, any other change of a primary key, any change of a state table's key. Never done:
 * dropping a table or a column, narrowing a type.
 */
import { canonicalText, ValueProblem } from './copy-text.js';
import {
  addColumnSql,
  createSchemaSql,
  createTableSql,
  dropNotNullSql,
  literalSql,
  replacePrimaryKeySql,
  type ColumnDef,
  type TableDef,
} from '../schema/ddl.js';

/** A column as the catalog describes it (`format_type()` spelling). */
export interface ExistingColumn {
  name: string;
  type: string;
  notNull: boolean;
}

/** A table found in the warehouse. */
export interface ExistingTable {
  name: string;
  columns: ExistingColumn[];
  /** Primary key columns in key order; [] when the table has none. */
  primaryKey: string[];
  /** The primary key constraint's name, when there is one. */
  primaryKeyName?: string;
  /** The planner's estimate of its rows (`reltuples`), when it has one. */
  estimatedRows?: number;
}

/** One change of the plan. */
export type PlanStep =
  | { kind: 'create_table'; table: TableDef }
  | { kind: 'add_column'; table: string; column: ColumnDef; defaultLiteral?: string }
  | { kind: 'drop_not_null'; table: string; column: string; reason: string }
  | { kind: 'backfill_state'; table: TableDef; from: string }
  | { kind: 'rebuild_key'; table: string; constraint: string; from: string[]; to: string[] };

/** A change that cannot be applied safely, with what to do about it. */
export interface Refusal {
  table: string;
  column?: string;
  message: string;
}

export interface EvolutionPlan {
  steps: PlanStep[];
  refusals: Refusal[];
  /** Differences left alone on purpose (e.g. a column kept nullable), for the log. */
  notes: string[];
}

function keyText(cols: string[]): string {
  return `(${cols.join(', ')})`;
}

/** The default of a new NOT NULL column as a literal, or why there is none. */
function defaultFor(column: ColumnDef): { literal: string } | { problem: string } {
  if (column.defaultSql) return { literal: column.defaultSql };
  if (column.defaultValue === undefined || column.defaultValue === null) return { problem: 'it has no "default"' };
  const text = canonicalText(column.type, column.defaultValue);
  if (text instanceof ValueProblem) return { problem: `its "default" does not fit ${column.type}: ${text.message}` };
  if (text === null || text.includes('\u0000')) return { problem: 'its "default" cannot be stored' };
  return { literal: literalSql(column.type, text) };
}

/** Why the table's key cannot go from the warehouse's to the schema's; undefined when it can be rebuilt. */
function keyChangeProblem(table: TableDef, cur: ExistingTable): string | undefined {
  if (table.kind !== 'event')
    return "a state table's key names its entities, so it cannot change under the rows it merged";
  if (!cur.primaryKey.length || !cur.primaryKey.every((k) => table.primaryKey.includes(k)))
    return 'a key change is not additive unless it keeps every column of the old key';
  const have = new Map(cur.columns.map((c) => [c.name, c]));
  const blocked = table.primaryKey.filter((k) => !cur.primaryKey.includes(k) && !have.get(k)?.notNull);
  if (blocked.length)
    return `the new key column${blocked.length > 1 ? 's' : ''} ${blocked.join(', ')} must already be NOT NULL columns of the table`;
  return cur.primaryKeyName ? undefined : 'its key constraint was not found';
}

/**
 * Compares the primary keys. An event table's key widened (or reordered) with columns the table holds, all NOT
 * NULL, is rebuilt: rows unique on the old key are unique on the new one. Refused: any other change, and any
 * change of a state table's key, which names its entities (rows merged under the old key would stay merged).
 */
function planPrimaryKey(plan: EvolutionPlan, table: TableDef, cur: ExistingTable): void {
  if (keyText(cur.primaryKey) === keyText(table.primaryKey)) return;
  const why = keyChangeProblem(table, cur);
  if (why === undefined) {
    const [from, to] = [cur.primaryKey, table.primaryKey];
    plan.steps.push({ kind: 'rebuild_key', table: table.name, constraint: cur.primaryKeyName!, from, to });
    const rows = cur.estimatedRows ? `about ${cur.estimatedRows} rows` : 'the table';
    plan.notes.push(
      `${table.name}: the schema's key is ${keyText(to)}, the warehouse's ${keyText(from)}: the primary key is ` +
        `rebuilt in the transaction of the first snapshot loaded, one pass over ${rows}, with the table locked meanwhile`,
    );
    return;
  }
  plan.refusals.push({
    table: table.name,
    message:
      `the primary key of ${table.name} is ${cur.primaryKey.length ? keyText(cur.primaryKey) : 'missing'} in the ` +
      `warehouse but the schema says ${keyText(table.primaryKey)}: ${why}. Keep the key, ` +
      `or load into a new table (rename "table" in x-warehouse) and migrate by hand.`,
  });
}

/** Adds a column the warehouse lacks: nullable as is, NOT NULL only with a default that fills the old rows. */
function planNewColumn(plan: EvolutionPlan, table: TableDef, col: ColumnDef): void {
  if (!col.notNull) {
    plan.steps.push({ kind: 'add_column', table: table.name, column: col });
    return;
  }
  const d = defaultFor(col);
  if ('literal' in d)
    plan.steps.push({
      kind: 'add_column',
      table: table.name,
      column: col,
      ...(col.defaultSql ? {} : { defaultLiteral: d.literal }),
    });
  else
    plan.refusals.push({
      table: table.name,
      column: col.name,
      message:
        `${table.name}.${col.name}: a new required property cannot be added because ${d.problem}, so the ` +
        `rows already loaded would have no value. Make it optional, or give it a "default".`,
    });
}

/** Compares a column the schema wants with the one in the warehouse: type change refused, NOT NULL relaxed. */
function planExistingColumn(plan: EvolutionPlan, table: TableDef, col: ColumnDef, have: ExistingColumn): void {
  if (have.type !== col.type) {
    plan.refusals.push({
      table: table.name,
      column: col.name,
      message:
        `${table.name}.${col.name} is ${have.type} in the warehouse but the schema now maps it to ${col.type}: ` +
        `a type change is not additive. Restore the old type, or add a new property instead.`,
    });
    return;
  }
  if (have.notNull && !col.notNull && !table.primaryKey.includes(col.name))
    plan.steps.push({
      kind: 'drop_not_null',
      table: table.name,
      column: col.name,
      reason: 'the schema no longer requires it',
    });
  else if (!have.notNull && col.notNull)
    plan.notes.push(
      `${table.name}.${col.name} stays nullable: the schema now requires it, but rows loaded earlier may lack it`,
    );
}

/** Columns in the warehouse that no schema property fills any more: kept, losing NOT NULL unless in the key. */
function planLeftoverColumns(plan: EvolutionPlan, table: TableDef, cur: ExistingTable): void {
  const wanted = new Set(table.columns.map((c) => c.name));
  for (const have of cur.columns) {
    if (wanted.has(have.name)) continue;
    if (have.notNull && !cur.primaryKey.includes(have.name))
      plan.steps.push({
        kind: 'drop_not_null',
        table: table.name,
        column: have.name,
        reason: 'no schema property fills it any more',
      });
    else plan.notes.push(`${table.name}.${have.name} is kept although no schema property fills it any more`);
  }
}

/** Evolves a table that exists in the warehouse towards what its schema wants. */
function planExistingTable(plan: EvolutionPlan, table: TableDef, cur: ExistingTable): void {
  const curCols = new Map(cur.columns.map((c) => [c.name, c]));
  planPrimaryKey(plan, table, cur);
  for (const col of table.columns) {
    const have = curCols.get(col.name);
    if (have) planExistingColumn(plan, table, col, have);
    else planNewColumn(plan, table, col);
  }
  planLeftoverColumns(plan, table, cur);
}

/**
 * Compares the tables the schemas want (`desired`) with those in the warehouse (`existing`, by name).
 * The plan is applied only when `refusals` is empty.
 */
export function planEvolution(desired: TableDef[], existing: ReadonlyMap<string, ExistingTable>): EvolutionPlan {
  const plan: EvolutionPlan = { steps: [], refusals: [], notes: [] };
  const createdNow = new Set<string>();
  for (const table of desired) {
    const cur = existing.get(table.name);
    if (cur) planExistingTable(plan, table, cur);
    else {
      plan.steps.push({ kind: 'create_table', table });
      createdNow.add(table.name);
    }
  }
  for (const table of desired)
    if (table.kind === 'state' && table.state && createdNow.has(table.name) && existing.has(table.state.eventTable))
      plan.steps.push({ kind: 'backfill_state', table, from: table.state.eventTable });
  return plan;
}

/** A short, JSON-friendly description of the plan for the summary. */
export function describePlan(plan: EvolutionPlan): {
  tablesCreated: string[];
  columnsAdded: Array<{ table: string; column: string; type: string }>;
  notNullDropped: Array<{ table: string; column: string; reason: string }>;
  stateBackfilled: string[];
  keysRebuilt: Array<{ table: string; from: string[]; to: string[] }>;
} {
  const out = {
    tablesCreated: [] as string[],
    columnsAdded: [] as Array<{ table: string; column: string; type: string }>,
    notNullDropped: [] as Array<{ table: string; column: string; reason: string }>,
    stateBackfilled: [] as string[],
    keysRebuilt: [] as Array<{ table: string; from: string[]; to: string[] }>,
  };
  for (const s of plan.steps) {
    if (s.kind === 'create_table') out.tablesCreated.push(s.table.name);
    else if (s.kind === 'add_column')
      out.columnsAdded.push({ table: s.table, column: s.column.name, type: s.column.type });
    else if (s.kind === 'drop_not_null')
      out.notNullDropped.push({ table: s.table, column: s.column, reason: s.reason });
    else if (s.kind === 'rebuild_key') out.keysRebuilt.push({ table: s.table, from: s.from, to: s.to });
    else out.stateBackfilled.push(s.table.name);
  }
  return out;
}

/** The DDL statements of a plan, in order (state backfills are run separately: they are DML). */
export function planDdl(dbSchema: string, plan: EvolutionPlan): string[] {
  const out: string[] = [];
  if (plan.steps.length) out.push(createSchemaSql(dbSchema));
  for (const s of plan.steps) {
    if (s.kind === 'create_table') out.push(createTableSql(dbSchema, s.table));
    else if (s.kind === 'add_column') out.push(addColumnSql(dbSchema, s.table, s.column, s.defaultLiteral));
    else if (s.kind === 'drop_not_null') out.push(dropNotNullSql(dbSchema, s.table, s.column));
    else if (s.kind === 'rebuild_key') out.push(replacePrimaryKeySql(dbSchema, s.table, s.constraint, s.to));
  }
  return out;
}
