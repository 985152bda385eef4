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
 *   are kept in `eventful_answer_incidents`, so the changed ones are a comparison of a few rows per incident.
 *
 * The overlap test is one sweep per line over the candidates and the periods in time order: a headway overlaps some
 * period iff the latest resolution among the periods reported before its arrival is after its predecessor's arrival.
 * Only flags that change are written; their hours are noted as touched, so their sums are recomputed.
 */
import { headwaysInHours, incidentPeriodsSelect, samePlatform } from './answer-sql.js';
import {
  answerTable,
  HEADWAYS_TABLE,
  INCIDENT_EVENTS_TABLE,
  INCIDENT_SPANS_TABLE,
  type AnswerDb,
} from './answer-tables.js';
import type { ResolvedViewOptions } from './view-options.js';

const PERIODS = 'pg_temp.eventful_answer_periods';
const CHANGED = 'pg_temp.eventful_answer_changed';
const FLAGS = 'pg_temp.eventful_answer_flags';

/** The temp tables of the incident steps. */
export const INCIDENT_TEMP_TABLES = [PERIODS, CHANGED, FLAGS] as const;

/** The columns of a headway the sweep needs. */
const CANDIDATE = `h.station_id, h.line, h.direction, h.arrived_at, h.event_id, h.previous_arrived_at, h.during_incident`;

/** `"schema"."incident_events"` when the warehouse has that table, else undefined (no incidents: no flag is set). */
export async function incidentEventsTable(db: AnswerDb, dbSchema: string): Promise<string | undefined> {
  const table = answerTable(dbSchema, INCIDENT_EVENTS_TABLE);
  const { rows } = await db.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [table]);
  return rows[0]?.present ? table : undefined;
}

/** CREATE of the temp table of every incident's current period (none without an incident events table). */
function periodsSql(dbSchema: string, events: string | undefined): string {
  const from = events
    ? `(${incidentPeriodsSelect(events)}) p WHERE p.incident_id IS NOT NULL`
    : `${answerTable(dbSchema, INCIDENT_SPANS_TABLE)} p WHERE false`;
  return `CREATE TEMP TABLE eventful_answer_periods AS
SELECT p.incident_id::text AS incident_id, p.line, p.reported_at, p.resolved_at FROM ${from}`;
}

/** CREATE of the temp table of the incidents whose period changed, with the period as it was and as it is. */
function changedSql(dbSchema: string): string {
  return `CREATE TEMP TABLE eventful_answer_changed AS
SELECT c.incident_id, s.line, s.lo, s.hi FROM (
  SELECT coalesce(n.incident_id, o.incident_id) AS incident_id, o.line AS old_line, o.reported_at AS old_lo,
    o.resolved_at AS old_hi, n.line AS new_line, n.reported_at AS new_lo, n.resolved_at AS new_hi
  FROM ${answerTable(dbSchema, INCIDENT_SPANS_TABLE)} o FULL JOIN ${PERIODS} n ON n.incident_id = o.incident_id
  WHERE (o.line, o.reported_at, o.resolved_at) IS DISTINCT FROM (n.line, n.reported_at, n.resolved_at)
) c CROSS JOIN LATERAL (VALUES (c.old_line, c.old_lo, c.old_hi), (c.new_line, c.new_lo, c.new_hi)) s (line, lo, hi)`;
}

/**
 * CREATE of the temp table of the headways whose flag changes, with the new flag. Candidates: the headways of the
 * touched hours (only on lines with an incident, or already flagged) and those inside a changed period (an index
 * range of the line: a headway that is not a gap ends at most the service-gap bound after its predecessor; gaps
 * come from their own partial index).
 */
function flagsSql(dbSchema: string, o: ResolvedViewOptions, touched: string | undefined): string {
  const H = answerTable(dbSchema, HEADWAYS_TABLE);
  const reach = `interval '${o.maxHeadwaySeconds} seconds'`;
  const inTouchedHours = touched
    ? `SELECT h.* FROM ${headwaysInHours(dbSchema, touched, CANDIDATE)}
  WHERE h.during_incident OR h.line IN (SELECT line FROM ${PERIODS})
  UNION ALL
  `
    : '';
  return `CREATE TEMP TABLE eventful_answer_flags AS
WITH candidates AS (
  ${inTouchedHours}SELECT w.* FROM (SELECT DISTINCT line, lo, hi FROM ${CHANGED} WHERE line IS NOT NULL AND lo IS NOT NULL) r
  CROSS JOIN LATERAL (
    (SELECT ${CANDIDATE} FROM ${H} h WHERE h.line = r.line AND NOT h.is_service_gap AND h.arrived_at > r.lo
      AND h.arrived_at <= coalesce(r.hi, 'infinity') + ${reach})
    UNION ALL
    (SELECT ${CANDIDATE} FROM ${H} h WHERE h.line = r.line AND h.is_service_gap AND h.arrived_at > r.lo
      AND h.previous_arrived_at < coalesce(r.hi, 'infinity'))
  ) w
), stream AS (
  -- At the same instant a headway sorts before a period: an incident reported as the train arrives is not overlapped.
  SELECT c.line, c.arrived_at AS t, 0 AS ord, c.station_id, c.direction, c.event_id, c.previous_arrived_at,
    c.during_incident, NULL::timestamptz AS ends
  FROM candidates c
  UNION ALL
  SELECT p.line, p.reported_at, 1, NULL, NULL, NULL, NULL, NULL, coalesce(p.resolved_at, 'infinity')
  FROM ${PERIODS} p WHERE p.line IS NOT NULL
), swept AS (
  SELECT s.*,
    coalesce(max(s.ends) OVER (PARTITION BY s.line ORDER BY s.t, s.ord ROWS UNBOUNDED PRECEDING) > s.previous_arrived_at,
      false) AS flag
  FROM stream s
)
SELECT DISTINCT station_id, line, direction, t AS arrived_at, event_id, flag
FROM swept WHERE ord = 0 AND flag IS DISTINCT FROM during_incident`;
}

/** UPDATE of the changed flags; with `touched`, their hours are noted there (their sums are recomputed). */
function applyFlagsSql(dbSchema: string, touched: string | undefined): string {
  const update = `UPDATE ${answerTable(dbSchema, HEADWAYS_TABLE)} t SET during_incident = f.flag FROM ${FLAGS} f
  WHERE ${samePlatform('t', 'f')} AND t.arrived_at = f.arrived_at AND t.event_id = f.event_id`;
  if (!touched) return update;
  return `WITH changed AS (
  ${update}
  RETURNING t.station_id, t.line, t.direction, t.hour_start, t.service_date
)
INSERT INTO ${touched} SELECT * FROM changed`;
}

/**
 * The incident steps of a pass (or of a build, without `touched`), each with what it does: from the incident events
 * table `events` (undefined: none), bring every `during_incident` flag up to date and keep the periods they follow.
 */
export function incidentFlagSteps(
  dbSchema: string,
  o: ResolvedViewOptions,
  events: string | undefined,
  touched?: string,
): Array<{ what: string; sql: string }> {
  const spans = answerTable(dbSchema, INCIDENT_SPANS_TABLE);
  return [
    { what: 'clearing the incident work tables', sql: `DROP TABLE IF EXISTS ${INCIDENT_TEMP_TABLES.join(', ')}` },
    { what: 'finding the incident periods', sql: periodsSql(dbSchema, events) },
    { what: 'comparing them with the ones the flags follow', sql: changedSql(dbSchema) },
    { what: 'finding the headways whose incident flag changes', sql: flagsSql(dbSchema, o, touched) },
    { what: 'flagging the headways during incidents', sql: applyFlagsSql(dbSchema, touched) },
    {
      what: "forgetting the changed incidents' old periods",
      sql: `DELETE FROM ${spans} WHERE incident_id IN (SELECT incident_id FROM ${CHANGED})`,
    },
    {
      what: 'keeping the incident periods the flags follow',
      sql: `INSERT INTO ${spans} (incident_id, line, reported_at, resolved_at)
SELECT incident_id, line, reported_at, resolved_at FROM ${PERIODS} WHERE incident_id IN (SELECT incident_id FROM ${CHANGED})`,
    },
  ];
}
