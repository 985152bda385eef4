/** Applies an evolution plan inside the caller's transaction. */
import { qualified } from '../schema/ddl.js';
import type { WarehouseConnection } from './connection.js';
import { planDdl, type EvolutionPlan } from './evolution.js';
import { mergeStateSql } from './state-order.js';

/** Runs the plan's DDL, then fills new state tables from their existing event tables. Refuses a refused plan. */
export async function applyPlan(conn: WarehouseConnection, dbSchema: string, plan: EvolutionPlan): Promise<void> {
  if (plan.refusals.length) throw new Error('refusing to apply an evolution plan that has refusals');
  for (const sql of planDdl(dbSchema, plan)) await conn.query(sql);
  for (const step of plan.steps)
    if (step.kind === 'backfill_state')
      await conn.query(mergeStateSql(dbSchema, step.table, qualified(dbSchema, step.from)));
}
