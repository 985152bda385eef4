/**
 * Where `prune` starts listing an S3 lake, so that a run lists the objects of the last days' snapshots, not every
 * object the lake ever held. Without it, each run listed the whole lake to find a few leftovers: a year of hourly
 * snapshots is ~27 listing requests, and one more every two weeks.
 *
 * The lake keeps the floor beside its snapshot folders, in {@link PRUNE_FLOOR_OBJECT}: every snapshot id that sorts
 * below it was examined by a prune that removed its leftovers. A run lists:
 *
 * 1. the objects from the floor on (ids stamped since then, and ids that sort above stamps: those starting with a
 *    letter or '_'; an id starting with '-', '.' or a lower digit sorts below, and only the sweep reaches it);
 * 2. about {@link SWEEP_KEYS} objects below the floor, whole snapshot ids, going on where the last run's sweep
 *    stopped and starting over at the bottom once it reaches the floor. It is the safety net for a leftover that
 *    appears below the floor: an extract that ran for longer than twice the grace period, a folder copied in by hand.
 *
 * After a run that removed everything it found, the floor moves up to the stamp of twice the grace period before
 * the run: an attempt started before then ended before the grace period began (the grace period is longer than any
 * extract run), so its objects were all old enough for this run to remove. A dry run changes nothing, the floor
 * included. A floor that cannot be read as one is ignored: the run lists the whole lake and writes it again.
 */
import { snapshotStamp } from './format.js';

/** The object, right under the root, that keeps the floor. No snapshot id starts with '.', and no listing names it. */
export const PRUNE_FLOOR_OBJECT = '.eventful-prune-floor.json';

/** Objects the sweep below the floor lists per run, rounded up to a whole snapshot id (a page, and part of a next). */
export const SWEEP_KEYS = 1000;

/** The floor, and where the sweep below it goes on: a key under the root ('' for the bottom). */
export interface PruneFloor {
  floor: string;
  sweepFrom: string;
}

/** What a floor looks like: a snapshot stamp, or '' (nothing settled). */
const FLOOR_SHAPE = /^(\d{8}T\d{9}Z)?$/;

/**
 * The floor kept in `text`, or undefined when it is not one (then the run lists the whole lake): not a floor's
 * JSON, a floor not shaped like a stamp, or one later than `now` (written by a clock ahead, or by hand), which
 * would hide every new leftover from the listing for good.
 */
export function parsePruneFloor(text: string, now: Date): PruneFloor | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const { floor, sweepFrom } = v as Record<string, unknown>;
  if (typeof floor !== 'string' || typeof sweepFrom !== 'string' || !FLOOR_SHAPE.test(floor)) return undefined;
  return floor > snapshotStamp(now) ? undefined : { floor, sweepFrom };
}

/**
 * The floor after a run at `now` with `graceMs` that removed everything it found: twice the grace period before
 * the run, never below the floor it listed from (that part was settled already).
 */
export function raisedFloor(listedFrom: string | undefined, now: Date, graceMs: number): string {
  const at = new Date(now.getTime() - 2 * graceMs);
  // A grace period reaching past the year 275760 settles nothing.
  const settled = Number.isNaN(at.getTime()) ? '' : snapshotStamp(at);
  return listedFrom !== undefined && listedFrom > settled ? listedFrom : settled;
}

/** The snapshot id of a key under `root` (the object's name for a key right under it). */
export function idOfKey(root: string, key: string): string {
  const rest = key.slice(root.length);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}
