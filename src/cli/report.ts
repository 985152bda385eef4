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
import { reportText, stationLabel, worstBy, type StationWait } from '../answer/report-model.js';
import { readReportData } from '../answer/report-queries.js';
import { identifierProblem } from '../schema/identifiers.js';
import { connectWarehouse } from '../warehouse/connection.js';
import { ExitCode, UsageError } from './exit-codes.js';
import { stderrLogger } from './log.js';
import { runCommand } from './run-command.js';

/** Defaults of every flag, in one place (shown by `--help`). */
export const REPORT_DEFAULTS = {
  dbSchema: 'public',
  top: 10,
} as const;

/** Shared with `load`, so one setting names the warehouse schema for both. */
const DB_SCHEMA_ENV = 'EVENTFUL_DB_SCHEMA';

const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

function parseArgs(argv: string[]) {
  return yargs(argv)
    .scriptName('eventful-report')
    .usage(
      '$0 [options]\n\nHow long do passengers wait for a train? Reads the wait-time views that load creates and prints the\n' +
        'worst stations; --html writes a self-contained page with charts (no network needed to view it).\n' +
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

const summaryRow = (s: StationWait) => ({
  station_id: s.stationId,
  station_name: s.stationName,
  line: s.line,
  direction: s.direction,
  expected_wait_seconds: round1(s.expectedWaitSeconds),
  scheduled_expected_wait_seconds: round1(s.scheduledExpectedWaitSeconds),
  excess_wait_seconds: round1(s.excessWaitSeconds),
});

/** Runs `report` with the given arguments (without `node` and the script). */
export async function main(argv: string[] = hideBin(process.argv)): Promise<never> {
  const log = stderrLogger('report');
  return runCommand(log, async () => {
    const args = await parseArgs(argv);
    const dbSchema = args['db-schema'];
    const problem = identifierProblem(dbSchema);
    if (problem) throw new UsageError(`--db-schema: ${problem}`);
    if (!Number.isInteger(args.top) || args.top < 1) throw new UsageError('--top must be a positive integer');
    const html = args.html === undefined ? undefined : path.resolve(args.html);

    const db = await connectWarehouse('eventful-report');
    let data;
    try {
      data = await readReportData(db, {
        dbSchema,
        top: args.top,
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
    const n = data.network;
    return {
      exitCode: ExitCode.Ok,
      summary: {
        status: 'ok',
        db_schema: dbSchema,
        period: { from: data.period.from.toISOString(), to: data.period.to.toISOString() },
        arrivals: n.arrivals,
        headways: n.headways,
        stations: n.stations,
        lines: n.lines,
        days: n.days,
        expected_wait_seconds: round1(n.expectedWaitSeconds),
        scheduled_expected_wait_seconds: round1(n.scheduledExpectedWaitSeconds),
        excess_wait_seconds: round1(n.excessWaitSeconds),
        mean_headway_seconds: round1(n.meanHeadwaySeconds),
        worst_by_expected: worstBy(data.stations, 'expectedWaitSeconds', data.top).map(summaryRow),
        worst_by_excess: worstBy(data.stations, 'excessWaitSeconds', data.top).map(summaryRow),
        station: stationLabel(data.chosen.stationId, data.chosen.stationName),
        incidents: data.incidents.length,
        html: html ?? null,
      },
    };
  });
}
