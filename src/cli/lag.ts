import { formatDurationMs } from '../config/duration.js';
import { redactKafkaConfig } from '../config/kafka-config.js';
import { LAG_DEFAULTS, LAG_ENV, resolveLagSettings, type LagFlags } from '../config/lag-settings.js';
import { KafkaLagProbe, observeLag } from '../kafka/lag-probe.js';
import {
  decide,
  lagReport,
  lagWarnings,
  renderLagTable,
  type LagDecision,
  type LagReport,
} from '../kafka/lag-report.js';
import { ExitCode } from '../basics/errors.js';
import { stderrLogger } from '../basics/log.js';
import { runCommand } from './run-command.js';
import { clientErrorLogger, parseFlagsOrExit, terminalWidth, withUsageErrors } from './command-support.js';
import {
  commandParser,
  helpEpilogue,
  sharedOptions,
  withHelpHint,
  type OptionDefinitions,
} from './option-definitions.js';

const SCRIPT = 'eventful-lag';

/** lag's options: the shared ones and its own; each reads the variable {@link LAG_ENV} names. */
export const LAG_OPTIONS = {
  ...sharedOptions('topics', 'group-id', 'bootstrap-servers', 'kafka'),
  'min-lag': {
    type: 'number',
    describe: 'Crossed when at least this many events are pending over all topics',
    env: LAG_ENV.minLag,
  },
  'max-age': {
    type: 'string',
    describe: 'Crossed when the oldest pending event is older than this (90s, 5m, 1h, 250ms: with its unit)',
    env: LAG_ENV.maxAge,
  },
  'retention-warn': {
    type: 'number',
    describe: 'A pending event older than this share of retention.ms is at risk',
    env: LAG_ENV.retentionWarn,
    default: LAG_DEFAULTS.retentionWarn,
  },
  'assume-retention': {
    type: 'string',
    describe:
      'Retention to assume where retention.ms cannot be read from the broker (it is read over PLAINTEXT or SSL ' +
      'only), e.g. 168h',
    env: LAG_ENV.assumeRetention,
  },
  'connect-timeout': {
    type: 'string',
    describe: 'Give up when the broker does not answer within this long, per step',
    env: LAG_ENV.connectTimeout,
    default: formatDurationMs(LAG_DEFAULTS.connectTimeoutMs),
  },
} as const satisfies OptionDefinitions;

const DESCRIPTION =
  "How far behind is the snapshot? Per partition the group's committed offset, log start, high watermark and lag\n" +
  '(what the next extract would read); per topic the total, the age of the oldest event not yet snapshotted, and\n' +
  'the retention risk (events already deleted unread, or the oldest pending one older than --retention-warn ×\n' +
  "the topic's retention.ms). It only reads: it never joins the group and never commits. The table goes to stderr.\n" +
  'With --min-lag and/or --max-age it decides whether a snapshot is worth running: exit 0 when a threshold is\n' +
  'crossed (or pending events are at retention risk), 99 when not, so a task in front of extract can skip.\n' +
  'An unknown topic is a configuration error (exit 2); an unreachable broker a failure (exit 1).';

function parser(argv: string[]) {
  const options = commandParser(argv, SCRIPT, `$0 [options]\n\n${DESCRIPTION}`, LAG_OPTIONS)
    .epilogue(helpEpilogue())
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
  const flags = await parseFlagsOrExit<LagFlags>(log, () => withHelpHint(SCRIPT, () => parser(argv).parseAsync()));

  return runCommand(log, async () => {
    const started = Date.now();
    const settings = await withHelpHint(SCRIPT, () => resolveLagSettings(flags, process.env));
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
              `${report.oldestPendingAgeMs === null ? '' : `, the oldest ${formatDurationMs(report.oldestPendingAgeMs)} old`}): exit 99`,
      );
    return {
      summary: summary as unknown as Record<string, unknown>,
      exitCode: decision.crossed ? ExitCode.Ok : ExitCode.NothingToDo,
    };
  });
}
