/**
 * Values → PostgreSQL COPY text format. Pure.
 *
 * Each JSON value is checked against its column type before it goes anywhere near Postgres ("load is the second
 * guard"): a value Postgres would refuse (year 0000, a +23:00 offset, an integer beyond bigint, a NUL character)
 * becomes a problem for that event instead of a failed COPY.
 */
import type { PgType } from '../schema/ddl.js';
import { decimalProblem } from '../schema/decimal-text.js';
import { isCommonUuid } from '../schema/fast-formats.js';
import { bigintText, JsonText } from '../schema/json-integer.js';
import { subMicrosecondProblem } from '../schema/date-time-precision.js';

/** COPY text format's NULL marker. */
export const COPY_NULL = '\\N';

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Escapes a field for COPY text format: backslash, tab, newline and carriage return. */
export function escapeCopyText(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(ESCAPES, (c) => ESCAPED[c]!) : s;
}

/** Why a value cannot go into its column. */
export class ValueProblem {
  constructor(readonly message: string) {}
}

const UUID_URN_PREFIX = 'urn:uuid:';
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)$/;
/** Postgres refuses zone offsets beyond ±15:59. */
const MAX_ZONE_HOURS = 15;
const INTEGER_LIMIT = 2 ** 31;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function dateProblem(y: number, mo: number, d: number): string | undefined {
  if (y < 1) return 'year 0000 does not exist in Postgres';
  if (mo < 1 || mo > 12) return `month ${mo} is out of range`;
  if (d < 1 || d > daysInMonth(y, mo)) return `day ${d} is out of range for ${y}-${String(mo).padStart(2, '0')}`;
  return undefined;
}

const STRING_EXPECTED = new ValueProblem('expected a string');

/** Year 0000, which ajv's date formats accept and Postgres does not. */
const YEAR_ZERO = '0000';
/** Where a date-time's time begins (`YYYY-MM-DDT`): a zone sign can only come after it. */
const TIME_START = 11;

/**
 * For a date-time that ajv has validated (RFC 3339 with a zone): only what ajv allows and Postgres refuses or
 * rounds: year 0000, zone offsets beyond ±15:59, fractions finer than a microsecond.
 */
function validatedDateTimeProblem(s: string): string | undefined {
  if (s.startsWith(YEAR_ZERO)) return 'year 0000 does not exist in Postgres';
  const fine = subMicrosecondProblem(s);
  if (fine) return fine;
  const last = s.charCodeAt(s.length - 1);
  if (last === 0x5a || last === 0x7a) return undefined; // Z or z
  const sign = Math.max(s.lastIndexOf('+'), s.lastIndexOf('-'));
  if (sign < TIME_START) return undefined;
  const hours = Number(s.slice(sign + 1, sign + 3));
  return hours > MAX_ZONE_HOURS ? `zone offset ${s.slice(sign)} is beyond ±${MAX_ZONE_HOURS}:59` : undefined;
}

/**
 * The text Postgres will parse for `value` in a column of `type` (not yet COPY-escaped), `null` for SQL NULL
 * (JSON null or an absent property), or a {@link ValueProblem}. Strings are kept exactly; only a UUID loses an
 * `urn:uuid:` prefix, which Postgres does not accept.
 *
 * A bigint is exact: a number beyond 2^53 (where doubles round) comes as its JSON text, a {@link JsonText},
 * and is read from that text (see json-source); one beyond the bigint range is a problem, never rounded into it.
 * A jsonb value holding such a number comes as its JSON text too, and is written as that text.
 *
 * `validated`: the value already passed ajv with the property's own `format` (uuid, date, date-time), so only
 * the differences between ajv's formats and Postgres' input are checked, not the whole shape again.
 */
export function canonicalText(type: PgType, value: unknown, validated = false): string | null | ValueProblem {
  if (value === undefined || value === null) return null;
  if (validated && typeof value === 'string')
    switch (type) {
      case 'uuid':
        return value.startsWith(UUID_URN_PREFIX) ? value.slice(UUID_URN_PREFIX.length) : value;
      case 'timestamp with time zone': {
        const p = validatedDateTimeProblem(value);
        return p ? new ValueProblem(`"${value}": ${p}`) : value;
      }
      case 'date':
        return value.startsWith(YEAR_ZERO)
          ? new ValueProblem(`"${value}": year 0000 does not exist in Postgres`)
          : value;
      default:
        break;
    }
  switch (type) {
    case 'text':
      return typeof value === 'string' ? value : STRING_EXPECTED;
    case 'uuid': {
      if (typeof value !== 'string') return STRING_EXPECTED;
      const bare = value.startsWith(UUID_URN_PREFIX) ? value.slice(UUID_URN_PREFIX.length) : value;
      // The hyphenated 36-character form, either case (what ajv's uuid format accepts after the urn prefix).
      return isCommonUuid(bare) ? bare : new ValueProblem(`"${value}" is not a UUID`);
    }
    case 'date': {
      if (typeof value !== 'string') return STRING_EXPECTED;
      const m = DATE.exec(value);
      if (!m) return new ValueProblem(`"${value}" is not a date (YYYY-MM-DD)`);
      const p = dateProblem(Number(m[1]), Number(m[2]), Number(m[3]));
      return p ? new ValueProblem(`"${value}": ${p}`) : value;
    }
    case 'timestamp with time zone': {
      if (typeof value !== 'string') return STRING_EXPECTED;
      const m = DATE_TIME.exec(value);
      if (!m) return new ValueProblem(`"${value}" is not an RFC 3339 date-time with a time zone`);
      let p = dateProblem(Number(m[1]), Number(m[2]), Number(m[3]));
      if (!p && (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60)) p = 'time of day is out of range';
      if (!p && m[8] !== undefined && (Number(m[8]) > MAX_ZONE_HOURS || Number(m[9] ?? 0) > 59))
        p = `zone offset ${m[7]}${m[8]}:${m[9] ?? '00'} is beyond ±${MAX_ZONE_HOURS}:59`;
      p ??= subMicrosecondProblem(value);
      return p ? new ValueProblem(`"${value}": ${p}`) : value;
    }
    case 'bigint': {
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      const text = value instanceof JsonText ? value.text : typeof value === 'number' ? String(value) : undefined;
      if (text === undefined || (typeof value === 'number' && !Number.isInteger(value)))
        return new ValueProblem('expected an integer');
      const exact = bigintText(text);
      return typeof exact === 'string' ? exact : new ValueProblem(exact.problem);
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return new ValueProblem('expected an integer');
      if (value >= INTEGER_LIMIT || value < -INTEGER_LIMIT)
        return new ValueProblem(`${value} does not fit a ${type} column`);
      return String(value);
    case 'numeric': {
      if (typeof value !== 'string') return STRING_EXPECTED;
      if (validated) return value;
      const p = decimalProblem(value);
      return p ? new ValueProblem(p) : value;
    }
    case 'double precision':
      if (typeof value !== 'number' || !Number.isFinite(value)) return new ValueProblem('expected a number');
      return String(value);
    case 'boolean':
      return typeof value === 'boolean' ? (value ? 't' : 'f') : new ValueProblem('expected a boolean');
    case 'jsonb':
      return value instanceof JsonText ? value.text : JSON.stringify(value);
  }
}

/** A canonical value (or null) as one COPY text field. */
export function copyField(canonical: string | null): string {
  return canonical === null ? COPY_NULL : escapeCopyText(canonical);
}

/** Why a string cannot be stored as Postgres text or jsonb: a NUL character, or a lone UTF-16 surrogate. */
export function textProblem(s: string): 'nul_character' | 'lone_surrogate' | undefined {
  if (s.includes('\u0000')) return 'nul_character';
  if (!/[\ud800-\udfff]/.test(s)) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return 'lone_surrogate';
    } else if (c >= 0xdc00 && c <= 0xdfff) return 'lone_surrogate';
  }
  return undefined;
}

/** Finds the first string (value or object key) in a JSON value that Postgres cannot store; its JSON pointer. */
export function findTextProblem(
  value: unknown,
  path = '',
): { problem: 'nul_character' | 'lone_surrogate'; path: string } | undefined {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { problem, path: path || '/' } : undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findTextProblem(value[i], `${path}/${i}`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      const at = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const keyProblem = textProblem(k);
      if (keyProblem) return { problem: keyProblem, path: at };
      const found = findTextProblem(v, at);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Cheap pre-check on a raw NDJSON line: JSON.stringify writes NUL as `\u0000` and a lone surrogate as `\udXXX`,
 * so a line without those escapes cannot hold either and needs no deep check.
 */
export function mayHoldTextProblem(rawLine: string): boolean {
  // Most lines hold no `\u` escape at all: one scan for it is cheaper than the regular expression.
  if (!rawLine.includes('\\u')) return false;
  return rawLine.includes('\\u0000') || /\\u[dD][89abcdefABCDEF]/.test(rawLine);
}
