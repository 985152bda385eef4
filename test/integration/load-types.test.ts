import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { usePgClient } from '../helpers/load-test.js';
import { freshSchema } from '../helpers/pg.js';
import { runCommand as run } from '../helpers/run.js';
import { onPartition, tempDir, writeSnapshot } from '../helpers/snapshot-fixtures.js';

/** A schema with a property of every JSON type the warehouse maps, and a compound key. */
const GADGET_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  'x-warehouse': { topics: ['gadgets'], table: 'gadgets', key: ['gadget_id', 'region'] },
  required: ['gadget_id', 'region', 'made_at'],
  properties: {
    gadget_id: { type: 'integer' },
    region: { type: 'string' },
    made_at: { type: 'string', format: 'date-time' },
    made_on: { type: 'string', format: 'date' },
    serial: { type: 'string', format: 'uuid' },
    weight: { type: 'number' },
    working: { type: 'boolean' },
    parts: { type: 'array', items: { type: 'string' } },
    spec: { type: 'object' },
    note: { type: ['string', 'null'] },
    anything: {},
  },
  examples: [{ gadget_id: 1, region: 'eu', made_at: '2026-11-27T07:45:12Z' }],
};

let client: pg.Client;
usePgClient((c) => (client = c));

describe('load: column types', () => {
  it('should map every JSON type to its Postgres type and store values exactly', async () => {
    const schemas = await tempDir('eventful-schemas-');
    await writeFile(path.join(schemas, 'gadget.schema.json'), JSON.stringify(GADGET_SCHEMA));
    const schema = await freshSchema(client, 'types');
    const root = await tempDir();
    const full = {
      gadget_id: 9_007_199_254_740_991,
      region: 'eu-west',
      made_at: '2026-11-27T07:45:12.123456+05:30',
      made_on: '2024-02-29',
      serial: 'urn:uuid:5F0C7C59-3D4E-4A5E-9A53-2F6E0F6B8A11',
      weight: -1.5e-7,
      working: false,
      parts: ['a', 'b\\"c', '日本'],
      spec: { nested: { deep: [1, 2.5, null, true] }, quote: "it's" },
      note: null,
      anything: 'a string in jsonb',
    };
    const sparse = { gadget_id: -9_007_199_254_740_991, region: 'eu-west', made_at: '2026-11-27 07:45:12z' };
    const sameKeyAgain = { ...sparse, made_at: '2027-01-01T00:00:00Z' };
    await writeSnapshot(root, onPartition('gadgets', 0, [full, sparse, sameKeyAgain]));

    const r = await run('load', ['--snapshots', root, '--db-schema', schema, '--schemas', schemas]);

    expect(r.code, r.stderr).toBe(0);
    expect((r.summary?.['results'] as Array<{ tables: Record<string, unknown> }>)[0]?.tables['gadgets']).toEqual({
      inserted: 2,
      unchanged: 1,
    });
    const { rows: cols } = await client.query(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = 'gadgets' AND column_name NOT LIKE '\\_%' ORDER BY ordinal_position`,
      [schema],
    );
    expect(cols.map((c) => `${c.column_name} ${c.data_type}${c.is_nullable === 'NO' ? ' not null' : ''}`)).toEqual([
      'gadget_id bigint not null',
      'region text not null',
      'made_at timestamp with time zone not null',
      'made_on date',
      'serial uuid',
      'weight double precision',
      'working boolean',
      'parts jsonb',
      'spec jsonb',
      'note text',
      'anything jsonb',
    ]);
    const { rows } = await client.query(
      `SELECT gadget_id::text, region, to_char(made_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS made_at,
              made_on::text, serial::text, weight, working, parts, spec, note, anything
         FROM "${schema}".gadgets ORDER BY gadget_id DESC`,
    );
    expect(rows).toEqual([
      {
        gadget_id: '9007199254740991',
        region: 'eu-west',
        made_at: '2026-11-27 02:15:12.123456',
        made_on: '2024-02-29',
        serial: '5f0c7c59-3d4e-4a5e-9a53-2f6e0f6b8a11',
        weight: -1.5e-7,
        working: false,
        parts: full.parts,
        spec: full.spec,
        note: null,
        anything: 'a string in jsonb',
      },
      {
        gadget_id: '-9007199254740991',
        region: 'eu-west',
        made_at: '2026-11-27 07:45:12.000000',
        made_on: null,
        serial: null,
        weight: null,
        working: null,
        parts: null,
        spec: null,
        note: null,
        anything: null,
      },
    ]);
  });
});
