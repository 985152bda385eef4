/**
 * The service periods the report headlines: parts of the day with their own kind of service (early, AM
 * peak, midday, PM peak, evening, night). Hours are the views' `service_hour` (hours of the day in the
 * views' time zone). Pure.
 */

/** One service period: the hours of the day from `fromHour` up to (not including) the next period's start. */
export interface ServicePeriod {
  /** Stable key for JSON summaries, e.g. `am_peak`. */
  key: string;
  /** For people, e.g. `AM peak`. */
  name: string;
  /** First hour of the day in the period (0–23). */
  fromHour: number;
  /** First hour after the period (0–23; smaller than `fromHour` when the period runs past midnight). */
  toHour: number;
}

/** The periods in order of the day; each runs until the next one starts, the last one wraps past midnight. */
export const SERVICE_PERIOD_NAMES = [
  { key: 'early', name: 'Early' },
  { key: 'am_peak', name: 'AM peak' },
  { key: 'midday', name: 'Midday' },
  { key: 'pm_peak', name: 'PM peak' },
  { key: 'evening', name: 'Evening' },
  { key: 'night', name: 'Night' },
] as const;

/**
 * The default start hour of each period, in the order of {@link SERVICE_PERIOD_NAMES}: early 05–07,
 * AM peak 07–10, midday 10–16, PM peak 16–19, evening 19–22, night 22–05. The one place to change them
 * (or `report --periods`).
 */
export const DEFAULT_PERIOD_STARTS: readonly number[] = [5, 7, 10, 16, 19, 22];

/** The periods a passenger travelling at rush hour should read. */
export const RUSH_HOUR_PERIOD_KEYS: readonly string[] = ['am_peak', 'pm_peak'];

const HOURS_PER_DAY = 24;

/**
 * The periods from their start hours (in the order of {@link SERVICE_PERIOD_NAMES}). Throws a RangeError
 * that says what is expected when there are not six whole hours 0–23 in increasing order.
 */
export function servicePeriods(
  starts: readonly number[] = DEFAULT_PERIOD_STARTS,
  shown = starts.join(', '),
): ServicePeriod[] {
  const count = SERVICE_PERIOD_NAMES.length;
  const ok =
    starts.length === count &&
    starts.every((h, i) => Number.isInteger(h) && h >= 0 && h < HOURS_PER_DAY && (i === 0 || h > starts[i - 1]!));
  if (!ok)
    throw new RangeError(
      `service periods need ${count} start hours (0–23, increasing) for ` +
        `${SERVICE_PERIOD_NAMES.map((p) => p.key).join(', ')}; got ${shown}`,
    );
  return SERVICE_PERIOD_NAMES.map((p, i) => ({
    key: p.key,
    name: p.name,
    fromHour: starts[i]!,
    toHour: starts[(i + 1) % count]!,
  }));
}

/** Parses `5,7,10,16,19,22` into periods (see {@link servicePeriods}). */
export function parseServicePeriods(spec: string): ServicePeriod[] {
  const parts = spec.split(',').map((s) => s.trim());
  const hours = parts.map((s) => (/^\d{1,2}$/.test(s) ? Number(s) : Number.NaN));
  return servicePeriods(hours, JSON.stringify(spec));
}

/** Whether hour `hour` of the day falls in `period` (which may run past midnight). */
export function inPeriod(period: ServicePeriod, hour: number): boolean {
  return period.fromHour < period.toHour
    ? hour >= period.fromHour && hour < period.toHour
    : hour >= period.fromHour || hour < period.toHour;
}

/** `07–10`: the period's hours for people. */
export function periodHours(period: ServicePeriod): string {
  const hh = (h: number): string => String(h).padStart(2, '0');
  return `${hh(period.fromHour)}–${hh(period.toHour)}`;
}
