/** Applies an evolution plan, and the wait-time views, inside the caller's transaction. */
import { qualified } from '../schema/ddl.js';
import type { WarehouseConnection } from './connection.js';
import { planDdl, type EvolutionPlan } from './evolution.js';
import { mergeStateSql } from './state-order.js';
import { VIEW_NAMES, VIEW_REQUIREMENTS, viewStatements } from './views.js';

/** Runs the plan's DDL, then fills new state tables from their existing event tables. Refuses a refused plan. */
export async function applyPlan(conn: WarehouseConnection, dbSchema: string, plan: EvolutionPlan): Promise<void> {
  if (plan.refusals.length) throw new Error('refusing to apply an evolution plan that has refusals');
  for (const sql of planDdl(dbSchema, plan)) await conn.query(sql);
  for (const step of plan.steps)
    if (step.kind === 'backfill_state')
      await conn.query(mergeStateSql(dbSchema, step.table, qualified(dbSchema, step.from)));
}

/** What became of the wait-time views. */
export type ViewsOutcome = { created: string[] } | { skipped: string };

const VIEWS_SAVEPOINT = 'eventful_views';

/**
 * Creates (or replaces) the wait-time views over the tables that exist. The views expect the shipped schemas'
 * columns: when a customised schema lacks one, the views are skipped (rolled back to a savepoint) with the
 * reason, and the load goes on — they are a convenience over the data, not part of it.
 */
export async function applyViews(conn: WarehouseConnection, dbSchema: string, tables: string[]): Promise<ViewsOutcome> {
  const statements = viewStatements(dbSchema, { tables });
  if (statements.length === 0) return { created: [] };
  await conn.query(`SAVEPOINT ${VIEWS_SAVEPOINT}`);
  try {
    for (const sql of statements) await conn.query(sql);
  } catch (err) {
    await conn.query(`ROLLBACK TO SAVEPOINT ${VIEWS_SAVEPOINT}`);
    return { skipped: (err as Error).message };
  }
  await conn.query(`RELEASE SAVEPOINT ${VIEWS_SAVEPOINT}`);
  const have = new Set(tables);
  return { created: VIEW_NAMES.filter((v) => VIEW_REQUIREMENTS[v].every((t) => have.has(t))) };
}
