/** Exit codes Airflow's BashOperator acts on (see README, "Exit codes"). */
export const enum ExitCode {
  /** The work is done. */
  Ok = 0,
  /** Any failure that a retry may fix: Airflow retries the task. */
  Failure = 1,
  /** Bad usage or configuration: a retry will not help. */
  Usage = 2,
  /** Nothing to do: BashOperator's `skip_on_exit_code` marks the task skipped. */
  NothingToDo = 99,
}

/** An error that carries the exit code it should end the process with. */
export class EventfulError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
    readonly code: string = 'failure',
  ) {
    super(message);
    this.name = 'EventfulError';
  }
}

/** Bad flags, environment or configuration: exit 2, the message says what to fix. */
export class UsageError extends EventfulError {
  constructor(message: string) {
    super(message, ExitCode.Usage, 'usage');
    this.name = 'UsageError';
  }
}
