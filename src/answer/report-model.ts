/**
 * What the wait-time report shows, as plain data read from the views (report-queries.ts), and its
 * rendering as text tables for the terminal and the task log (pure).
 */

/** Wait figures over a set of headways (all seconds; null where there is no headway to measure). */
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

/** One platform: a station served by a line in one direction. */
export interface StationWait extends WaitFigures {
  stationId: string;
  stationName: string | null;
  line: string;
  direction: string;
  maxHeadwaySeconds: number | null;
}

/** Waits of passengers arriving in one hour of the day, all stations and days together. */
export interface HourWait extends WaitFigures {
  hour: number;
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

/** A line's waits during open incidents against its waits otherwise. */
export interface LineIncidentWait {
  line: string;
  incidents: number;
  headwaysDuring: number;
  expectedWaitDuringSeconds: number | null;
  excessWaitDuringSeconds: number | null;
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
  network: WaitFigures & { stations: number; lines: number; days: number };
  /** Every station, line and direction, worst expected wait first. */
  stations: StationWait[];
  /** Hours of the day that have headways, in order. */
  hours: HourWait[];
  /** The station whose headway distribution is shown. */
  chosen: { stationId: string; stationName: string | null; panels: HeadwayPanel[] };
  incidents: IncidentSpan[];
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

/** A fixed-width text table of stations (for stdout and the task log). */
export function stationTable(title: string, rows: readonly StationWait[]): string {
  const header = ['#', 'Station', 'Line', 'Direction', 'Wait', 'Sched.', 'Excess', 'Headway', 'Arrivals'];
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
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const numeric = new Set([0, 4, 5, 6, 7, 8]);
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The report's text: the headline and the worst stations by expected and by excess wait. */
export function reportText(data: ReportData): string {
  const n = data.network;
  const worstExpected = worstBy(data.stations, 'expectedWaitSeconds', data.top);
  const worstExcess = worstBy(data.stations, 'excessWaitSeconds', data.top);
  const parts = [
    `Expected wait for a train: ${formatWait(n.expectedWaitSeconds)} on average over ${n.stations} stations ` +
      `(timetable: ${formatWait(n.scheduledExpectedWaitSeconds)}, excess ${formatExcess(n.excessWaitSeconds)}; ` +
      `mean headway ${formatWait(n.meanHeadwaySeconds)}), ${data.period.from.toISOString()} – ${data.period.to.toISOString()}`,
    '',
    stationTable(`Worst stations by expected wait (min:s), top ${worstExpected.length}`, worstExpected),
  ];
  if (worstExcess.length)
    parts.push(
      '',
      stationTable(`Worst stations by excess wait over the timetable (min:s), top ${worstExcess.length}`, worstExcess),
    );
  return parts.join('\n');
}
