/**
 * Exact decimals: strings a schema marks with `"format": "decimal"` go to `numeric` columns digit for digit.
 * Pure.
 *
 * A decimal travels as JSON text (`"12.30"`), not as a JSON number: most producers' JSON numbers are doubles, which
 * cannot hold 0.1 or a 20-digit amount. The text is plain decimal notation, an optional minus sign, digits and
 * an optional fraction (`-0.5`, `12.30`, `007`); no exponent, no `NaN` or `Infinity`, no spaces, within the
 * digits `numeric` holds. Its scale is kept (`12.30` stays `12.30`).
 */

/** The ajv format name that marks a string property as an exact decimal. */
export const DECIMAL_FORMAT = 'decimal';
/** Digits `numeric` holds before and after the decimal point (PostgreSQL's limits). */
export const NUMERIC_MAX_INTEGER_DIGITS = 131_072;
export const NUMERIC_MAX_FRACTION_DIGITS = 16_383;
const DECIMAL = /^-?(\d+)(?:\.(\d+))?$/;

/** Why `s` is not decimal text `numeric` accepts exactly, or undefined when it is. */
export function decimalProblem(s: string): string | undefined {
  const m = DECIMAL.exec(s);
  if (!m)
    return `"${s.length > 40 ? `${s.slice(0, 40)}…` : s}" is not a decimal (digits, an optional "-" and fraction)`;
  if (m[1]!.length > NUMERIC_MAX_INTEGER_DIGITS)
    return `a decimal with more than ${NUMERIC_MAX_INTEGER_DIGITS} digits before the point does not fit numeric`;
  if ((m[2]?.length ?? 0) > NUMERIC_MAX_FRACTION_DIGITS)
    return `a decimal with more than ${NUMERIC_MAX_FRACTION_DIGITS} digits after the point does not fit numeric`;
  return undefined;
}

/** ajv's check for `"format": "decimal"`. */
export function isDecimalText(s: string): boolean {
  return decimalProblem(s) === undefined;
}
