/**
 * Plumbing the `eventful-*` commands share: how their yargs parser treats mistakes and `--help`, how the
 * parsed flags reach the command (or a usage error its summary line), and the client-error logging of the
 * commands that talk to Kafka (extract and lag). The options themselves are defined in option-definitions.ts.
 */
import type { Argv } from 'yargs';
import { ExitCode, UsageError } from '../basics/errors.js';
import type { Logger } from '../basics/log.js';
import { runCommand } from './run-command.js';

/** The same librdkafka error is logged at most once per this interval (a down broker repeats it many times a second). */
const CLIENT_ERROR_LOG_INTERVAL_MS = 10_000;

/** The help text's width: the terminal's, at most 120 columns. */
export function terminalWidth(): number {
  return Math.min(120, process.stdout.columns || 120);
}

/**
 * Finishes a command's parser: unknown flags are errors (strict), every parse error becomes a
 * {@link UsageError} (exit 2 with a summary line), `--help` is on and `--version` off, and help is wrapped at
 * `width` columns.
 */
export function withUsageErrors<T>(parser: Argv<T>, width: number): Argv<T> {
  return (
    parser
      .strict()
      .fail((msg, err) => {
        throw new UsageError(withoutCamelCaseTwins(msg ?? err?.message ?? 'bad usage'));
      })
      // No -h alias: yargs would read a value such as `--max-age -1h` as -1 and -h, print the help and exit 0.
      .help()
      .version(false)
      .wrap(width)
  );
}

/**
 * yargs names an unknown flag twice, as typed and in camel case (`Unknown arguments: bogus-flag, bogusFlag`): the
 * message keeps the flag as typed.
 */
export function withoutCamelCaseTwins(message: string): string {
  const m = /^(Unknown arguments?): (.*)$/.exec(message);
  if (!m) return message;
  const names = m[2]!.split(', ');
  const camel = (n: string): string => n.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const kept = names.filter((n) => !names.some((other) => other !== n && other.includes('-') && camel(other) === n));
  return `${kept.length === 1 ? 'Unknown argument' : 'Unknown arguments'}: ${kept.join(', ')}`;
}

/**
 * Parses a command's flags. A parse error is reported the way {@link runCommand} reports any failure (message
 * on stderr, JSON summary, exit code) and `--help` exits 0 once yargs printed the help; neither returns.
 *
 * @param parse - runs the command's parser (built with `exitProcess(false)`, so that yargs never exits itself).
 */
export async function parseFlagsOrExit<F>(log: Logger, parse: () => Promise<unknown>): Promise<F> {
  let flags: F & { help?: unknown };
  try {
    flags = (await parse()) as F & { help?: unknown };
  } catch (err) {
    return runCommand(log, () => Promise.reject(err));
  }
  if (flags.help) process.exit(ExitCode.Ok);
  return flags;
}

/** Logs librdkafka's errors as warnings, each distinct one at most once per 10 s. */
export function clientErrorLogger(log: Logger): (message: string) => void {
  const last = new Map<string, number>();
  return (message) => {
    const now = Date.now();
    if (now - (last.get(message) ?? 0) < CLIENT_ERROR_LOG_INTERVAL_MS) return;
    last.set(message, now);
    log.warn(`kafka client: ${message}`);
  };
}
