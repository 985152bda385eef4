/**
 * A date-time finer than a timestamptz: Postgres keeps microseconds and rounds any further digit away, so such a
 * value is refused (extract rejects it, load quarantines it) rather than stored changed.
 */

/** Where a date-time's fraction of a second can begin (`YYYY-MM-DDTHH:MM:SS`). */
const FRACTION_START = 19;
/** Fractional digits a timestamptz keeps. */
const TIMESTAMP_DIGITS = 6;

/**
 * Why `s`, an RFC 3339 date-time, cannot be stored exactly: a nonzero 7th (or later) digit of its fraction of a
 * second. Trailing zeros (`.123456000`) are exact and pass. Undefined when it can.
 */
export function subMicrosecondProblem(s: string): string | undefined {
  if (s.charCodeAt(FRACTION_START) !== 0x2e) return undefined; // '.'
  const first = FRACTION_START + 1;
  for (let i = first; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined; // the fraction ended: the zone follows
    if (i - first >= TIMESTAMP_DIGITS && c !== 0x30)
      return (
        'a fraction of a second finer than a microsecond, which a timestamptz would round; ' +
        'send at most 6 fractional digits'
      );
  }
  return undefined;
}
