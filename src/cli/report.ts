/**
 * `report`: answers "how long do passengers wait?" from the warehouse views. Prints the worst stations
 * (by expected and by excess wait) as tables on stdout and, with `--html FILE`, writes one self-contained
 * HTML page with charts. The last stdout line is the JSON summary.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hideBin } from 'yargs/helpers';
import { renderReportHtml } from '../answer/report-html.js';
import { reportText, stationLabel, worstBy, type ReportData, type StationWait } from '../answer/report-model.js';
import { readReportData } from '../answer/report-queries.js';
import { DEFAULT_PERIOD_STARTS, parseServicePeriods, type ServicePeriod } from '../answer/service-periods.js';
import { WAIT_MODEL_DEFAULTS, type LatenessFigures, type ModelSplit, type WaitFigures } from '../answer/wait-rollup.js';
import { identifierProblem } from '../schema/identifiers.js';
import { connectWarehouse } from '../warehouse/connection.js';
import { EventfulError, ExitCode, UsageError } from '../basics/errors.js';
import { folderProblem, makeFolders } from '../basics/folders.js';
import { stderrLogger } from '../basics/log.js';
import { runCommand } from './run-command.js';
import { terminalWidth, withUsageErrors } from './command-support.js';
import {
  commandParser,
  DATABASE_SETTINGS,
  helpEpilogue,
  resolveOptions,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
} from './option-definitions.js';

const SCRIPT = 'eventful-report';

/** The environment variables of the report's own settings. */
const REPORT_ENV = { periods: 'EVENTFUL_REPORT_PERIODS', longHeadway: 'EVENTFUL_REPORT_LONG_HEADWAY_MINUTES' } as const;
const SECONDS_PER_MINUTE = 60;

/** report's options: the shared ones and its own. */
export const REPORT_OPTIONS = {
  ...sharedOptions('db-schema'),
  html: { type: 'string', describe: 'Write the HTML report to this file' },
  top: { type: 'number', describe: 'How many of the worst stations to list', default: 10 },
  station: {
    type: 'string',
    describe: 'Station id whose headway distribution the HTML shows',
    defaultDescription: 'the one with the worst expected wait',
  },
  periods: {
    type: 'string',
    describe:
      'Start hours (0-23, increasing) of the service periods early, AM peak, midday, PM peak, evening, night; ' +
      'each runs until the next starts, night wraps past midnight',
    env: REPORT_ENV.periods,
    default: DEFAULT_PERIOD_STARTS.join(','),
  },
  'long-headway': {
    type: 'number',
    describe:
      'Minutes: where the mean scheduled headway of a platform in an hour of the day is longer, passengers are ' +
      'taken to time their arrival to the timetable, and waiting is reported as lateness (mean delay past the ' +
      'scheduled time, on-time share) instead of the random-arrival wait',
    env: REPORT_ENV.longHeadway,
    default: WAIT_MODEL_DEFAULTS.longHeadwaySeconds / SECONDS_PER_MINUTE,
  },
} as const satisfies OptionDefinitions;

const DESCRIPTION =
  'How long do passengers wait for a train? Reads the wait-time views that load creates and prints the\n' +
  'worst stations; --html writes a self-contained page with charts (no network needed to view it).\n' +
  'Each service period (early, AM peak, midday, PM peak, evening, night) gets its own headline; a rush-hour\n' +
  'passenger should read AM peak and PM peak. Frequent service uses the random-arrival wait Σh²/(2·Σh);\n' +
  'long-headway service (see --long-headway) is reported as lateness against the timetable.\n' +
  'Exits 99 when the views hold no data yet, 2 when --db-schema has no wait-time views.';

async function parseArgs(argv: string[]) {
  const options = commandParser(argv, SCRIPT, `$0 [options]\n\n${DESCRIPTION}`, REPORT_OPTIONS).epilogue(
    helpEpilogue(DATABASE_SETTINGS),
  );
  const o = resolveOptions(REPORT_OPTIONS, await withUsageErrors(options, terminalWidth()).parseAsync(), process.env);
  const dbSchema = o.string('db-schema')!;
  const problem = identifierProblem(dbSchema);
  if (problem) throw new UsageError(`${o.from('db-schema')}: ${problem}`);
  const top = o.number('top')!;
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`${o.from('top')} must be a positive integer`);
  const periods = periodsFlag(o.string('periods')!, o.from('periods'));
  const longHeadway = o.number('long-headway')!;
  if (!(Number.isFinite(longHeadway) && longHeadway > 0))
    throw new UsageError(`${o.from('long-headway')} must be a positive number of minutes`);
  if (o.string('station') !== undefined && o.string('html') === undefined)
    throw new UsageError(
      `${o.from('station')} picks the station of the HTML page's headway chart, and no page is written: add --html FILE`,
    );
  return {
    dbSchema,
    top,
    html: o.string('html'),
    station: o.string('station'),
    periods,
    longHeadwaySeconds: longHeadway * SECONDS_PER_MINUTE,
  };
}

/** Writes a file whole or not at all (a reader never sees half a page, and a failure leaves no part behind). */
async function writeAtomically(file: string, content: string): Promise<void> {
  await makeFolders(path.dirname(file));
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    throw new EventfulError(
      `could not write the HTML report to ${file}${code ? ` (${code})` : ''}: choose another --html path`,
    );
  }
}

/**
 * The page's path from --html, refused before the queries run when no page can be written there: no name, a
 * folder, or a folder that cannot be made or written.
 */
async function htmlTarget(raw: string, from: string): Promise<string> {
  if (raw.trim() === '') throw new UsageError(`${from} needs the page's file name, e.g. ${from} report.html`);
  const file = path.resolve(raw);
  const found = await stat(file).catch(() => undefined);
  if (found?.isDirectory())
    throw new UsageError(
      `${from} ${file} is a folder: give the page's file name, e.g. ${path.join(file, 'report.html')}`,
    );
  const problem = await folderProblem(path.dirname(file));
  if (problem)
    throw new UsageError(
      `${from} ${file}: no page can be written in ${path.dirname(file)} (${problem}): choose another path`,
    );
  return file;
}

/** Parses --periods, naming the flag in the error. */
function periodsFlag(spec: string, from: string): ServicePeriod[] {
  try {
    return parseServicePeriods(spec);
  } catch (err) {
    throw new UsageError(`${from}: ${(err as Error).message}`);
  }
}

const waitSummary = (f: WaitFigures) => ({
  expected_wait_seconds: f.expectedWaitSeconds,
  scheduled_expected_wait_seconds: f.scheduledExpectedWaitSeconds,
  excess_wait_seconds: f.excessWaitSeconds,
  mean_headway_seconds: f.meanHeadwaySeconds,
  headways: f.headways,
});

const latenessSummary = (l: LatenessFigures) => ({
  scheduled_arrivals: l.scheduledArrivals,
  mean_delay_seconds: l.meanDelaySeconds,
  on_time_share: l.onTimeShare,
});

/** A headline in the summary: its model, random arrival over frequent service, the timetable model over the rest. */
const splitSummary = (split: ModelSplit) => ({
  model: split.model,
  random_arrival: waitSummary(split.frequent),
  timetable: latenessSummary(split.timetabled),
  long_headway_share: split.timetabledShare,
});

const summaryRow = (s: StationWait) => ({
  station_id: s.stationId,
  station_name: s.stationName,
  line: s.line,
  direction: s.direction,
  expected_wait_seconds: s.expectedWaitSeconds,
  scheduled_expected_wait_seconds: s.scheduledExpectedWaitSeconds,
  excess_wait_seconds: s.excessWaitSeconds,
});

/**
 * The JSON summary line: the headlines under their models, the worst stations, incidents like with like. Figures
 * are given as computed, never rounded (the text and the page round them for reading).
 */
function reportSummary(data: ReportData, html: string | null): Record<string, unknown> {
  const n = data.network;
  return {
    status: 'ok',
    db_schema: data.dbSchema,
    period: { from: data.period.from.toISOString(), to: data.period.to.toISOString() },
    arrivals: n.all.arrivals,
    headways: n.all.headways,
    stations: n.stations,
    lines: n.lines,
    days: n.days,
    // The all-day headline: random arrival over frequent service (see all_day for the long-headway part).
    expected_wait_seconds: n.frequent.expectedWaitSeconds,
    scheduled_expected_wait_seconds: n.frequent.scheduledExpectedWaitSeconds,
    excess_wait_seconds: n.frequent.excessWaitSeconds,
    mean_headway_seconds: n.frequent.meanHeadwaySeconds,
    // Random arrival over every headway whatever the service: what the views' rows roll up to directly.
    expected_wait_all_headways_seconds: n.all.expectedWaitSeconds,
    long_headway_seconds: data.longHeadwaySeconds,
    all_day: splitSummary(n),
    periods: Object.fromEntries(
      data.periods.map((p) => [p.period.key, { hours: [p.period.fromHour, p.period.toHour], ...splitSummary(p) }]),
    ),
    worst_by_expected: worstBy(data.stations, 'expectedWaitSeconds', data.top).map(summaryRow),
    worst_by_excess: worstBy(data.stations, 'excessWaitSeconds', data.top).map(summaryRow),
    station: stationLabel(data.chosen.stationId, data.chosen.stationName),
    incidents: data.incidents.total,
    incident_waits: data.lineIncidents.map((l) => ({
      line: l.line,
      expected_wait_during_seconds: l.expectedWaitDuringSeconds,
      expected_wait_same_hours_otherwise_seconds: l.expectedWaitSameHoursSeconds,
      expected_wait_otherwise_seconds: l.expectedWaitOtherwiseSeconds,
    })),
    html,
  };
}

/** Runs `report` with the given arguments (without `node` and the script). */
export async function main(argv: string[] = hideBin(process.argv)): Promise<never> {
  const log = stderrLogger('report');
  return runCommand(log, async () => {
    const args = await withHelpHint(SCRIPT, () => parseArgs(argv));
    const { dbSchema } = args;
    const html =
      args.html === undefined ? undefined : await withHelpHint(SCRIPT, () => htmlTarget(args.html!, '--html'));

    const db = await connectWarehouse('eventful-report', log);
    let data;
    try {
      // The queries read maintained sums and one station's headways: compiling them (JIT, for plans costed over
      // jit_above_cost) took longer than it saved, ~40 ms of a 0.45 s report at 365 days of history.
      await db.query('SET jit = off');
      data = await readReportData(db, {
        dbSchema,
        top: args.top,
        periods: args.periods,
        longHeadwaySeconds: args.longHeadwaySeconds,
        ...(args.station !== undefined && { station: args.station }),
      });
    } finally {
      await db.close();
    }

    process.stdout.write(reportText(data) + '\n');
    if (html) {
      await writeAtomically(html, renderReportHtml(data));
      log.info(`wrote the HTML report to ${html}`);
    }
    return { exitCode: ExitCode.Ok, summary: reportSummary(data, html ?? null) };
  });
}
