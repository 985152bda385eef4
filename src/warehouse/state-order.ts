/**
 * Which event wins in a state table. Pure: the rule in TypeScript (for tests and docs) and in SQL.
 *
 * Events of one entity are totally ordered by
 *   1. event time: the schema's `x-warehouse.eventTime` property, else Kafka's timestamp, else -infinity;
 *   2. then Kafka topic (byte order), partition, offset.
 * The state row holds the greatest event seen so far. A merge replaces it only with a strictly greater event,
 * so replays (equal) and late events (smaller) never roll state back, and any load order converges to the
 * same row. Step 2 is "then offset" for the usual case of an entity keyed onto one partition; topic and
 * partition only break ties that could otherwise depend on load order.
 */
import { META, qualified, type TableDef } from '../schema/ddl.js';
import { quoteIdent } from '../schema/identifiers.js';

/** The fields of an event that place it in the order. */
export interface StateOrderKey {
  /** Event time in epoch milliseconds, or null when the event has none. */
  eventTimeMs: number | null;
  topic: string;
  partition: number;
  offset: number;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Negative when `a` comes before `b`, positive after, 0 for the same position (a replay). */
export function compareStateOrder(a: StateOrderKey, b: StateOrderKey): number {
  const ta = a.eventTimeMs ?? -Infinity;
  const tb = b.eventTimeMs ?? -Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return compareBytes(a.topic, b.topic) || a.partition - b.partition || a.offset - b.offset;
}

/** Whether `candidate` replaces `current` in a state table (strictly newer). */
export function supersedes(candidate: StateOrderKey, current: StateOrderKey): boolean {
  return compareStateOrder(candidate, current) > 0;
}

/** The SQL expressions of the order, for rows of relation alias `alias`. */
export function orderSql(table: TableDef, alias: string): string[] {
  const col = (c: string): string => `${alias}.${quoteIdent(c)}`;
  const eventTime = table.state?.eventTime;
  const time = eventTime
    ? `COALESCE(${col(eventTime)}, ${col(META.timestamp)}, '-infinity'::timestamptz)`
    : `COALESCE(${col(META.timestamp)}, '-infinity'::timestamptz)`;
  return [time, `${col(META.topic)} COLLATE "C"`, col(META.partition), col(META.offset)];
}

/**
 * One statement that merges candidate events (rows of `source`, shaped like the event table) into a state table:
 * the greatest candidate per entity is inserted, or replaces the current row when strictly newer.
 * Returns one row: `candidates` (entities seen), `inserted`, `updated`.
 */
export function mergeStateSql(dbSchema: string, state: TableDef, source: string): string {
  const cols = state.columns.map((c) => c.name);
  const key = state.primaryKey.map(quoteIdent).join(', ');
  const select = cols.map((c) => (c === META.loadedAt ? `now() AS ${quoteIdent(c)}` : `s.${quoteIdent(c)}`)).join(', ');
  const orderDesc = orderSql(state, 's')
    .map((e) => `${e} DESC`)
    .join(', ');
  const updates = cols
    .filter((c) => !state.primaryKey.includes(c))
    .map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`)
    .join(', ');
  const quotedCols = cols.map(quoteIdent).join(', ');
  return `WITH candidates AS (
  SELECT DISTINCT ON (${state.primaryKey.map((k) => `s.${quoteIdent(k)}`).join(', ')}) ${select}
  FROM ${source} AS s
  ORDER BY ${state.primaryKey.map((k) => `s.${quoteIdent(k)}`).join(', ')}, ${orderDesc}
), merged AS (
  INSERT INTO ${qualified(dbSchema, state.name)} AS cur (${quotedCols})
  SELECT ${quotedCols} FROM candidates
  ON CONFLICT (${key}) DO UPDATE SET ${updates}
  WHERE (${orderSql(state, 'EXCLUDED').join(', ')}) > (${orderSql(state, 'cur').join(', ')})
  RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM candidates)::bigint AS candidates,
  count(*) FILTER (WHERE inserted)::bigint AS inserted,
  count(*) FILTER (WHERE NOT inserted)::bigint AS updated
FROM merged`;
}
