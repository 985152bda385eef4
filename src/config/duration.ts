const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/**
 * Parses a duration given as `90s`, `5m`, `1h`, `7d`, `250ms` or a bare number of milliseconds.
 * Returns the milliseconds, or `undefined` when the text is not a duration (the caller names the flag).
 */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** Renders milliseconds for people: `850ms`, `12.3s`, `4m05s`, `5h07m`, `7d00h` (a day is `24h00m`). */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < MINUTE_MS) return `${(ms / 1_000).toFixed(1)}s`;
  const two = (n: number): string => String(n).padStart(2, '0');
  if (ms < HOUR_MS) {
    const s = Math.round(ms / 1_000);
    return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  }
  if (ms < 2 * DAY_MS) {
    const m = Math.round(ms / MINUTE_MS);
    return `${Math.floor(m / 60)}h${two(m % 60)}m`;
  }
  const h = Math.round(ms / HOUR_MS);
  return `${Math.floor(h / 24)}d${two(h % 24)}h`;
}
