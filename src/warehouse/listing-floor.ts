/**
 * Which snapshot ids a load lists, so that a run's listing follows the new snapshots, not the store's age. Without
 * it, every run named every snapshot ever extracted: a year of hourly snapshots is 9 listing requests per run on
 * S3, five years 44.
 *
 * The warehouse keeps, per snapshot store, a floor (`eventful_listing_floor`): every id that sorted below it when it
 * was set was settled, that is recorded in the ledger, or the leftover of an extract killed long ago. Ids compare in
 * the order S3 lists their folders in (`compareIds`). A run lists:
 *
 * 1. the ids from the floor on: one request while there are fewer than 1,000 of them;
 * 2. one page of the ids below the floor, a sweep that goes on where the last run's stopped and starts over at the
 *    bottom once it reaches the floor. It is the safety net for a snapshot that appears below the floor (an
 *    extract that ran for longer than the lookback, a snapshot copied in by hand): every id is seen within
 *    (ids below the floor) / 999 runs (a page starts at the last id of the one before), and one that is not settled
 *    pulls the floor down to itself.
 *
 * After the run, the floor moves to the lowest listed id that is not settled: one that failed to load (so every
 * run retries it, as before), or one still without a manifest (an extract at work), unless it started longer than
 * the lookback ago (a killed extract's leftover, which prune removes). The floor never passes the lookback, 24 h
 * before the listing (at the hour before): an extract names its snapshot by the time it started and publishes it
 * at its end. A run whose floor cannot be written only warns: the next lists from the old floor.
 *
 * A first run (no floor yet) and `--verify-loaded` list every id, and set the floor from all of them.
 */
import { qualified, NOW_SQL, type TableDef } from '../schema/ddl.js';
import { snapshotStamp, stampedTime } from '../snapshot/format.js';
import { compareIds, type SnapshotStore } from '../snapshot/store.js';
import type { WarehouseConnection } from './connection.js';

export const LISTING_TABLE = 'eventful_listing_floor';

/** Ids the sweep lists per run: one listing request's worth. */
export const SWEEP_PAGE_IDS = 1000;

/**
 * How far below now the floor may be set: longer than any extract run, as prune's grace is. A snapshot published
 * later than this after its extract started is found by the sweep instead (a few runs later).
 */
export const LISTING_LOOKBACK_MS = 24 * 60 * 60 * 1000;

/** A store's floor and where its sweep goes on from ('': the bottom). */
export interface ListingFloor {
  floor: string;
  sweepFrom: string;
}

/** The floor table's definition (evolved additively like the ledger). */
export function listingFloorTable(): TableDef {
  return {
    name: LISTING_TABLE,
    kind: 'ledger',
    columns: [
      { name: 'store', type: 'text', notNull: true },
      { name: 'floor', type: 'text', notNull: true },
      { name: 'sweep_from', type: 'text', notNull: true },
      { name: 'updated_at', type: 'timestamp with time zone', notNull: true, defaultSql: NOW_SQL },
    ],
    primaryKey: ['store'],
  };
}

/** The floor of the store at `location`, if a run has set one. */
export async function readListingFloor(
  conn: WarehouseConnection,
  dbSchema: string,
  location: string,
): Promise<ListingFloor | undefined> {
  const { rows } = await conn.query<{ floor: string; sweep_from: string }>(
    `SELECT floor, sweep_from FROM ${qualified(dbSchema, LISTING_TABLE)} WHERE store = $1`,
    [location],
  );
  return rows[0] ? { floor: rows[0].floor, sweepFrom: rows[0].sweep_from } : undefined;
}

/** Sets the floor of the store at `location` (its own statement, after the run's snapshots committed). */
export async function writeListingFloor(
  conn: WarehouseConnection,
  dbSchema: string,
  location: string,
  f: ListingFloor,
): Promise<void> {
  await conn.query(
    `INSERT INTO ${qualified(dbSchema, LISTING_TABLE)} (store, floor, sweep_from) VALUES ($1, $2, $3)
     ON CONFLICT (store) DO UPDATE SET floor = excluded.floor, sweep_from = excluded.sweep_from, updated_at = now()`,
    [location, f.floor, f.sweepFrom],
  );
}

/** What a run listed. */
export interface ListedIds {
  /** When the listing began (the floor's lookback counts from then). */
  listedAt: Date;
  /** Every id listed, ascending, each once. */
  ids: string[];
  /** Whether that is every id of the store (no floor, or `--verify-loaded`). */
  full: boolean;
  /** The floor listed from (null: a full listing). */
  from: string | null;
  /** How many of `ids` the sweep found below the floor. */
  swept: number;
  /** Where the next run's sweep goes on from. */
  nextSweepFrom: string;
}

/** Lists the ids a run looks at: all of them without a floor, else those from the floor on and a sweep page. */
export async function listFromFloor(store: SnapshotStore, floor: ListingFloor | undefined): Promise<ListedIds> {
  const listedAt = new Date();
  if (!floor) return { listedAt, ids: await store.listIds(), full: true, from: null, swept: 0, nextSweepFrom: '' };
  // Both at once: on S3 the run waits for the slower request, not for both.
  const [recent, page] = await Promise.all([
    store.listIds({ from: floor.floor }),
    store.listIds({ from: floor.sweepFrom, limit: SWEEP_PAGE_IDS }),
  ]);
  const below = page.filter((id) => compareIds(id, floor.floor) < 0);
  // Go on from the page's last id (listed again next time: ranges start at an id) unless the page reached the floor.
  const nextSweepFrom = page.length === SWEEP_PAGE_IDS && below.length === page.length ? below.at(-1)! : '';
  const ids = [...new Set([...below, ...recent])].sort(compareIds);
  return { listedAt, ids, full: false, from: floor.floor, swept: below.length, nextSweepFrom };
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * The floor after a run that listed at `listedAt`: the lowest of `unsettled` (listed ids the ledger has not
 * recorded after the run), leaving out `incomplete` ones that started longer than the lookback before `listedAt`
 * (killed extracts' leftovers), and never above the lookback itself, taken at the hour before it: the floor of runs
 * with nothing to settle moves once an hour, so most of them write nothing. `listedAt`, not the end of the run: an
 * extract still at work when the ids were listed is published under a time after `listedAt` − lookback.
 */
export function nextFloor(unsettled: readonly string[], incomplete: ReadonlySet<string>, listedAt: Date): string {
  const since = listedAt.getTime() - LISTING_LOOKBACK_MS;
  let floor = snapshotStamp(new Date(Math.floor(since / HOUR_MS) * HOUR_MS));
  for (const id of unsettled) {
    const started = stampedTime(id)?.getTime();
    if (incomplete.has(id) && started !== undefined && started < since) continue;
    if (compareIds(id, floor) < 0) floor = id;
  }
  return floor;
}
