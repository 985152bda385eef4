/**
 * The wait-time report as one self-contained HTML page: inline CSS and SVG, no script, no network
 * (a Content-Security-Policy forbids loading anything), readable at a glance. Pure: data in, text out.
 */
import {
  formatClock,
  formatExcess,
  formatShare,
  formatWait,
  headlineFigure,
  INCIDENT_WINDOW_DAYS,
  plural,
  stationLabel,
  worstBy,
  type ReportData,
  type StationWait,
} from './report-model.js';
import { periodHours, RUSH_HOUR_PERIOD_KEYS } from './service-periods.js';
import { esc, histogram, horizontalBars, hourColumns, timeline, type BarRow } from './svg-charts.js';
import { MODEL_LABELS, worstServedHour, type PeriodWait } from './wait-rollup.js';

/** About how many platforms the "waits by station" chart shows, shared among the lines. */
export const CHART_STATIONS = 24;
/** …but at least this many of each line. */
const CHART_STATIONS_PER_LINE_MIN = 5;
/** The incident list shows the latest this many. */
const INCIDENT_LIST_MAX = 20;

const COLORS = {
  actual: '#0b7285',
  scheduled: '#adb5bd',
  excess: '#e8590c',
  mean: '#495057',
  longHeadway: '#9775fa',
} as const;
const LINE_COLORS: Readonly<Record<string, string>> = {
  blue: '#1c7ed6',
  red: '#e03131',
  green: '#2f9e44',
  yellow: '#f59f00',
  orange: '#f76707',
  purple: '#7048e8',
};
const PALETTE = ['#7048e8', '#f08c00', '#0c8599', '#d6336c', '#5c940d', '#495057'];
export const SEVERITY_COLORS: Readonly<Record<string, string>> = {
  minor: '#fab005',
  major: '#f76707',
  critical: '#c92a2a',
};
const UNKNOWN_SEVERITY_COLOR = '#868e96';

/** A colour for a line: its own when its name is a colour, else a stable pick from a palette. */
export function lineColor(line: string): string {
  const key = line.toLowerCase();
  if (Object.hasOwn(LINE_COLORS, key)) return LINE_COLORS[key]!;
  let h = 0;
  for (const c of line) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

/** The colour of a severity (a lookup on data: own keys only, so "constructor" is just unknown). */
export function severityColor(severity: string): string {
  return Object.hasOwn(SEVERITY_COLORS, severity) ? SEVERITY_COLORS[severity]! : UNKNOWN_SEVERITY_COLOR;
}

const utc = (d: Date): string => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const platform = (s: StationWait): string => `${s.line} ${s.direction}`;
/** When an incident was resolved: the time alone on the day it was reported, else the date too. */
const resolvedLabel = (reported: Date, resolved: Date): string =>
  utc(resolved).slice(0, 10) === utc(reported).slice(0, 10) ? utc(resolved).slice(11) : utc(resolved);

const STYLE = `
  :root { color-scheme: light; }
  body { margin: 0; background: #f5f7fa; color: #1f2933;
    font: 15px/1.45 -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif; }
  main { max-width: 1160px; margin: 0 auto; padding: 24px 24px 48px; }
  h1 { font-size: 28px; margin: 0 0 4px; }
  h2 { font-size: 20px; margin: 0 0 4px; }
  h3 { font-size: 16px; margin: 0 0 2px; }
  .meta, .note { color: #616e7c; margin: 0 0 12px; }
  section { background: #fff; border: 1px solid #e4e7eb; border-radius: 10px; padding: 18px 20px; margin: 18px 0; }
  .headline { border-left: 6px solid ${COLORS.actual}; }
  .answer { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
  .big { font-size: 56px; font-weight: 700; color: ${COLORS.actual}; line-height: 1.1; }
  .answer .what { font-size: 18px; max-width: 640px; }
  .explain { font-size: 16px; margin: 10px 0 14px; }
  .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
  .card { background: #f8f9fb; border: 1px solid #e4e7eb; border-radius: 8px; padding: 10px 12px; }
  .card .label { color: #616e7c; font-size: 13px; text-transform: uppercase; letter-spacing: .03em; }
  .card .value { font-size: 22px; font-weight: 700; }
  .card .sub { color: #3e4c59; font-size: 14px; }
  .excess { color: ${COLORS.excess}; }
  .periods { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
  .card.rush { border: 2px solid ${COLORS.actual}; background: #e6fcf5; }
  .model { color: #616e7c; font-size: 12px; }
  svg { max-width: 100%; height: auto; display: block; }
  .panels { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  .tables { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { padding: 4px 6px; border-bottom: 1px solid #e4e7eb; text-align: left; }
  th { color: #616e7c; font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .id { color: #616e7c; font-size: 12px; }
  .nowrap { white-space: nowrap; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; }
  footer { color: #3e4c59; font-size: 14px; }
  code { background: #f0f2f5; padding: 1px 4px; border-radius: 4px; }
`;

function card(label: string, value: string, sub: string, valueClass = ''): string {
  return (
    `<div class="card"><div class="label">${esc(label)}</div>` +
    `<div class="value${valueClass ? ' ' + valueClass : ''}">${esc(value)}</div><div class="sub">${esc(sub)}</div></div>`
  );
}

const hourRange = (hour: number): string =>
  `${String(hour).padStart(2, '0')}:00–${String((hour + 1) % 24).padStart(2, '0')}:00 UTC`;

/** The headline's explanation: the random-arrival figure, then the long-headway service under the timetable model. */
function headlineExplain(data: ReportData): string {
  const n = data.network;
  const f = n.frequent;
  const even = f.meanHeadwaySeconds !== null ? f.meanHeadwaySeconds / 2 : null;
  const long = n.timetabled;
  return (
    `Trains come every <strong>${esc(formatWait(f.meanHeadwaySeconds))}</strong> on average; evenly spaced, that would mean ` +
    `${esc(formatWait(even))} of waiting. Uneven gaps make it longer, because more passengers turn up during the long gaps.` +
    (f.scheduledExpectedWaitSeconds !== null
      ? ` The timetable promises <strong>${esc(formatWait(f.scheduledExpectedWaitSeconds))}</strong>: ` +
        `the excess wait is <strong class="excess">${esc(formatExcess(f.excessWaitSeconds))}</strong> (min:s).`
      : '') +
    (long.scheduledArrivals > 0
      ? ` Where the timetable has trains less often than every ${esc(formatWait(data.longHeadwaySeconds))} ` +
        `(${esc(formatShare(n.timetabledShare))} of headways), passengers time their arrival to the timetable, so there the wait ` +
        `is the train's lateness: <strong>${esc(formatWait(long.meanDelaySeconds))}</strong> past the scheduled time on average, ` +
        `${esc(formatShare(long.onTimeShare))} on time <span class="model">(${esc(MODEL_LABELS.timetable)})</span>.`
      : '')
  );
}

function headline(data: ReportData): string {
  const n = data.network;
  const worst = data.stations.find((s) => s.expectedWaitSeconds !== null);
  const worstHour = worstServedHour(data.hours);
  const byIncident = data.lineIncidents
    .filter((l) => l.expectedWaitDuringSeconds !== null && l.expectedWaitSameHoursSeconds)
    .map((l) => ({ ...l, ratio: l.expectedWaitDuringSeconds! / l.expectedWaitSameHoursSeconds! }))
    .sort((a, b) => b.ratio - a.ratio)[0];
  const cards = [
    worst
      ? card(
          'Worst platform',
          formatWait(worst.expectedWaitSeconds),
          `${stationLabel(worst.stationId, worst.stationName)} · ${platform(worst)}`,
        )
      : '',
    worstHour
      ? card(
          'Worst hour with frequent service',
          formatWait(worstHour.frequentService.expectedWaitSeconds),
          hourRange(worstHour.hour),
        )
      : '',
    byIncident
      ? card(
          'During incidents',
          formatWait(byIncident.expectedWaitDuringSeconds),
          `${byIncident.line} line, vs ${formatWait(byIncident.expectedWaitSameHoursSeconds)} in the same hours without one (${byIncident.ratio.toFixed(1)}×)`,
        )
      : card('Incidents', data.incidents.total.toLocaleString('en-US'), 'in this period'),
    card(
      'Measured',
      plural(n.all.arrivals, 'arrival'),
      `${plural(n.stations, 'station')}, ${plural(n.lines, 'line')}, ${plural(n.days, 'day')}`,
    ),
  ];
  return `<section class="headline">
  <div class="answer"><span class="big">${esc(formatWait(n.frequent.expectedWaitSeconds))}</span>
    <span class="what">is how long a passenger who turns up at a random moment waits for a train, all day, on frequent service
      <span class="model">(${esc(MODEL_LABELS['random-arrival'])})</span>. At rush hour, read the AM and PM peak below.</span></div>
  <p class="explain">${headlineExplain(data)}</p>
  <div class="cards">${cards.join('')}</div>
</section>`;
}

/** One period's card: its headline under its model, and the other model's figure when it has both. */
function periodCard(p: PeriodWait): string {
  const rush = RUSH_HOUR_PERIOD_KEYS.includes(p.period.key);
  const other =
    p.model === 'random-arrival' && p.timetabled.scheduledArrivals > 0
      ? `; long-headway service (${formatShare(p.timetabledShare)}): ${formatWait(p.timetabled.meanDelaySeconds)} late, ${formatShare(p.timetabled.onTimeShare)} on time`
      : p.model === 'timetable' && p.frequent.expectedWaitSeconds !== null
        ? `; frequent service (${formatShare(1 - p.timetabledShare)}): ${formatWait(p.frequent.expectedWaitSeconds)} expected wait`
        : '';
  const value =
    p.model === 'timetable' ? formatWait(p.timetabled.meanDelaySeconds) : formatWait(p.frequent.expectedWaitSeconds);
  const sub =
    (p.model === 'timetable'
      ? `mean delay past the timetable, ${formatShare(p.timetabled.onTimeShare)} on time`
      : `expected wait, timetable ${formatWait(p.frequent.scheduledExpectedWaitSeconds)}`) + other;
  return (
    `<div class="card${rush ? ' rush' : ''}"><div class="label">${esc(`${p.period.name} ${periodHours(p.period)}`)}${rush ? ' · rush hour' : ''}</div>` +
    `<div class="value">${esc(value)}</div><div class="sub">${esc(sub)}</div>` +
    `<div class="model">${esc(`model: ${MODEL_LABELS[p.model]}`)}</div></div>`
  );
}

function periodsSection(data: ReportData): string {
  const rush = data.periods.filter((p) => RUSH_HOUR_PERIOD_KEYS.includes(p.period.key));
  return `<section><h2>Waits by service period</h2>
  <p class="note">Travelling at rush hour? Read the highlighted ${esc(rush.map((p) => p.period.name).join(' and ') || 'peak')} cards${
    rush.length ? `: ${esc(rush.map((p) => `${p.period.name} ${headlineFigure(p)}`).join('; '))}` : ''
  }. The all-day figure above mixes in the thin early, evening and night service. Hours of the day in UTC.</p>
  <div class="periods">${data.periods.map(periodCard).join('')}</div>
</section>`;
}

/** The worst platforms of each line, lines in order of their worst platform: every line shows. */
export function chartPlatforms(stations: readonly StationWait[]): StationWait[] {
  const lines = [...new Set(worstBy(stations, 'expectedWaitSeconds', stations.length).map((s) => s.line))];
  const perLine = Math.max(CHART_STATIONS_PER_LINE_MIN, Math.ceil(CHART_STATIONS / Math.max(lines.length, 1)));
  return lines.flatMap((line) =>
    worstBy(
      stations.filter((s) => s.line === line),
      'expectedWaitSeconds',
      perLine,
    ),
  );
}

function stationsChart(data: ReportData): string {
  const rows: BarRow[] = chartPlatforms(data.stations).map((s) => ({
    label: stationLabel(s.stationId, s.stationName),
    sublabel: `${platform(s)} · excess ${formatExcess(s.excessWaitSeconds)}`,
    mark: lineColor(s.line),
    values: [s.expectedWaitSeconds, s.scheduledExpectedWaitSeconds],
    title:
      `${stationLabel(s.stationId, s.stationName)}, ${platform(s)}: expected wait ${formatWait(s.expectedWaitSeconds)}, ` +
      `timetable ${formatWait(s.scheduledExpectedWaitSeconds)}, ${s.arrivals} arrivals`,
  }));
  return `<section><h2>Waits by station</h2>
  <p class="note">The platforms with the longest expected wait on each line (${rows.length} of ${data.stations.length});
    grey: what the timetable promises. A long teal bar over a short grey one is unreliable service.</p>
  ${horizontalBars({
    title: 'Expected wait by station, against the timetable',
    rows,
    series: [
      { name: 'Expected wait (actual)', color: COLORS.actual },
      { name: 'Expected wait (timetable)', color: COLORS.scheduled },
    ],
    format: formatWait,
  })}
</section>`;
}

function stationRows(rows: readonly StationWait[]): string {
  return rows
    .map(
      (s, i) =>
        `<tr><td class="num">${i + 1}</td><td><span class="dot" style="background:${lineColor(s.line)}"></span>` +
        `${esc(s.stationName ?? s.stationId)}${s.stationName ? ` <span class="id">${esc(s.stationId)}</span>` : ''}</td>` +
        `<td class="nowrap">${esc(platform(s))}</td>` +
        `<td class="num">${esc(formatClock(s.expectedWaitSeconds))}</td><td class="num">${esc(formatClock(s.scheduledExpectedWaitSeconds))}</td>` +
        `<td class="num excess">${esc(formatExcess(s.excessWaitSeconds))}</td>` +
        `<td class="num">${esc(formatClock(s.timetabled.meanDelaySeconds))}</td><td class="num">${esc(formatShare(s.timetabled.onTimeShare))}</td></tr>`,
    )
    .join('');
}

function worstTables(data: ReportData): string {
  const head =
    '<tr><th class="num">#</th><th>Station</th><th>Line</th><th class="num">Wait</th><th class="num">Timetable</th><th class="num">Excess</th><th class="num">Delay</th><th class="num">On time</th></tr>';
  const byExpected = worstBy(data.stations, 'expectedWaitSeconds', data.top);
  const byExcess = worstBy(data.stations, 'excessWaitSeconds', data.top);
  return `<section><h2>Worst stations</h2>
  <p class="note">In min:s over the whole period. Wait, Timetable, Excess: random arrival over the platform's frequent
    service. Delay, On time: timetable model over its hours with a timetable headway over ${esc(formatWait(data.longHeadwaySeconds))}
    (mean delay past the scheduled time; on time = 1 min early to 5 min late).</p>
  <div class="tables">
    <div><h3>By expected wait</h3><table>${head}${stationRows(byExpected)}</table></div>
    <div><h3>By excess wait over the timetable</h3>${
      byExcess.length
        ? `<table>${head}${stationRows(byExcess)}</table>`
        : '<p class="note">No scheduled times in the data.</p>'
    }</div>
  </div>
</section>`;
}

function hoursChart(data: ReportData): string {
  const longHours = data.hours.filter((h) => h.model === 'timetable').map((h) => String(h.hour).padStart(2, '0'));
  return `<section><h2>Waits by hour of day</h2>
  <p class="note">Expected wait of passengers arriving in each hour (UTC), all stations and days together, as if they
    turned up at random (${esc(MODEL_LABELS['random-arrival'])}) over every headway of the hour.${
      longHours.length
        ? ` Most service in the hours ${esc(longHours.join(', '))} runs less often than every ${esc(formatWait(data.longHeadwaySeconds))}:
    there passengers follow the timetable, so read those hours' periods above (timetable model) rather than these bars.`
        : ''
    }</p>
  ${hourColumns({
    title: 'Expected wait by hour of day',
    points: data.hours.map((h) => ({
      hour: h.hour,
      values: [h.all.expectedWaitSeconds, h.all.scheduledExpectedWaitSeconds],
      alternate: h.model === 'timetable',
      title:
        `${String(h.hour).padStart(2, '0')}:00: expected wait ${formatWait(h.all.expectedWaitSeconds)}, timetable ${formatWait(
          h.all.scheduledExpectedWaitSeconds,
        )}, mean headway ${formatWait(h.all.meanHeadwaySeconds)}; long-headway service ${formatShare(h.timetabledShare)}` +
        (h.timetabled.scheduledArrivals > 0
          ? `, ${formatWait(h.timetabled.meanDelaySeconds)} late, ${formatShare(h.timetabled.onTimeShare)} on time`
          : ''),
    })),
    series: [
      { name: 'Expected wait (actual)', color: COLORS.actual },
      { name: 'Expected wait (timetable)', color: COLORS.mean },
    ],
    alternate: { name: 'Mostly long-headway service', color: COLORS.longHeadway },
  })}
</section>`;
}

function headwayPanels(data: ReportData): string {
  const { chosen } = data;
  const panels = chosen.panels.map((p) => {
    const f = p.figures;
    const markers =
      f.meanHeadwaySeconds !== null ? [{ seconds: f.meanHeadwaySeconds, label: 'mean', color: COLORS.mean }] : [];
    return `<div><h3><span class="dot" style="background:${lineColor(p.line)}"></span>${esc(`${p.line} ${p.direction}`)}</h3>
    <p class="note">${esc(plural(f.headways, 'headway'))} · mean ${esc(formatClock(f.meanHeadwaySeconds))} · expected wait
      <strong>${esc(formatClock(f.expectedWaitSeconds))}</strong> · timetable ${esc(formatClock(f.scheduledExpectedWaitSeconds))}</p>
    ${histogram({ title: `Headways at ${stationLabel(chosen.stationId, chosen.stationName)}, ${p.line} ${p.direction}`, bins: p.bins, color: lineColor(p.line), markers })}</div>`;
  });
  return `<section><h2>Headways at ${esc(stationLabel(chosen.stationId, chosen.stationName))}</h2>
  <p class="note">How often each gap between trains occurs (1-minute bins), every hour of the day; the figures beside each
    chart are the random-arrival model over all of them. A long tail of long gaps is what makes waits long.</p>
  <div class="panels">${panels.join('')}</div>
</section>`;
}

/** Each line's expected wait during incidents, in the same hours without one, and at all other times. */
function incidentEffectChart(data: ReportData): string {
  // Waits differ by hour anyway (night service is sparse): compare with the same line in the same hours of the day.
  const effect = data.lineIncidents.filter((l) => l.headwaysDuring > 0);
  return effect.length
    ? horizontalBars({
        title: 'Expected wait during incidents, in the same hours without one, and otherwise, by line',
        rows: effect.map((l) => ({
          label: `${l.line} line`,
          sublabel: `${plural(l.incidents, 'incident')} · ${plural(l.headwaysDuring, 'headway')} during`,
          mark: lineColor(l.line),
          values: [l.expectedWaitDuringSeconds, l.expectedWaitSameHoursSeconds, l.expectedWaitOtherwiseSeconds],
          title:
            `${l.line}: ${formatWait(l.expectedWaitDuringSeconds)} during incidents, ${formatWait(l.expectedWaitSameHoursSeconds)} ` +
            `in the same hours of the day with none open, ${formatWait(l.expectedWaitOtherwiseSeconds)} at all other times; ` +
            `excess over the timetable ${formatExcess(l.excessWaitDuringSeconds)} vs ${formatExcess(l.excessWaitSameHoursSeconds)}`,
        })),
        series: [
          { name: 'During an open incident', color: SEVERITY_COLORS['major']! },
          { name: 'Same line, same hours, none open', color: COLORS.actual },
          { name: 'All other headways', color: COLORS.scheduled },
        ],
        format: formatWait,
      })
    : '';
}

/** The incidents open in the report's last days: a timeline by line, then the latest ones listed. */
function incidentsSection(data: ReportData): string {
  const { total, since, recent } = data.incidents;
  const lines = [...new Set([...data.stations.map((s) => s.line), ...recent.map((i) => i.line)])].sort();
  const spans = recent.map((i) => ({
    row: i.line,
    from: i.reportedAt,
    to: i.resolvedAt,
    color: severityColor(i.severity),
    title:
      `${i.incidentId} (${i.severity}) ${utc(i.reportedAt)} – ${i.resolvedAt ? utc(i.resolvedAt) : 'still open'}` +
      (i.stationId ? ` at ${i.stationId}` : '') +
      (i.description ? `: ${i.description}` : ''),
  }));
  const whole = since.getTime() <= data.period.from.getTime();
  const chart = timeline({
    title: whole ? 'Incidents by line over time' : `Incidents by line, the last ${plural(INCIDENT_WINDOW_DAYS, 'day')}`,
    from: since,
    to: data.period.to,
    rows: lines.map((l) => ({ name: l, mark: lineColor(l) })),
    spans,
    legend: Object.entries(SEVERITY_COLORS).map(([name, color]) => ({ name, color })),
  });
  const effectChart = incidentEffectChart(data);
  const shown =
    recent.length === total
      ? ''
      : `; shown: the ${recent.length.toLocaleString('en-US')} open since ${esc(utc(since))}`;
  const note = total
    ? `<p class="note">${plural(total, 'incident')} in this period${shown}, by line; colour: worst severity reached.</p>`
    : '<p class="note">No incidents in this period.</p>';
  const latest = recent.slice(-INCIDENT_LIST_MAX);
  const table = latest.length
    ? `<table><tr><th>Incident</th><th>Line</th><th>Severity</th><th>Open</th><th class="num">Lasted</th><th>Where, what</th></tr>${latest
        .map(
          (i) =>
            `<tr><td class="nowrap">${esc(i.incidentId)}</td><td class="nowrap"><span class="dot" style="background:${lineColor(i.line)}"></span>${esc(i.line)}</td>` +
            `<td><span class="dot" style="background:${severityColor(i.severity)}"></span>${esc(i.severity)}</td>` +
            `<td class="nowrap">${esc(utc(i.reportedAt))} – ${i.resolvedAt ? esc(resolvedLabel(i.reportedAt, i.resolvedAt)) : 'still open'}</td>` +
            `<td class="num">${i.resolvedAt ? esc(formatWait((i.resolvedAt.getTime() - i.reportedAt.getTime()) / 1000)) : '–'}</td>` +
            `<td>${esc([i.stationId, i.description].filter(Boolean).join(': '))}</td></tr>`,
        )
        .join('')}</table>${
        recent.length > latest.length
          ? `<p class="note">The latest ${latest.length} of ${recent.length} are listed.</p>`
          : ''
      }`
    : '';
  return `<section><h2>Incidents</h2>${note}${chart}${
    effectChart
      ? `<h3 style="margin-top:16px">Waits while an incident is open, like with like</h3>
  <p class="note">The fair comparison is the same line in the same hours of the day with no incident open (a night incident
    against night service); random-arrival model.</p>${effectChart}`
      : ''
  }${table ? `<h3 style="margin-top:16px">Incident list</h3>${table}` : ''}</section>`;
}

/** Renders the whole report page. */
export function renderReportHtml(data: ReportData): string {
  const meta =
    `${utc(data.period.from)} – ${utc(data.period.to)} · schema <code>${esc(data.dbSchema)}</code> · ` +
    `generated ${utc(data.generatedAt)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>How long do passengers wait? · eventful</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header><h1>How long do passengers wait for a train?</h1><p class="meta">${meta}</p></header>
${headline(data)}
${periodsSection(data)}
${stationsChart(data)}
${worstTables(data)}
${hoursChart(data)}
${headwayPanels(data)}
${incidentsSection(data)}
<footer><p><strong>How the wait is computed.</strong> A passenger who turns up at a random moment lands in a gap
between trains (a headway <em>h</em>) with a chance proportional to its length, and then waits half of it on
average. Over the headways of a period the expected wait is therefore <code>Σh² / (2·Σh)</code>, not half the mean
headway: headways alternating 2 and 10 minutes have a mean of 6 minutes but an expected wait of 4 min 20 s, not 3
minutes. The timetable's expected wait is the same formula over scheduled times; the excess wait is the difference.
This random-arrival model fits frequent service only. Where a platform's mean scheduled headway in an hour of the day is
over ${esc(formatWait(data.longHeadwaySeconds))}, passengers time their arrival to the timetable, so the report gives the
timetable model there instead: the mean delay past the scheduled time (early trains count as no delay) and the share of
trains on time (1 min early to 5 min late). Every figure says which model it uses.
Figures come from the sums load keeps behind the warehouse views <code>station_wait_times</code>, <code>station_wait_times_hourly</code>,
<code>station_headways</code>, <code>incident_periods</code> and <code>line_incident_waits</code>.</p></footer>
</main>
</body>
</html>
`;
}
