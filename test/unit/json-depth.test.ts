import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/kafka/decode.js';

const nested = (depth: number, inner = '1'): string => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('nestsDeeperThan', () => {
  it('should count arrays and objects, and stop at the limit', () => {
    expect(nestsDeeperThan(nested(5), 5)).toBe(false);
    expect(nestsDeeperThan(nested(6), 5)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[{"c":1}]}}', 4)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":[{"c":[1]}]}}', 4)).toBe(true);
  });

  it('should not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[[[[[{{{{{{', t: 'say \\"[[[[[[" and ]]]' });
    expect(nestsDeeperThan(text, 1)).toBe(false);
    expect(nestsDeeperThan(`[${JSON.stringify('\\')},[[1]]]`, 2)).toBe(true);
    expect(nestsDeeperThan(`[${JSON.stringify('\\')},[[1]]]`, 3)).toBe(false);
  });

  it('should take siblings as the same level', () => {
    const wide = `[${Array.from({ length: 5000 }, () => '[[1]]').join(',')}]`;
    expect(nestsDeeperThan(wide, 3)).toBe(false);
    expect(nestsDeeperThan(wide, 2)).toBe(true);
  });

  it('should skip the scan for text too short to be deeper than the limit', () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan(nested(100_000), MAX_JSON_DEPTH)).toBe(true);
  });
});
