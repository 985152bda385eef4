import { describe, expect, it } from 'vitest';
import { BIGINT_MAX, BIGINT_MIN, bigintText, holdsUnsafeInteger } from '../../src/schema/json-integer.js';

describe('bigintText', () => {
  it.each([
    ['0', '0'],
    ['-0', '0'],
    ['42', '42'],
    ['9007199254740993', '9007199254740993'],
    ['-9223372036854775808', '-9223372036854775808'],
    ['9223372036854775807', '9223372036854775807'],
    ['12.000', '12'],
    ['1.2e1', '12'],
    ['1200e-2', '12'],
    ['1E+18', '1000000000000000000'],
    ['0e999999999', '0'],
  ])('should read %s as the integer %s', (text, expected) => {
    expect(bigintText(text)).toBe(expected);
  });

  it.each(['9223372036854775808', '-9223372036854775809', '123456789012345678901234567890', '1e19', '1e999999999999'])(
    'should refuse %s as beyond the bigint range, without building the number',
    (text) => {
      expect(bigintText(text)).toEqual({
        code: 'bigint_range',
        problem: `${text} is beyond the bigint range (${BIGINT_MIN} to ${BIGINT_MAX})`,
      });
    },
  );

  it.each(['1.5', '1.00000000000000000001', '9007199254740993.5', '1e-1', '5e-999999999'])(
    'should refuse %s as not an integer',
    (text) => {
      expect(bigintText(text)).toEqual({ code: 'not_integer', problem: `${text} is not an integer` });
    },
  );

  it('should refuse text that is not a JSON number', () => {
    expect(bigintText('0x10')).toMatchObject({ code: 'not_integer', problem: '0x10 is not a number' });
  });
});

describe('holdsUnsafeInteger', () => {
  it('should find an integer beyond 2^53 at any depth, and nothing in values without one', () => {
    expect(holdsUnsafeInteger({ a: [1, { b: 2 ** 53 }] })).toBe(true);
    expect(holdsUnsafeInteger(-(2 ** 60))).toBe(true);
    expect(holdsUnsafeInteger({ a: [2 ** 53 - 1, 1.5, 1e-300, 'x', null, true] })).toBe(false);
  });
});
