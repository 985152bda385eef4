import { formatDurationMs } from '../config/duration.js';
import { Throttle, type Logger } from '../basics/log.js';

/** Where a drain stands. */
export interface DrainStatus {
  /** Messages taken into the snapshot so far (events + rejected). */
  messages: number;
  rejected: number;
  /** Offsets left up to the start-time watermarks. */
  lagLeft: number;
}

const BAR_WIDTH = 24;
/** A terminal bar is redrawn at most this often. */
const BAR_REDRAW_MS = 100;

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/**
 * Reports a drain's progress on stderr at a steady cadence: a log line every interval (Airflow's task log), and
 * a redrawn bar when stderr is a terminal.
 */
export class ProgressReporter {
  private readonly throttle: Throttle;
  private readonly barThrottle = new Throttle(BAR_REDRAW_MS);
  private readonly startedAt = Date.now();
  private barShown = false;

  constructor(
    private readonly log: Logger,
    intervalMs: number,
    private readonly total: number,
    private readonly tty: NodeJS.WriteStream | undefined = process.stderr.isTTY ? process.stderr : undefined,
  ) {
    this.throttle = new Throttle(intervalMs);
    this.throttle.ready(); // the first report comes one interval after the start
  }

  /** Reports if the interval has passed (or `force`). */
  update(s: DrainStatus, force = false): void {
    if (!this.throttle.ready(force)) {
      if (this.tty !== undefined && this.barThrottle.ready()) this.drawBar(s);
      return;
    }
    const elapsedMs = Date.now() - this.startedAt;
    const rate = elapsedMs > 0 ? Math.round((s.messages * 1000) / elapsedMs) : 0;
    const done = this.total > 0 ? Math.min(100, Math.floor((100 * (this.total - s.lagLeft)) / this.total)) : 100;
    this.clearBar();
    this.log.info(
      `progress: ${n(s.messages)} messages (${n(s.rejected)} rejected) in ${formatDurationMs(elapsedMs)}, ` +
        `${n(rate)} messages/s, ${n(s.lagLeft)} left to the start-time watermarks (${done}% done)`,
    );
  }

  private drawBar(s: DrainStatus): void {
    const share = this.total > 0 ? Math.min(1, (this.total - s.lagLeft) / this.total) : 1;
    const filled = Math.round(share * BAR_WIDTH);
    this.tty!.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${Math.floor(share * 100)}% ${n(s.messages)} messages`,
    );
    this.barShown = true;
  }

  private clearBar(): void {
    if (this.barShown) this.tty!.write('\r\x1b[K');
    this.barShown = false;
  }

  /** Clears the bar, if one is drawn. */
  close(): void {
    this.clearBar();
  }
}
