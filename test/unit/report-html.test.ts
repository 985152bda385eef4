import { describe, expect, it } from 'vitest';
import { chartPlatforms, lineColor, renderReportHtml, severityColor } from '../../src/answer/report-html.js';
import {
  formatClock,
  formatExcess,
  formatWait,
  reportText,
  stationTable,
  worstBy,
  type ReportData,
  type StationWait,
  type WaitFigures,
} from '../../src/answer/report-model.js';
import { servicePeriods } from '../../src/answer/service-periods.js';
import type { LatenessFigures, ModelSplit } from '../../src/answer/wait-rollup.js';
import { fillBins } from '../../src/answer/report-queries.js';
import { HEADWAY_BINS } from '../../src/warehouse/answer-tables.js';
import { esc, histogram, secondsAxis, secondsTick, timeline } from '../../src/answer/svg-charts.js';

const figures = (expected: number | null, scheduled: number | null = 180): WaitFigures => ({
  arrivals: 7,
  headways: 6,
  meanHeadwaySeconds: 360,
  expectedWaitSeconds: expected,
  scheduledExpectedWaitSeconds: scheduled,
  excessWaitSeconds: expected !== null && scheduled !== null ? expected - scheduled : null,
});

const station = (
  id: string,
  name: string | null,
  line: string,
  expected: number | null,
  scheduled: number | null = 180,
): StationWait => ({
  stationId: id,
  stationName: name,
  line,
  direction: 'northbound',
  ...figures(expected, scheduled),
  timetabled: NO_LATENESS,
  timetabledShare: 0,
});

const NO_LATENESS: LatenessFigures = {
  scheduledArrivals: 0,
  meanDelaySeconds: null,
  meanLatenessSeconds: null,
  onTimeShare: null,
};

/** A split: random arrival over `frequent`, the timetable model with `lateness` over `share` of the headways. */
const split = (frequent: WaitFigures, lateness: LatenessFigures = NO_LATENESS, share = 0): ModelSplit => ({
  model: share > 0.5 ? 'timetable' : 'random-arrival',
  frequent,
  timetabled: lateness,
  timetabledShare: share,
  all: frequent,
});

const NIGHT_LATENESS: LatenessFigures = {
  scheduledArrivals: 40,
  meanDelaySeconds: 70,
  meanLatenessSeconds: 50,
  onTimeShare: 0.85,
};

const [EARLY, AM_PEAK, MIDDAY, PM_PEAK, , NIGHT] = servicePeriods();

const HOSTILE = `<script>alert("x")</script>`;

function reportData(overrides: Partial<ReportData> = {}): ReportData {
  const stations = [
    station('STN-011', 'Mill & Weir', 'Blue', 260),
    station('STN-006', "St. Mary's", 'Blue', 200),
    station('STN-666', HOSTILE, 'Red', 500, 120),
    station('STN-100', null, 'Green', 100, null),
    station('STN-200', 'Nowhere', 'constructor', null, null),
  ];
  return {
    dbSchema: 'public',
    generatedAt: new Date('2026-11-28T06:00:00Z'),
    period: { from: new Date('2026-11-27T00:00:00Z'), to: new Date('2026-11-27T23:59:00Z') },
    network: { ...split(figures(260), NIGHT_LATENESS, 0.1), stations: 5, lines: 3, days: 1 },
    periods: [
      { period: EARLY!, ...split(figures(300)) },
      { period: AM_PEAK!, ...split(figures(150, 140)) },
      { period: MIDDAY!, ...split(figures(200)) },
      { period: PM_PEAK!, ...split(figures(170, 150)) },
      { period: NIGHT!, ...split(figures(null, null), NIGHT_LATENESS, 1) },
    ],
    stations,
    hours: [
      { hour: 3, frequentShare: 0, frequentService: figures(null, null), ...split(figures(700), NIGHT_LATENESS, 1) },
      { hour: 7, frequentShare: 1, frequentService: figures(260), ...split(figures(260)) },
      { hour: 8, frequentShare: 1, frequentService: figures(150, 150), ...split(figures(150, 150)) },
    ],
    longHeadwaySeconds: 720,
    chosen: {
      stationId: 'STN-666',
      stationName: HOSTILE,
      panels: [
        {
          line: 'Red',
          direction: `west"bound`,
          bins: fillBins(
            new Map([
              [2, 3],
              [10, 3],
              [40, 1],
            ]),
          ),
          figures: figures(500, 120),
        },
      ],
    },
    incidents: {
      total: 2,
      since: new Date('2026-11-27T00:00:00Z'),
      recent: [
        {
          incidentId: 'INC-<1>',
          line: 'Red',
          stationId: 'STN-666',
          description: `Signal failure & "smoke" <img src=x onerror=alert(1)>`,
          severity: 'critical',
          reportedAt: new Date('2026-11-27T08:00:00Z'),
          resolvedAt: new Date('2026-11-27T08:30:00Z'),
        },
        {
          incidentId: 'INC-2',
          line: 'Blue',
          stationId: null,
          description: null,
          severity: 'constructor',
          reportedAt: new Date('2026-11-27T20:00:00Z'),
          resolvedAt: null,
        },
      ],
    },
    lineIncidents: [
      {
        line: 'Red',
        incidents: 1,
        headwaysDuring: 2,
        expectedWaitDuringSeconds: 750,
        excessWaitDuringSeconds: 600,
        headwaysSameHours: 6,
        expectedWaitSameHoursSeconds: 250,
        excessWaitSameHoursSeconds: 20,
        headwaysOtherwise: 15,
        expectedWaitOtherwiseSeconds: 147.5,
        excessWaitOtherwiseSeconds: -2.5,
      },
    ],
    top: 3,
    ...overrides,
  };
}

describe('formatting waits', () => {
  it('should write waits the way people say them', () => {
    expect(formatWait(260)).toBe('4 min 20 s');
    expect(formatWait(240)).toBe('4 min');
    expect(formatWait(45.4)).toBe('45 s');
    expect(formatWait(3900)).toBe('1 h 05 min');
    expect(formatWait(null)).toBe('–');
    expect(formatClock(260)).toBe('4:20');
    expect(formatExcess(80)).toBe('+1:20');
    expect(formatExcess(-30)).toBe('−0:30');
    expect(formatExcess(-0.2)).toBe('+0:00');
  });

  it('should pick round axis steps and label them in minutes', () => {
    expect(secondsAxis(260)).toEqual({ max: 300, step: 60 });
    expect(secondsAxis(1750)).toEqual({ max: 1800, step: 300 });
    expect(secondsTick(0)).toBe('0');
    expect(secondsTick(30)).toBe('30 s');
    expect(secondsTick(300)).toBe('5 min');
    expect(secondsTick(7200)).toBe('2 h');
  });
});

describe('the worst stations', () => {
  it('should rank by the chosen figure and leave out stations without it', () => {
    const data = reportData();
    expect(worstBy(data.stations, 'expectedWaitSeconds', 10).map((s) => s.stationId)).toEqual([
      'STN-666',
      'STN-011',
      'STN-006',
      'STN-100',
    ]);
    expect(worstBy(data.stations, 'excessWaitSeconds', 2).map((s) => s.stationId)).toEqual(['STN-666', 'STN-011']);
  });

  it('should print an aligned text table with the station names and ids', () => {
    const table = stationTable('Worst', [station('STN-011', 'Mill & Weir', 'Blue', 260)]).split('\n');
    expect(table[0]).toBe('Worst');
    expect(table[1]).toMatch(
      /^#\s+Station\s+Line\s+Direction\s+Wait\s+Sched\.\s+Excess\s+Headway\s+Arrivals\s+Delay\s+On time$/,
    );
    expect(table[3]).toMatch(
      /^1\s+Mill & Weir \(STN-011\)\s+Blue\s+northbound\s+4:20\s+3:00\s+\+1:20\s+6:00\s+7\s+–\s+–$/,
    );
    expect(reportText(reportData())).toContain('Expected wait for a train, all day: 4 min 20 s (random arrival');
  });

  it('should chart the worst platforms of every line, not only of the worst one', () => {
    const many = Array.from({ length: 30 }, (_, i) => station(`STN-${i}`, `S${i}`, 'Green', 400 + i));
    const lines = new Set(chartPlatforms([...many, station('STN-B', 'B', 'Blue', 100)]).map((s) => s.line));
    expect(lines).toEqual(new Set(['Green', 'Blue']));
  });
});

describe('the text report', () => {
  const text = reportText(reportData());

  it('should headline each service period with the model it uses and point rush-hour passengers to the peaks', () => {
    const rows = text.split('\n');
    const row = (name: string): string => rows.find((r) => r.startsWith(name))!;
    expect(row('AM peak')).toMatch(/^AM peak\s+07–10\s+random arrival\s+2:30\s+2:20\s+\+0:10\s+–\s+–\s+0%\s+6$/);
    expect(row('Night')).toMatch(/^Night\s+22–05\s+timetable\s+–\s+–\s+–\s+1:10\s+85%\s+100%\s+6$/);
    expect(text).toContain(
      'Travelling at rush hour? Read AM peak (07–10) and PM peak (16–19): 2 min 30 s expected wait (random arrival); ' +
        '2 min 50 s expected wait (random arrival).',
    );
    expect(text).toContain(
      'Long-headway service (timetable headway over 12 min, 10% of headways; timetable: delay past the scheduled time): ' +
        'trains 1 min 10 s past the scheduled time on average, 85% on time.',
    );
  });

  it('should compare incident waits with the same line in the same hours, and count in the singular', () => {
    expect(text).toMatch(/\nRed\s+1\s+12:30\s+4:10\s+2:28\s+\+10:00\s+\+0:20\s+2$/m);
    expect(text).toContain('5 stations, 1 day,');
    expect(text).not.toMatch(/\b1 days\b/);
  });
});

describe('the HTML report', () => {
  const html = renderReportHtml(reportData());

  it('should answer the question in the headline', () => {
    expect(html).toContain('<span class="big">4 min 20 s</span>');
    expect(html).toContain('How long do passengers wait for a train?');
  });

  it('should give every period a card, highlight the rush hours and name the model of each figure', () => {
    expect(html).toContain('Waits by service period');
    expect((html.match(/<div class="card rush">/g) ?? []).length).toBe(2);
    expect(html).toContain('AM peak 07–10 · rush hour');
    expect(html).toMatch(
      /Night 22–05<\/div><div class="value">1 min 10 s<\/div><div class="sub">mean delay past the timetable, 85% on time/,
    );
    expect(html).toContain('model: timetable: delay past the scheduled time');
    expect(html).toContain('model: random arrival, Σh²/(2·Σh)');
    expect(html).toContain('passengers time their arrival to the timetable');
  });

  it('should take the worst hour from hours with frequent service and say 1 day, not 1 days', () => {
    expect(html).toMatch(
      /Worst hour with frequent service<\/div><div class="value">4 min 20 s<\/div><div class="sub">07:00–08:00 UTC/,
    );
    expect(html).toContain('5 stations, 3 lines, 1 day<');
    expect(html).not.toMatch(/\b1 (?:days|headways|incidents|stations|lines)\b/);
  });

  it('should compare incident waits like with like', () => {
    expect(html).toContain('Red line, vs 4 min 10 s in the same hours without one (3.0×)');
    expect(html).toContain('Same line, same hours, none open');
  });

  it('should escape every name it prints', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('Mill &amp; Weir');
    expect(html).toContain('St. Mary&#39;s');
    expect(html).toContain('west&quot;bound');
    expect(html).toContain('INC-&lt;1&gt;');
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/<script/i);
  });

  it('should load nothing from anywhere: no script, no link, no URL, and a policy that forbids it', () => {
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    );
    // No tag refers to anything outside the page; the only URL is the SVG namespace, a name never fetched.
    const tags = html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '').match(/<[^>]*>/g) ?? [];
    expect(tags.filter((t) => /\b(?:src|href|action|srcset)\s*=|https?:|url\(/i.test(t))).toEqual([]);
    expect(html).not.toMatch(/<(?:link|iframe|object|embed|img|script|image|use|foreignObject)\b/i);
    expect(html).not.toMatch(/url\(|@import/);
  });

  it('should draw the four charts as inline SVG with balanced tags', () => {
    const svgs = html.match(/<svg /g) ?? [];
    expect(svgs.length).toBeGreaterThanOrEqual(5); // stations, hours, one headway panel, timeline, incident effect
    expect((html.match(/<\/svg>/g) ?? []).length).toBe(svgs.length);
    expect((html.match(/<g>/g) ?? []).length).toBe((html.match(/<\/g>/g) ?? []).length);
    for (const heading of ['Waits by station', 'Waits by hour of day', 'Headways at', 'Incidents'])
      expect(html).toContain(heading);
  });

  it('should take colours only from its own palettes, whatever a line or severity is called', () => {
    expect(lineColor('constructor')).toMatch(/^#[0-9a-f]{6}$/);
    expect(lineColor('Blue')).toBe(lineColor('blue'));
    expect(severityColor('constructor')).toMatch(/^#[0-9a-f]{6}$/);
    expect(html).not.toContain('native code');
  });

  it('should say so when there were no incidents and no scheduled times', () => {
    const quiet = renderReportHtml(
      reportData({
        incidents: { total: 0, since: new Date('2026-11-27T00:00:00Z'), recent: [] },
        lineIncidents: [],
        stations: [station('STN-1', 'A', 'Blue', 300, null)],
      }),
    );
    expect(quiet).toContain('No incidents in this period.');
    expect(quiet).toContain('No scheduled times in the data.');
  });

  it('should count every incident of the period but draw only those of its last days', () => {
    const base = reportData();
    const year = renderReportHtml({
      ...base,
      period: { from: new Date('2025-11-28T00:00:00Z'), to: base.period.to },
      incidents: { ...base.incidents, total: 2694, since: new Date('2026-11-20T23:59:00Z') },
      lineIncidents: [],
    });
    expect(year).toContain('Incidents by line, the last 7 days');
    expect(year).toContain('2,694 incidents in this period; shown: the 2 open since 2026-11-20 23:59 UTC,');
    expect(year).toMatch(/Incidents<\/div><div class="value">2,694<\/div>/);
    expect(html).toContain('Incidents by line over time');
  });
});

describe('the chart builders', () => {
  it('should bin headways by the minute with an open last bin', () => {
    const bins = fillBins(
      new Map([
        [0, 2],
        [HEADWAY_BINS, 5],
      ]),
    );
    expect(bins).toHaveLength(HEADWAY_BINS + 1);
    expect(bins[0]).toEqual({ fromSeconds: 0, toSeconds: 60, count: 2 });
    expect(bins[HEADWAY_BINS]).toEqual({ fromSeconds: HEADWAY_BINS * 60, toSeconds: null, count: 5 });
  });

  it('should label the open histogram bin as "or more"', () => {
    const svg = histogram({ title: 't', bins: fillBins(new Map([[HEADWAY_BINS, 1]])), color: '#000' });
    expect(svg).toContain('30 min or more: 1 headway<');
    expect(svg).toContain('>30 min+</text>');
  });

  it('should stack overlapping spans of a timeline row in lanes', () => {
    const at = (h: number): Date => new Date(Date.UTC(2026, 10, 27, h));
    const spans = [
      { row: 'Blue', from: at(8), to: at(10), color: '#f00', title: 'a' },
      { row: 'Blue', from: at(9), to: at(11), color: '#f00', title: 'b' },
      { row: 'Blue', from: at(12), to: null, color: '#f00', title: 'c' },
    ];
    const one = timeline({ title: 't', from: at(0), to: at(23), rows: [{ name: 'Blue' }], spans: spans.slice(2) });
    const two = timeline({ title: 't', from: at(0), to: at(23), rows: [{ name: 'Blue' }], spans });
    const height = (svg: string): number => Number(/height="(\d+)"/.exec(svg)![1]);
    expect(height(two)).toBeGreaterThan(height(one));
    expect(esc(`"<&>'`)).toBe('&quot;&lt;&amp;&gt;&#39;');
  });
});
