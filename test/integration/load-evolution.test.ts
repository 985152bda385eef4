import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLoadTest } from '../helpers/load-test.js';
import { runCommand as run } from '../helpers/run.js';
import {
  arrival,
  copySchemas,
  dumpSchema,
  incident,
  onPartition,
  tableExists,
  writeSnapshot,
} from '../helpers/snapshot-fixtures.js';

let client: pg.Client;
let schema: string;
let root: string;
let schemas: string;

useLoadTest('evolve', (t) => ({ client, schema, root } = t));
beforeEach(async () => {
  schemas = await copySchemas();
});

const load = (): ReturnType<typeof run> =>
  run('load', ['--snapshots', root, '--db-schema', schema, '--schemas', schemas]);

/** Edits one schema file of the temp copy. */
async function editSchema(name: string, edit: (json: Record<string, any>) => void): Promise<void> {
  const file = path.join(schemas, `${name}.schema.json`);
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>;
  edit(json);
  await writeFile(file, JSON.stringify(json, null, 2));
}

/** Each row's physical version (xmin) and location: unchanged iff the row was not touched. */
async function rowVersions(table: string): Promise<string[]> {
  const { rows } = await client.query<{ v: string }>(
    `SELECT event_id::text || ' ' || xmin::text || ' ' || ctid::text AS v FROM "${schema}"."${table}" ORDER BY 1`,
  );
  return rows.map((r) => r.v);
}

async function columns(table: string): Promise<Record<string, string>> {
  const { rows } = await client.query<{ column_name: string; data_type: string; is_nullable: string }>(
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = $1 AND table_name = $2`,
    [schema, table],
  );
  return Object.fromEntries(
    rows.map((r) => [r.column_name, `${r.data_type}${r.is_nullable === 'NO' ? ' not null' : ''}`]),
  );
}

describe('load: schema evolution', () => {
  it('should add a column for a new optional property without touching existing rows', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival(), arrival()]));
    expect((await load()).code).toBe(0);
    const before = await rowVersions('train_arrivals');

    await editSchema('train_arrival', (j) => {
      j.properties.platform = { type: 'string' };
      j.properties.crowding = { type: 'number' };
    });
    const fresh = arrival({ platform: '2b', crowding: 0.75 });
    await writeSnapshot(root, onPartition('train-arrivals', 0, [fresh], 2));
    const r = await load();

    expect(r.code, r.stderr).toBe(0);
    expect(r.summary?.['migration']).toMatchObject({
      columnsAdded: [
        { table: 'train_arrivals', column: 'platform', type: 'text' },
        { table: 'train_arrivals', column: 'crowding', type: 'double precision' },
      ],
    });
    expect(await columns('train_arrivals')).toMatchObject({ platform: 'text', crowding: 'double precision' });
    const after = await rowVersions('train_arrivals');
    expect(after.filter((v) => before.includes(v))).toEqual(before);
    const { rows } = await client.query(
      `SELECT platform, crowding FROM "${schema}".train_arrivals ORDER BY _kafka_offset`,
    );
    expect(rows).toEqual([
      { platform: null, crowding: null },
      { platform: null, crowding: null },
      { platform: '2b', crowding: 0.75 },
    ]);
  });

  it('should refuse a changed property type before writing anything, with exit 2', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival({ dwell_seconds: 30 })]));
    expect((await load()).code).toBe(0);
    const before = await dumpSchema(schema);

    await editSchema('train_arrival', (j) => {
      j.properties.dwell_seconds = { type: 'string' };
      j.examples[0].dwell_seconds = '35';
      j['x-counterexamples'].pop();
    });
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival({ dwell_seconds: 'long' })], 1));
    const r = await load();

    expect(r.code).toBe(2);
    expect(r.summary?.['status']).toBe('refused');
    expect(r.summary?.['refusals']).toEqual([
      expect.objectContaining({
        table: 'train_arrivals',
        column: 'dwell_seconds',
        message: expect.stringMatching(/bigint .* text/),
      }),
    ]);
    expect(r.stderr).toMatch(/a type change is not additive/);
    expect(await dumpSchema(schema)).toBe(before);
  });

  it('should refuse a new required property without a default, and add one that has a default', async () => {
    await writeSnapshot(root, onPartition('incidents', 0, [incident()]));
    expect((await load()).code).toBe(0);
    const before = await dumpSchema(schema);

    await editSchema('incident', (j) => {
      j.properties.reporter = { type: 'string' };
      j.required.push('reporter');
      for (const ex of j.examples) ex.reporter = 'ops';
    });
    await writeSnapshot(root, onPartition('incidents', 0, [incident({ reporter: 'ops' })], 1));
    const refused = await load();
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /incident_events\.reporter: a new required property cannot be added because it has no "default"/,
    );
    expect(await dumpSchema(schema)).toBe(before);

    await editSchema('incident', (j) => {
      j.properties.reporter = { type: 'string', default: "nobody's" };
    });
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    const { rows } = await client.query(`SELECT reporter FROM "${schema}".incident_events ORDER BY _kafka_offset`);
    expect(rows).toEqual([{ reporter: "nobody's" }, { reporter: 'ops' }]);
    expect((await columns('incidents'))['reporter']).toBe('text not null');
  });

  it("should refuse a change of a state table's key", async () => {
    await writeSnapshot(root, onPartition('incidents', 0, [incident()]));
    expect((await load()).code).toBe(0);
    const before = await dumpSchema(schema);
    await editSchema('incident', (j) => {
      j['x-warehouse'].state.key = ['line'];
    });
    await writeSnapshot(root, onPartition('incidents', 0, [incident()], 1));
    const r = await load();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /the primary key of incidents is \(incident_id\) in the warehouse but the schema says \(line\): a state table's key names its entities/,
    );
    expect(await dumpSchema(schema)).toBe(before);
  });

  it('should give a warehouse keyed by event_id alone the shipped key, event time first, keeping every row', async () => {
    const shipped = JSON.parse(await readFile(path.join(schemas, 'train_arrival.schema.json'), 'utf8'));
    expect(shipped['x-warehouse'].key).toEqual(['occurred_at', 'event_id']);
    await editSchema('train_arrival', (j) => {
      j['x-warehouse'].key = ['event_id'];
    });
    const first = [arrival({ station_id: 'A' }), arrival({ station_id: 'B' })];
    await writeSnapshot(root, onPartition('train-arrivals', 0, first));
    expect((await load()).code).toBe(0);
    const before = await rowVersions('train_arrivals');

    await editSchema('train_arrival', (j) => {
      j['x-warehouse'].key = ['occurred_at', 'event_id'];
    });
    // A replay of the first event and a new one: the replay changes nothing under the new key either.
    await writeSnapshot(root, onPartition('train-arrivals', 0, [first[0]!, arrival({ station_id: 'C' })], 2));
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary?.['migration']).toMatchObject({
      keysRebuilt: [{ table: 'train_arrivals', from: ['event_id'], to: ['occurred_at', 'event_id'] }],
    });
    expect(r.stderr).toMatch(
      /train_arrivals: the schema's key is \(occurred_at, event_id\), the warehouse's \(event_id\): the primary key is rebuilt/,
    );
    const { rows: key } = await client.query<{ key: string }>(
      `SELECT pg_get_constraintdef(oid) AS key FROM pg_constraint
        WHERE conrelid = to_regclass($1) AND contype = 'p'`,
      [`"${schema}".train_arrivals`],
    );
    expect(key).toEqual([{ key: 'PRIMARY KEY (occurred_at, event_id)' }]);
    const after = await rowVersions('train_arrivals');
    expect(after).toHaveLength(3);
    expect(after.filter((v) => before.map((b) => b.split(' ')[0]).includes(v.split(' ')[0]!))).toHaveLength(2);
    expect(r.summary?.['totals']).toMatchObject({ inserted: 1, unchanged: 1 });
  });

  it('should relax NOT NULL when a property stops being required', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    expect((await load()).code).toBe(0);
    await editSchema('train_arrival', (j) => {
      j.required = j.required.filter((p: string) => p !== 'direction');
    });
    const { direction: _d, ...noDirection } = arrival();
    void _d;
    await writeSnapshot(root, onPartition('train-arrivals', 0, [noDirection], 1));
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary?.['migration']).toMatchObject({
      notNullDropped: [{ table: 'train_arrivals', column: 'direction' }],
    });
    expect(await columns('train_arrivals')).toMatchObject({ direction: 'text' });
  });

  it('should create a state table added to an existing schema and fill it from the events already loaded', async () => {
    await editSchema('train_arrival', (j) => {
      j['x-warehouse'].state = undefined;
    });
    const t1 = arrival({ train_id: 'BL-1', occurred_at: '2026-11-27T07:00:00Z', station_id: 'A' });
    const t2 = arrival({ train_id: 'BL-1', occurred_at: '2026-11-27T07:05:00Z', station_id: 'B' });
    const t3 = arrival({ train_id: 'RD-9', occurred_at: '2026-11-27T07:01:00Z', station_id: 'C' });
    await writeSnapshot(root, onPartition('train-arrivals', 0, [t2, t1, t3]));
    expect((await load()).code).toBe(0);
    expect(await tableExists(client, schema, 'train_positions')).toBe(false);

    await editSchema('train_arrival', (j) => {
      j['x-warehouse'].state = { table: 'train_positions', key: ['train_id'] };
    });
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival({ train_id: 'GR-3', station_id: 'D' })], 3));
    const r = await load();
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary?.['migration']).toMatchObject({
      tablesCreated: ['train_positions'],
      stateBackfilled: ['train_positions'],
    });
    const { rows } = await client.query(
      `SELECT train_id, station_id FROM "${schema}".train_positions ORDER BY train_id`,
    );
    expect(rows).toEqual([
      { train_id: 'BL-1', station_id: 'B' },
      { train_id: 'GR-3', station_id: 'D' },
      { train_id: 'RD-9', station_id: 'C' },
    ]);
  });

  it('should refuse schemas with problems with exit 2 before connecting', async () => {
    await writeSnapshot(root, onPartition('train-arrivals', 0, [arrival()]));
    await editSchema('train_arrival', (j) => {
      j.properties['Bad Name'] = { type: 'string' };
    });
    const r = await load();
    expect(r.code).toBe(2);
    expect(r.summary?.['problems']).toEqual([expect.objectContaining({ path: '/properties/Bad Name' })]);
    expect(await tableExists(client, schema, 'eventful_load_ledger')).toBe(false);
    await rm(schemas, { recursive: true });
    expect((await load()).code).toBe(2);
  });
});
