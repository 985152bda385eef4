/**
 * The report's wait maths (pure): exact roll-ups of the views' hourly sums, and which model of waiting fits
 * each piece of service. The sums stay exact decimals ({@link ExactSum}) however many rows are added up, in any
 * order; only each figure's final division is done in doubles (to ~16 significant digits), as the views give theirs.
 *
 * Two models:
 * - **Random arrival** (frequent service): passengers turn up without looking at the timetable, so the
 *   expected wait over headways h is Σh² / (2·Σh). Rolled up exactly from the views' sums: Σ(Σh²) / (2·Σ(Σh)).
 * - **Timetable** (long headways): where the timetable's mean headway is over
 *   {@link WAIT_MODEL_DEFAULTS.longHeadwaySeconds}, passengers time their arrival to the timetable (as
 *   transit agencies assume for low-frequency routes), so their wait is the train's lateness: the mean delay
 *   past the scheduled time (early trains count 0) and the share of arrivals on time.
 *
 * The model is chosen per platform (station, line, direction) and hour of the day, from that platform's
 * scheduled headways in that hour over every day in the warehouse.
 */
import { inPeriod, type ServicePeriod } from './service-periods.js';

/** Defaults of the model choice. */
export const WAIT_MODEL_DEFAULTS = {
  /** A mean scheduled headway longer than this (seconds) is long-headway service: the timetable model applies. */
  longHeadwaySeconds: 12 * 60,
} as const;

/**
 * An hour of the day qualifies for the "worst hour" when at least this share of its headways are on frequent
 * service (a timetable headway within the long-headway bound; without a timetable, the actual mean headway).
 */
export const WORST_HOUR_MIN_FREQUENT_SHARE = 0.5;

/** The two models of waiting. */
export type WaitModel = 'random-arrival' | 'timetable';

/** How each model is named next to its figures. */
export const MODEL_LABELS: Readonly<Record<WaitModel, string>> = {
  'random-arrival': 'random arrival, Σh²/(2·Σh)',
  timetable: 'timetable: delay past the scheduled time',
};

/** Wait figures over a set of headways under the random-arrival model (seconds; null where nothing to measure). */
export interface WaitFigures {
  arrivals: number;
  headways: number;
  meanHeadwaySeconds: number | null;
  /** Σh² / (2·Σh): the expected wait of a passenger turning up at a random moment. */
  expectedWaitSeconds: number | null;
  /** The same over the timetable's headways (null without `scheduled_at`). */
  scheduledExpectedWaitSeconds: number | null;
  /** Actual − scheduled expected wait: the "excess wait time". */
  excessWaitSeconds: number | null;
}

/** Waiting under the timetable model: lateness of the arrivals that have a scheduled time. */
export interface LatenessFigures {
  /** Arrivals with a `scheduled_at`. */
  scheduledArrivals: number;
  /** Mean of max(arrived − scheduled, 0): how long a passenger who came for the timetable waits past it. */
  meanDelaySeconds: number | null;
  /** Mean of arrived − scheduled (early arrivals negative). */
  meanLatenessSeconds: number | null;
  /** Share (0–1) of arrivals from 1 min early to 5 min late (the views' on-time window). */
  onTimeShare: number | null;
}

/**
 * An exact sum of seconds, or of seconds², as a whole number of 10⁻¹² units (the scale of the views' Σh²; Σh has 6
 * digits after the point). Adding doubles instead would round every partial sum and make the roll-up depend on the
 * order it was added in.
 */
export type ExactSum = bigint;
const EXACT_DIGITS = 12;
/** One second (or second²) in {@link ExactSum} units. */
const UNIT = 10n ** BigInt(EXACT_DIGITS);

/** The exact sum of a numeric as Postgres writes it (`-12.345678`); throws on any other text. */
export function exactSum(text: string): ExactSum {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[3] ?? '').length > EXACT_DIGITS)
    throw new Error(`not a decimal with at most ${EXACT_DIGITS} digits after the point: ${JSON.stringify(text)}`);
  const units = BigInt(m[2]! + (m[3] ?? '').padEnd(EXACT_DIGITS, '0'));
  return m[1] ? -units : units;
}

/** The sums of one platform in one hour of the day over every day: the views' hourly rows added up. */
export interface HourSums {
  stationId: string;
  stationName: string | null;
  line: string;
  direction: string;
  hour: number;
  arrivals: number;
  headways: number;
  sumHeadway: ExactSum;
  sumHeadwaySquared: ExactSum;
  scheduledHeadways: number;
  sumScheduledHeadway: ExactSum;
  sumScheduledHeadwaySquared: ExactSum;
  scheduledArrivals: number;
  sumLateness: ExactSum;
  sumDelay: ExactSum;
  onTimeArrivals: number;
}

/** The fields of {@link HourSums} that are counts, and those that are exact sums. */
type CountKey = 'arrivals' | 'headways' | 'scheduledHeadways' | 'scheduledArrivals' | 'onTimeArrivals';
type SumKey =
  | 'sumHeadway'
  | 'sumHeadwaySquared'
  | 'sumScheduledHeadway'
  | 'sumScheduledHeadwaySquared'
  | 'sumLateness'
  | 'sumDelay';

/** A set of headways split by the model that fits them. */
export interface ModelSplit {
  /** The model of most of the headways: the one the headline uses. */
  model: WaitModel;
  /** Random arrival over the headways of frequent service (and of service without a timetable). */
  frequent: WaitFigures;
  /** Timetable model over the arrivals of long-headway service. */
  timetabled: LatenessFigures;
  /** Share (0–1) of the headways on long-headway service. */
  timetabledShare: number;
  /** Random arrival over every headway, whatever the service (what the views' rows say directly). */
  all: WaitFigures;
}

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);
/** `num / den` of exact sums, in doubles: each operand and the quotient rounded once (~16 significant digits). */
const quotient = (num: ExactSum, den: ExactSum): number | null => (den > 0n ? Number(num) / Number(den) : null);
/** An exact sum of seconds over `n`: a mean in seconds. */
const meanOf = (sum: ExactSum, n: number): number | null => quotient(sum, BigInt(n) * UNIT);
const total = (rows: readonly HourSums[], key: CountKey): number => rows.reduce((sum, r) => sum + r[key], 0);
const exactTotal = (rows: readonly HourSums[], key: SumKey): ExactSum => rows.reduce((sum, r) => sum + r[key], 0n);

/** Random-arrival figures over rows, rolled up exactly: Σ(Σh²) / (2·Σ(Σh)). */
export function waitFigures(rows: readonly HourSums[]): WaitFigures {
  const sumH = exactTotal(rows, 'sumHeadway');
  const sumHs = exactTotal(rows, 'sumScheduledHeadway');
  // Σh² counts 10⁻¹² s², Σh counts 10⁻¹² s: their quotient is in seconds.
  const expected = quotient(exactTotal(rows, 'sumHeadwaySquared'), 2n * sumH);
  const scheduled = quotient(exactTotal(rows, 'sumScheduledHeadwaySquared'), 2n * sumHs);
  return {
    arrivals: total(rows, 'arrivals'),
    headways: total(rows, 'headways'),
    meanHeadwaySeconds: meanOf(sumH, total(rows, 'headways')),
    expectedWaitSeconds: expected,
    scheduledExpectedWaitSeconds: scheduled,
    excessWaitSeconds: expected !== null && scheduled !== null ? expected - scheduled : null,
  };
}

/** Timetable-model figures over rows. */
export function latenessFigures(rows: readonly HourSums[]): LatenessFigures {
  const n = total(rows, 'scheduledArrivals');
  return {
    scheduledArrivals: n,
    meanDelaySeconds: meanOf(exactTotal(rows, 'sumDelay'), n),
    meanLatenessSeconds: meanOf(exactTotal(rows, 'sumLateness'), n),
    onTimeShare: ratio(total(rows, 'onTimeArrivals'), n),
  };
}

/** The timetable's mean headway on a row (null without scheduled headways). */
export function meanScheduledHeadway(row: HourSums): number | null {
  return meanOf(row.sumScheduledHeadway, row.scheduledHeadways);
}

/** The model that fits a platform-hour: the timetable model when its timetable headway is long. */
export function modelOf(row: HourSums, longHeadwaySeconds: number): WaitModel {
  const scheduled = meanScheduledHeadway(row);
  return scheduled !== null && scheduled > longHeadwaySeconds ? 'timetable' : 'random-arrival';
}

/** Frequent service: a timetable headway within the bound, or without a timetable an actual mean headway within it. */
export function isFrequentService(row: HourSums, longHeadwaySeconds: number): boolean {
  const headway = meanScheduledHeadway(row) ?? meanOf(row.sumHeadway, row.headways);
  return headway !== null && headway <= longHeadwaySeconds;
}

/** Splits rows by the model that fits each and rolls each part up. */
export function splitByModel(rows: readonly HourSums[], longHeadwaySeconds: number): ModelSplit {
  const random = rows.filter((r) => modelOf(r, longHeadwaySeconds) === 'random-arrival');
  const timetabled = rows.filter((r) => modelOf(r, longHeadwaySeconds) === 'timetable');
  const headways = total(rows, 'headways');
  const timetabledShare = ratio(total(timetabled, 'headways'), headways) ?? 0;
  return {
    model: timetabledShare > 0.5 ? 'timetable' : 'random-arrival',
    frequent: waitFigures(random),
    timetabled: latenessFigures(timetabled),
    timetabledShare,
    all: waitFigures(rows),
  };
}

/** A service period's waits. */
export interface PeriodWait extends ModelSplit {
  period: ServicePeriod;
}

/** The waits of each period that has headways, in the order of `periods`. */
export function periodWaits(
  rows: readonly HourSums[],
  periods: readonly ServicePeriod[],
  longHeadwaySeconds: number,
): PeriodWait[] {
  return periods
    .map((period) => ({
      period,
      ...splitByModel(
        rows.filter((r) => inPeriod(period, r.hour)),
        longHeadwaySeconds,
      ),
    }))
    .filter((p) => p.all.headways > 0);
}

/** An hour of the day's waits, all platforms and days together. */
export interface HourWait extends ModelSplit {
  hour: number;
  /** Share (0–1) of the hour's headways on frequent service (see {@link isFrequentService}). */
  frequentShare: number;
  /** Random arrival over the frequent service of the hour only. */
  frequentService: WaitFigures;
}

/** The hours of the day that have headways, in order. */
export function hourWaits(rows: readonly HourSums[], longHeadwaySeconds: number): HourWait[] {
  const hours = [...new Set(rows.map((r) => r.hour))].sort((a, b) => a - b);
  return hours
    .map((hour) => {
      const inHour = rows.filter((r) => r.hour === hour);
      const frequent = inHour.filter((r) => isFrequentService(r, longHeadwaySeconds));
      return {
        hour,
        frequentShare: ratio(total(frequent, 'headways'), total(inHour, 'headways')) ?? 0,
        frequentService: waitFigures(frequent),
        ...splitByModel(inHour, longHeadwaySeconds),
      };
    })
    .filter((h) => h.all.headways > 0);
}

/**
 * The worst hour with real service: among the hours at least {@link WORST_HOUR_MIN_FREQUENT_SHARE} of whose
 * headways are on frequent service, the one whose frequent service has the longest expected wait.
 */
export function worstServedHour(hours: readonly HourWait[]): HourWait | undefined {
  return hours
    .filter((h) => h.frequentShare >= WORST_HOUR_MIN_FREQUENT_SHARE && h.frequentService.expectedWaitSeconds !== null)
    .sort(
      (a, b) => b.frequentService.expectedWaitSeconds! - a.frequentService.expectedWaitSeconds! || a.hour - b.hour,
    )[0];
}

/** One platform: a station served by a line in one direction, over the whole history. */
export interface PlatformWait extends ModelSplit {
  stationId: string;
  stationName: string | null;
  line: string;
  direction: string;
}

/** Every platform's waits, split by model, in the order the platforms first appear in `rows`. */
export function platformWaits(rows: readonly HourSums[], longHeadwaySeconds: number): PlatformWait[] {
  const groups = new Map<string, HourSums[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.stationId, r.line, r.direction]);
    const group = groups.get(key);
    if (group) group.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    return {
      stationId: first.stationId,
      stationName: group.find((r) => r.stationName !== null)?.stationName ?? null,
      line: first.line,
      direction: first.direction,
      ...splitByModel(group, longHeadwaySeconds),
    };
  });
}
