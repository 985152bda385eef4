/**
 * Which headways overlap an incident, kept up to date by load (the answer's `during_incident` flags), so that
 * `line_incident_waits` reads sums instead of testing every headway against every incident.
 *
 * A headway overlaps an incident of its line when its train arrives after the report and the train before it
 * arrived before the resolution (never, while open). A flag can change for three reasons, and each pass recomputes
 * the flags of exactly those headways:
 *
 * - the headway is new, or its predecessor changed: the headways of the hours the pass touched;
 * - an incident's period changed (a new incident, a resolution, a late event that moves its report or its line):
 *   the headways of the line inside the period as it was and as it is. The periods the flags were last set from
 *   are kept in `eventful_answer_incidents`, so the changed ones are a comparison of a few rows per incident; a pass
 *   computes again only the periods of the incidents whose events the snapshot added.
 *
 * The overlap test is one sweep per line over the candidates and the periods in time order: a headway overlaps some
 * period iff the latest resolution among the periods reported before its arrival is after its predecessor's arrival.
 * Only flags that change are written; their hours are noted as touched, so their sums are recomputed. A build
 * (answer-build.ts) runs the same sweep over every headway as it inserts them, so their flags go in set.
 */
import { asBytes, headwaysInHours, incidentPeriodsSelect, samePlatform } from './answer-sql.js';
import {
  answerTable,
  HEADWAYS_TABLE,
  INCIDENT_EVENTS_TABLE,
  INCIDENT_SPANS_TABLE,
  relationExists,
  type AnswerDb,
} from './answer-tables.js';
import type { ResolvedViewOptions } from './view-options.js';

const PERIODS = 'pg_temp.eventful_answer_periods';
const CHANGED = 'pg_temp.eventful_answer_changed';
const FLAGS = 'pg_temp.eventful_answer_flags';

/** The temp tables of the incident steps. */
export const INCIDENT_TEMP_TABLES = [PERIODS, CHANGED, FLAGS] as const;

/** The columns of a stored headway that a pass's sweep needs. */
const CANDIDATE_COLUMNS = [
  'station_id',
  'line',
  'direction',
  'arrived_at',
  'event_id',
  'previous_arrived_at',
  'during_incident',
] as const;
const CANDIDATE = CANDIDATE_COLUMNS.map((c) => `h.${c}`).join(', ');

/**
 * The overlap sweep: the rows of `rows` (a FROM item with `columns`, among them `line` (text) and the time column
 * `time`), each with `latest_end`, the latest resolution (infinity while open) among the `periods` (default: those in
 * eventful_answer_periods) of its line reported before its time. One pass per line over the rows and the periods in time order. A headway
 * overlaps an incident iff that is after its predecessor's arrival: {@link overlaps}.
 */
export function sweepSql(rows: string, columns: readonly string[], time: string, periods = PERIODS): string {
  const fromPeriod = columns
    .map((c) => (c === 'line' ? 'p.line::text' : c === time ? 'p.reported_at' : 'NULL'))
    .join(', ');
  return `SELECT s.* FROM (
  SELECT s.*,
    max(s.ends) OVER (PARTITION BY ${asBytes('s.line')} ORDER BY s.${time}, s.ord ROWS UNBOUNDED PRECEDING) AS latest_end
  FROM (
    -- At the same instant a row sorts before a period: an incident reported as the train arrives is not overlapped.
    SELECT ${columns.map((c) => `r.${c}`).join(', ')}, 0 AS ord, NULL::timestamptz AS ends FROM ${rows} r
    UNION ALL
    SELECT ${fromPeriod}, 1, coalesce(p.resolved_at, 'infinity') FROM ${periods} p WHERE p.line IS NOT NULL
  ) s
) s WHERE s.ord = 0`;
}

/** Whether a headway overlaps an incident, from its row's `latest_end` ({@link sweepSql}) and its predecessor's arrival. */
export const overlaps = (latestEnd: string, previous: string): string => `coalesce(${latestEnd} > ${previous}, false)`;

/**
 * `events` when it holds a row, else undefined: what a build sweeps. Without an incident no flag is set, and the
 * sweep (a sort of every station arrival, ~4 s for 800 k) is skipped.
 */
export async function eventsToSweep(db: AnswerDb, events: string | undefined): Promise<string | undefined> {
  if (!events) return undefined;
  const { rows } = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${events}) AS any`);
  return rows[0]?.any ? events : undefined;
}

/** `"schema"."incident_events"` when the warehouse has that table, else undefined (no incidents: no flag is set). */
export async function incidentEventsTable(db: AnswerDb, dbSchema: string): Promise<string | undefined> {
  const table = answerTable(dbSchema, INCIDENT_EVENTS_TABLE);
  return (await relationExists(db, table)) ? table : undefined;
}

/**
 * CREATE of the temp table of the current period of every incident (none without an incident events table), or, with
 * `added` (a table of incident events a snapshot added), of the incidents those events are about: the only periods
 * that can have changed, since events are only ever added.
 */
function periodsSql(dbSchema: string, events: string | undefined, added?: string): string {
  const source = added
    ? `(SELECT e.* FROM ${events} e WHERE e.incident_id IN (SELECT n.incident_id FROM ${added} n))`
    : events;
  const from = source
    ? `(${incidentPeriodsSelect(source)}) p WHERE p.incident_id IS NOT NULL`
    : `${answerTable(dbSchema, INCIDENT_SPANS_TABLE)} p WHERE false`;
  return `CREATE TEMP TABLE eventful_answer_periods AS
SELECT p.incident_id::text AS incident_id, p.line, p.reported_at, p.resolved_at FROM ${from}`;
}

/**
 * CREATE of the temp table of the incidents whose period changed, with the period as it was and as it is: the
 * periods the flags follow compared with the temp table's, all of them or, `onlyAdded`, those of its incidents.
 */
function changedSql(dbSchema: string, onlyAdded: boolean): string {
  const spans = answerTable(dbSchema, INCIDENT_SPANS_TABLE);
  const old = onlyAdded ? `(SELECT * FROM ${spans} WHERE incident_id IN (SELECT incident_id FROM ${PERIODS}))` : spans;
  return `CREATE TEMP TABLE eventful_answer_changed AS
SELECT c.incident_id, s.line, s.lo, s.hi FROM (
  SELECT coalesce(n.incident_id, o.incident_id) AS incident_id, o.line AS old_line, o.reported_at AS old_lo,
    o.resolved_at AS old_hi, n.line AS new_line, n.reported_at AS new_lo, n.resolved_at AS new_hi
  FROM ${old} o FULL JOIN ${PERIODS} n ON n.incident_id = o.incident_id
  WHERE (o.line, o.reported_at, o.resolved_at) IS DISTINCT FROM (n.line, n.reported_at, n.resolved_at)
) c CROSS JOIN LATERAL (VALUES (c.old_line, c.old_lo, c.old_hi), (c.new_line, c.new_lo, c.new_hi)) s (line, lo, hi)`;
}

/**
 * CREATE of the temp table of the headways whose flag changes, with the new flag. Candidates: the headways of the
 * touched hours (only on lines with an incident, or already flagged) and those inside a changed period (an index
 * range of the line: a headway that is not a gap ends at most the service-gap bound after its predecessor; gaps
 * come from their own partial index).
 *
 * Only the periods still open after the earliest predecessor among the candidates take part (by the index of
 * `eventful_answer_incidents` on `resolved_at`): one that ended before a headway's train before it arrived cannot
 * overlap it, nor raise the latest end the sweep compares with that arrival above it. So the sweep sorts the
 * snapshot's rows and the incidents of their days, not every incident of history.
 */
function flagsSql(dbSchema: string, o: ResolvedViewOptions, touched: string, onlyAdded: boolean): string {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  // Every incident's current period: with only the added incidents' periods computed, the kept ones of the others.
  const spans = answerTable(dbSchema, INCIDENT_SPANS_TABLE);
  const periods = onlyAdded
    ? `(SELECT incident_id, line, reported_at, resolved_at FROM ${spans}
    WHERE incident_id NOT IN (SELECT incident_id FROM ${PERIODS})
    UNION ALL SELECT incident_id, line, reported_at, resolved_at FROM ${PERIODS})`
    : PERIODS;
  const openAfter = (rows: string): string =>
    `(SELECT * FROM ${periods} p
    WHERE p.resolved_at IS NULL OR p.resolved_at > (SELECT min(previous_arrived_at) FROM ${rows}))`;
  const reach = `interval '${o.maxHeadwaySeconds} seconds'`;
  return `CREATE TEMP TABLE eventful_answer_flags AS
WITH touched_rows AS MATERIALIZED (SELECT h.* FROM ${headwaysInHours(dbSchema, touched, CANDIDATE)}),
candidates AS MATERIALIZED (
  SELECT t.* FROM touched_rows t
  WHERE t.during_incident OR t.line IN (SELECT p.line FROM ${openAfter('touched_rows')} p)
  UNION ALL
  SELECT w.* FROM (SELECT DISTINCT line, lo, hi FROM ${CHANGED} WHERE line IS NOT NULL AND lo IS NOT NULL) r
  CROSS JOIN LATERAL (
    (SELECT ${CANDIDATE} FROM ${H} h WHERE h.line = r.line AND NOT h.is_service_gap AND h.arrived_at > r.lo
      AND h.arrived_at <= coalesce(r.hi, 'infinity') + ${reach})
    UNION ALL
    (SELECT ${CANDIDATE} FROM ${H} h WHERE h.line = r.line AND h.is_service_gap AND h.arrived_at > r.lo
      AND h.previous_arrived_at < coalesce(r.hi, 'infinity'))
  ) w
)
SELECT DISTINCT w.station_id, w.line, w.direction, w.arrived_at, w.event_id, w.flag FROM (
  SELECT s.*, ${overlaps('s.latest_end', 's.previous_arrived_at')} AS flag
  FROM (${sweepSql('candidates', CANDIDATE_COLUMNS, 'arrived_at', openAfter('candidates'))}) s
) w WHERE w.flag IS DISTINCT FROM w.during_incident`;
}

/** UPDATE of the changed flags, noting their hours in `touched` (their sums are recomputed). */
function applyFlagsSql(dbSchema: string, touched: string): string {
  return `WITH changed AS (
  UPDATE ${answerTable(dbSchema, HEADWAYS_TABLE)} t SET during_incident = f.flag FROM ${FLAGS} f
  WHERE ${samePlatform('t', 'f')} AND t.arrived_at = f.arrived_at AND t.event_id = f.event_id
  RETURNING t.station_id, t.line, t.direction, t.hour_start, t.service_date
)
INSERT INTO ${touched} SELECT * FROM changed`;
}

/**
 * The steps that make the temp table of the incident periods from `events` (undefined: none): every incident's, or
 * with `added` only those of the incidents its events are about (see {@link periodsSql}).
 */
export function periodSteps(
  dbSchema: string,
  events: string | undefined,
  added?: string,
): Array<{ what: string; sql: string }> {
  return [
    { what: 'clearing the incident work tables', sql: `DROP TABLE IF EXISTS ${INCIDENT_TEMP_TABLES.join(', ')}` },
    // Without statistics the planner guesses hundreds of incidents and scans every event instead of probing
    // incident_events' index by incident (INCIDENT_EVENTS_INDEX) for the few the snapshot is about.
    ...(added && events
      ? [{ what: 'analysing the added incident events', sql: `ANALYZE ${added} (incident_id)` }]
      : []),
    { what: 'finding the incident periods', sql: periodsSql(dbSchema, events, added) },
  ];
}

/** INSERT of the periods of the incidents in `ids` (a SELECT of incident ids) into the periods the flags follow. */
function keepPeriodsSql(dbSchema: string, ids?: string): string {
  return `INSERT INTO ${answerTable(dbSchema, INCIDENT_SPANS_TABLE)} (incident_id, line, reported_at, resolved_at)
SELECT incident_id, line, reported_at, resolved_at FROM ${PERIODS}${ids ? ` WHERE incident_id IN (${ids})` : ''}`;
}

/** The step of a build that keeps every period as the one the flags follow (the build set every flag from them). */
export function keepAllPeriodsStep(dbSchema: string): { what: string; sql: string } {
  return { what: 'keeping the incident periods the flags follow', sql: keepPeriodsSql(dbSchema) };
}

/**
 * The incident steps of a maintenance pass, each with what it does: from the incident events table `events`
 * (undefined: none), bring every `during_incident` flag up to date, noting the hours of changed flags in `touched`,
 * and keep the periods they follow. With `added`, the table of the incident events the snapshot added, only the
 * periods of those incidents are computed again: a pass then aggregates the incidents it touches, not all of history's
 * (it reads their events through incident_events' index by incident, and sorts the kept periods, a few thousand a
 * year, with its candidates).
 */
export function incidentFlagSteps(
  dbSchema: string,
  o: ResolvedViewOptions,
  events: string | undefined,
  touched: string,
  added?: string,
): Array<{ what: string; sql: string }> {
  const onlyAdded = events !== undefined && added !== undefined;
  return [
    ...periodSteps(dbSchema, events, onlyAdded ? added : undefined),
    { what: 'comparing them with the ones the flags follow', sql: changedSql(dbSchema, onlyAdded) },
    { what: 'finding the headways whose incident flag changes', sql: flagsSql(dbSchema, o, touched, onlyAdded) },
    { what: 'flagging the headways during incidents', sql: applyFlagsSql(dbSchema, touched) },
    {
      what: "forgetting the changed incidents' old periods",
      sql: `DELETE FROM ${answerTable(dbSchema, INCIDENT_SPANS_TABLE)} WHERE incident_id IN (SELECT incident_id FROM ${CHANGED})`,
    },
    {
      what: 'keeping the incident periods the flags follow',
      sql: keepPeriodsSql(dbSchema, `SELECT incident_id FROM ${CHANGED}`),
    },
  ];
}
