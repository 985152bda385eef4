/**
 * What the wait-time report shows, as plain data read from the views (report-queries.ts), and its
 * rendering as text tables for the terminal and the task log (pure).
 */
import { periodHours, RUSH_HOUR_PERIOD_KEYS } from './service-periods.js';
import {
  MODEL_LABELS,
  type HourWait,
  type LatenessFigures,
  type ModelSplit,
  type PeriodWait,
  type WaitFigures,
  type WaitModel,
} from './wait-rollup.js';

export type { WaitFigures } from './wait-rollup.js';

/**
 * One platform: a station served by a line in one direction, over the whole history. Its wait figures are
 * the random-arrival model over its frequent service; `timetabled` is the timetable model over its
 * long-headway hours.
 */
export interface StationWait extends WaitFigures {
  stationId: string;
  stationName: string | null;
  line: string;
  direction: string;
  /** Lateness against the timetable in the platform's long-headway hours. */
  timetabled: LatenessFigures;
  /** Share (0–1) of the platform's headways in long-headway hours. */
  timetabledShare: number;
}

/** One bar of a headway histogram: headways in [fromSeconds, toSeconds), `toSeconds` null for the open last bin. */
export interface HeadwayBin {
  fromSeconds: number;
  toSeconds: number | null;
  count: number;
}

/** The headway distribution of one line and direction at the chosen station. */
export interface HeadwayPanel {
  line: string;
  direction: string;
  bins: HeadwayBin[];
  figures: WaitFigures;
}

export interface IncidentSpan {
  incidentId: string;
  line: string;
  stationId: string | null;
  description: string | null;
  severity: string;
  reportedAt: Date;
  /** Null while the incident is open. */
  resolvedAt: Date | null;
}

/** The incidents of the whole history by count, and in detail those open at some time in its last days. */
export interface IncidentSummary {
  /** Every incident the warehouse holds. */
  total: number;
  /** The start of the detailed window: the end of the period less {@link INCIDENT_WINDOW_DAYS} (or its start). */
  since: Date;
  /** The incidents open at some time since `since` (resolved then or later, or still open), oldest report first. */
  recent: IncidentSpan[];
}

/**
 * How many days before the end of the period the report shows incidents one by one (the timeline and the list): a
 * page a person reads, and a query whose cost is the window's incidents, not the history's.
 */
export const INCIDENT_WINDOW_DAYS = 7;

/**
 * A line's waits during open incidents against its waits otherwise: like with like (the same line in the
 * same hours of the day, headways overlapping no incident) and against every other headway of the line.
 */
export interface LineIncidentWait {
  line: string;
  incidents: number;
  headwaysDuring: number;
  expectedWaitDuringSeconds: number | null;
  excessWaitDuringSeconds: number | null;
  /** Headways of the line overlapping no incident in the hours of the day that had headways during one. */
  headwaysSameHours: number;
  expectedWaitSameHoursSeconds: number | null;
  excessWaitSameHoursSeconds: number | null;
  headwaysOtherwise: number;
  expectedWaitOtherwiseSeconds: number | null;
  excessWaitOtherwiseSeconds: number | null;
}

/** Everything the report shows. */
export interface ReportData {
  dbSchema: string;
  generatedAt: Date;
  /** First and last station arrival. */
  period: { from: Date; to: Date };
  /** The whole day, split by model (`frequent`: random arrival; `timetabled`: long-headway service). */
  network: ModelSplit & { stations: number; lines: number; days: number };
  /** The service periods that have headways, in the order of the day. */
  periods: PeriodWait[];
  /** Every station, line and direction, worst expected wait first. */
  stations: StationWait[];
  /** Hours of the day that have headways, in order. */
  hours: HourWait[];
  /** A mean scheduled headway over this many seconds is long-headway service (the timetable model). */
  longHeadwaySeconds: number;
  /** The station whose headway distribution is shown. */
  chosen: { stationId: string; stationName: string | null; panels: HeadwayPanel[] };
  incidents: IncidentSummary;
  lineIncidents: LineIncidentWait[];
  /** How many of the worst stations the tables list. */
  top: number;
}

const SECONDS_PER_MINUTE = 60;
const SECONDS_PER_HOUR = 3600;

/** A wait for people: `45 s`, `4 min 20 s`, `1 h 05 min`; an en dash when unknown. */
export function formatWait(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const sign = seconds < 0 ? '−' : '';
  const s = Math.round(Math.abs(seconds));
  if (s < SECONDS_PER_MINUTE) return `${sign}${s} s`;
  if (s < SECONDS_PER_HOUR) {
    const rest = s % SECONDS_PER_MINUTE;
    return `${sign}${Math.floor(s / SECONDS_PER_MINUTE)} min${rest ? ` ${rest} s` : ''}`;
  }
  const minutes = Math.round((s % SECONDS_PER_HOUR) / SECONDS_PER_MINUTE);
  return `${sign}${Math.floor(s / SECONDS_PER_HOUR)} h ${String(minutes).padStart(2, '0')} min`;
}

/** A wait in compact `m:ss` for tables (`4:20`, `−0:30`); an en dash when unknown. */
export function formatClock(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.round(Math.abs(seconds));
  const sign = seconds < 0 && s > 0 ? '−' : '';
  return `${sign}${Math.floor(s / SECONDS_PER_MINUTE)}:${String(s % SECONDS_PER_MINUTE).padStart(2, '0')}`;
}

/** A signed excess: `+1:05`, `−0:10`. */
export function formatExcess(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  return `${Math.round(seconds) >= 0 ? '+' : ''}${formatClock(seconds)}`;
}

/** `Harbour Square (STN-014)`, or just the id when the name is unknown. */
export function stationLabel(id: string, name: string | null): string {
  return name ? `${name} (${id})` : id;
}

/** The worst `top` stations by a figure (nulls never count as worst). */
export function worstBy(
  stations: readonly StationWait[],
  key: 'expectedWaitSeconds' | 'excessWaitSeconds',
  top: number,
): StationWait[] {
  return stations
    .filter((s) => s[key] !== null)
    .sort((a, b) => b[key]! - a[key]! || a.stationId.localeCompare(b.stationId))
    .slice(0, top);
}

/** `1 day`, `2 days`, `1,234 arrivals`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

/** A share for people: `84%`; an en dash when unknown. */
export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '–';
  return `${Math.round(share * 100)}%`;
}

/** A fixed-width text table: a title, a header, a rule, the rows; the `numeric` columns right-aligned. */
export function textTable(
  title: string,
  header: readonly string[],
  body: readonly string[][],
  numeric: ReadonlySet<number>,
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** A fixed-width text table of stations (for stdout and the task log). */
export function stationTable(title: string, rows: readonly StationWait[]): string {
  const header = [
    '#',
    'Station',
    'Line',
    'Direction',
    'Wait',
    'Sched.',
    'Excess',
    'Headway',
    'Arrivals',
    'Delay',
    'On time',
  ];
  const body = rows.map((r, i) => [
    String(i + 1),
    stationLabel(r.stationId, r.stationName),
    r.line,
    r.direction,
    formatClock(r.expectedWaitSeconds),
    formatClock(r.scheduledExpectedWaitSeconds),
    formatExcess(r.excessWaitSeconds),
    formatClock(r.meanHeadwaySeconds),
    String(r.arrivals),
    formatClock(r.timetabled.meanDelaySeconds),
    formatShare(r.timetabled.onTimeShare),
  ]);
  return textTable(title, header, body, new Set([0, 4, 5, 6, 7, 8, 9, 10]));
}

/** The model a period's headline uses, for the tables. */
export const MODEL_SHORT: Readonly<Record<WaitModel, string>> = {
  'random-arrival': 'random arrival',
  timetable: 'timetable',
};

/** The headline figure of a set of headways under its model: `3 min 05 s expected wait` or `1 min 10 s late, 84% on time`. */
export function headlineFigure(split: ModelSplit): string {
  return split.model === 'timetable'
    ? `${formatWait(split.timetabled.meanDelaySeconds)} mean delay past the timetable, ${formatShare(split.timetabled.onTimeShare)} on time`
    : `${formatWait(split.frequent.expectedWaitSeconds)} expected wait`;
}

/** The service periods as a text table: each period's model and figures under both models. */
export function periodTable(periods: readonly PeriodWait[]): string {
  const header = ['Period', 'Hours', 'Model', 'Wait', 'Sched.', 'Excess', 'Delay', 'On time', 'Long hw.', 'Headways'];
  const body = periods.map((p) => [
    p.period.name,
    periodHours(p.period),
    MODEL_SHORT[p.model],
    formatClock(p.frequent.expectedWaitSeconds),
    formatClock(p.frequent.scheduledExpectedWaitSeconds),
    formatExcess(p.frequent.excessWaitSeconds),
    formatClock(p.timetabled.meanDelaySeconds),
    formatShare(p.timetabled.onTimeShare),
    formatShare(p.timetabledShare),
    String(p.all.headways),
  ]);
  return textTable(
    'Waits by service period (min:s; Wait: random arrival over frequent service; Delay, On time: timetable model over long-headway service)',
    header,
    body,
    new Set([3, 4, 5, 6, 7, 8, 9]),
  );
}

/** Which periods a passenger at rush hour should read, with their headlines. */
export function rushHourAdvice(periods: readonly PeriodWait[]): string | null {
  const rush = periods.filter((p) => RUSH_HOUR_PERIOD_KEYS.includes(p.period.key));
  if (!rush.length) return null;
  return (
    `Travelling at rush hour? Read ${rush.map((p) => `${p.period.name} (${periodHours(p.period)})`).join(' and ')}: ` +
    rush.map((p) => `${headlineFigure(p)} (${MODEL_SHORT[p.model]})`).join('; ') +
    '. The all-day figure mixes in thin early, evening and night service.'
  );
}

/** The incident comparison as a text table: during incidents, the same hours without, all other headways. */
export function incidentTable(lines: readonly LineIncidentWait[]): string {
  const header = [
    'Line',
    'Incidents',
    'During',
    'Same hours, none open',
    'All other',
    'Excess during',
    'Excess same hours',
    'Headways during',
  ];
  const body = lines
    .filter((l) => l.headwaysDuring > 0)
    .map((l) => [
      l.line,
      String(l.incidents),
      formatClock(l.expectedWaitDuringSeconds),
      formatClock(l.expectedWaitSameHoursSeconds),
      formatClock(l.expectedWaitOtherwiseSeconds),
      formatExcess(l.excessWaitDuringSeconds),
      formatExcess(l.excessWaitSameHoursSeconds),
      String(l.headwaysDuring),
    ]);
  return textTable(
    'Expected wait while an incident is open, like with like: the same line in the same hours of the day with no incident open (min:s, random arrival)',
    header,
    body,
    new Set([1, 2, 3, 4, 5, 6, 7]),
  );
}

/** The all-day headline: random arrival over frequent service, the timetable model over long headways. */
function allDayText(data: ReportData): string[] {
  const n = data.network;
  const f = n.frequent;
  const lines = [
    `Expected wait for a train, all day: ${formatWait(f.expectedWaitSeconds)} (${MODEL_LABELS['random-arrival']}, ` +
      `over the ${formatShare(1 - n.timetabledShare)} of headways on frequent service; ` +
      `timetable: ${formatWait(f.scheduledExpectedWaitSeconds)}, excess ${formatExcess(f.excessWaitSeconds)}; ` +
      `mean headway ${formatWait(f.meanHeadwaySeconds)}), ${plural(n.stations, 'station')}, ${plural(n.days, 'day')}, ` +
      `${data.period.from.toISOString()} – ${data.period.to.toISOString()}`,
  ];
  if (n.timetabled.scheduledArrivals > 0)
    lines.push(
      `Long-headway service (timetable headway over ${formatWait(data.longHeadwaySeconds)}, ${formatShare(n.timetabledShare)} of headways; ` +
        `${MODEL_LABELS.timetable}): trains ${formatWait(n.timetabled.meanDelaySeconds)} past the scheduled time on average, ` +
        `${formatShare(n.timetabled.onTimeShare)} on time.`,
    );
  return lines;
}

/** The report's text: the headlines (all day and by period), the worst stations, and incidents like with like. */
export function reportText(data: ReportData): string {
  const worstExpected = worstBy(data.stations, 'expectedWaitSeconds', data.top);
  const worstExcess = worstBy(data.stations, 'excessWaitSeconds', data.top);
  const advice = rushHourAdvice(data.periods);
  const parts = [...allDayText(data), ...(advice ? [advice] : []), '', periodTable(data.periods)];
  parts.push(
    '',
    stationTable(
      `Worst stations by expected wait (min:s; Wait: random arrival over frequent service; Delay, On time: long-headway hours), top ${worstExpected.length}`,
      worstExpected,
    ),
  );
  if (worstExcess.length)
    parts.push(
      '',
      stationTable(`Worst stations by excess wait over the timetable (min:s), top ${worstExcess.length}`, worstExcess),
    );
  if (data.lineIncidents.some((l) => l.headwaysDuring > 0)) parts.push('', incidentTable(data.lineIncidents));
  return parts.join('\n');
}
