/**
 * Compares the maintained wait-time views with the oracle's (view-oracle.ts) row by row: same rows, same columns.
 * The sums (numeric, read as text) must be equal exactly; the figures derived from them (double precision: means and
 * expected waits) equal up to the last bits of a division.
 */
import type pg from 'pg';
import { HEADWAY_BIN_SECONDS, HEADWAY_BINS, PLATFORM_HOUR_SUM_COLUMNS } from '../../src/warehouse/answer-tables.js';
import { oracleStatements } from '../../src/warehouse/view-oracle.js';
import { VIEW_NAMES, type ViewName, type ViewOptions } from '../../src/warehouse/views.js';

/** Prefix of the oracle's views next to the maintained ones. */
export const ORACLE_PREFIX = 'oracle_';

/** The columns that identify a row of each view. */
const VIEW_KEYS: Record<ViewName, string> = {
  station_headways: 'event_id',
  station_wait_times: 'station_id, line, direction, service_date',
  station_wait_times_hourly: 'station_id, line, direction, hour_start',
  incident_periods: 'incident_id',
  line_incident_waits: 'line',
};

/** Relative difference allowed between two doubles divided from the same exact sums. */
const RELATIVE_TOLERANCE = 1e-9;
const ABSOLUTE_TOLERANCE = 1e-6;

/** Creates the oracle's views (over the event tables) in `schema`. */
export async function applyOracle(client: pg.Client, schema: string, options: ViewOptions = {}): Promise<void> {
  for (const sql of oracleStatements(schema, options, ORACLE_PREFIX)) await client.query(sql);
}

/** A numeric as text, e.g. `-12.500000`. */
const NUMERIC_TEXT = /^-?\d+(\.\d+)?$/;

/** A numeric's text without the trailing zeros of its fraction (`12.500000` and `12.5` are the same value). */
const canonicalNumeric = (text: string): string => (text.includes('.') ? text.replace(/\.?0+$/, '') : text);

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string' && NUMERIC_TEXT.test(a) && NUMERIC_TEXT.test(b))
    return canonicalNumeric(a) === canonicalNumeric(b);
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= Math.max(ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b)));
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b;
}

/**
 * The differences between view `view` and the oracle's in `schema` (empty when they agree): a few readable lines
 * naming the first rows and columns that differ.
 */
export async function viewDifferences(client: pg.Client, schema: string, view: ViewName): Promise<string[]> {
  const read = async (name: string): Promise<Array<Record<string, unknown>>> =>
    (await client.query(`SELECT * FROM "${schema}"."${name}" ORDER BY ${VIEW_KEYS[view]}`)).rows;
  const [actual, expected] = [await read(view), await read(ORACLE_PREFIX + view)];
  const problems: string[] = [];
  if (actual.length !== expected.length) problems.push(`${view}: ${actual.length} rows, oracle ${expected.length}`);
  for (let i = 0; i < Math.min(actual.length, expected.length) && problems.length < 5; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Object.keys(a).join() !== Object.keys(e).join()) {
      problems.push(`${view}: columns ${Object.keys(a).join()} vs oracle ${Object.keys(e).join()}`);
      break;
    }
    for (const col of Object.keys(e))
      if (!sameValue(a[col], e[col]))
        problems.push(
          `${view} row ${i} (${VIEW_KEYS[view]} = ${VIEW_KEYS[view]
            .split(', ')
            .map((k) => String(e[k]))
            .join('/')}): ` + `${col} = ${String(a[col])}, oracle ${String(e[col])}`,
        );
  }
  return problems;
}

/**
 * The differences of every view present (see {@link viewDifferences}), and of the sums by platform and hour of the
 * day that the report reads (see {@link platformHourDifferences}).
 */
export async function allViewDifferences(client: pg.Client, schema: string, views = VIEW_NAMES): Promise<string[]> {
  const out: string[] = [];
  for (const v of views) out.push(...(await viewDifferences(client, schema, v)));
  out.push(...(await platformHourDifferences(client, schema)));
  out.push(...(await headwayBinDifferences(client, schema)));
  return out;
}

/**
 * The rows of `eventful_wait_platform_bins` that differ from a from-scratch histogram of the oracle's
 * `station_headways` (empty when they agree): the report's histograms must count every headway that is not a gap.
 */
export async function headwayBinDifferences(client: pg.Client, schema: string): Promise<string[]> {
  const key = 'station_id, line, direction, bin';
  const kept = `SELECT ${key}, headways FROM "${schema}".eventful_wait_platform_bins WHERE headways <> 0`;
  const scratch = `SELECT station_id, line, direction,
      least(floor(headway_seconds / ${HEADWAY_BIN_SECONDS}), ${HEADWAY_BINS})::int AS bin, count(*) AS headways
    FROM "${schema}"."${ORACLE_PREFIX}station_headways" WHERE headway_seconds IS NOT NULL AND NOT is_service_gap
    GROUP BY 1, 2, 3, 4`;
  const { rows } = await client.query(
    `(${kept} EXCEPT ${scratch}) UNION ALL (${scratch} EXCEPT ${kept}) ORDER BY 1, 2, 3, 4 LIMIT 5`,
  );
  return rows.map((r) => `eventful_wait_platform_bins: ${JSON.stringify(r)}`);
}

/**
 * The rows of `eventful_wait_platform_hours` that differ from a from-scratch roll-up of the hourly table (empty when
 * they agree; numerics compared by value; a sum over no headway is 0 there): what the report reads must be what the hours add up to.
 */
export async function platformHourDifferences(client: pg.Client, schema: string): Promise<string[]> {
  const cols = [...PLATFORM_HOUR_SUM_COLUMNS];
  const key = 'station_id, line, direction, service_hour';
  const kept = `SELECT ${key}, station_name, ${cols.join(', ')} FROM "${schema}".eventful_wait_platform_hours
    WHERE arrivals > 0`;
  const scratch = `SELECT ${key}, max(station_name), ${cols.map((c) => `coalesce(sum(${c}), 0)`).join(', ')}
    FROM "${schema}".eventful_wait_hourly GROUP BY ${key}`;
  const { rows } = await client.query(
    `(${kept} EXCEPT ${scratch}) UNION ALL (${scratch} EXCEPT ${kept}) ORDER BY 1, 2, 3, 4 LIMIT 5`,
  );
  return rows.map((r) => `eventful_wait_platform_hours: ${JSON.stringify(r)}`);
}
