import { EventfulError, ExitCode } from '../basics/errors.js';
import type { Logger } from '../basics/log.js';
import type { CommandResult } from '../basics/command-result.js';

export type { CommandResult };

/** The exit code for a closed stdout: 0 while the command runs, its own once it has ended. */
let exitWhenStdoutCloses: number = ExitCode.Ok;

/**
 * Runs a command's body and turns its outcome into one JSON summary line on stdout and an exit code.
 * Errors never escape as a bare stack trace: they become a message on stderr and a summary with `error`.
 */
export async function runCommand(log: Logger, body: () => Promise<CommandResult>): Promise<never> {
  stopQuietlyWhenStdoutCloses(log);
  let result: CommandResult;
  try {
    result = await body();
  } catch (err) {
    const e = err instanceof EventfulError ? err : undefined;
    const message = err instanceof Error ? err.message : String(err);
    if (e?.exitCode === ExitCode.NothingToDo) {
      // Nothing to do is no failure: said as information, its code the summary's status (exit 99).
      log.info(message);
      result = { exitCode: e.exitCode, summary: { status: e.code, message } };
    } else {
      log.error(message);
      if (!e && err instanceof Error && process.env['EVENTFUL_DEBUG']) log.error(err.stack ?? '');
      result = {
        exitCode: e?.exitCode ?? ExitCode.Failure,
        summary: { status: 'failed', error: { code: e?.code ?? 'failure', message } },
      };
    }
  }
  exitWhenStdoutCloses = result.exitCode;
  await new Promise<void>((resolve) => process.stdout.write(JSON.stringify(result.summary) + '\n', () => resolve()));
  process.exit(result.exitCode);
}

/**
 * A reader that stops early (`simulate --dry-run | head`, `report | less` quit) closes stdout: writing then fails
 * with EPIPE, which would end the process with a stack trace. The command stops instead, as Unix tools do, saying
 * so on stderr; its summary line has nowhere to go. Exit 0 while it runs (the reader chose to stop, nothing
 * failed); once it has ended, with its own exit code, so that a failure is never turned into a success.
 */
function stopQuietlyWhenStdoutCloses(log: Logger): void {
  if (process.stdout.listenerCount('error') > 0) return;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    log.info('stdout was closed by its reader: stopping');
    process.exit(exitWhenStdoutCloses);
  });
}
