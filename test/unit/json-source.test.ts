import { describe, expect, it } from 'vitest';
import { flatJsonText, memberText, propertyText } from '../../src/schema/json-source.js';

describe('memberText', () => {
  const line =
    '{"topic":"t","key":"{\\"value\\":1}","headers":[{"key":"value","value":"]}"}],' +
    '"value":{ "a" : [1, {"b": "}"}] , "n":9007199254740993,"s":"x\\"y","n":-9223372036854775808 }}';

  it('should find a member past strings, arrays and objects that look like its name or close brackets', () => {
    expect(memberText(line, ['value', 'a'])).toBe('[1, {"b": "}"}]');
    expect(memberText(line, ['value', 's'])).toBe('"x\\"y"');
    expect(memberText(line, ['topic'])).toBe('"t"');
  });

  it('should take the last of repeated members, as JSON.parse does', () => {
    expect(memberText(line, ['value', 'n'])).toBe('-9223372036854775808');
    expect((JSON.parse(line) as { value: { n: number } }).value.n).toBe(-9223372036854775808);
  });

  it('should give undefined for a missing member or a path through a non-object', () => {
    expect(memberText(line, ['value', 'missing'])).toBeUndefined();
    expect(memberText(line, ['topic', 'x'])).toBeUndefined();
  });

  it('should read names written with escapes and text spanning lines', () => {
    expect(memberText('{\n "\\u0061b" :\n 12345678901234567890\n}', ['ab'])).toBe('12345678901234567890');
  });

  it('should find a property of the event a source points at', () => {
    expect(propertyText({ text: line, path: ['value'] }, 'n')).toBe('-9223372036854775808');
    expect(propertyText({ text: '{"id":18014398509481985}', path: [] }, 'id')).toBe('18014398509481985');
  });

  it('should skip a deeply nested value without recursion', () => {
    const deep = `{"d":${'['.repeat(100_000)}${']'.repeat(100_000)},"n":7}`;
    expect(memberText(deep, ['n'])).toBe('7');
  });
});

describe('flatJsonText', () => {
  it('should put JSON on one line without tabs, the same JSON exactly', () => {
    const text = '{\r\n\t"a":\t"x\\ty",\n\t"n": 9007199254740993\n}';
    expect(flatJsonText(text)).toBe('{   "a": "x\\ty",  "n": 9007199254740993 }');
    expect(JSON.parse(flatJsonText(text))).toEqual(JSON.parse(text));
  });
});
