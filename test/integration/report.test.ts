import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { TrainArrivalEvent } from '../../src/answer/events.js';
import { simulate } from '../../src/answer/simulator.js';
import { connect, freshSchema } from '../helpers/pg.js';
import { ROOT, runCommand } from '../helpers/run.js';
import { applyViews, createWaitTables, insertArrivals, insertIncidentEvents } from '../helpers/warehouse-fixtures.js';

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
    expect(r.stdout).toContain('Worst stations by expected wait (min:s), top 5');
    expect(r.stdout).toContain('Worst stations by excess wait over the timetable (min:s), top 5');
    expect(r.summary).toMatchObject({ status: 'ok', db_schema: schema, html, days: 1, lines: 3, stations: 42 });
    expect(r.summary!['expected_wait_seconds'] as number).toBeCloseTo(expectedWait(arrivals), 0);
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

  it('should exit 99 when the views hold no arrivals yet', async () => {
    const empty = await freshSchema(client, 'report');
    schemas.push(empty);
    await createWaitTables(client, empty);
    await applyViews(client, empty);
    const r = await runCommand('report', ['--db-schema', empty]);
    expect(r.code).toBe(99);
    expect(r.summary).toMatchObject({ status: 'failed', error: { code: 'no_data' } });
  });

  it('should exit 2 with a clear message when the schema has no views or the station is unknown', async () => {
    const bare = await freshSchema(client, 'report');
    schemas.push(bare);
    const noViews = await runCommand('report', ['--db-schema', bare]);
    expect(noViews.code).toBe(2);
    expect(noViews.stderr).toMatch(/no wait-time views.*run load first/);
    const unknown = await runCommand('report', ['--db-schema', schema, '--station', 'STN-999']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--station STN-999');
    const badSchema = await runCommand('report', ['--db-schema', 'Robert"); DROP TABLE x;--']);
    expect(badSchema.code).toBe(2);
  });
});
