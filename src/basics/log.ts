/** Logs go to stderr (Airflow merges it into the task log); stdout is kept for the JSON summary. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that prefixes every line with the time and the command name. */
export function stderrLogger(command: string, stream: NodeJS.WritableStream = process.stderr): Logger {
  const line = (level: string, message: string): void => {
    stream.write(`${new Date().toISOString()} ${command} ${level} ${message}\n`);
  };
  return {
    info: (m) => line('INFO', m),
    warn: (m) => line('WARN', m),
    error: (m) => line('ERROR', m),
  };
}

/** Calls `report` at most once per `intervalMs`; `force` reports anyway (the last line of a long job). */
export class Throttle {
  private last = 0;
  constructor(private readonly intervalMs: number) {}
  ready(force = false): boolean {
    const now = Date.now();
    if (force || now - this.last >= this.intervalMs) {
      this.last = now;
      return true;
    }
    return false;
  }
}
