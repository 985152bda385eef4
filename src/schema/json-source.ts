/**
 * The exact source text of a value inside a JSON text. Pure.
 *
 * `JSON.parse` reads every number as a double, so an integer beyond 2^53 comes out rounded (9007199254740993
 * becomes 9007199254740992). Where that matters (a bigint column), the value's own text is read again from the
 * JSON it came from, which extract's message and load's snapshot line both still hold. Only values that parsed to
 * a number beyond 2^53 are looked up, so the scan costs nothing on ordinary events.
 */

/** Where an event's JSON text is: the text, and the members leading from its top to the event object. */
export interface JsonSource {
  text: string;
  /** `[]` when `text` is the event itself; `['value']` for a snapshot line. */
  path: readonly string[];
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function skipWhitespace(t: string, i: number): number {
  while (i < t.length && isWhitespace(t.charCodeAt(i))) i++;
  return i;
}

/** Index just after the string starting at `i` (its opening quote). */
function stringEnd(t: string, i: number): number {
  for (i++; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return i;
}

/** Index just after the value starting at `i` (a loop, not recursion: any depth is fine). */
function valueEnd(t: string, i: number): number {
  const first = t.charCodeAt(i);
  if (first === QUOTE) return stringEnd(t, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === QUOTE) {
        i = stringEnd(t, i);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return i + 1;
      i++;
    }
    return i;
  }
  while (i < t.length) {
    const c = t.charCodeAt(i);
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isWhitespace(c)) break;
    i++;
  }
  return i;
}

/** Start and end of member `key` of the object at `at`; the last one when the key repeats, as JSON.parse does. */
function memberSpan(t: string, at: number, key: string): [number, number] | undefined {
  let i = skipWhitespace(t, at);
  if (t.charCodeAt(i) !== OPEN_BRACE) return undefined;
  let found: [number, number] | undefined;
  i = skipWhitespace(t, i + 1);
  while (i < t.length && t.charCodeAt(i) === QUOTE) {
    const nameEnd = stringEnd(t, i);
    const quoted = t.slice(i, nameEnd);
    const name = quoted.includes('\\') ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
    const start = skipWhitespace(t, skipWhitespace(t, nameEnd) + 1); // past the colon
    const end = valueEnd(t, start);
    if (name === key) found = [start, end];
    i = skipWhitespace(t, end);
    if (t.charCodeAt(i) === COMMA) i = skipWhitespace(t, i + 1);
  }
  return found;
}

/**
 * The exact text of the value at `path` (object member names from the top) in `text`, which must be valid JSON
 * (it parsed); undefined when a member on the way is missing or not an object.
 */
export function memberText(text: string, path: readonly string[]): string | undefined {
  let start = 0;
  let end = text.length;
  for (const key of path) {
    const span = memberSpan(text, start, key);
    if (!span) return undefined;
    [start, end] = span;
  }
  return text.slice(skipWhitespace(text, start), end);
}

/** Whitespace characters other than the space, which valid JSON only holds between tokens (never raw in a string). */
const OTHER_WHITESPACE = /[\t\n\r]/g;

/**
 * Valid JSON text with its tabs and line breaks turned into spaces: the same JSON, on one line, and safe for
 * fields and lines that tabs or line breaks would end (NDJSON, COPY text).
 */
export function flatJsonText(text: string): string {
  return text.replace(OTHER_WHITESPACE, ' ');
}

/** The exact text of top-level property `property` of the event that `source` holds. */
export function propertyText(source: JsonSource, property: string): string | undefined {
  return memberText(source.text, [...source.path, property]);
}
