/**
 * Builds the answer tables from all of `train_arrivals` at once: what a warehouse needs the first time it loads
 * with a version that maintains the answer (or after the answer's settings or layout changed). Runs in the caller's
 * transaction, under the load lock: a failure midway rolls back to the warehouse as it was, and a concurrent load
 * waits for the lock and then finds the tables built (the state row says so).
 */
import type { Logger } from '../basics/log.js';
import {
  eventsToSweep,
  incidentEventsTable,
  keepAllPeriodsStep,
  overlaps,
  periodSteps,
  sweepSql,
} from './answer-incidents.js';
import {
  addBinsSql,
  addHoursOfDaySql,
  ARRIVAL_SOURCE_COLUMNS,
  binDeltas,
  arrivalSelect,
  insertDailySql,
  insertHourlySql,
  LINKED_COLUMNS,
  PLATFORM,
  platformPartition,
  serviceGap,
  STATION_ARRIVAL,
} from './answer-sql.js';
import {
  ANSWER_STATE_TABLE,
  ARRIVALS_TABLE,
  answerFingerprint,
  answerTable,
  ANSWER_TABLES,
  answerTableStatements,
  type CatalogReader,
  DERIVED_TABLES,
  headwayIndexCreates,
  headwayIndexDrops,
  HEADWAYS_TABLE,
  relationExists,
  WAIT_DAILY_TABLE,
  WAIT_HOURLY_TABLE,
  type AnswerDb,
} from './answer-tables.js';
import type { ResolvedViewOptions } from './view-options.js';

/** One statement of a build or a maintenance pass, what it does (for progress lines), and which count its row count is. */
export interface AnswerStep {
  what: string;
  sql: string;
  counts?: 'arrivals' | 'relinked' | 'hours';
}

/**
 * INSERT of every station arrival as a headway row, linked to the arrival before it in actual and in timetable
 * order. With incident events, each row's `during_incident` flag is set on the way in, from the overlap sweep
 * (answer-incidents.ts) over the arrivals before they are linked: setting it after, by an UPDATE, cost the 365-day
 * history 20 s and left a dead row version behind every flagged one, whose free space then scattered the next day's
 * rows over the table. The links' windows come last, so the rows go in grouped by platform, as the key orders them.
 */
function linkingSql(dbSchema: string, o: ResolvedViewOptions, events: string | undefined): string {
  const platform = platformPartition('a');
  const arrivals = `${answerTable(dbSchema, ARRIVALS_TABLE)} a WHERE ${STATION_ARRIVAL}`;
  const previous = 'lag(a.occurred_at) OVER actual';
  // The sweep's rows: the columns the select list reads, platforms as the text they are stored as.
  const source = ARRIVAL_SOURCE_COLUMNS.map((c) =>
    (PLATFORM as readonly string[]).includes(c) ? `a.${c}::text AS ${c}` : `a.${c}`,
  );
  const from = events
    ? `(${sweepSql(`(SELECT ${source.join(', ')} FROM ${arrivals})`, ARRIVAL_SOURCE_COLUMNS, 'occurred_at')}) a`
    : arrivals;
  return `INSERT INTO ${answerTable(dbSchema, HEADWAYS_TABLE)} (${LINKED_COLUMNS.join(', ')}${events ? ', during_incident' : ''})
SELECT ${arrivalSelect(o)},
  lag(a.train_id) OVER actual, ${previous},
  CASE WHEN a.scheduled_at IS NOT NULL THEN lag(a.scheduled_at) OVER timetable END,
  ${serviceGap('a.occurred_at', previous, o)}${events ? `,\n  ${overlaps('a.latest_end', previous)}` : ''}
FROM ${from}
WINDOW actual AS (${platform} ORDER BY a.occurred_at, a.event_id),
  timetable AS (${platform} ORDER BY a.scheduled_at NULLS LAST, a.occurred_at, a.event_id)`;
}

/** The named steps of a build, each one statement: what the progress lines say. */
export function buildSteps(dbSchema: string, o: ResolvedViewOptions, events: string | undefined): AnswerStep[] {
  const t = (name: string): string => answerTable(dbSchema, name);
  return [
    {
      what: 'emptying the answer tables',
      sql: `TRUNCATE ${DERIVED_TABLES.map(t).join(', ')}`,
    },
    // Into the emptied table, the rows go in unindexed and the indexes are made after: a sort each.
    ...headwayIndexDrops(dbSchema).map((sql) => ({ what: 'dropping the headway indexes until the rows are in', sql })),
    ...(events ? periodSteps(dbSchema, events) : []),
    {
      what: 'linking every station arrival to the one before it',
      sql: linkingSql(dbSchema, o, events),
      counts: 'arrivals',
    },
    ...headwayIndexCreates(dbSchema).map((sql) => ({ what: 'indexing the headways', sql })),
    {
      what: 'counting headways by length per platform',
      sql: addBinsSql(dbSchema, [binDeltas(t(HEADWAYS_TABLE), 'headway_us', 'is_service_gap', 1)]),
    },
    ...(events ? [keepAllPeriodsStep(dbSchema)] : []),
    { what: 'summing headways by hour', sql: insertHourlySql(dbSchema, o), counts: 'hours' },
    { what: 'rolling hours up into days', sql: insertDailySql(dbSchema, '') },
    {
      what: 'summing hours of the day by line and by platform',
      sql: addHoursOfDaySql(dbSchema, t(WAIT_HOURLY_TABLE), 1),
    },
    // The next load's pass plans its probes from these statistics. Without them (autovacuum analyses a table only
    // a while after it commits), a day's pass right after a first load, or the next snapshot of a backlog, took
    // 1.0 s instead of 0.45 s; the statistics of 800 k headways cost 0.46 s.
    {
      what: 'analysing the answer tables',
      sql: `ANALYZE ${[HEADWAYS_TABLE, WAIT_HOURLY_TABLE, WAIT_DAILY_TABLE].map(t).join(', ')}`,
    },
  ];
}

/** The steps of a build of `dbSchema`'s answer ({@link buildSteps}), sweeping incidents only when it has any. */
export async function warehouseBuildSteps(
  db: AnswerDb,
  dbSchema: string,
  o: ResolvedViewOptions,
): Promise<AnswerStep[]> {
  return buildSteps(dbSchema, o, await eventsToSweep(db, await incidentEventsTable(db, dbSchema)));
}

/** Empties the answer tables and forgets that they were built: the next {@link ensureAnswer} builds them again. */
export async function emptyAnswer(db: AnswerDb, dbSchema: string): Promise<void> {
  const t = (name: string): string => answerTable(dbSchema, name);
  await db.query(`TRUNCATE ${ANSWER_TABLES.map(t).join(', ')}`);
}

/**
 * Empties a built answer when a load added rows without keeping it up to date (`train_arrivals` not among the
 * loaded schemas, or the views skipped): a pass fits in only the arrivals and recomputes only the incident periods
 * that its own snapshot adds, so the answer would stay behind for good. The next load that keeps it builds it again.
 * Returns whether there was an answer to empty.
 */
export async function forgetAnswer(db: AnswerDb, dbSchema: string): Promise<boolean> {
  const state = answerTable(dbSchema, ANSWER_STATE_TABLE);
  if (!(await relationExists(db, state)) || !(await db.query(`SELECT 1 FROM ${state}`)).rowCount) return false;
  await emptyAnswer(db, dbSchema);
  return true;
}

/**
 * Whether `train_arrivals` holds a row but the answer tables hold no answer built from it: none at all (missing, or
 * emptied by --no-answer), or, given the settings `o`, none built with them (another layout or settings). What the
 * next load builds, and what `report` tells apart from an empty warehouse.
 */
export async function answerBehind(db: CatalogReader, dbSchema: string, o?: ResolvedViewOptions): Promise<boolean> {
  const [arrivals, state] = [answerTable(dbSchema, ARRIVALS_TABLE), answerTable(dbSchema, ANSWER_STATE_TABLE)];
  if (!(await relationExists(db, arrivals))) return false;
  const built = (await relationExists(db, state)) ? `(SELECT fingerprint FROM ${state})` : 'NULL::text';
  const { rows } = await db.query(`SELECT EXISTS (SELECT 1 FROM ${arrivals}) AS history, ${built} AS fingerprint`);
  const fingerprint = rows[0]?.['fingerprint'] ?? null;
  return rows[0]?.['history'] === true && (o ? fingerprint !== answerFingerprint(o) : fingerprint === null);
}

/** Whether `train_arrivals` holds a row. */
async function hasHistory(db: AnswerDb, dbSchema: string): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${answerTable(dbSchema, ARRIVALS_TABLE)}) AS any`,
  );
  return rows[0]?.any === true;
}

/** Whether the answer tables hold an answer built with these settings. */
async function isBuilt(db: AnswerDb, dbSchema: string, fingerprint: string): Promise<boolean> {
  const { rows } = await db.query<{ fingerprint: string }>(
    `SELECT fingerprint FROM ${answerTable(dbSchema, ANSWER_STATE_TABLE)}`,
  );
  return rows[0]?.fingerprint === fingerprint;
}

/**
 * Creates the answer tables when missing and, unless they already hold an answer built with the same settings,
 * builds them from `train_arrivals` with a progress line per step. Returns whether it built.
 */
export async function ensureAnswer(
  db: AnswerDb,
  dbSchema: string,
  o: ResolvedViewOptions,
  log?: Logger,
): Promise<boolean> {
  for (const sql of answerTableStatements(dbSchema)) await db.query(sql);
  const fingerprint = answerFingerprint(o);
  if (await isBuilt(db, dbSchema, fingerprint)) return false;
  // A new warehouse has no history to build from: the build is instant, and says nothing.
  const say = (await hasHistory(db, dbSchema)) ? log : undefined;
  const started = Date.now();
  say?.info(`building the wait-time answer tables from the history in ${dbSchema}.${ARRIVALS_TABLE} (once)`);
  const steps = await warehouseBuildSteps(db, dbSchema, o);
  for (const [i, step] of steps.entries()) {
    const t0 = Date.now();
    const r = await db.query(step.sql);
    say?.info(`answer build ${i + 1}/${steps.length}: ${step.what}: ${r.rowCount ?? 0} rows in ${Date.now() - t0} ms`);
  }
  await db.query(
    `INSERT INTO ${answerTable(dbSchema, ANSWER_STATE_TABLE)} (fingerprint) VALUES ($1)
     ON CONFLICT (singleton) DO UPDATE SET fingerprint = excluded.fingerprint, built_at = now()`,
    [fingerprint],
  );
  say?.info(`answer tables built in ${Date.now() - started} ms`);
  return true;
}
