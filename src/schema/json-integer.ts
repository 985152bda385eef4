/**
 * JSON number text → a PostgreSQL bigint, exactly. Pure.
 *
 * A JSON integer is any number without a fractional part (`12`, `12.0`, `1.2e1`: JSON Schema's definition).
 * Its value is computed from its text with no floating point on the way, so 9007199254740993 stays itself and a
 * number beyond the bigint range is refused rather than rounded into it.
 */

/** The bigint range: -2^63 to 2^63 - 1. */
export const BIGINT_MIN = -(2n ** 63n);
export const BIGINT_MAX = 2n ** 63n - 1n;
/** Digits of 2^63: a longer integer cannot be a bigint, whatever its exponent says. */
const BIGINT_MAX_DIGITS = 19;
const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/;

/** A value as its exact JSON text, where parsing it into doubles may have changed a number (see json-source). */
export class JsonText {
  constructor(readonly text: string) {}
}

/** Whether a JSON value holds an integer beyond 2^53 anywhere (where JSON.parse may have rounded it). */
export function holdsUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (typeof value !== 'object' || value === null) return false;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (holdsUnsafeInteger(v)) return true;
  return false;
}

/** Why a number cannot go into a bigint column. */
export interface IntegerProblem {
  code: 'not_integer' | 'bigint_range';
  problem: string;
}

const outOfRange = (text: string): IntegerProblem => ({
  code: 'bigint_range',
  problem: `${text} is beyond the bigint range (${BIGINT_MIN} to ${BIGINT_MAX})`,
});

/**
 * The integer a JSON number's text denotes, as plain decimal digits (`-12` for `-1.2e1`), or why it is not a
 * bigint: not a number, not an integer, or beyond the bigint range.
 */
export function bigintText(text: string): string | IntegerProblem {
  const m = JSON_NUMBER.exec(text);
  if (!m) return { code: 'not_integer', problem: `${text} is not a number` };
  const fraction = m[3] ?? '';
  // The value is digits × 10^exponent, with digits an integer free of leading and trailing zeros.
  let digits = (m[2]! + fraction).replace(/^0+/, '');
  if (digits === '') return '0';
  let exponent = Number(m[4] ?? 0) - fraction.length;
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  if (exponent < 0) return { code: 'not_integer', problem: `${text} is not an integer` };
  if (digits.length + exponent > BIGINT_MAX_DIGITS) return outOfRange(text);
  const value = BigInt(`${m[1]}${digits}${'0'.repeat(exponent)}`);
  return value < BIGINT_MIN || value > BIGINT_MAX ? outOfRange(text) : value.toString();
}
