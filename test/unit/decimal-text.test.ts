import { describe, expect, it } from 'vitest';
import {
  decimalProblem,
  NUMERIC_MAX_FRACTION_DIGITS,
  NUMERIC_MAX_INTEGER_DIGITS,
} from '../../src/schema/decimal-text.js';
import { createAjv } from '../../src/schema/registry.js';

describe('decimal text', () => {
  it.each(['0', '-0', '12.30', '007', '-0.000000000000000000000000000001', '123456789012345678901234567890.5'])(
    'should accept %s',
    (s) => {
      expect(decimalProblem(s)).toBeUndefined();
    },
  );

  it.each(['', '-', '1.', '.5', '+1', '1e5', '1.2.3', ' 12', '12 ', 'NaN', 'Infinity', '1_000', '0x10', '１２'])(
    'should refuse %j with its reason',
    (s) => {
      expect(decimalProblem(s)).toMatch(/is not a decimal/);
    },
  );

  it('should refuse more digits than numeric holds', () => {
    expect(decimalProblem('1'.repeat(NUMERIC_MAX_INTEGER_DIGITS))).toBeUndefined();
    expect(decimalProblem('1'.repeat(NUMERIC_MAX_INTEGER_DIGITS + 1))).toMatch(/before the point does not fit/);
    expect(decimalProblem(`0.${'1'.repeat(NUMERIC_MAX_FRACTION_DIGITS + 1)}`)).toMatch(/after the point/);
  });

  it('should be the check ajv runs for "format": "decimal" in strict mode', () => {
    const validate = createAjv().compile({ type: 'string', format: 'decimal' });
    expect(validate('12.30')).toBe(true);
    expect(validate('1e5')).toBe(false);
    expect(validate.errors?.[0]?.message).toBe('must match format "decimal"');
  });
});
