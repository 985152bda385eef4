import { describe, expect, it } from 'vitest';
import { jsonErrorText } from '../../src/basics/json-text.js';

function said(text: string): string {
  try {
    JSON.parse(text);
    return 'parsed';
  } catch (err) {
    return jsonErrorText(text, err);
  }
}

describe('jsonErrorText', () => {
  it('should give the line and column of a JSON error, not the character position', () => {
    expect(said('{\n  "a": 1\n  "b": 2\n}')).toBe("Expected ',' or '}' after property value at line 3, column 3");
    expect(said('{"a":1,}')).toBe('Expected double-quoted property name at line 1, column 8');
  });

  it('should call an empty file empty, and a cut-off one cut off', () => {
    expect(said('')).toBe('the file is empty');
    expect(said(' \n')).toBe('the file is empty');
    expect(said('{"a":')).toBe('the JSON ends early (cut off?)');
  });
});
