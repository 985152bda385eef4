/** Applies an evolution plan, and the wait-time views with the answer tables behind them, inside the caller's transaction. */
import { qualified } from '../schema/ddl.js';
import type { WarehouseConnection } from './connection.js';
import { planDdl, type EvolutionPlan } from './evolution.js';
import { mergeStateSql } from './state-order.js';
import type { Logger } from '../basics/log.js';
import { emptyAnswer, ensureAnswer } from './answer-build.js';
import { arrivalSelect, STATION_ARRIVAL } from './answer-sql.js';
import {
  ANSWER_LAYOUT_COMMENT,
  answerTable,
  ANSWER_TABLES,
  answerTableStatements,
  ARRIVALS_TABLE,
  HEADWAYS_TABLE,
  INCIDENT_EVENTS_INDEX,
  INCIDENT_EVENTS_TABLE,
  incidentEventsIndexStatement,
  relationExists,
} from './answer-tables.js';
import { VIEW_NAMES, VIEW_REQUIREMENTS, viewStatements } from './views.js';
import { resolveViewOptions } from './view-options.js';

/** Runs the plan's DDL, then fills new state tables from their existing event tables. Refuses a refused plan. */
export async function applyPlan(conn: WarehouseConnection, dbSchema: string, plan: EvolutionPlan): Promise<void> {
  if (plan.refusals.length) throw new Error('refusing to apply an evolution plan that has refusals');
  for (const sql of planDdl(dbSchema, plan)) await conn.query(sql);
  for (const step of plan.steps)
    if (step.kind === 'backfill_state')
      await conn.query(mergeStateSql(dbSchema, step.table, qualified(dbSchema, step.from)));
}

/**
 * What became of the wait-time views. `answer`: whether load maintains the answer tables behind them ('built': from
 * the history, by this run; 'up to date': they were already; 'emptied': not kept, see `maintain`), absent when there are no arrivals to answer from.
 */
export type ViewsOutcome = { created: string[]; answer?: 'built' | 'up to date' | 'emptied' } | { skipped: string };

const VIEWS_SAVEPOINT = 'eventful_views';

/** The views that read the answer tables (all but `incident_periods`). */
const ANSWER_VIEWS = VIEW_NAMES.filter((v) => v !== 'incident_periods');

/**
 * Drops the answer tables, and the views over them, when another version made them: their headway table lacks this
 * version's layout comment (see ANSWER_LAYOUT_VERSION). They are made and built again right after, in the same
 * transaction. Returns whether it dropped.
 */
async function dropOtherLayout(conn: WarehouseConnection, dbSchema: string, log?: Logger): Promise<boolean> {
  const t = (name: string): string => answerTable(dbSchema, name);
  const { rows } = await conn.query<{ layout: string | null; present: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS present, obj_description(to_regclass($1), 'pg_class') AS layout`,
    [t(HEADWAYS_TABLE)],
  );
  if (!rows[0]?.present || rows[0].layout === ANSWER_LAYOUT_COMMENT) return false;
  log?.info(
    `the wait-time answer tables have another version's layout (${rows[0].layout ?? 'layout 1'}): making them again`,
  );
  await conn.query(`DROP VIEW IF EXISTS ${ANSWER_VIEWS.map((v) => qualified(dbSchema, v)).join(', ')}`);
  await conn.query(`DROP TABLE IF EXISTS ${ANSWER_TABLES.map(t).join(', ')}`);
  return true;
}

/**
 * Adds the answer's index to `incident_events` when it lacks it (checked first: CREATE INDEX IF NOT EXISTS would
 * lock the table against writes for the rest of the load even when the index is there).
 */
async function indexIncidentEvents(conn: WarehouseConnection, dbSchema: string): Promise<void> {
  if (!(await relationExists(conn, answerTable(dbSchema, INCIDENT_EVENTS_INDEX))))
    await conn.query(incidentEventsIndexStatement(dbSchema));
}

/**
 * Creates (or replaces) the wait-time views over the tables that exist, with the answer tables behind them, and
 * builds those from the history when they are new (see answer-build). The views expect the shipped schemas'
 * columns: when a customised schema lacks one, the views are skipped (rolled back to a savepoint) with the
 * reason, and the load goes on — they are a convenience over the data, not part of it. A failing build is not
 * skipped: it fails the load, which leaves the warehouse as it was. With `maintain` false the answer tables are
 * emptied and marked out of date instead (see {@link emptyAnswer}).
 */
export async function applyViews(
  conn: WarehouseConnection,
  dbSchema: string,
  tables: string[],
  log?: Logger,
  maintain = true,
): Promise<ViewsOutcome> {
  const statements = viewStatements(dbSchema, { tables });
  if (statements.length === 0) return { created: [] };
  const answered = tables.includes(ARRIVALS_TABLE);
  const options = resolveViewOptions();
  await conn.query(`SAVEPOINT ${VIEWS_SAVEPOINT}`);
  try {
    if (answered) {
      await dropOtherLayout(conn, dbSchema, log);
      for (const sql of answerTableStatements(dbSchema)) await conn.query(sql);
      if (tables.includes(INCIDENT_EVENTS_TABLE)) await indexIncidentEvents(conn, dbSchema);
      // Names the first column the answer needs that a customised schema lacks.
      await conn.query(
        `SELECT ${arrivalSelect(options)} FROM ${qualified(dbSchema, ARRIVALS_TABLE)} a WHERE ${STATION_ARRIVAL} LIMIT 0`,
      );
    }
    for (const sql of statements) await conn.query(sql);
  } catch (err) {
    await conn.query(`ROLLBACK TO SAVEPOINT ${VIEWS_SAVEPOINT}`);
    return { skipped: (err as Error).message };
  }
  await conn.query(`RELEASE SAVEPOINT ${VIEWS_SAVEPOINT}`);
  const have = new Set(tables);
  const created = VIEW_NAMES.filter((v) => VIEW_REQUIREMENTS[v].every((t) => have.has(t)));
  if (!answered) return { created };
  if (!maintain) {
    await emptyAnswer(conn, dbSchema);
    log?.warn('wait-time answer not kept (--no-answer): the views are empty until a load without it rebuilds them');
    return { created, answer: 'emptied' };
  }
  const built = await ensureAnswer(conn, dbSchema, options, log);
  return { created, answer: built ? 'built' : 'up to date' };
}
