import type { ExitCode } from './errors.js';

/** What a command returns: its JSON summary (last line on stdout) and exit code. */
export interface CommandResult {
  summary: Record<string, unknown>;
  exitCode: ExitCode;
}
