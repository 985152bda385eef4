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
 * 3. Recompute the hourly sums of the hours that gained a row or whose rows changed, roll those days up again,
 *    and move the line-hour sums by the difference.
 *
 * Events the snapshot repeats are not in `arrivals` (the writer copied only new keys), so a replay changes nothing.
 */
import type { Logger } from '../cli/log.js';
import type { WarehouseConnection } from './connection.js';
import {
  ARRIVAL_COLUMNS,
  addLineHoursSql,
  arrivalSelect,
  insertDailySql,
  insertHourlySql,
  PLATFORM,
  samePlatform,
  serviceGap,
  STATION_ARRIVAL,
} from './answer-sql.js';
import { answerTable, HEADWAYS_TABLE, WAIT_DAILY_TABLE, WAIT_HOURLY_TABLE } from './answer-tables.js';
import { resolveViewOptions, type ResolvedViewOptions } from './views.js';

/** The part of a connection the answer needs (a pg.Client fits too). */
export type AnswerDb = Pick<WarehouseConnection, 'query'>;

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
}

/** The two orders a predecessor is taken in: actual arrivals, and the timetable. */
interface LinkOrder {
  /** Name of the temp table of this order's links. */
  name: string;
  /** The column the stretch is bounded by. */
  by: 'arrived_at' | 'scheduled_at';
  /** The full sort order (unique). */
  order: string[];
  /** Columns set from the predecessor: [target, predecessor's column]. */
  sets: Array<[string, string]>;
  /** The rows this order links (the timetable order has only scheduled arrivals). */
  where: (alias: string) => string;
}

const ACTUAL: LinkOrder = {
  name: 'eventful_answer_actual',
  by: 'arrived_at',
  order: ['arrived_at', 'event_id'],
  sets: [
    ['previous_arrived_at', 'arrived_at'],
    ['previous_train_id', 'train_id'],
  ],
  where: () => 'true',
};
const TIMETABLE: LinkOrder = {
  name: 'eventful_answer_timetable',
  by: 'scheduled_at',
  order: ['scheduled_at', 'arrived_at', 'event_id'],
  sets: [['previous_scheduled_at', 'scheduled_at']],
  where: (alias) => `${alias}.scheduled_at IS NOT NULL`,
};

/** The columns a link row carries: the headway row's key and what its predecessor's values come from. */
const LINK_COLS = (alias: string): string =>
  `${alias}.station_id, ${alias}.line, ${alias}.direction, ${alias}.arrived_at, ${alias}.event_id, ` +
  `${alias}.scheduled_at, ${alias}.train_id`;

/**
 * CREATE of the temp table of one order's links: every new arrival, and per platform the stored rows of the stretch
 * the new ones fall in (the last stored row before it, flagged `anchor`; the stored rows inside it; the first
 * stored row after it), each with its predecessor in that order (`new_<column>`). Only the first and last new row of
 * a platform cost index probes; the rest is one sort of the snapshot's own rows.
 */
export function linksSql(dbSchema: string, link: LinkOrder): string {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  const key = samePlatform('h', 'r');
  const asc = link.order.map((c) => `h.${c}`).join(', ');
  const desc = link.order.map((c) => `h.${c} DESC`).join(', ');
  return `CREATE TEMP TABLE ${link.name} AS
WITH ranges AS (
  SELECT ${PLATFORM_COLS}, min(${link.by}) AS lo, max(${link.by}) AS hi FROM ${NEW_ROWS}
  WHERE ${link.by} IS NOT NULL GROUP BY ${PLATFORM_COLS}
), stretch AS (
  SELECT ${LINK_COLS('n')}, true AS is_new, false AS anchor FROM ${NEW_ROWS} n WHERE ${link.where('n')}
  UNION ALL
  SELECT w.* FROM ranges r CROSS JOIN LATERAL (
    (SELECT ${LINK_COLS('h')}, false, true FROM ${H} h WHERE ${key} AND ${link.where('h')} AND h.${link.by} < r.lo
     ORDER BY ${desc} LIMIT 1)
    UNION ALL
    (SELECT ${LINK_COLS('h')}, false, false FROM ${H} h WHERE ${key} AND h.${link.by} BETWEEN r.lo AND r.hi)
    UNION ALL
    (SELECT ${LINK_COLS('h')}, false, false FROM ${H} h WHERE ${key} AND ${link.where('h')} AND h.${link.by} > r.hi
     ORDER BY ${asc} LIMIT 1)
  ) w
)
SELECT s.*, ${link.sets.map(([, p]) => `lag(s.${p}) OVER o AS new_${p}`).join(', ')}
FROM stretch s
WINDOW o AS (PARTITION BY s.station_id, s.line, s.direction ORDER BY ${link.order.map((c) => `s.${c}`).join(', ')})`;
}

/** UPDATE of the stored rows whose predecessor in one order changed, noting their hours as touched. */
export function relinkSql(dbSchema: string, o: ResolvedViewOptions, link: LinkOrder): string {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  const changed = link.sets.map(([t, p]) => `t.${t} IS DISTINCT FROM w.new_${p}`).join(' OR ');
  const gap = link.by === 'arrived_at' ? `, is_service_gap = ${serviceGap('w.arrived_at', 'w.new_arrived_at', o)}` : '';
  return `WITH changed AS (
  UPDATE ${H} t SET ${link.sets.map(([tc, p]) => `${tc} = w.new_${p}`).join(', ')}${gap}
  FROM pg_temp.${link.name} w
  WHERE NOT w.is_new AND NOT w.anchor AND ${samePlatform('t', 'w')} AND t.arrived_at = w.arrived_at
    AND t.event_id = w.event_id AND (${changed})
  RETURNING t.station_id, t.line, t.direction, t.hour_start, t.service_date
)
INSERT INTO ${TOUCHED} SELECT * FROM changed`;
}

/** INSERT of the new arrivals into the headway table, linked to their predecessors. */
function insertNewSql(dbSchema: string, o: ResolvedViewOptions): string {
  const join = (alias: string): string =>
    `${alias}.is_new AND ${samePlatform(alias, 'n')} AND ${alias}.arrived_at = n.arrived_at AND ${alias}.event_id = n.event_id`;
  return `INSERT INTO ${answerTable(dbSchema, HEADWAYS_TABLE)}
  (${ARRIVAL_COLUMNS.join(', ')}, previous_train_id, previous_arrived_at, previous_scheduled_at, is_service_gap)
SELECT ${ARRIVAL_COLUMNS.map((c) => `n.${c}`).join(', ')}, a.new_train_id, a.new_arrived_at, t.new_scheduled_at,
  ${serviceGap('n.arrived_at', 'a.new_arrived_at', o)}
FROM ${NEW_ROWS} n
JOIN pg_temp.${ACTUAL.name} a ON ${join('a')}
LEFT JOIN pg_temp.${TIMETABLE.name} t ON ${join('t')}`;
}

/** Temp tables of one pass (dropped before and after it). */
const TEMP_TABLES = [NEW_ROWS, TOUCHED, `pg_temp.${ACTUAL.name}`, `pg_temp.${TIMETABLE.name}`].join(', ');

/** One statement of a pass, and which count its row count is (if any). */
interface Step {
  sql: string;
  counts?: 'arrivals' | 'relinked';
}

/** The statements of one maintenance pass over the new rows in `arrivals` (a table like `train_arrivals`). */
export function maintenanceStatements(dbSchema: string, o: ResolvedViewOptions, arrivals: string): Step[] {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  return [
    { sql: `DROP TABLE IF EXISTS ${TEMP_TABLES}` },
    { sql: `CREATE TEMP TABLE eventful_answer_new AS SELECT ${ARRIVAL_COLUMNS.join(', ')} FROM ${H} WITH NO DATA` },
    {
      sql: `CREATE TEMP TABLE eventful_answer_touched AS
SELECT ${PLATFORM_COLS}, hour_start, service_date FROM ${H} WITH NO DATA`,
    },
    {
      sql: `INSERT INTO ${NEW_ROWS} (${ARRIVAL_COLUMNS.join(', ')})
SELECT ${arrivalSelect(o)} FROM ${arrivals} a WHERE ${STATION_ARRIVAL}`,
      counts: 'arrivals',
    },
    { sql: `ANALYZE ${NEW_ROWS}` },
    { sql: linksSql(dbSchema, ACTUAL) },
    { sql: linksSql(dbSchema, TIMETABLE) },
    { sql: relinkSql(dbSchema, o, ACTUAL), counts: 'relinked' },
    { sql: relinkSql(dbSchema, o, TIMETABLE), counts: 'relinked' },
    { sql: insertNewSql(dbSchema, o) },
    { sql: `INSERT INTO ${TOUCHED} SELECT ${PLATFORM_COLS}, hour_start, service_date FROM ${NEW_ROWS}` },
    ...sumStatements(dbSchema, o).map((sql) => ({ sql })),
  ];
}

/** Recomputes the hourly sums of the touched hours, their days, and moves the line-hour sums by the difference. */
function sumStatements(dbSchema: string, o: ResolvedViewOptions): string[] {
  const hourly = answerTable(dbSchema, WAIT_HOURLY_TABLE);
  const daily = answerTable(dbSchema, WAIT_DAILY_TABLE);
  const hours = `(SELECT DISTINCT ${PLATFORM_COLS}, hour_start FROM ${TOUCHED}) x`;
  const days = `(SELECT DISTINCT ${PLATFORM_COLS}, service_date FROM ${TOUCHED}) x`;
  const dayStart = (d: string): string => `((${d})::timestamp AT TIME ZONE '${o.timeZone}')`;
  return [
    addLineHoursSql(
      dbSchema,
      `WITH gone AS (DELETE FROM ${hourly} h USING ${hours}
  WHERE ${samePlatform('h', 'x')} AND h.hour_start = x.hour_start RETURNING h.*)`,
      'gone',
      -1,
    ),
    // A day-light saving hour can hold two hours of arrivals: the range reaches two hours, hour_start decides.
    addLineHoursSql(
      dbSchema,
      `WITH fresh AS (${insertHourlySql(
        dbSchema,
        o,
        `JOIN ${hours} ON ${samePlatform('h', 'x')} AND h.arrived_at >= x.hour_start
  AND h.arrived_at < x.hour_start + interval '2 hours' AND h.hour_start = x.hour_start`,
        ' RETURNING *',
      )})`,
      'fresh',
      1,
    ),
    `DELETE FROM ${daily} h USING ${days} WHERE ${samePlatform('h', 'x')} AND h.service_date = x.service_date`,
    insertDailySql(
      dbSchema,
      `JOIN ${days} ON ${samePlatform('h', 'x')} AND h.service_date = x.service_date
  AND h.hour_start >= ${dayStart('x.service_date')} - interval '2 hours'
  AND h.hour_start < ${dayStart('x.service_date + 1')} + interval '2 hours'`,
    ),
  ];
}

/**
 * Runs one maintenance pass in the caller's transaction: `arrivals` holds the rows the snapshot added to
 * `train_arrivals` (and nothing else). Returns what it did.
 */
export async function maintainAnswer(
  db: AnswerDb,
  dbSchema: string,
  o: ResolvedViewOptions,
  arrivals: string,
): Promise<AnswerMaintenanceCounts> {
  const counts: AnswerMaintenanceCounts = { arrivals: 0, relinked: 0, hours: 0 };
  for (const step of maintenanceStatements(dbSchema, o, arrivals)) {
    const r = await db.query(step.sql);
    if (step.counts) counts[step.counts] += r.rowCount ?? 0;
  }
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT DISTINCT ${PLATFORM_COLS}, hour_start FROM ${TOUCHED}) x`,
  );
  counts.hours = Number(rows[0]?.n ?? 0);
  await db.query(`DROP TABLE IF EXISTS ${TEMP_TABLES}`);
  return counts;
}

/**
 * The loader's answer phase for one snapshot: maintains the answer from the rows the snapshot inserted into
 * `train_arrivals` (`inserted`: the loader's temp table of them; nothing to do without one).
 */
export async function answerPhase(
  db: AnswerDb,
  dbSchema: string,
  inserted: string | undefined,
  log: Logger,
): Promise<void> {
  if (!inserted) return;
  const t0 = Date.now();
  const c = await maintainAnswer(db, dbSchema, resolveViewOptions(), inserted);
  log.info(
    `wait-time answer: ${c.arrivals} station arrival(s) added, ${c.relinked} stored headway(s) relinked, ` +
      `${c.hours} hour(s) recomputed in ${Date.now() - t0} ms`,
  );
}
