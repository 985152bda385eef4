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
import { terminalWidth, withUsageErrors } from './command-support.js';
import {
  addOptions,
  DATABASE_SETTINGS,
  helpEpilogue,
  resolveOptions,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
} from './option-definitions.js';

const SCRIPT = 'eventful-report';

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
} as const satisfies OptionDefinitions;

const DESCRIPTION =
  'How long do passengers wait for a train? Reads the wait-time views that load creates and prints the\n' +
  'worst stations; --html writes a self-contained page with charts (no network needed to view it).\n' +
  'Exits 99 when the views hold no data yet, 2 when --db-schema has no wait-time views.';

const round1 = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);

async function parseArgs(argv: string[]) {
  const options = addOptions(
    yargs(argv).scriptName(SCRIPT).usage(`$0 [options]\n\n${DESCRIPTION}`),
    REPORT_OPTIONS,
  ).epilogue(helpEpilogue(DATABASE_SETTINGS));
  const o = resolveOptions(REPORT_OPTIONS, await withUsageErrors(options, terminalWidth()).parseAsync(), process.env);
  const dbSchema = o.string('db-schema')!;
  const problem = identifierProblem(dbSchema);
  if (problem) throw new UsageError(`${o.from('db-schema')}: ${problem}`);
  const top = o.number('top')!;
  if (!Number.isInteger(top) || top < 1) throw new UsageError(`${o.from('top')} must be a positive integer`);
  return { dbSchema, top, html: o.string('html'), station: o.string('station') };
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
    const args = await withHelpHint(SCRIPT, () => parseArgs(argv));
    const { dbSchema } = args;
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
