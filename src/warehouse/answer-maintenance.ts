/**
 * The loader's answer phase: after a snapshot's rows are written, and in the same transaction, bring the answer
 * tables (answer-tables.ts) up to date with the station arrivals the snapshot added. Its cost follows the snapshot:
 *
 * 1. The new arrivals become headway rows (without predecessors yet).
 * 2. Relink, per platform (station, line, direction), only the stretch of history the snapshot's arrivals fall in:
 *    from the last stored arrival before its first new one to the first stored arrival after its last new one
 *    (for arrivals in order, that is the new rows and one stored row). One window over that stretch gives every
 *    row its predecessor: a late arrival links in between its neighbours and becomes the predecessor of the one
 *    after it. The same again in timetable order (`scheduled_at`). Rows whose predecessor changed are noted.
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
  /** The column the stretch is bounded by. */
  by: 'arrived_at' | 'scheduled_at';
  /** The full sort order (unique). */
  order: string[];
  /** Columns set from the predecessor: [target, predecessor's column]. */
  sets: Array<[string, string]>;
  /** Extra condition on stored rows (the timetable order has only scheduled arrivals). */
  where: string;
}

const ACTUAL: LinkOrder = {
  by: 'arrived_at',
  order: ['arrived_at', 'event_id'],
  sets: [
    ['previous_arrived_at', 'arrived_at'],
    ['previous_train_id', 'train_id'],
  ],
  where: 'true',
};
const TIMETABLE: LinkOrder = {
  by: 'scheduled_at',
  order: ['scheduled_at', 'arrived_at', 'event_id'],
  sets: [['previous_scheduled_at', 'scheduled_at']],
  where: 'h.scheduled_at IS NOT NULL',
};

/** Statement that relinks the stretches the new rows fall in, in one order, noting the hours it changed. */
export function relinkSql(dbSchema: string, o: ResolvedViewOptions, link: LinkOrder): string {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  const cols = `h.station_id, h.line, h.direction, h.event_id, h.arrived_at, h.scheduled_at, h.train_id`;
  const key = samePlatform('h', 'r');
  const asc = link.order.map((c) => `h.${c}`).join(', ');
  const desc = link.order.map((c) => `h.${c} DESC`).join(', ');
  const changed = link.sets.map(([t, p]) => `t.${t} IS DISTINCT FROM w.new_${p}`).join(' OR ');
  const gap = link.by === 'arrived_at' ? `, is_service_gap = ${serviceGap('w.arrived_at', 'w.new_arrived_at', o)}` : '';
  return `WITH ranges AS (
  SELECT ${PLATFORM_COLS}, min(${link.by}) AS lo, max(${link.by}) AS hi FROM ${NEW_ROWS}
  WHERE ${link.by} IS NOT NULL GROUP BY ${PLATFORM_COLS}
), stretch AS (
  SELECT w.*, ${link.sets.map(([, p]) => `lag(w.${p}) OVER o AS new_${p}`).join(', ')}
  FROM ranges r CROSS JOIN LATERAL (
    (SELECT ${cols}, true AS anchor FROM ${H} h WHERE ${key} AND ${link.where} AND h.${link.by} < r.lo
     ORDER BY ${desc} LIMIT 1)
    UNION ALL
    (SELECT ${cols}, false FROM ${H} h WHERE ${key} AND h.${link.by} BETWEEN r.lo AND r.hi)
    UNION ALL
    (SELECT ${cols}, false FROM ${H} h WHERE ${key} AND ${link.where} AND h.${link.by} > r.hi ORDER BY ${asc} LIMIT 1)
  ) w
  WINDOW o AS (PARTITION BY w.station_id, w.line, w.direction ORDER BY ${link.order.map((c) => `w.${c}`).join(', ')})
), changed AS (
  UPDATE ${H} t SET ${link.sets.map(([tc, p]) => `${tc} = w.new_${p}`).join(', ')}${gap}
  FROM stretch w
  WHERE NOT w.anchor AND ${samePlatform('t', 'w')} AND t.arrived_at = w.arrived_at AND t.event_id = w.event_id
    AND (${changed})
  RETURNING t.station_id, t.line, t.direction, t.hour_start, t.service_date
)
INSERT INTO ${TOUCHED} SELECT * FROM changed`;
}

/** The statements of one maintenance pass over the new rows in `arrivals` (a table like `train_arrivals`). */
export function maintenanceStatements(dbSchema: string, o: ResolvedViewOptions, arrivals: string): string[] {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  const hourly = answerTable(dbSchema, WAIT_HOURLY_TABLE);
  const daily = answerTable(dbSchema, WAIT_DAILY_TABLE);
  const hours = `(SELECT DISTINCT ${PLATFORM_COLS}, hour_start FROM ${TOUCHED}) x`;
  const days = `(SELECT DISTINCT ${PLATFORM_COLS}, service_date FROM ${TOUCHED}) x`;
  const dayStart = (d: string): string => `((${d})::timestamp AT TIME ZONE '${o.timeZone}')`;
  return [
    `DROP TABLE IF EXISTS ${NEW_ROWS}, ${TOUCHED}`,
    `CREATE TEMP TABLE eventful_answer_new AS SELECT ${ARRIVAL_COLUMNS.join(', ')} FROM ${H} WITH NO DATA`,
    `CREATE TEMP TABLE eventful_answer_touched AS SELECT ${PLATFORM_COLS}, hour_start, service_date FROM ${H} WITH NO DATA`,
    `WITH added AS (
  INSERT INTO ${H} (${ARRIVAL_COLUMNS.join(', ')})
  SELECT ${arrivalSelect(o)} FROM ${arrivals} a WHERE ${STATION_ARRIVAL}
  RETURNING ${ARRIVAL_COLUMNS.join(', ')}
) INSERT INTO ${NEW_ROWS} SELECT * FROM added`,
    `INSERT INTO ${TOUCHED} SELECT ${PLATFORM_COLS}, hour_start, service_date FROM ${NEW_ROWS}`,
    relinkSql(dbSchema, o, ACTUAL),
    relinkSql(dbSchema, o, TIMETABLE),
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
  const statements = maintenanceStatements(dbSchema, o, arrivals);
  for (const [i, sql] of statements.entries()) {
    const r = await db.query(sql);
    const n = r.rowCount ?? 0;
    if (i === 3) counts.arrivals = n;
    if (i === 5 || i === 6) counts.relinked += n;
  }
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT DISTINCT ${PLATFORM_COLS}, hour_start FROM ${TOUCHED}) x`,
  );
  counts.hours = Number(rows[0]?.n ?? 0);
  await db.query(`DROP TABLE IF EXISTS ${NEW_ROWS}, ${TOUCHED}`);
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
