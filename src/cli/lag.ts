import yargs from 'yargs';
import { formatDurationMs } from '../config/duration.js';
import { redactKafkaConfig } from '../config/kafka-config.js';
import { LAG_DEFAULTS, LAG_ENV, resolveLagSettings, type LagFlags } from '../config/lag-settings.js';
import { KafkaLagProbe, observeLag } from '../kafka/lag-probe.js';
import {
  decide,
  formatAgeMs,
  lagReport,
  lagWarnings,
  renderLagTable,
  type LagDecision,
  type LagReport,
} from '../kafka/lag-report.js';
import { ExitCode } from './exit-codes.js';
import { stderrLogger } from './log.js';
import { runCommand } from './run-command.js';
import {
  clientErrorLogger,
  envNote,
  parseFlagsOrExit,
  terminalWidth,
  withKafkaOptions,
  withUsageErrors,
} from './command-support.js';

const env = envNote(LAG_ENV);

function parser(argv: string[]) {
  const head = yargs(argv)
    .scriptName('eventful-lag')
    .usage(
      "$0 [options]\n\nHow far behind is the snapshot? Per partition the group's committed offset, log start, high watermark and " +
        'lag (what the next extract would read); per topic the total, the age of the oldest event not yet snapshotted, and ' +
        'the retention risk (events already deleted unread, or the oldest pending one older than --retention-warn × ' +
        "the topic's retention.ms). It only reads: it never joins the group and never commits.\n" +
        'With --min-lag and/or --max-age it decides whether a snapshot is worth running: exit 0 when a threshold is ' +
        'crossed (or pending events are at retention risk), 99 when not, so a task in front of extract can skip.\n' +
        'Exit codes: 0 done (or crossed), 99 thresholds not crossed, 2 bad usage or configuration (unknown topic), ' +
        '1 any other failure (broker unreachable). The table goes to stderr; the last stdout line is a JSON summary.',
    )
    .option('topics', { type: 'string', describe: `Comma-separated topics to check ${env('topics')}` })
    .option('group-id', {
      type: 'string',
      describe: `Consumer group whose committed offsets mark what was snapshotted (read, never joined) ${env('groupId')}`,
    });
  const options = withKafkaOptions(head)
    .option('min-lag', {
      type: 'string',
      describe: `Crossed when at least this many events are pending over all topics ${env('minLag')}`,
    })
    .option('max-age', {
      type: 'string',
      describe: `Crossed when the oldest pending event is older than this (90s, 5m, 1h or ms) ${env('maxAge')}`,
    })
    .option('retention-warn', {
      type: 'string',
      describe: `A pending event older than this share of retention.ms is at risk (default ${LAG_DEFAULTS.retentionWarn}) ${env('retentionWarn')}`,
    })
    .option('assume-retention', {
      type: 'string',
      describe: `Retention to assume where retention.ms cannot be read from the broker (it is read over PLAINTEXT or SSL only), e.g. 168h ${env('assumeRetention')}`,
    })
    .option('connect-timeout', {
      type: 'string',
      describe: `Give up when the broker does not answer within this long, per step (default ${formatDurationMs(LAG_DEFAULTS.connectTimeoutMs)}) ${env('connectTimeout')}`,
    })
    .exitProcess(false);
  return withUsageErrors(options, terminalWidth());
}

/** lag's JSON summary: the last line on stdout (Airflow pushes it to XCom; the trigger reads it). */
export interface LagSummary extends LagReport {
  command: 'lag';
  /** `ok`: no thresholds given; `crossed`: a run is worth starting; `below_thresholds`: it is not (exit 99). */
  status: 'ok' | 'crossed' | 'below_thresholds';
  minLag: number | null;
  maxAgeMs: number | null;
  reasons: string[];
  durationMs: number;
}

/** The summary of a report and its decision. */
export function lagSummary(
  report: LagReport,
  decision: LagDecision,
  thresholds: { minLag: number | undefined; maxAgeMs: number | undefined },
  durationMs: number,
): LagSummary {
  return {
    command: 'lag',
    status: !decision.thresholdsGiven ? 'ok' : decision.crossed ? 'crossed' : 'below_thresholds',
    minLag: thresholds.minLag ?? null,
    maxAgeMs: thresholds.maxAgeMs ?? null,
    reasons: decision.reasons,
    ...report,
    durationMs,
  };
}

/** `eventful-lag`: flags → settings → read offsets → table and summary line → exit code. */
export async function main(argv: string[]): Promise<never> {
  const log = stderrLogger('lag');
  const flags = await parseFlagsOrExit<LagFlags>(log, () => parser(argv).parseAsync());

  return runCommand(log, async () => {
    const started = Date.now();
    const settings = resolveLagSettings(flags, process.env);
    log.info(
      `group "${settings.groupId}", topics ${settings.topics.join(',')}, kafka ${JSON.stringify(redactKafkaConfig(settings.kafka))}`,
    );
    const probe = new KafkaLagProbe({
      properties: settings.kafka,
      groupId: settings.groupId,
      timeoutMs: settings.connectTimeoutMs,
      onClientError: clientErrorLogger(log),
      onWarning: (m) => log.warn(m),
    });
    // A stop request (Airflow's timeout, Ctrl-C) needs no cleanup beyond closing: nothing is ever written.
    const onSignal = (signal: NodeJS.Signals): void => {
      log.warn(`${signal}: stopping (lag only reads: nothing to undo)`);
      void probe.disconnect().finally(() => process.exit(ExitCode.Failure));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    let report: LagReport;
    try {
      await probe.connect();
      const observed = await observeLag(probe, settings);
      report = lagReport(settings.groupId, observed, Date.now(), settings.retentionWarn);
    } finally {
      await probe.disconnect();
    }
    process.stderr.write(renderLagTable(report) + '\n');
    for (const w of lagWarnings(report)) log.warn(w);
    const decision = decide(report, settings);
    const summary = lagSummary(report, decision, settings, Date.now() - started);
    if (decision.thresholdsGiven)
      log.info(
        decision.crossed
          ? `thresholds crossed: ${decision.reasons.join('; ')}`
          : `below the thresholds (${report.lag} pending events` +
              `${report.oldestPendingAgeMs === null ? '' : `, the oldest ${formatAgeMs(report.oldestPendingAgeMs)} old`}): exit 99`,
      );
    return {
      summary: summary as unknown as Record<string, unknown>,
      exitCode: decision.crossed ? ExitCode.Ok : ExitCode.NothingToDo,
    };
  });
}
