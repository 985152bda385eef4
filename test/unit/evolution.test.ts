import { describe, expect, it } from 'vitest';
import { metadataColumns, type ColumnDef, type TableDef } from '../../src/schema/ddl.js';
import { describePlan, planDdl, planEvolution, type ExistingTable } from '../../src/warehouse/evolution.js';

const prop = (name: string, type: ColumnDef['type'], notNull = false, extra: Partial<ColumnDef> = {}): ColumnDef => ({
  name,
  type,
  notNull,
  property: name,
  ...extra,
});

function table(columns: ColumnDef[], extra: Partial<TableDef> = {}): TableDef {
  return { name: 'things', kind: 'event', columns: [...columns, ...metadataColumns()], primaryKey: ['id'], ...extra };
}

/** The table as the catalog would describe it after creating `t`. */
function existing(
  t: TableDef,
  change: (cols: ExistingTable['columns']) => void = () => undefined,
): ReadonlyMap<string, ExistingTable> {
  const columns = t.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull }));
  change(columns);
  return new Map([[t.name, { name: t.name, columns, primaryKey: [...t.primaryKey] }]]);
}

const base = table([prop('id', 'uuid', true), prop('n', 'bigint')]);

describe('planEvolution', () => {
  it('should create a missing table', () => {
    const plan = planEvolution([base], new Map());
    expect(plan.steps).toEqual([{ kind: 'create_table', table: base }]);
    expect(planDdl('s', plan)[0]).toBe('CREATE SCHEMA IF NOT EXISTS "s"');
  });

  it('should plan nothing when the warehouse matches', () => {
    expect(planEvolution([base], existing(base))).toEqual({ steps: [], refusals: [], notes: [] });
    expect(planDdl('s', planEvolution([base], existing(base)))).toEqual([]);
  });

  it('should add a column for a new optional property', () => {
    const wanted = table([prop('id', 'uuid', true), prop('n', 'bigint'), prop('label', 'text')]);
    const plan = planEvolution([wanted], existing(base));
    expect(plan.refusals).toEqual([]);
    expect(planDdl('s', plan)).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "s"',
      'ALTER TABLE "s"."things" ADD COLUMN "label" text',
    ]);
    expect(describePlan(plan).columnsAdded).toEqual([{ table: 'things', column: 'label', type: 'text' }]);
  });

  it('should add a numeric column for a new decimal property, with a decimal default kept exactly', () => {
    const wanted = table([
      prop('id', 'uuid', true),
      prop('n', 'bigint'),
      prop('price', 'numeric'),
      prop('fee', 'numeric', true, { defaultValue: '0.50' }),
    ]);
    const plan = planEvolution([wanted], existing(base));
    expect(plan.refusals).toEqual([]);
    expect(planDdl('s', plan).slice(1)).toEqual([
      'ALTER TABLE "s"."things" ADD COLUMN "price" numeric',
      `ALTER TABLE "s"."things" ADD COLUMN "fee" numeric NOT NULL DEFAULT E'0.50'::numeric`,
    ]);
  });

  it('should refuse a text column becoming numeric (a decimal format added to a string property)', () => {
    const was = table([prop('id', 'uuid', true), prop('n', 'bigint'), prop('price', 'text')]);
    const wanted = table([prop('id', 'uuid', true), prop('n', 'bigint'), prop('price', 'numeric')]);
    expect(planEvolution([wanted], existing(was)).refusals[0]?.message).toMatch(
      /things\.price is text in the warehouse but the schema now maps it to numeric/,
    );
  });

  it('should refuse a new required property without a default', () => {
    const wanted = table([prop('id', 'uuid', true), prop('n', 'bigint'), prop('label', 'text', true)]);
    const plan = planEvolution([wanted], existing(base));
    expect(plan.refusals).toEqual([
      {
        table: 'things',
        column: 'label',
        message: expect.stringMatching(/new required property cannot be added because it has no "default"/),
      },
    ]);
  });

  it('should add a new required property with its default as a typed literal', () => {
    const wanted = table([
      prop('id', 'uuid', true),
      prop('n', 'bigint'),
      prop('label', 'text', true, { defaultValue: "it's" }),
    ]);
    const plan = planEvolution([wanted], existing(base));
    expect(plan.refusals).toEqual([]);
    expect(planDdl('s', plan)[1]).toBe(
      `ALTER TABLE "s"."things" ADD COLUMN "label" text NOT NULL DEFAULT E'it''s'::text`,
    );
  });

  it('should refuse a default that does not fit the column', () => {
    const wanted = table([
      prop('id', 'uuid', true),
      prop('n', 'bigint'),
      prop('at', 'date', true, { defaultValue: 'soon' }),
    ]);
    expect(planEvolution([wanted], existing(base)).refusals[0]?.message).toMatch(/"default" does not fit date/);
  });

  it('should refuse a changed type', () => {
    const wanted = table([prop('id', 'uuid', true), prop('n', 'text')]);
    const plan = planEvolution([wanted], existing(base));
    expect(plan.refusals).toEqual([
      {
        table: 'things',
        column: 'n',
        message: expect.stringMatching(/things\.n is bigint in the warehouse but the schema now maps it to text/),
      },
    ]);
  });

  it('should refuse a key narrowed, or widened by a nullable column', () => {
    const wide = { ...base, primaryKey: ['id', 'n'] };
    expect(planEvolution([base], existing(wide)).refusals[0]?.message).toMatch(
      /primary key of things is \(id, n\) .* says \(id\): a key change is not additive unless it keeps every column/,
    );
    expect(planEvolution([wide], existing(base)).refusals[0]?.message).toMatch(
      /primary key of things is \(id\) .* says \(id, n\): the new key column n must already be NOT NULL/,
    );
  });

  it("should refuse any change of a state table's key", () => {
    const state = table([prop('id', 'uuid', true), prop('n', 'bigint', true)], { kind: 'state' });
    expect(planEvolution([{ ...state, primaryKey: ['id', 'n'] }], existing(state)).refusals[0]?.message).toMatch(
      /says \(id, n\): a state table's key names its entities/,
    );
  });

  it('should rebuild a key widened by a NOT NULL column, new columns first, in one statement', () => {
    const was = table([prop('id', 'uuid', true), prop('at', 'timestamp with time zone', true)]);
    const wanted = { ...was, primaryKey: ['at', 'id'] };
    const cur = new Map([...existing(was)].map(([k, t]) => [k, { ...t, primaryKeyName: 'things_pkey' }]));
    const plan = planEvolution([wanted], cur);
    expect(plan.refusals).toEqual([]);
    expect(describePlan(plan).keysRebuilt).toEqual([{ table: 'things', from: ['id'], to: ['at', 'id'] }]);
    expect(plan.notes).toEqual([
      "things: the schema's key is (at, id), the warehouse's (id): the primary key is rebuilt in the transaction of " +
        'the first snapshot loaded, one pass over the table, with the table locked meanwhile',
    ]);
    expect(planDdl('s', plan).slice(1)).toEqual([
      'ALTER TABLE "s"."things" DROP CONSTRAINT "things_pkey", ADD CONSTRAINT "things_pkey" PRIMARY KEY ("at", "id")',
    ]);
  });

  it('should drop NOT NULL when a property is no longer required or no longer exists, but never on the key', () => {
    const was = table([prop('id', 'uuid', true), prop('n', 'bigint', true), prop('gone', 'text', true)]);
    const plan = planEvolution([base], existing(was));
    expect(plan.steps).toEqual([
      { kind: 'drop_not_null', table: 'things', column: 'n', reason: 'the schema no longer requires it' },
      { kind: 'drop_not_null', table: 'things', column: 'gone', reason: 'no schema property fills it any more' },
    ]);
    expect(planDdl('s', plan).slice(1)).toEqual([
      'ALTER TABLE "s"."things" ALTER COLUMN "n" DROP NOT NULL',
      'ALTER TABLE "s"."things" ALTER COLUMN "gone" DROP NOT NULL',
    ]);
  });

  it('should leave a column nullable, with a note, when its property becomes required', () => {
    const wanted = table([prop('id', 'uuid', true), prop('n', 'bigint', true)]);
    const plan = planEvolution([wanted], existing(base));
    expect(plan.steps).toEqual([]);
    expect(plan.notes).toEqual([expect.stringMatching(/things\.n stays nullable/)]);
  });

  it('should backfill a new state table from its existing event table', () => {
    const state: TableDef = {
      ...base,
      name: 'thing_state',
      kind: 'state',
      primaryKey: ['n'],
      state: { eventTable: 'things' },
    };
    const plan = planEvolution([base, state], existing(base));
    expect(plan.steps).toEqual([
      { kind: 'create_table', table: state },
      { kind: 'backfill_state', table: state, from: 'things' },
    ]);
    expect(planEvolution([base, state], new Map()).steps.map((s) => s.kind)).toEqual(['create_table', 'create_table']);
  });

  it('should report every refusal at once', () => {
    const wanted = {
      ...table([prop('id', 'uuid', true), prop('n', 'text'), prop('x', 'text', true)]),
      primaryKey: ['x'],
    };
    expect(planEvolution([wanted], existing(base)).refusals.map((r) => r.column ?? 'key')).toEqual(['key', 'n', 'x']);
  });
});
