/** Parsing of `simulate`'s time settings (pure; the CLI names the flag in its message). */

const UNIT_SECONDS: Readonly<Record<string, number>> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const DURATION_PART = /(\d+(?:\.\d+)?)(d|h|m|s)/g;
const DURATION = /^(?:\d+(?:\.\d+)?(?:d|h|m|s))+$/;
/** An ISO date-time without a zone (`2026-11-27T06:00`): read as UTC, not as the machine's local time. */
const NO_ZONE = /T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/;
const SECONDS_PER_DAY = 86_400;

/** Parses a simulated duration such as `24h`, `90m`, `2d`, `1h30m`: whole seconds, or undefined if not one. */
export function parseSimulatedDuration(text: string): number | undefined {
  const t = text.trim();
  if (!DURATION.test(t)) return undefined;
  let seconds = 0;
  for (const m of t.matchAll(DURATION_PART)) seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  const whole = Math.round(seconds);
  return whole > 0 ? whole : undefined;
}

/** Parses an ISO 8601 date or date-time (UTC when it names no zone): whole seconds since the epoch, floored. */
export function parseStartTime(text: string): number | undefined {
  const t = text.trim();
  const ms = Date.parse(NO_ZONE.test(t) ? `${t}Z` : t);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** The default start: midnight UTC at the beginning of the current day. */
export function startOfUtcDay(nowMs: number): number {
  const s = Math.floor(nowMs / 1000);
  return s - (s % SECONDS_PER_DAY);
}
