import { EventfulError, ExitCode } from '../basics/errors.js';

/**
 * A request to stop, e.g. from SIGTERM (Airflow's `execution_timeout` and manual kills) or SIGINT. The drain
 * checks it between batches; steps that may wait long (connecting) race against it.
 */
export class StopSignal {
  private why: string | undefined;
  private past = false;
  private readonly listeners: Array<(why: string) => void> = [];

  /** True once the run publishes its snapshot: from then on it finishes (commit included) whatever arrives. */
  get finishing(): boolean {
    return this.past;
  }

  /** Marks the point of no return (just before publishing): a later request no longer stops the run. */
  finish(): void {
    this.past = true;
  }

  /** Why a stop was requested (e.g. `SIGTERM`), or undefined. */
  get reason(): string | undefined {
    return this.why;
  }

  request(why: string): void {
    if (this.why !== undefined) return;
    this.why = why;
    for (const l of this.listeners.splice(0)) l(why);
  }

  /** The error a stopped run ends with: exit 1, so Airflow retries (nothing was committed). */
  error(): EventfulError {
    return new EventfulError(
      `stopped by ${this.why ?? 'request'}: the unpublished snapshot was discarded and no offset was committed; ` +
        `the next run reads the same events again`,
      ExitCode.Failure,
      'interrupted',
    );
  }

  /** Throws {@link error} if a stop was requested. */
  check(): void {
    if (this.why !== undefined) throw this.error();
  }

  /** `work`, unless a stop is requested first: then rejects with {@link error}. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.why !== undefined) return Promise.reject(this.error());
    return Promise.race([work, new Promise<never>((_, reject) => this.listeners.push(() => reject(this.error())))]);
  }
}
