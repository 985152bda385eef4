import { fullFormats } from 'ajv-formats/dist/formats.js';
import { describe, expect, it } from 'vitest';
import { checkDateTime, checkUuid, isCommonDateTime, isCommonUuid } from '../../src/schema/fast-formats.js';
import { createAjv } from '../../src/schema/registry.js';

const ajvDateTime = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;
const ajvUuid = fullFormats.uuid as RegExp;

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DATE_TIMES = [
  '2026-11-27T07:45:12.250Z',
  '2026-11-27T07:45:12Z',
  '2026-11-27t07:45:12z',
  '2026-11-27 07:45:12Z',
  '2026-11-27T07:45:12.1+01:00',
  '2026-11-27T07:45:12-23:59',
  '2026-11-27T07:45:12+24:00',
  '2026-11-27T07:45:12+0100',
  '2026-11-27T07:45:12+01',
  '2026-11-27T07:45:12',
  '2026-11-27T07:45:12.Z',
  '2026-11-27T23:59:60Z',
  '2026-11-27T22:59:60-01:00',
  '2026-11-27T07:45:60Z',
  '2026-02-29T07:45:12Z',
  '2024-02-29T07:45:12Z',
  '2000-02-29T07:45:12Z',
  '1900-02-29T07:45:12Z',
  '2026-04-31T07:45:12Z',
  '2026-00-10T07:45:12Z',
  '2026-13-10T07:45:12Z',
  '2026-12-00T07:45:12Z',
  '2026-12-31T24:00:00Z',
  '2026-12-31T23:60:00Z',
  '2026-12-31T23:59:59.999999999Z',
  '2026-12-31\u00a023:59:59Z',
  '2026-12-31\t23:59:59Z',
  '2026-12-31TT23:59:59Z',
  '2026-12-31T23:59:59ZZ',
  '2026-12-31T23:59:59Z ',
  ' 2026-12-31T23:59:59Z',
  '２026-12-31T23:59:59Z',
  '2026-1-31T23:59:59Z',
  '+2026-12-31T23:59:59Z',
  '2026-12-31T23:59:59+01:00:00',
  '',
  'T',
];

const UUIDS = [
  '6f1c2a5e-9d3b-4c7a-8e21-5b0f4d3c2a19',
  '6F1C2A5E-9D3B-4C7A-8E21-5B0F4D3C2A19',
  'urn:uuid:6f1c2a5e-9d3b-4c7a-8e21-5b0f4d3c2a19',
  '6f1c2a5e9d3b4c7a8e215b0f4d3c2a19',
  '6f1c2a5e-9d3b-4c7a-8e21-5b0f4d3c2a1g',
  '6f1c2a5e-9d3b-4c7a-8e21_5b0f4d3c2a19',
  '{6f1c2a5e-9d3b-4c7a-8e21-5b0f4d3c2a19}',
  '6f1c2a5e-9d3b-4c7a-8e21-5b0f4d3c2a19 ',
  '',
];

/** Strings one edit away from `base`: a character replaced by one of `alphabet`, removed or doubled. */
function mutations(base: string, alphabet: string, random: () => number, count: number): string[] {
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const i = Math.floor(random() * base.length);
    const c = alphabet[Math.floor(random() * alphabet.length)]!;
    const kind = random();
    if (kind < 0.6) out.push(base.slice(0, i) + c + base.slice(i + 1));
    else if (kind < 0.8) out.push(base.slice(0, i) + base.slice(i + 1));
    else out.push(base.slice(0, i) + c + base.slice(i));
  }
  return out;
}

describe('fast formats', () => {
  it('answer date-time exactly as ajv-formats does, on listed and mutated strings', () => {
    const random = rng(42);
    const cases = [...DATE_TIMES];
    for (const base of DATE_TIMES.slice(0, 6))
      cases.push(...mutations(base, '0123456789-:.+TtZz \u2003x', random, 4000));
    let fast = 0;
    for (const s of cases) {
      expect(checkDateTime(s), JSON.stringify(s)).toBe(ajvDateTime(s));
      // The fast path never accepts what ajv-formats refuses.
      if (isCommonDateTime(s)) {
        fast += 1;
        expect(ajvDateTime(s), JSON.stringify(s)).toBe(true);
      }
    }
    // The fast path takes the usual spellings (not everything falls back).
    expect(isCommonDateTime('2026-11-27T07:45:12.250Z')).toBe(true);
    expect(isCommonDateTime('2026-11-27T07:45:12.250+05:30')).toBe(true);
    expect(fast).toBeGreaterThan(1000);
  });

  it('answer uuid exactly as ajv-formats does, on listed and mutated strings', () => {
    const random = rng(7);
    const cases = [...UUIDS];
    for (const base of UUIDS.slice(0, 3)) cases.push(...mutations(base, '0123456789abcdefABCDEFg-:{} ', random, 4000));
    let fast = 0;
    for (const s of cases) {
      expect(checkUuid(s), JSON.stringify(s)).toBe(ajvUuid.test(s));
      if (isCommonUuid(s)) {
        fast += 1;
        expect(ajvUuid.test(s), JSON.stringify(s)).toBe(true);
      }
    }
    expect(fast).toBeGreaterThan(1000);
  });

  it('are the checks the schema registry uses', () => {
    const ajv = createAjv();
    const validate = ajv.compile({
      type: 'object',
      properties: { at: { type: 'string', format: 'date-time' }, id: { type: 'string', format: 'uuid' } },
    });
    expect(validate({ at: '2026-11-27T07:45:12Z', id: '6f1c2a5e-9d3b-4c7a-8e21-5b0f4d3c2a19' })).toBe(true);
    expect(validate({ at: '2026-02-30T07:45:12Z' })).toBe(false);
    expect(validate({ at: '2026-11-27T23:59:60Z' })).toBe(true);
    expect(validate({ id: 'urn:uuid:6f1c2a5e-9d3b-4c7a-8e21-5b0f4d3c2a19' })).toBe(true);
    expect(validate({ id: '6f1c2a5e-9d3b-4c7a-8e21' })).toBe(false);
  });
});
