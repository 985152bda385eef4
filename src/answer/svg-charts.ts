/**
 * Small chart builders that return inline SVG markup (pure, no dependencies, no script): horizontal
 * grouped bars, hour-of-day columns, histograms and a timeline. Every piece of text is escaped.
 */
import { plural } from './report-model.js';

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A coordinate for an attribute: one decimal, never NaN. */
const n = (x: number): string => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0');

/** The chart's font and colours, shared by every builder. */
export const CHART_STYLE = {
  font: "-apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
  text: '#1f2933',
  muted: '#616e7c',
  grid: '#e4e7eb',
  axis: '#9aa5b1',
} as const;

/** Steps (seconds) an axis of durations may use, so its ticks fall on round minutes. */
const SECONDS_STEPS = [15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];
const MAX_TICKS = 8;

/** A round upper bound and tick step for a duration axis whose largest value is `max` seconds. */
export function secondsAxis(max: number): { max: number; step: number } {
  const top = Math.max(max, 1);
  const step = SECONDS_STEPS.find((s) => top / s <= MAX_TICKS) ?? Math.ceil(top / MAX_TICKS);
  return { max: Math.ceil(top / step) * step, step };
}

/** A tick label for a duration: `30 s`, `4 min`, `4:30`, `2 h`. */
export function secondsTick(s: number): string {
  if (s === 0) return '0';
  if (s < 60) return `${s} s`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const text = (x: number, y: number, content: string, attrs = ''): string =>
  `<text x="${n(x)}" y="${n(y)}"${attrs ? ' ' + attrs : ''}>${esc(content)}</text>`;

/** The opening tag of a chart: scalable, titled for screen readers. */
function open(width: number, height: number, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `role="img" aria-label="${esc(title)}" font-family="${esc(CHART_STYLE.font)}" font-size="12" fill="${CHART_STYLE.text}">` +
    `<title>${esc(title)}</title>`
  );
}

/** A legend: coloured squares with names, left to right from (x, y). */
function legend(x: number, y: number, items: ReadonlyArray<{ name: string; color: string; dashed?: boolean }>): string {
  let cx = x;
  return items
    .map((item) => {
      const mark = item.dashed
        ? `<line x1="${n(cx)}" y1="${n(y - 4)}" x2="${n(cx + 14)}" y2="${n(y - 4)}" stroke="${item.color}" stroke-width="2" stroke-dasharray="4 2"/>`
        : `<rect x="${n(cx)}" y="${n(y - 10)}" width="12" height="12" rx="2" fill="${item.color}"/>`;
      const out = mark + text(cx + 18, y, item.name);
      cx += 30 + item.name.length * 6.5;
      return out;
    })
    .join('');
}

/** One row of a horizontal bar chart: a label, an optional colour mark, one value per series. */
export interface BarRow {
  label: string;
  sublabel?: string;
  mark?: string;
  values: Array<number | null>;
  /** Tooltip text. */
  title?: string;
}

/** Horizontal grouped bars of durations (seconds), the first series thick and labelled with its value. */
export function horizontalBars(options: {
  title: string;
  rows: readonly BarRow[];
  series: ReadonlyArray<{ name: string; color: string }>;
  format: (seconds: number) => string;
  width?: number;
  labelWidth?: number;
}): string {
  const width = options.width ?? 1100;
  const labelWidth = options.labelWidth ?? 340;
  const rowHeight = options.rows.some((r) => r.sublabel) ? 38 : 30;
  const top = 34;
  const bottom = 28;
  const plotLeft = labelWidth + 10;
  const plotWidth = width - plotLeft - 110;
  const height = top + options.rows.length * rowHeight + bottom;
  const max = Math.max(0, ...options.rows.flatMap((r) => r.values.map((v) => v ?? 0)));
  const axis = secondsAxis(max);
  const x = (v: number): number => plotLeft + (Math.max(0, v) / axis.max) * plotWidth;
  const parts = [open(width, height, options.title), legend(plotLeft, 16, options.series)];
  for (let t = 0; t <= axis.max; t += axis.step)
    parts.push(
      `<line x1="${n(x(t))}" y1="${top - 4}" x2="${n(x(t))}" y2="${n(height - bottom)}" stroke="${CHART_STYLE.grid}"/>`,
      text(x(t), height - bottom + 16, secondsTick(t), `text-anchor="middle" fill="${CHART_STYLE.muted}"`),
    );
  const thickness = [14, 7, 7];
  options.rows.forEach((row, i) => {
    const y0 = top + i * rowHeight;
    parts.push(`<g>${row.title ? `<title>${esc(row.title)}</title>` : ''}`);
    const labelY = y0 + (row.sublabel ? 14 : 18);
    if (row.mark)
      parts.push(`<circle cx="${n(plotLeft - labelWidth + 6)}" cy="${n(labelY - 4)}" r="5" fill="${row.mark}"/>`);
    parts.push(text(plotLeft - labelWidth + 16, labelY, row.label, 'font-weight="600"'));
    if (row.sublabel)
      parts.push(text(plotLeft - labelWidth + 16, labelY + 15, row.sublabel, `fill="${CHART_STYLE.muted}"`));
    let y = y0 + 5;
    row.values.forEach((v, s) => {
      const h = thickness[Math.min(s, thickness.length - 1)]!;
      if (v !== null)
        parts.push(
          `<rect x="${n(plotLeft)}" y="${n(y)}" width="${n(x(v) - plotLeft)}" height="${h}" rx="2" fill="${options.series[s]?.color ?? '#999'}"/>`,
        );
      if (s === 0 && v !== null) parts.push(text(x(v) + 6, y + 11, options.format(v), 'font-weight="600"'));
      y += h + 3;
    });
    parts.push('</g>');
  });
  parts.push(
    `<line x1="${plotLeft}" y1="${top - 4}" x2="${plotLeft}" y2="${n(height - bottom)}" stroke="${CHART_STYLE.axis}"/>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

/**
 * Columns per hour of the day (0–23): the first series as bars, the second as a dashed line. A point marked
 * `alternate` paints its bar in the colour of `alternate` (named in the legend).
 */
export function hourColumns(options: {
  title: string;
  points: ReadonlyArray<{ hour: number; values: Array<number | null>; title?: string; alternate?: boolean }>;
  series: readonly [{ name: string; color: string }, { name: string; color: string }];
  alternate?: { name: string; color: string };
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 1100;
  const height = options.height ?? 300;
  const left = 64;
  const right = 20;
  const top = 34;
  const bottom = 40;
  const slot = (width - left - right) / 24;
  const max = Math.max(0, ...options.points.flatMap((p) => p.values.map((v) => v ?? 0)));
  const axis = secondsAxis(max);
  const y = (v: number): number => height - bottom - (Math.max(0, v) / axis.max) * (height - top - bottom);
  const parts = [
    open(width, height, options.title),
    legend(left, 16, [
      options.series[0],
      ...(options.alternate ? [options.alternate] : []),
      { ...options.series[1], dashed: true },
    ]),
  ];
  for (let t = 0; t <= axis.max; t += axis.step)
    parts.push(
      `<line x1="${left}" y1="${n(y(t))}" x2="${width - right}" y2="${n(y(t))}" stroke="${CHART_STYLE.grid}"/>`,
      text(left - 8, y(t) + 4, secondsTick(t), `text-anchor="end" fill="${CHART_STYLE.muted}"`),
    );
  for (let h = 0; h < 24; h += 1)
    parts.push(
      text(
        left + (h + 0.5) * slot,
        height - bottom + 16,
        String(h).padStart(2, '0'),
        `text-anchor="middle" fill="${CHART_STYLE.muted}"`,
      ),
    );
  parts.push(text(left + 12 * slot, height - 6, 'hour of the day', `text-anchor="middle" fill="${CHART_STYLE.muted}"`));
  for (const p of options.points) {
    const v = p.values[0];
    if (v === null || v === undefined) continue;
    parts.push(
      `<g>${p.title ? `<title>${esc(p.title)}</title>` : ''}<rect x="${n(left + p.hour * slot + slot * 0.15)}" y="${n(y(v))}" ` +
        `width="${n(slot * 0.7)}" height="${n(height - bottom - y(v))}" rx="2" ` +
        `fill="${p.alternate && options.alternate ? options.alternate.color : options.series[0].color}"/></g>`,
    );
  }
  const line = options.points
    .filter((p) => p.values[1] !== null && p.values[1] !== undefined)
    .map((p) => `${n(left + (p.hour + 0.5) * slot)},${n(y(p.values[1]!))}`);
  if (line.length)
    parts.push(
      `<polyline points="${line.join(' ')}" fill="none" stroke="${options.series[1].color}" stroke-width="2" stroke-dasharray="5 3"/>`,
      ...line.map((pt) => {
        const [cx, cy] = pt.split(',');
        return `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${options.series[1].color}"/>`;
      }),
    );
  parts.push(
    `<line x1="${left}" y1="${n(height - bottom)}" x2="${width - right}" y2="${n(height - bottom)}" stroke="${CHART_STYLE.axis}"/>`,
    '</svg>',
  );
  return parts.join('');
}

/** A histogram of headways in equal bins; the last bin is open-ended. Marks at given values (seconds). */
export function histogram(options: {
  title: string;
  bins: ReadonlyArray<{ fromSeconds: number; toSeconds: number | null; count: number }>;
  color: string;
  markers?: ReadonlyArray<{ seconds: number; label: string; color: string }>;
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 540;
  const height = options.height ?? 230;
  const left = 44;
  const right = 12;
  const top = 16;
  const bottom = 40;
  const count = options.bins.length;
  const slot = (width - left - right) / Math.max(count, 1);
  const max = Math.max(1, ...options.bins.map((b) => b.count));
  const step =
    [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000].find((s) => max / s <= 5) ?? Math.ceil(max / 5);
  const yMax = Math.ceil(max / step) * step;
  const y = (v: number): number => height - bottom - (v / yMax) * (height - top - bottom);
  const parts = [open(width, height, options.title)];
  for (let t = 0; t <= yMax; t += step)
    parts.push(
      `<line x1="${left}" y1="${n(y(t))}" x2="${width - right}" y2="${n(y(t))}" stroke="${CHART_STYLE.grid}"/>`,
      text(left - 6, y(t) + 4, String(t), `text-anchor="end" fill="${CHART_STYLE.muted}"`),
    );
  options.bins.forEach((b, i) => {
    const range =
      b.toSeconds === null
        ? `${secondsTick(b.fromSeconds)} or more`
        : `${secondsTick(b.fromSeconds)} to ${secondsTick(b.toSeconds)}`;
    if (b.count > 0)
      parts.push(
        `<g><title>${esc(`${range}: ${plural(b.count, 'headway')}`)}</title><rect x="${n(left + i * slot + 1)}" y="${n(y(b.count))}" ` +
          `width="${n(Math.max(slot - 2, 1))}" height="${n(height - bottom - y(b.count))}" fill="${options.color}"/></g>`,
      );
  });
  const labelEvery = [1, 2, 5, 10, 15, 30, 60].find((k) => count / k <= 7) ?? Math.ceil(count / 7);
  options.bins.forEach((b, i) => {
    if (i % labelEvery !== 0 && b.toSeconds !== null) return;
    if (b.toSeconds !== null && i > count - 1 - labelEvery / 2) return; // leave room for the open bin's label
    const open = b.toSeconds === null;
    const label = open ? `${secondsTick(b.fromSeconds)}+` : secondsTick(b.fromSeconds);
    parts.push(
      text(
        left + (open ? (i + 1) * slot : i * slot),
        height - bottom + 15,
        label,
        `text-anchor="${open ? 'end' : 'middle'}" fill="${CHART_STYLE.muted}"`,
      ),
    );
  });
  parts.push(
    text(
      left + (width - left - right) / 2,
      height - 6,
      'headway (time between trains)',
      `text-anchor="middle" fill="${CHART_STYLE.muted}"`,
    ),
  );
  const binWidth =
    options.bins[0] && options.bins[0].toSeconds !== null
      ? options.bins[0].toSeconds - options.bins[0].fromSeconds
      : 60;
  for (const m of options.markers ?? []) {
    const mx = left + Math.min(m.seconds / binWidth, count) * slot;
    parts.push(
      `<line x1="${n(mx)}" y1="${top}" x2="${n(mx)}" y2="${n(height - bottom)}" stroke="${m.color}" stroke-width="2" stroke-dasharray="4 3"/>`,
      text(mx + 4, top + 10, m.label, `fill="${m.color}" font-weight="600"`),
    );
  }
  parts.push(
    `<line x1="${left}" y1="${n(height - bottom)}" x2="${width - right}" y2="${n(height - bottom)}" stroke="${CHART_STYLE.axis}"/>`,
    '</svg>',
  );
  return parts.join('');
}

/** One span on a timeline row. */
export interface TimelineSpan {
  row: string;
  from: Date;
  /** Null: still open at the end of the period (drawn to the edge, fading out). */
  to: Date | null;
  color: string;
  title: string;
}

const HOUR_MS = 3_600_000;
/** Steps a time axis may use, in hours. */
const TIME_STEPS_HOURS = [1, 2, 3, 6, 12, 24, 48, 168];

/** A timeline from `from` to `to`: one row per name in `rows`, overlapping spans stacked in lanes. */
export function timeline(options: {
  title: string;
  from: Date;
  to: Date;
  rows: ReadonlyArray<{ name: string; mark?: string }>;
  spans: readonly TimelineSpan[];
  legend?: ReadonlyArray<{ name: string; color: string }>;
  width?: number;
}): string {
  const width = options.width ?? 1100;
  const left = 120;
  const right = 20;
  const top = options.legend ? 34 : 12;
  const laneHeight = 16;
  const t0 = options.from.getTime();
  const t1 = Math.max(options.to.getTime(), t0 + HOUR_MS);
  const x = (t: number): number => left + ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0)) * (width - left - right);
  // Lanes: a span goes to the first lane of its row that is free when it starts.
  const lanes = new Map<string, number[]>();
  const placed = [...options.spans]
    .sort((a, b) => a.from.getTime() - b.from.getTime())
    .map((s) => {
      const ends = lanes.get(s.row) ?? [];
      const end = s.to?.getTime() ?? t1;
      let lane = ends.findIndex((e) => e <= s.from.getTime());
      if (lane === -1) lane = ends.length;
      ends[lane] = end;
      lanes.set(s.row, ends);
      return { ...s, lane };
    });
  const rowHeights = options.rows.map((r) => Math.max(1, lanes.get(r.name)?.length ?? 1) * laneHeight + 14);
  const rowTop = (i: number): number => top + rowHeights.slice(0, i).reduce((a, b) => a + b, 0);
  const height = rowTop(options.rows.length) + 30;
  const parts = [open(width, height, options.title)];
  if (options.legend) parts.push(legend(left, 16, options.legend));
  const stepHours = TIME_STEPS_HOURS.find((h) => (t1 - t0) / (h * HOUR_MS) <= 12) ?? 168;
  // A tick a few minutes before the start (a period starting 00:00:03) still shows, at the edge.
  const firstTick = Math.ceil((t0 - stepHours * HOUR_MS * 0.05) / (stepHours * HOUR_MS)) * stepHours * HOUR_MS;
  for (let t = firstTick; t <= t1; t += stepHours * HOUR_MS) {
    const d = new Date(t);
    const label =
      d.getUTCHours() === 0
        ? `${d.toISOString().slice(5, 10)} 00:00`
        : `${String(d.getUTCHours()).padStart(2, '0')}:00`;
    parts.push(
      `<line x1="${n(x(t))}" y1="${top}" x2="${n(x(t))}" y2="${n(height - 30)}" stroke="${CHART_STYLE.grid}"/>`,
      text(x(t), height - 14, label, `text-anchor="middle" fill="${CHART_STYLE.muted}"`),
    );
  }
  options.rows.forEach((r, i) => {
    const y = rowTop(i);
    if (i > 0) parts.push(`<line x1="0" y1="${n(y)}" x2="${width}" y2="${n(y)}" stroke="${CHART_STYLE.grid}"/>`);
    if (r.mark) parts.push(`<circle cx="10" cy="${n(y + 15)}" r="5" fill="${r.mark}"/>`);
    parts.push(text(20, y + 19, r.name, 'font-weight="600"'));
  });
  for (const s of placed) {
    const i = options.rows.findIndex((r) => r.name === s.row);
    if (i === -1) continue;
    const x0 = x(s.from.getTime());
    const x1 = Math.max(x(s.to?.getTime() ?? t1), x0 + 3);
    const y = rowTop(i) + 7 + s.lane * laneHeight;
    parts.push(
      `<g><title>${esc(s.title)}</title><rect x="${n(x0)}" y="${n(y)}" width="${n(x1 - x0)}" height="${laneHeight - 4}" rx="2" ` +
        `fill="${s.color}"${s.to ? '' : ' fill-opacity="0.55" stroke-dasharray="3 2" stroke="' + s.color + '"'}/></g>`,
    );
  }
  parts.push(
    `<line x1="${left}" y1="${n(height - 30)}" x2="${width - right}" y2="${n(height - 30)}" stroke="${CHART_STYLE.axis}"/>`,
    '</svg>',
  );
  return parts.join('');
}
