const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

/**
 * Parses a duration given as `90s`, `5m`, `1h`, `250ms` or a bare number of milliseconds.
 * Returns the milliseconds, or `undefined` when the text is not a duration (the caller names the flag).
 */
export function parseDurationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** Renders milliseconds for people: `850ms`, `12.3s`, `4m05s`. */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const totalS = Math.round(ms / 1_000);
  return `${Math.floor(totalS / 60)}m${String(totalS % 60).padStart(2, '0')}s`;
}
