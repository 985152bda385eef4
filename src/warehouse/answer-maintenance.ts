/**
 * The loader's answer phase: after a snapshot's rows are written, and in the same transaction, bring the answer
 * tables (answer-tables.ts) up to date with the station arrivals the snapshot added. Its cost follows the snapshot:
 *
 * 1. The snapshot's new station arrivals, as headway rows, in a temp table.
 * 2. Link, per platform (station, line, direction), the new arrivals with the stretch of history they fall in: from
 *    the last stored arrival before the first new one to the first stored arrival after the last new one (for
 *    arrivals in order, that is one stored row). One window over the new rows and that stretch gives every row its
 *    predecessor: a late arrival links in between its neighbours and becomes the predecessor of the one after it.
 *    The same again in timetable order (`scheduled_at`). Stored rows whose predecessor changed are updated and
 *    noted; the new rows are inserted already linked.
 * 3. Bring the headways' incident flags up to date (answer-incidents.ts): in the touched hours, and inside the
 *    periods of the incidents that changed.
 * 4. Recompute the hourly sums of the hours that gained a row or whose rows changed, roll those days up again,
 *    and move the sums by hour of the day (per line, per platform) by the difference.
 *
 * Events the snapshot repeats are not in `arrivals` (the writer copied only new keys), so a replay changes nothing.
 */
import type { Logger } from '../basics/log.js';
import { warehouseBuildSteps, type AnswerStep } from './answer-build.js';
import {
  ARRIVAL_COLUMNS,
  addBinsSql,
  addHoursOfDaySql,
  binDeltas,
  arrivalSelect,
  insertDailySql,
  headwaysInHours,
  insertHourlySql,
  LINKED_COLUMNS,
  PLATFORM,
  platformPartition,
  samePlatform,
  serviceGap,
  STATION_ARRIVAL,
} from './answer-sql.js';
import { answerTable, HEADWAYS_TABLE, WAIT_DAILY_TABLE, WAIT_HOURLY_TABLE, type AnswerDb } from './answer-tables.js';
import { INCIDENT_TEMP_TABLES, incidentEventsTable, incidentFlagSteps } from './answer-incidents.js';
import { resolveViewOptions, type ResolvedViewOptions } from './view-options.js';

const NEW_ROWS = 'pg_temp.eventful_answer_new';
const TOUCHED = 'pg_temp.eventful_answer_touched';
const PLATFORM_COLS = PLATFORM.join(', ');

/** What one maintenance pass did. */
export interface AnswerMaintenanceCounts {
  /** Station arrivals added to the headway table. */
  arrivals: number;
  /** Stored headway rows whose predecessor changed (late or out-of-order arrivals). */
  relinked: number;
  /** Hourly groups recomputed. */
  hours: number;
  /** Whether the pass was a build (no headway was stored before it). */
  built: boolean;
}

/** The two orders a predecessor is taken in: actual arrivals, and the timetable. */
interface LinkOrder {
  /** The links' column that says a stored row is inside this order's stretch (so its link is exact). */
  flag: 'in_actual' | 'in_timetable';
  /** The column the stretch is bounded by. */
  by: 'arrived_at' | 'scheduled_at';
  /** The full sort order (unique). */
  order: string[];
  /** Columns set from the links: [target, links' column]. */
  sets: Array<[string, string]>;
  /** The rows this order links (the timetable order has only scheduled arrivals). */
  where: (alias: string) => string;
}

const ACTUAL: LinkOrder = {
  flag: 'in_actual',
  by: 'arrived_at',
  order: ['arrived_at', 'event_id'],
  sets: [
    ['previous_arrived_at', 'new_arrived_at'],
    ['previous_train_id', 'new_train_id'],
  ],
  where: () => 'true',
};
const TIMETABLE: LinkOrder = {
  flag: 'in_timetable',
  by: 'scheduled_at',
  order: ['scheduled_at', 'arrived_at', 'event_id'],
  sets: [['previous_scheduled_at', 'new_scheduled_at']],
  where: (alias) => `${alias}.scheduled_at IS NOT NULL`,
};

const LINKS = 'pg_temp.eventful_answer_links';
const cols = (alias: string): string => ARRIVAL_COLUMNS.map((c) => `${alias}.${c}`).join(', ');

/**
 * The stored rows of one order's stretches: per platform, the last stored row before the first new one (its
 * `anchor`, flagged false: its own link is not recomputed), the stored rows between the first and last new one, and
 * the first stored row after the last new one.
 */
function stretchSql(dbSchema: string, link: LinkOrder): string {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  const key = samePlatform('h', 'r');
  const flags = (inside: boolean): string =>
    `${inside && link === ACTUAL} AS in_actual, ${inside && link === TIMETABLE} AS in_timetable`;
  const asc = link.order.map((c) => `h.${c}`).join(', ');
  const desc = link.order.map((c) => `h.${c} DESC`).join(', ');
  return `SELECT w.* FROM (
    SELECT ${PLATFORM_COLS}, min(${link.by}) AS lo, max(${link.by}) AS hi FROM ${NEW_ROWS}
    WHERE ${link.by} IS NOT NULL GROUP BY ${PLATFORM_COLS}
  ) r CROSS JOIN LATERAL (
    (SELECT ${cols('h')}, ${flags(false)} FROM ${H} h WHERE ${key} AND ${link.where('h')} AND h.${link.by} < r.lo
     ORDER BY ${desc} LIMIT 1)
    UNION ALL
    (SELECT ${cols('h')}, ${flags(true)} FROM ${H} h WHERE ${key} AND h.${link.by} BETWEEN r.lo AND r.hi)
    UNION ALL
    (SELECT ${cols('h')}, ${flags(true)} FROM ${H} h WHERE ${key} AND ${link.where('h')} AND h.${link.by} > r.hi
     ORDER BY ${asc} LIMIT 1)
  ) w`;
}

/**
 * CREATE of the temp table of links: every new arrival and the stored rows of both orders' stretches, each with its
 * predecessor in actual order (`new_arrived_at`, `new_train_id`) and in timetable order (`new_scheduled_at`). A
 * window over a set that holds a whole stretch gives every row inside it its exact predecessor; extra rows outside
 * it only come before or after. Only the first and last new row of a platform cost index probes; the rest is a sort
 * of the snapshot's own rows.
 */
export function linksSql(dbSchema: string): string {
  return `CREATE TEMP TABLE eventful_answer_links AS
WITH stored AS (
  ${stretchSql(dbSchema, ACTUAL)}
  UNION ALL
  ${stretchSql(dbSchema, TIMETABLE)}
), linked AS (
  SELECT ${cols('n')}, true AS is_new, true AS in_actual, true AS in_timetable FROM ${NEW_ROWS} n
  UNION ALL
  SELECT ${cols('s')}, false, bool_or(s.in_actual), bool_or(s.in_timetable) FROM stored s GROUP BY ${cols('s')}
)
SELECT l.*, lag(l.arrived_at) OVER actual AS new_arrived_at, lag(l.train_id) OVER actual AS new_train_id,
  CASE WHEN l.scheduled_at IS NOT NULL THEN lag(l.scheduled_at) OVER timetable END AS new_scheduled_at
FROM linked l
WINDOW actual AS (${platformPartition('l')} ORDER BY l.arrived_at, l.event_id),
  timetable AS (${platformPartition('l')} ORDER BY l.scheduled_at NULLS LAST, l.arrived_at, l.event_id)`;
}

/**
 * UPDATE of the stored rows whose predecessor in one order changed, noting their hours as touched. In actual order
 * the headway itself changes, so it also moves the histograms: out of the bin the row was in (`was`, the same row
 * as the statement found it), into its new one.
 */
export function relinkSql(dbSchema: string, o: ResolvedViewOptions, link: LinkOrder): string {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  const changed = link.sets.map(([t, l]) => `t.${t} IS DISTINCT FROM w.${l}`).join(' OR ');
  const actual = link === ACTUAL;
  const gap = actual ? `, is_service_gap = ${serviceGap('w.arrived_at', 'w.new_arrived_at', o)}` : '';
  const was = actual
    ? {
        from: `, ${H} was`,
        where: ` AND ${samePlatform('was', 'w')} AND was.arrived_at = w.arrived_at AND was.event_id = w.event_id`,
        returning: `, was.headway_us AS was_us, was.is_service_gap AS was_gap, t.headway_us AS now_us,
    t.is_service_gap AS now_gap`,
        rebin: `, rebinned AS (${addBinsSql(dbSchema, [
          binDeltas('changed', 'was_us', 'was_gap', -1),
          binDeltas('changed', 'now_us', 'now_gap', 1),
        ])})`,
      }
    : { from: '', where: '', returning: '', rebin: '' };
  return `WITH changed AS (
  UPDATE ${H} t SET ${link.sets.map(([t, l]) => `${t} = w.${l}`).join(', ')}${gap}
  FROM ${LINKS} w${was.from}
  WHERE NOT w.is_new AND w.${link.flag} AND ${samePlatform('t', 'w')} AND t.arrived_at = w.arrived_at
    AND t.event_id = w.event_id AND (${changed})${was.where}
  RETURNING t.station_id, t.line, t.direction, t.hour_start, t.service_date${was.returning}
)${was.rebin}
INSERT INTO ${TOUCHED} SELECT station_id, line, direction, hour_start, service_date FROM changed`;
}

/** INSERT of the new arrivals into the headway table, linked to their predecessors, and of their headways into the histograms. */
function insertNewSql(dbSchema: string, o: ResolvedViewOptions): string {
  const stored = `stored AS (
  INSERT INTO ${answerTable(dbSchema, HEADWAYS_TABLE)} (${LINKED_COLUMNS.join(', ')})
  SELECT ${cols('l')}, l.new_train_id, l.new_arrived_at, l.new_scheduled_at,
    ${serviceGap('l.arrived_at', 'l.new_arrived_at', o)}
  FROM ${LINKS} l WHERE l.is_new
  RETURNING station_id, line, direction, headway_us, is_service_gap
)`;
  return addBinsSql(dbSchema, [binDeltas('stored', 'headway_us', 'is_service_gap', 1)], stored);
}

/** Temp tables of one pass (dropped before and after it). */
const TEMP_TABLES = [NEW_ROWS, TOUCHED, LINKS, ...INCIDENT_TEMP_TABLES].join(', ');

/**
 * The statements of one maintenance pass over the new rows in `added.arrivals` (a table like `train_arrivals`) and,
 * when given, `added.incidentEvents` (like `incident_events`), with the incident events table `events` (undefined
 * when the warehouse has none).
 */
export function maintenanceStatements(
  dbSchema: string,
  o: ResolvedViewOptions,
  added: AddedRows & { arrivals: string },
  events: string | undefined,
): AnswerStep[] {
  const arrivals = added.arrivals;
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  return [
    { what: 'clearing the work tables', sql: `DROP TABLE IF EXISTS ${TEMP_TABLES}` },
    {
      what: 'preparing the work tables',
      sql: `CREATE TEMP TABLE eventful_answer_new AS SELECT ${ARRIVAL_COLUMNS.join(', ')} FROM ${H} WITH NO DATA`,
    },
    {
      what: 'preparing the work tables',
      sql: `CREATE TEMP TABLE eventful_answer_touched AS
SELECT ${PLATFORM_COLS}, hour_start, service_date FROM ${H} WITH NO DATA`,
    },
    {
      what: "taking the snapshot's station arrivals",
      sql: `INSERT INTO ${NEW_ROWS} (${ARRIVAL_COLUMNS.join(', ')})
SELECT ${arrivalSelect(o)} FROM ${arrivals} a WHERE ${STATION_ARRIVAL}`,
      counts: 'arrivals',
    },
    // The planner needs their count and how many platforms they are on (the links probe the history per platform);
    // statistics of every column cost twice as much (~40 ms for a day's 15 k arrivals, the text columns most).
    { what: 'analysing them', sql: `ANALYZE ${NEW_ROWS} (${PLATFORM_COLS})` },
    { what: 'linking them to their neighbours', sql: linksSql(dbSchema) },
    { what: 'relinking stored headways (actual order)', sql: relinkSql(dbSchema, o, ACTUAL), counts: 'relinked' },
    {
      what: 'relinking stored headways (timetable order)',
      sql: relinkSql(dbSchema, o, TIMETABLE),
      counts: 'relinked',
    },
    { what: 'storing the new headways', sql: insertNewSql(dbSchema, o) },
    {
      what: 'noting the hours touched',
      sql: `INSERT INTO ${TOUCHED} SELECT ${PLATFORM_COLS}, hour_start, service_date FROM ${NEW_ROWS}`,
    },
    ...incidentFlagSteps(dbSchema, o, events, TOUCHED, added.incidentEvents),
    ...sumStatements(dbSchema, o),
  ];
}

/** Recomputes the hourly sums of the touched hours, their days, and moves the sums by hour of the day by the difference. */
function sumStatements(dbSchema: string, o: ResolvedViewOptions): AnswerStep[] {
  const hourly = answerTable(dbSchema, WAIT_HOURLY_TABLE);
  const daily = answerTable(dbSchema, WAIT_DAILY_TABLE);
  const hours = `(SELECT DISTINCT ${PLATFORM_COLS}, hour_start FROM ${TOUCHED}) x`;
  const days = `(SELECT DISTINCT ${PLATFORM_COLS}, service_date FROM ${TOUCHED}) x`;
  const dayStart = (d: string): string => `((${d})::timestamp AT TIME ZONE '${o.timeZone}')`;
  return [
    {
      what: "taking the touched hours' sums out",
      sql: addHoursOfDaySql(
        dbSchema,
        'gone',
        -1,
        `gone AS (DELETE FROM ${hourly} h USING ${hours}
  WHERE ${samePlatform('h', 'x')} AND h.hour_start = x.hour_start RETURNING h.*)`,
      ),
    },
    {
      what: 'summing the touched hours again',
      sql: addHoursOfDaySql(
        dbSchema,
        'fresh',
        1,
        `fresh AS (${insertHourlySql(dbSchema, o, headwaysInHours(dbSchema, TOUCHED), ' RETURNING *')})`,
      ),
    },
    {
      what: "taking the touched days' sums out",
      sql: `DELETE FROM ${daily} h USING ${days} WHERE ${samePlatform('h', 'x')} AND h.service_date = x.service_date`,
    },
    {
      what: 'rolling the touched hours up into days',
      sql: insertDailySql(
        dbSchema,
        `JOIN ${days} ON ${samePlatform('h', 'x')} AND h.service_date = x.service_date
  AND h.hour_start >= ${dayStart('x.service_date')} - interval '2 hours'
  AND h.hour_start < ${dayStart('x.service_date + 1')} + interval '2 hours'`,
      ),
    },
  ];
}

/** From this many new station arrivals on, a pass logs a progress line after each step (it takes minutes). */
export const PROGRESS_ARRIVALS = 100_000;

/** Whether the headway table holds no row yet: the warehouse's first station arrivals are being loaded. */
export async function noHeadwaysYet(db: AnswerDb, dbSchema: string): Promise<boolean> {
  const { rows } = await db.query<{ stored: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM ${answerTable(dbSchema, HEADWAYS_TABLE)}) AS stored`,
  );
  return rows[0]?.stored === false;
}

/**
 * The rows a snapshot added, in temp tables: to `train_arrivals` (or `build`: see {@link maintainAnswer}) and to
 * `incident_events` (without it, a pass computes every incident's period again).
 */
export interface AddedRows {
  arrivals: string | 'build';
  incidentEvents?: string | undefined;
}

/**
 * Runs one maintenance pass in the caller's transaction over the rows a snapshot added (`added`, and nothing else).
 * Returns what it did. A big pass logs each step as it ends.
 *
 * While no headway is stored yet (a first load), the pass is a build instead (answer-build.ts): one window over
 * `train_arrivals`, whose station arrivals are then all the snapshot's, into the headway table without its
 * indexes, which are made after. For 800 k arrivals that took 9 s instead of the pass's 16 s (which fits new
 * rows in among stored ones). `arrivals` is then not read: a caller that knows it builds passes `build` and
 * keeps no copy of the rows.
 */
export async function maintainAnswer(
  db: AnswerDb,
  dbSchema: string,
  o: ResolvedViewOptions,
  added: AddedRows,
  log?: Logger,
): Promise<AnswerMaintenanceCounts> {
  const { arrivals } = added;
  const building = await noHeadwaysYet(db, dbSchema);
  const counts: AnswerMaintenanceCounts = { arrivals: 0, relinked: 0, hours: 0, built: building };
  if (arrivals === 'build' && !building)
    throw new Error('the wait-time answer was to be built, but headways are stored already: load again');
  const steps =
    building || arrivals === 'build'
      ? await warehouseBuildSteps(db, dbSchema, o)
      : maintenanceStatements(dbSchema, o, { ...added, arrivals }, await incidentEventsTable(db, dbSchema));
  for (const [i, step] of steps.entries()) {
    const t0 = Date.now();
    const r = await db.query(step.sql);
    if (step.counts) counts[step.counts] += r.rowCount ?? 0;
    if (counts.arrivals >= PROGRESS_ARRIVALS)
      log?.info(`wait-time answer ${i + 1}/${steps.length}: ${step.what}: done in ${Date.now() - t0} ms`);
  }
  if (!building) {
    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM (SELECT DISTINCT ${PLATFORM_COLS}, hour_start FROM ${TOUCHED}) x`,
    );
    counts.hours = Number(rows[0]?.n ?? 0);
  }
  await db.query(`DROP TABLE IF EXISTS ${TEMP_TABLES}`);
  return counts;
}

/**
 * The loader's answer phase for one snapshot: maintains the answer from the rows the snapshot inserted (`added`: the
 * loader's temp tables of them), or builds it (`arrivals` is `build`: the
 * loader saw that no headway was stored yet, so it kept no copy of the rows).
 */
export async function answerPhase(db: AnswerDb, dbSchema: string, added: AddedRows, log: Logger): Promise<void> {
  const t0 = Date.now();
  const c = await maintainAnswer(db, dbSchema, resolveViewOptions(), added, log);
  log.info(
    c.built
      ? `wait-time answer built from the first ${c.arrivals} station arrival(s), ${c.hours} hour(s), ` +
          `in ${Date.now() - t0} ms`
      : `wait-time answer: ${c.arrivals} station arrival(s) added, ${c.relinked} stored headway(s) relinked, ` +
          `${c.hours} hour(s) recomputed in ${Date.now() - t0} ms`,
  );
}
