import { describe, expect, it } from 'vitest';
import {
  canonicalText,
  COPY_NULL,
  copyField,
  escapeCopyText,
  findTextProblem,
  mayHoldTextProblem,
  textProblem,
  ValueProblem,
} from '../../src/warehouse/copy-text.js';
import { JsonText } from '../../src/schema/json-integer.js';

/** How Postgres' COPY text format reads a field back (the inverse of escapeCopyText, for the escapes we emit). */
function unescapeCopyText(field: string): string | null {
  if (field === COPY_NULL) return null;
  return field.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
}

describe('escapeCopyText', () => {
  it('should escape backslash, tab, newline and carriage return, and nothing else', () => {
    expect(escapeCopyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(escapeCopyText(`it's "q" ; -- é 😀 \u2028 \u0001`)).toBe(`it's "q" ; -- é 😀 \u2028 \u0001`);
  });

  it('should keep a literal \\N apart from NULL', () => {
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField(null)).toBe(COPY_NULL);
  });

  it.each(['', 'plain', '\\', '\\\\N', 'tab\tnl\ncr\r', 'x\\ty', '\r\n\\n'])('should round-trip %j', (s) => {
    expect(unescapeCopyText(copyField(s))).toBe(s);
    expect(copyField(s)).not.toMatch(/[\t\n\r]/);
  });
});

describe('canonicalText', () => {
  const problem = (type: Parameters<typeof canonicalText>[0], v: unknown): string =>
    (canonicalText(type, v) as ValueProblem).message;

  it('should give SQL NULL for null and absent values', () => {
    expect(canonicalText('text', null)).toBeNull();
    expect(canonicalText('bigint', undefined)).toBeNull();
  });

  it('should keep strings exactly and refuse other JSON types in a text column', () => {
    expect(canonicalText('text', " it's ")).toBe(" it's ");
    expect(problem('text', 5)).toBe('expected a string');
  });

  it('should strip the urn:uuid: prefix Postgres does not accept', () => {
    expect(canonicalText('uuid', 'urn:uuid:5F0C7C59-3D4E-4A5E-9A53-2F6E0F6B8A11')).toBe(
      '5F0C7C59-3D4E-4A5E-9A53-2F6E0F6B8A11',
    );
    expect(problem('uuid', '5f0c7c593d4e4a5e9a532f6e0f6b8a11')).toMatch(/not a UUID/);
  });

  it('should accept RFC 3339 date-times Postgres accepts and refuse the ones it does not', () => {
    for (const ok of [
      '2026-11-27T07:45:12Z',
      '2026-11-27t07:45:12.123456000z',
      // Fractions of every length before a numeric zone: the zone's digits are not the fraction's.
      '2026-11-27T07:45:12.5+05:45',
      '2026-11-27T07:45:12.12+05:30',
      '2026-11-27T07:45:12.123+01:00',
      '2026-11-27T07:45:12.1234+01:00',
      '2026-11-27T07:45:12.12345-0930',
      '2026-11-27T07:45:12.123456+14:00',
      '2026-11-27 07:45:12+15:59',
      '2024-02-29T00:00:00-0530',
      '2026-12-31T23:59:60Z',
    ])
      for (const validated of [false, true]) expect(canonicalText('timestamp with time zone', ok, validated)).toBe(ok);
    expect(problem('timestamp with time zone', '0000-01-01T00:00:00Z')).toMatch(/year 0000/);
    expect(problem('timestamp with time zone', '2026-11-27T07:45:12+16:00')).toMatch(/zone offset \+16:00/);
    expect(problem('timestamp with time zone', '2026-02-29T00:00:00Z')).toMatch(/day 29/);
    expect(problem('timestamp with time zone', '2026-11-27T07:45:12')).toMatch(/with a time zone/);
    expect(problem('timestamp with time zone', '2026-11-27T25:00:00Z')).toMatch(/time of day/);
    // Postgres keeps microseconds: a finer fraction would be rounded, so it is refused, validated or not.
    for (const validated of [false, true])
      for (const fine of ['2026-11-27T07:45:12.1234567Z', '2026-11-27T07:45:12.0000001+05:30'])
        expect((canonicalText('timestamp with time zone', fine, validated) as Error).message).toBe(
          `"${fine}": a fraction of a second finer than a microsecond, which a timestamptz would round; ` +
            'send at most 6 fractional digits',
        );
  });

  it('should check dates the same way', () => {
    expect(canonicalText('date', '2024-02-29')).toBe('2024-02-29');
    expect(problem('date', '2100-02-29')).toMatch(/day 29/);
    expect(problem('date', '0000-12-31')).toMatch(/year 0000/);
    expect(problem('date', '2026-13-01')).toMatch(/month 13/);
  });

  it('should refuse integers beyond the column and non-integers', () => {
    expect(canonicalText('bigint', -9_007_199_254_740_991)).toBe('-9007199254740991');
    // Without its text, a number beyond 2^53 is read as JSON writes it: the shortest text that parses to it.
    expect(canonicalText('bigint', 2 ** 62)).toBe('4611686018427388000');
    expect(problem('bigint', 2 ** 63)).toMatch(/9223372036854776000 is beyond the bigint range/);
    expect(problem('bigint', 1e21)).toMatch(/1e\+21 is beyond the bigint range/);
    expect(problem('bigint', 1.5)).toBe('expected an integer');
    expect(problem('integer', 2 ** 31)).toMatch(/does not fit a integer/);
    expect(canonicalText('integer', -(2 ** 31))).toBe('-2147483648');
  });

  it('should read a bigint beyond 2^53 from its JSON text, exactly', () => {
    expect(canonicalText('bigint', new JsonText('9007199254740993'))).toBe('9007199254740993');
    expect(canonicalText('bigint', new JsonText('-9223372036854775808'))).toBe('-9223372036854775808');
    expect(canonicalText('bigint', new JsonText('9.223372036854775807e18'))).toBe('9223372036854775807');
    expect(problem('bigint', new JsonText('9223372036854775808'))).toMatch(/beyond the bigint range/);
    expect(problem('bigint', new JsonText('9007199254740993.5'))).toBe('9007199254740993.5 is not an integer');
  });

  it('should keep decimal text for numeric exactly, scale included, and refuse anything else', () => {
    expect(canonicalText('numeric', '12.30')).toBe('12.30');
    expect(canonicalText('numeric', '-0.000000000000000000000000000001')).toBe('-0.000000000000000000000000000001');
    expect(problem('numeric', '1e5')).toMatch(/"1e5" is not a decimal/);
    expect(problem('numeric', 'NaN')).toMatch(/not a decimal/);
    expect(problem('numeric', 12.3)).toBe('expected a string');
  });

  it('should write numbers, booleans and JSON as Postgres reads them', () => {
    expect(canonicalText('double precision', 1e300)).toBe('1e+300');
    expect(canonicalText('double precision', -0)).toBe('0');
    expect(canonicalText('boolean', true)).toBe('t');
    expect(problem('boolean', 'true')).toBe('expected a boolean');
    expect(canonicalText('jsonb', { a: [1, 'x\ty'] })).toBe('{"a":[1,"x\\ty"]}');
    expect(canonicalText('jsonb', 'text')).toBe('"text"');
  });
});

describe('text Postgres cannot store', () => {
  it('should find NUL characters and lone surrogates, in values and keys', () => {
    expect(textProblem('a\u0000b')).toBe('nul_character');
    expect(textProblem('\ud800x')).toBe('lone_surrogate');
    expect(textProblem('x\udc00')).toBe('lone_surrogate');
    expect(textProblem('😀 pair')).toBeUndefined();
    expect(findTextProblem({ a: ['ok', { 'b/c': 'x\u0000' }] })).toEqual({
      problem: 'nul_character',
      path: '/a/1/b~1c',
    });
    expect(findTextProblem({ ['k\u0000']: 1 })).toEqual({ problem: 'nul_character', path: '/k\u0000' });
    expect(findTextProblem({ a: 1, b: [true, null] })).toBeUndefined();
  });

  it('should tell from the raw JSON line when no deep check is needed', () => {
    expect(mayHoldTextProblem(JSON.stringify({ a: 'x\u0000' }))).toBe(true);
    expect(mayHoldTextProblem(JSON.stringify({ a: '\ud800' }))).toBe(true);
    expect(mayHoldTextProblem(JSON.stringify({ a: '😀 \t "q" \\' }))).toBe(false);
  });
});
