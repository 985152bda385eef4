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
import { fillBins, HEADWAY_BINS } from '../../src/answer/report-queries.js';
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
  maxHeadwaySeconds: 600,
  ...figures(expected, scheduled),
});

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
    network: { ...figures(260), stations: 5, lines: 3, days: 1 },
    stations,
    hours: [
      { hour: 7, ...figures(260) },
      { hour: 8, ...figures(150, 150) },
    ],
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
    incidents: [
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
    lineIncidents: [
      {
        line: 'Red',
        incidents: 1,
        headwaysDuring: 2,
        expectedWaitDuringSeconds: 750,
        excessWaitDuringSeconds: 600,
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
    expect(table[1]).toMatch(/^#\s+Station\s+Line\s+Direction\s+Wait\s+Sched\.\s+Excess\s+Headway\s+Arrivals$/);
    expect(table[3]).toMatch(/^1\s+Mill & Weir \(STN-011\)\s+Blue\s+northbound\s+4:20\s+3:00\s+\+1:20\s+6:00\s+7$/);
    expect(reportText(reportData())).toContain('Expected wait for a train: 4 min 20 s');
  });

  it('should chart the worst platforms of every line, not only of the worst one', () => {
    const many = Array.from({ length: 30 }, (_, i) => station(`STN-${i}`, `S${i}`, 'Green', 400 + i));
    const lines = new Set(chartPlatforms([...many, station('STN-B', 'B', 'Blue', 100)]).map((s) => s.line));
    expect(lines).toEqual(new Set(['Green', 'Blue']));
  });
});

describe('the HTML report', () => {
  const html = renderReportHtml(reportData());

  it('should answer the question in the headline', () => {
    expect(html).toContain('<span class="big">4 min 20 s</span>');
    expect(html).toContain('How long do passengers wait for a train?');
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
        incidents: [],
        lineIncidents: [],
        stations: [station('STN-1', 'A', 'Blue', 300, null)],
      }),
    );
    expect(quiet).toContain('No incidents in this period.');
    expect(quiet).toContain('No scheduled times in the data.');
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
    expect(svg).toContain('30 min or more: 1 headways');
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
