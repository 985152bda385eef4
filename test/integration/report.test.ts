import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { TrainArrivalEvent } from '../../src/answer/events.js';
import { simulate } from '../../src/answer/simulator.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand } from '../helpers/run.js';
import {
  applyViews,
  createWaitTables,
  insertArrivals,
  insertIncidentEvents,
  type ArrivalRow,
} from '../helpers/warehouse-fixtures.js';

const execFileAsync = promisify(execFile);

/** Where this test leaves the report and its screenshot for people to look at (git-ignored). */
const OUTPUT_DIR = path.join(ROOT, 'test-output', 'report');
/** Debian's chromium (apt-get install chromium; scripts/setup installs it). */
const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--hide-scrollbars',
  '--enable-logging=stderr',
  '--v=0',
];
const START = Date.parse('2026-11-26T00:00:00Z') / 1000;
const DAY = 86_400;
const MAX_HEADWAY_SECONDS = 3 * 3600;

/** One platform's arrivals, `[scheduled, actual]` as UTC times of a day, on the Blue line at STN-001. */
function platformDay(day: string, times: ReadonlyArray<readonly [string, string]>): ArrivalRow[] {
  return times.map(([scheduled, actual], i) => ({
    occurred_at: `${day}T${actual}Z`,
    scheduled_at: `${day}T${scheduled}Z`,
    station_id: 'STN-001',
    station_name: 'Harbour',
    train_id: `BL-${day.slice(-2)}${String(i).padStart(2, '0')}`,
  }));
}

/**
 * A warehouse whose figures are worked out by hand. Day 1: at night trains every 20 min by the timetable (the
 * timetable model), 2 min late, on time, 6 min late (headways 1 080 and 1 560 s, during incident INC-1 from 03:10
 * to 03:30); at 08:00 the worked example: 2 and 10 min against a 6-min timetable (260 s, timetable 180 s); at 17:00
 * every 5 min (150 s). Day 2: the same night on time (1 200, 1 200 s: 600 s). Gaps of hours between are service
 * gaps (over 3 h), not waits.
 */
const HAND_ARRIVALS: ArrivalRow[] = [
  ...platformDay('2026-11-27', [
    ['03:00:00', '03:02:00'],
    ['03:20:00', '03:20:00'],
    ['03:40:00', '03:46:00'],
    ['08:00:00', '08:00:00'],
    ['08:06:00', '08:02:00'],
    ['08:12:00', '08:12:00'],
    ['08:18:00', '08:14:00'],
    ['08:24:00', '08:24:00'],
    ['17:00:00', '17:00:00'],
    ['17:05:00', '17:05:00'],
    ['17:10:00', '17:10:00'],
  ]),
  ...platformDay('2026-11-28', [
    ['03:00:00', '03:00:00'],
    ['03:20:00', '03:20:00'],
    ['03:40:00', '03:40:00'],
  ]),
];

/** Runs headless Chromium on a local file; returns what it printed and the page's console messages. */
async function chromium(file: string, extra: string[]): Promise<{ stdout: string; console: string[] }> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'eventful-chromium-'));
  try {
    const { stdout, stderr } = await execFileAsync(
      CHROMIUM,
      [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...extra, `file://${file}`],
      { timeout: 60_000, maxBuffer: 1 << 26 },
    );
    // Chromium logs its own noise (no D-Bus, no GPU) too; the page's console messages carry the CONSOLE tag.
    return { stdout, console: stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)) };
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** Σh²/(2Σh) over station headways, computed here from the events, independently of the SQL. */
function expectedWait(arrivals: readonly TrainArrivalEvent[]): number {
  const byPlatform = new Map<string, number[]>();
  for (const a of arrivals) {
    if (a.checkpoint_type === 'checkpoint') continue;
    const k = `${a.station_id}|${a.line}|${a.direction}`;
    byPlatform.set(k, [...(byPlatform.get(k) ?? []), Date.parse(a.occurred_at) / 1000]);
  }
  let sum = 0;
  let squares = 0;
  for (const times of byPlatform.values()) {
    times.sort((x, y) => x - y);
    for (let i = 1; i < times.length; i++) {
      const h = times[i]! - times[i - 1]!;
      if (h > MAX_HEADWAY_SECONDS) continue;
      sum += h;
      squares += h * h;
    }
  }
  return squares / (2 * sum);
}

describe('report', () => {
  let client: pg.Client;
  let schema: string;
  const schemas: string[] = [];
  let arrivals: TrainArrivalEvent[];

  beforeAll(async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (scripts/setup does)`).toBe(true);
    client = await connect();
    schema = await freshSchema(client, 'report');
    schemas.push(schema);
    await createWaitTables(client, schema);
    const events = [...simulate({ seed: 'report-test', startSeconds: START, durationSeconds: DAY })];
    arrivals = events.flatMap((e) => (e.kind === 'arrival' ? [e.value] : []));
    await insertArrivals(client, schema, arrivals);
    await insertIncidentEvents(
      client,
      schema,
      events.flatMap((e) => (e.kind === 'incident' ? [e.value] : [])),
    );
    await applyViews(client, schema);
    await mkdir(OUTPUT_DIR, { recursive: true });
  });

  afterAll(async () => {
    for (const s of schemas) await client.query(`DROP SCHEMA "${s}" CASCADE`);
    await client.end();
  });

  it('should print the worst stations and end with a JSON summary whose wait matches the formula', async () => {
    const html = path.join(OUTPUT_DIR, 'report.html');
    const r = await runCommand('report', ['--db-schema', schema, '--html', html, '--top', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Worst stations by expected wait \(min:s; .*\), top 5$/m);
    expect(r.stdout).toContain('Worst stations by excess wait over the timetable (min:s), top 5');
    expect(r.summary).toMatchObject({ status: 'ok', db_schema: schema, html, days: 1, lines: 3, stations: 42 });
    expect(r.summary!['expected_wait_all_headways_seconds'] as number).toBeCloseTo(expectedWait(arrivals), 0);
    // The all-day headline leaves the thin night service to the timetable model, so it is shorter.
    expect(r.summary!['expected_wait_seconds'] as number).toBeLessThan(expectedWait(arrivals));
    expect(r.summary!['all_day']).toMatchObject({ model: 'random-arrival' });
    expect(Object.keys(r.summary!['periods'] as object)).toEqual([
      'early',
      'am_peak',
      'midday',
      'pm_peak',
      'evening',
      'night',
    ]);
    expect(r.summary!['excess_wait_seconds'] as number).toBeGreaterThan(0);
    expect(r.summary!['worst_by_expected']).toHaveLength(5);
    expect(r.summary!['incidents']).toBeGreaterThan(0);
    expect((await readFile(html, 'utf8')).startsWith('<!doctype html>')).toBe(true);
  });

  it('should write a page that headless Chromium renders without a console message, and save a screenshot', async () => {
    const html = path.join(OUTPUT_DIR, 'report.html');
    const png = path.join(OUTPUT_DIR, 'report.png');
    const r = await runCommand('report', ['--db-schema', schema, '--html', html, '--station', 'STN-007']);
    expect(r.code, r.stderr).toBe(0);

    const dom = await chromium(html, ['--dump-dom']);
    expect(dom.console).toEqual([]);
    expect(dom.stdout).toContain('How long do passengers wait for a train?');
    expect(dom.stdout).toContain('Headways at Central (STN-007)');
    expect((dom.stdout.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(8); // stations, hours, 6 panels at Central…

    await rm(png, { force: true });
    const shot = await chromium(html, [`--screenshot=${png}`, '--window-size=1280,2000']);
    expect(shot.console).toEqual([]);
    expect((await stat(png)).size).toBeGreaterThan(50_000); // a blank page is a few kB
    // The whole page too, for people who look at the test's output.
    const full = await chromium(html, [
      `--screenshot=${path.join(OUTPUT_DIR, 'report-full.png')}`,
      '--window-size=1280,5600',
    ]);
    expect(full.console).toEqual([]);
  });

  it('should be able to tell a page with console errors from a clean one', async () => {
    // The control for the check above: the same policy, something that breaks it.
    const bad = path.join(OUTPUT_DIR, 'console-error-control.html');
    await writeFile(
      bad,
      `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>` +
        `<body><img src="http://127.0.0.1:9/x.png"></body></html>`,
    );
    const r = await chromium(bad, ['--dump-dom']);
    expect(r.console.length).toBeGreaterThan(0);
    await rm(bad);
  });

  it('should headline service periods, name the model of each figure and compare incidents like with like', async () => {
    const hand = await freshSchema(client, 'report');
    schemas.push(hand);
    await createWaitTables(client, hand);
    await insertArrivals(client, hand, HAND_ARRIVALS);
    await insertIncidentEvents(client, hand, [
      { incident_id: 'INC-1', occurred_at: '2026-11-27T03:10:00Z', line: 'Blue' },
      { incident_id: 'INC-1', occurred_at: '2026-11-27T03:30:00Z', event_type: 'incident_resolved' },
    ]);
    await applyViews(client, hand);
    const html = path.join(OUTPUT_DIR, 'report-hand.html');
    const r = await runCommand('report', ['--db-schema', hand, '--html', html]);
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary!;
    expect(s).toMatchObject({ days: 2, stations: 1, lines: 1, headways: 10, long_headway_seconds: 720 });
    // Random arrival over the frequent hours 08 and 17: (748 800 + 180 000) / (2 · 2 040)
    // Figures are given as computed, not rounded.
    expect(s['expected_wait_seconds']).toBe(928_800 / 4_080);
    expect(s['scheduled_expected_wait_seconds']).toBe(698_400 / 4_080);
    expect(s['all_day']).toMatchObject({
      model: 'random-arrival',
      long_headway_share: 0.4, // 4 of 10 headways at 03:00
      timetable: { scheduled_arrivals: 6, mean_delay_seconds: 80, on_time_share: 5 / 6 }, // (120 + 360) / 6; 5 of 6
    });
    const periods = s['periods'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(periods)).toEqual(['am_peak', 'pm_peak', 'night']);
    expect(periods['am_peak']).toMatchObject({ model: 'random-arrival', hours: [7, 10] });
    expect(periods['am_peak']!['random_arrival']).toMatchObject({
      expected_wait_seconds: 260,
      excess_wait_seconds: 80,
    });
    expect(periods['pm_peak']!['random_arrival']).toMatchObject({ expected_wait_seconds: 150 });
    expect(periods['night']).toMatchObject({
      model: 'timetable',
      long_headway_share: 1,
      timetable: { mean_delay_seconds: 80, on_time_share: 5 / 6 },
    });
    // During INC-1: 1 080 and 1 560 s → 3 600 000 / 5 280; the same hour on the quiet day: 1 200, 1 200 → 600;
    // every other headway: 3 808 800 / 8 880.
    expect(s['incident_waits']).toEqual([
      {
        line: 'Blue',
        expected_wait_during_seconds: 3_600_000 / 5_280,
        expected_wait_same_hours_otherwise_seconds: 600,
        expected_wait_otherwise_seconds: 3_808_800 / 8_880,
      },
    ]);

    expect(r.stdout).toMatch(/^AM peak\s+07–10\s+random arrival\s+4:20\s+3:00\s+\+1:20\s/m);
    expect(r.stdout).toMatch(/^Night\s+22–05\s+timetable\s+–\s+–\s+–\s+1:20\s+83%\s+100%\s+4$/m);
    expect(r.stdout).toContain(
      'Travelling at rush hour? Read AM peak (07–10) and PM peak (16–19): 4 min 20 s expected wait (random arrival); ' +
        '2 min 30 s expected wait (random arrival).',
    );
    expect(r.stdout).toMatch(/^Blue\s+1\s+11:22\s+10:00\s+7:09\s/m);
    expect(r.stdout).toContain('1 station, 2 days,');

    const page = await readFile(html, 'utf8');
    expect(page).toMatch(
      /Worst hour with frequent service<\/div><div class="value">4 min 20 s<\/div><div class="sub">08:00–09:00 UTC/,
    );
    expect(page).toContain('model: timetable: delay past the scheduled time');
    expect(page).toContain('Blue line, vs 10 min in the same hours without one (1.1×)');
    expect(page).toContain('1 station, 1 line, 2 days');
  });

  it('should count every incident of the period but draw only those open in its last 7 days', async () => {
    const weeks = await freshSchema(client, 'report');
    schemas.push(weeks);
    await createWaitTables(client, weeks);
    const night: Array<[string, string]> = [
      ['03:00:00', '03:00:00'],
      ['03:20:00', '03:20:00'],
      ['03:40:00', '03:40:00'],
    ];
    await insertArrivals(client, weeks, [...platformDay('2026-11-01', night), ...platformDay('2026-11-28', night)]);
    const resolved = { event_type: 'incident_resolved' } as const;
    await insertIncidentEvents(client, weeks, [
      { incident_id: 'INC-OLD', occurred_at: '2026-11-01T03:10:00Z', line: 'Blue' },
      { incident_id: 'INC-OLD', occurred_at: '2026-11-01T03:30:00Z', ...resolved },
      { incident_id: 'INC-GONE', occurred_at: '2026-11-19T10:00:00Z', line: 'Blue' },
      { incident_id: 'INC-GONE', occurred_at: '2026-11-20T10:00:00Z', ...resolved },
      { incident_id: 'INC-LONG', occurred_at: '2026-11-15T10:00:00Z', line: 'Blue' },
      { incident_id: 'INC-LONG', occurred_at: '2026-11-25T10:00:00Z', ...resolved },
      { incident_id: 'INC-OPEN', occurred_at: '2026-11-27T10:00:00Z', line: 'Blue' },
    ]);
    await applyViews(client, weeks);
    const html = path.join(OUTPUT_DIR, 'report-weeks.html');
    const r = await runCommand('report', ['--db-schema', weeks, '--html', html]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({
      incidents: 4,
      days: 2,
      stations: 1,
      lines: 1,
      period: { from: '2026-11-01T03:00:00.000Z', to: '2026-11-28T03:40:00.000Z' },
    });
    const page = await readFile(html, 'utf8');
    expect(page).toContain('Incidents by line, the last 7 days');
    // 7 days before the last arrival: INC-LONG was resolved after that, INC-OPEN still is open.
    expect(page).toContain('4 incidents in this period; shown: the 2 open since 2026-11-21 03:40 UTC,');
    // INC-LONG lasted ten days: its resolution shows its date.
    expect(page).toContain('2026-11-15 10:00 UTC – 2026-11-25 10:00 UTC');
    expect(page).toContain('INC-LONG');
    expect(page).toContain('INC-OPEN');
    expect(page).not.toContain('INC-OLD');
    expect(page).not.toContain('INC-GONE');
  });

  it('should take the service periods and the long-headway bound from flags and refuse bad ones', async () => {
    const r = await runCommand('report', [
      '--db-schema',
      schema,
      '--periods',
      '4,6,9,15,18,23',
      '--long-headway',
      '25',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const periods = r.summary!['periods'] as Record<string, Record<string, unknown>>;
    expect(periods['am_peak']).toMatchObject({ hours: [6, 9] });
    expect(periods['night']).toMatchObject({ hours: [23, 4], model: 'random-arrival' }); // 20- and 30-min nights count as frequent
    // Only the odd platform-hour whose timetable thins out past 35 min (around the start of service) is left.
    expect((r.summary!['all_day'] as Record<string, number>)['long_headway_share']).toBeLessThan(0.05);
    const bad = await runCommand('report', ['--db-schema', schema, '--periods', '5,7,10']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--periods.*6 start hours/);
    const badLong = await runCommand('report', ['--db-schema', schema, '--long-headway', '0']);
    expect(badLong.code).toBe(2);
  });

  it('should exit 99 when the views hold no arrivals yet', async () => {
    const empty = await freshSchema(client, 'report');
    schemas.push(empty);
    await createWaitTables(client, empty);
    await applyViews(client, empty);
    const r = await runCommand('report', ['--db-schema', empty]);
    expect(r.code).toBe(99);
    // Nothing to report is no failure: no ERROR line, and the summary's status says why.
    expect(r.summary).toMatchObject({ status: 'no_data', message: expect.stringMatching(/^no headways in schema/) });
    expect(r.stderr).not.toMatch(/ ERROR /);
  });

  it('should exit 2 with a clear message when the schema has no views or the station is unknown', async () => {
    const bare = await freshSchema(client, 'report');
    schemas.push(bare);
    const noViews = await runCommand('report', ['--db-schema', bare]);
    expect(noViews.code).toBe(2);
    expect(noViews.stderr).toMatch(/no wait-time views.*run load first/);
    const page = path.join(OUTPUT_DIR, `unknown-station-${process.pid}.html`);
    const unknown = await runCommand('report', ['--db-schema', schema, '--station', 'STN-999', '--html', page]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      `--station STN-999: no arrivals at this station in schema "${schema}"; its stations are listed by SELECT`,
    );
    // Without a page, --station would pick nothing.
    const noPage = await runCommand('report', ['--db-schema', schema, '--station', 'STN-007']);
    expect(noPage.code).toBe(2);
    expect(noPage.stderr).toContain("--station picks the station of the HTML page's headway chart");
    const badSchema = await runCommand('report', ['--db-schema', 'Robert"); DROP TABLE x;--']);
    expect(badSchema.code).toBe(2);
    // A folder for --html is refused before the queries, and leaves no temporary file beside it.
    const folder = await runCommand('report', ['--db-schema', schema, '--html', OUTPUT_DIR]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/--html \S+ is a folder: give the page's file name, e\.g\. \S+report\.html/);
    expect((await readdir(path.dirname(OUTPUT_DIR))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // So are no name at all (it wrote into the current folder's name) and a folder that cannot be made, before any
    // query or any line on stdout.
    for (const args of [['--html'], ['--html=']]) {
      const none = await runCommand('report', ['--db-schema', schema, ...args]);
      expect(none.code, args.join(' ')).toBe(2);
      expect(none.stderr).toMatch(/--html needs the page's file name, e\.g\. --html report\.html/);
    }
    const file = path.join(OUTPUT_DIR, `not-a-folder-${process.pid}`);
    await writeFile(file, 'x');
    const under = await runCommand('report', ['--db-schema', schema, '--html', path.join(file, 'page.html')]);
    expect(under.code).toBe(2);
    expect(under.stderr).toContain(`no page can be written in ${file} (EEXIST: a file of that name exists)`);
    expect(under.stdout.trim().split('\n')).toHaveLength(1);
  });
});
