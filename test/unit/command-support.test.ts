import { describe, expect, it } from 'vitest';
import { withoutCamelCaseTwins } from '../../src/cli/command-support.js';

describe('withoutCamelCaseTwins', () => {
  it('should name each unknown flag once, as typed', () => {
    expect(withoutCamelCaseTwins('Unknown arguments: bogus-flag, bogusFlag')).toBe('Unknown argument: bogus-flag');
    expect(withoutCamelCaseTwins('Unknown arguments: a-b, other-thing-2, aB, otherThing2')).toBe(
      'Unknown arguments: a-b, other-thing-2',
    );
    expect(withoutCamelCaseTwins('Unknown argument: frobnicate')).toBe('Unknown argument: frobnicate');
    expect(withoutCamelCaseTwins('Not enough arguments')).toBe('Not enough arguments');
  });
});
