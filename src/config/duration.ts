const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;

/**
 * Parses a duration given as `90s`, `5m`, `1h`, `7d` or `250ms` (or `0`). Returns the milliseconds, or `undefined`
 * when the text is not a duration (the caller names the flag, and {@link durationProblem} says why). A number
 * without its unit is not one: `--grace 24` meant hours to the person who typed it, and read as 24 ms it let
 * prune remove a running extract's folder.
 */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || (m[2] === undefined && Number(m[1]) !== 0)) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** What to write instead of `text`, which is not a duration: for the end of an error that names the setting. */
export function durationProblem(text: string): string {
  const m = DURATION.exec(text.trim());
  return m && m[2] === undefined
    ? `"${text}" has no unit: write ${m[1]}s, ${m[1]}m, ${m[1]}h or ${m[1]}d (${m[1]}ms for milliseconds)`
    : `got "${text}": write a number and its unit, such as 90s, 30m, 24h or 7d`;
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
