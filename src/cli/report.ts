/**
 * `report`: answers "how long do passengers wait?" from the warehouse views. Prints the worst stations
 * (by expected and by excess wait) as tables on stdout and, with `--html FILE`, writes one self-contained
 * HTML page with charts. The last stdout line is the JSON summary.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { renderReportHtml } from '../answer/report-html.js';
import { reportText, stationLabel, worstBy, type ReportData, type StationWait } from '../answer/report-model.js';
import { readReportData } from '../answer/report-queries.js';
import { DEFAULT_PERIOD_STARTS, parseServicePeriods, type ServicePeriod } from '../answer/service-periods.js';
import { WAIT_MODEL_DEFAULTS, type LatenessFigures, type ModelSplit, type WaitFigures } from '../answer/wait-rollup.js';
import { identifierProblem } from '../schema/identifiers.js';
import { connectWarehouse } from '../warehouse/connection.js';
import { EventfulError, ExitCode, UsageError } from './exit-codes.js';
import { stderrLogger } from './log.js';
import { runCommand } from './run-command.js';

/** Defaults of every flag, in one place (shown by `--help`). */
export const REPORT_DEFAULTS = {
  dbSchema: 'public',
  top: 10,
  periods: DEFAULT_PERIOD_STARTS.join(','),
  longHeadwayMinutes: WAIT_MODEL_DEFAULTS.longHeadwaySeconds / 60,
} as const;

/** Shared with `load`, so one setting names the warehouse schema for both. */
const DB_SCHEMA_ENV = 'EVENTFUL_DB_SCHEMA';
/** The environment variables of the report's own settings. */
const REPORT_ENV = { periods: 'EVENTFUL_REPORT_PERIODS', longHeadway: 'EVENTFUL_REPORT_LONG_HEADWAY_MINUTES' } as const;
const SECONDS_PER_MINUTE = 60;

const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

function parseArgs(argv: string[]) {
  return yargs(argv)
    .scriptName('eventful-report')
    .usage(
      '$0 [options]\n\nHow long do passengers wait for a train? Reads the wait-time views that load creates and prints the\n' +
        'worst stations; --html writes a self-contained page with charts (no network needed to view it).\n' +
        'Each service period (early, AM peak, midday, PM peak, evening, night) gets its own headline; a rush-hour\n' +
        'passenger should read AM peak and PM peak. Frequent service uses the random-arrival wait Σh²/(2·Σh);\n' +
        'long-headway service (see --long-headway) is reported as lateness against the timetable.\n' +
        'Connection: DATABASE_URL, or the PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE variables.',
    )
    .options({
      'db-schema': {
        type: 'string',
        default: process.env[DB_SCHEMA_ENV] || REPORT_DEFAULTS.dbSchema,
        defaultDescription: `$${DB_SCHEMA_ENV}, else "${REPORT_DEFAULTS.dbSchema}"`,
        describe: `Postgres schema holding the tables and views (the same variable as load's) [env ${DB_SCHEMA_ENV}]`,
      },
      html: { type: 'string', describe: 'write the HTML report to this file' },
      top: { type: 'number', default: REPORT_DEFAULTS.top, describe: 'how many of the worst stations to list' },
      periods: {
        type: 'string',
        default: process.env[REPORT_ENV.periods] || REPORT_DEFAULTS.periods,
        describe:
          'start hours (0-23, increasing) of the service periods early, AM peak, midday, PM peak, evening, night; ' +
          `each runs until the next starts, night wraps past midnight [env ${REPORT_ENV.periods}]`,
      },
      'long-headway': {
        type: 'number',
        default: Number(process.env[REPORT_ENV.longHeadway] || REPORT_DEFAULTS.longHeadwayMinutes),
        describe:
          'minutes: where the mean scheduled headway of a platform in an hour of the day is longer, passengers are ' +
          'taken to time their arrival to the timetable, and waiting is reported as lateness (mean delay past the ' +
          `scheduled time, on-time share) instead of the random-arrival wait [env ${REPORT_ENV.longHeadway}]`,
      },
      station: {
        type: 'string',
        describe:
          'station id whose headway distribution the HTML shows [default: the one with the worst expected wait]',
      },
    })
    .strict()
    .version(false)
    .help()
    .wrap(Math.min(120, process.stdout.columns || 120))
    .epilogue(
      'Exit codes: 0 done, 99 no data yet, 2 bad usage (or no views in the schema), 1 any other failure.\n' +
        'The last line on stdout is a JSON summary.',
    )
    .fail((msg, err) => {
      throw new UsageError(msg || err?.message || 'bad usage');
    })
    .parseAsync();
}

/** Writes a file whole or not at all (a reader never sees half a page). */
async function writeAtomically(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

/** Parses --periods, naming the flag in the error. */
function periodsFlag(spec: string): ServicePeriod[] {
  try {
    return parseServicePeriods(spec);
  } catch (err) {
    throw new UsageError(`--periods (${REPORT_ENV.periods}): ${(err as Error).message}`);
  }
}

const waitSummary = (f: WaitFigures) => ({
  expected_wait_seconds: round1(f.expectedWaitSeconds),
  scheduled_expected_wait_seconds: round1(f.scheduledExpectedWaitSeconds),
  excess_wait_seconds: round1(f.excessWaitSeconds),
  mean_headway_seconds: round1(f.meanHeadwaySeconds),
  headways: f.headways,
});

const latenessSummary = (l: LatenessFigures) => ({
  scheduled_arrivals: l.scheduledArrivals,
  mean_delay_seconds: round1(l.meanDelaySeconds),
  on_time_share: l.onTimeShare === null ? null : Math.round(l.onTimeShare * 1000) / 1000,
});

/** A headline in the summary: its model, random arrival over frequent service, the timetable model over the rest. */
const splitSummary = (split: ModelSplit) => ({
  model: split.model,
  random_arrival: waitSummary(split.frequent),
  timetable: latenessSummary(split.timetabled),
  long_headway_share: Math.round(split.timetabledShare * 1000) / 1000,
});

const summaryRow = (s: StationWait) => ({
  station_id: s.stationId,
  station_name: s.stationName,
  line: s.line,
  direction: s.direction,
  expected_wait_seconds: round1(s.expectedWaitSeconds),
  scheduled_expected_wait_seconds: round1(s.scheduledExpectedWaitSeconds),
  excess_wait_seconds: round1(s.excessWaitSeconds),
});

/** The JSON summary line: the headlines under their models, the worst stations, incidents like with like. */
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
    expected_wait_seconds: round1(n.frequent.expectedWaitSeconds),
    scheduled_expected_wait_seconds: round1(n.frequent.scheduledExpectedWaitSeconds),
    excess_wait_seconds: round1(n.frequent.excessWaitSeconds),
    mean_headway_seconds: round1(n.frequent.meanHeadwaySeconds),
    // Random arrival over every headway whatever the service: what the views' rows roll up to directly.
    expected_wait_all_headways_seconds: round1(n.all.expectedWaitSeconds),
    long_headway_seconds: data.longHeadwaySeconds,
    all_day: splitSummary(n),
    periods: Object.fromEntries(
      data.periods.map((p) => [p.period.key, { hours: [p.period.fromHour, p.period.toHour], ...splitSummary(p) }]),
    ),
    worst_by_expected: worstBy(data.stations, 'expectedWaitSeconds', data.top).map(summaryRow),
    worst_by_excess: worstBy(data.stations, 'excessWaitSeconds', data.top).map(summaryRow),
    station: stationLabel(data.chosen.stationId, data.chosen.stationName),
    incidents: data.incidents.length,
    incident_waits: data.lineIncidents.map((l) => ({
      line: l.line,
      expected_wait_during_seconds: round1(l.expectedWaitDuringSeconds),
      expected_wait_same_hours_otherwise_seconds: round1(l.expectedWaitSameHoursSeconds),
      expected_wait_otherwise_seconds: round1(l.expectedWaitOtherwiseSeconds),
    })),
    html,
  };
}

/** Runs `report` with the given arguments (without `node` and the script). */
export async function main(argv: string[] = hideBin(process.argv)): Promise<never> {
  const log = stderrLogger('report');
  return runCommand(log, async () => {
    const args = await parseArgs(argv);
    const dbSchema = args['db-schema'];
    const problem = identifierProblem(dbSchema);
    if (problem) throw new UsageError(`--db-schema: ${problem}`);
    if (!Number.isInteger(args.top) || args.top < 1) throw new UsageError('--top must be a positive integer');
    const periods = periodsFlag(args.periods);
    const longHeadway = args['long-headway'];
    if (!(Number.isFinite(longHeadway) && longHeadway > 0))
      throw new UsageError(`--long-headway (${REPORT_ENV.longHeadway}) must be a positive number of minutes`);
    const html = args.html === undefined ? undefined : path.resolve(args.html);

    let db;
    try {
      db = await connectWarehouse('eventful-report');
    } catch (err) {
      throw new EventfulError(
        `cannot connect to PostgreSQL (DATABASE_URL or PG* variables): ${(err as Error).message}`,
        ExitCode.Failure,
        'connection_failed',
      );
    }
    let data;
    try {
      data = await readReportData(db, {
        dbSchema,
        top: args.top,
        periods,
        longHeadwaySeconds: longHeadway * SECONDS_PER_MINUTE,
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
