/** The settings of the wait-time views and answer tables: the service gap, time zone and on-time window. */

/** Settings of the views. */
export interface ViewOptions {
  /** Headways longer than this many seconds are gaps in service, not waits (default 3 hours). */
  maxHeadwaySeconds?: number;
  /** The IANA time zone whose calendar days and hours group headways (default `UTC`). */
  timeZone?: string;
  /** An arrival this many seconds before its `scheduled_at` still counts as on time (default 60). */
  onTimeEarlySeconds?: number;
  /** An arrival up to this many seconds after its `scheduled_at` counts as on time (default 300). */
  onTimeLateSeconds?: number;
  /**
   * The tables that exist in the schema. When given, only the views whose tables are all there are
   * returned (a warehouse without incidents still gets its wait-time views).
   */
  tables?: ReadonlySet<string> | readonly string[];
}

export const VIEW_DEFAULTS = {
  maxHeadwaySeconds: 3 * 3600,
  timeZone: 'UTC',
  onTimeEarlySeconds: 60,
  onTimeLateSeconds: 300,
} as const;

/** The settings with defaults filled in and checked (they become SQL literals). */
export interface ResolvedViewOptions {
  maxHeadwaySeconds: number;
  timeZone: string;
  onTimeEarlySeconds: number;
  onTimeLateSeconds: number;
}

/** An IANA zone name or offset: letters, digits, `/`, `_`, `+`, `-` (it becomes a SQL string literal). */
const TIME_ZONE_PATTERN = /^[A-Za-z0-9_/+-]{1,64}$/;

/**
 * The largest `maxHeadwaySeconds` (about 31 years): the squares of the headways it counts are summed in bigint
 * parts (see answer-sql's `headwaySums`), whose whole seconds squared must fit a bigint.
 */
export const MAX_HEADWAY_LIMIT = 1_000_000_000;

/** Fills in the defaults and refuses what cannot be a setting (a RangeError naming it). */
export function resolveViewOptions(options: ViewOptions = {}): ResolvedViewOptions {
  const o = {
    maxHeadwaySeconds: options.maxHeadwaySeconds ?? VIEW_DEFAULTS.maxHeadwaySeconds,
    timeZone: options.timeZone ?? VIEW_DEFAULTS.timeZone,
    onTimeEarlySeconds: options.onTimeEarlySeconds ?? VIEW_DEFAULTS.onTimeEarlySeconds,
    onTimeLateSeconds: options.onTimeLateSeconds ?? VIEW_DEFAULTS.onTimeLateSeconds,
  };
  if (!(Number.isFinite(o.maxHeadwaySeconds) && o.maxHeadwaySeconds > 0 && o.maxHeadwaySeconds <= MAX_HEADWAY_LIMIT))
    throw new RangeError(`maxHeadwaySeconds must be a positive number of seconds, at most ${MAX_HEADWAY_LIMIT}`);
  for (const k of ['onTimeEarlySeconds', 'onTimeLateSeconds'] as const)
    if (!(Number.isFinite(o[k]) && o[k] >= 0)) throw new RangeError(`${k} must be a number of seconds, 0 or more`);
  if (!TIME_ZONE_PATTERN.test(o.timeZone)) throw new RangeError(`timeZone "${o.timeZone}" is not a time zone name`);
  return o;
}
