import { describe, expect, it } from 'vitest';
import {
  addColumnSql,
  columnTypeOf,
  createTableSql,
  literalSql,
  metadataColumns,
  renderDdl,
  schemaTables,
} from '../../src/schema/ddl.js';
import {
  DEFAULT_SCHEMAS_DIR,
  SchemaRegistry,
  type LoadedSchema,
  type PropertySchema,
  type WarehouseMapping,
} from '../../src/schema/registry.js';

/** A loaded schema with just what ddl reads. */
function schemaOf(
  properties: Record<string, PropertySchema>,
  required: string[],
  mapping: Partial<WarehouseMapping> = {},
): LoadedSchema {
  return {
    name: 'thing',
    file: 'thing.schema.json',
    sha256: '0'.repeat(64),
    json: {},
    properties,
    required,
    mapping: { topics: ['things'], table: 'things', key: ['id'], ...mapping },
    validate: (() => true) as unknown as LoadedSchema['validate'],
    integerProperties: [],
    dateTimeProperties: [],
  };
}

describe('columnTypeOf', () => {
  it.each([
    [{ type: 'string' }, 'text'],
    [{ type: 'string', format: 'date-time' }, 'timestamp with time zone'],
    [{ type: 'string', format: 'date' }, 'date'],
    [{ type: 'string', format: 'uuid' }, 'uuid'],
    [{ type: 'string', format: 'email' }, 'text'],
    [{ type: 'string', format: 'decimal' }, 'numeric'],
    [{ type: ['string', 'null'], format: 'decimal' }, 'numeric'],
    [{ type: 'integer' }, 'bigint'],
    [{ type: 'number' }, 'double precision'],
    [{ type: 'boolean' }, 'boolean'],
    [{ type: 'object' }, 'jsonb'],
    [{ type: 'array' }, 'jsonb'],
    [{ type: ['string', 'integer'] }, 'jsonb'],
    [{}, 'jsonb'],
    [{ enum: ['a', 'b'] }, 'jsonb'],
  ])('should map %j to %s', (prop, type) => {
    expect(columnTypeOf(prop).type).toBe(type);
  });

  it('should keep a column nullable when the property allows null or has no type', () => {
    expect(columnTypeOf({ type: ['string', 'null'] })).toEqual({ type: 'text', nullable: true });
    expect(columnTypeOf({ type: 'string' })).toEqual({ type: 'text', nullable: false });
    expect(columnTypeOf({}).nullable).toBe(true);
    expect(columnTypeOf(true).type).toBe('jsonb');
  });
});

describe('schemaTables', () => {
  it('should give the shipped schemas the tables the issue names, keyed as declared', async () => {
    const { registry, problems } = await SchemaRegistry.load(DEFAULT_SCHEMAS_DIR);
    expect(problems).toEqual([]);
    const tables = registry.schemas.flatMap((s) => schemaTables(s).tables);
    expect(tables.map((t) => [t.name, t.kind, t.primaryKey])).toEqual([
      ['incident_events', 'event', ['event_id']],
      ['incidents', 'state', ['incident_id']],
      ['train_arrivals', 'event', ['occurred_at', 'event_id']],
    ]);
    const arrivals = tables[2]!;
    expect(arrivals.columns.map((c) => `${c.name} ${c.type}${c.notNull ? ' NOT NULL' : ''}`)).toEqual([
      'event_id uuid NOT NULL',
      'event_type text NOT NULL',
      'occurred_at timestamp with time zone NOT NULL',
      'train_id text NOT NULL',
      'line text NOT NULL',
      'direction text NOT NULL',
      'station_id text NOT NULL',
      'station_name text',
      'scheduled_at timestamp with time zone',
      'dwell_seconds bigint',
      'checkpoint_type text',
      '_kafka_topic text NOT NULL',
      '_kafka_partition integer NOT NULL',
      '_kafka_offset bigint NOT NULL',
      '_kafka_timestamp timestamp with time zone',
      '_eventful_snapshot_id text NOT NULL',
      '_eventful_loaded_at timestamp with time zone NOT NULL',
    ]);
    expect(tables[1]!.state).toEqual({ eventTable: 'incident_events', eventTime: 'occurred_at' });
  });

  it('should refuse properties that use the metadata prefixes', () => {
    const r = schemaTables(
      schemaOf({ id: { type: 'string' }, _kafka_offset: { type: 'integer' }, _eventful_x: {} }, ['id']),
    );
    expect(r.tables).toEqual([]);
    expect(r.problems.map((p) => p.path)).toEqual(['/properties/_kafka_offset', '/properties/_eventful_x']);
  });

  it('should allow other underscore names, which cannot collide with metadata columns', () => {
    const r = schemaTables(schemaOf({ id: { type: 'string' }, _id: { type: 'string' }, _topic: {} }, ['id']));
    expect(r.problems).toEqual([]);
    const names = r.tables[0]!.columns.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('should refuse a key that is not a scalar or may be null', () => {
    expect(schemaTables(schemaOf({ id: { type: 'object' } }, ['id'])).problems[0]?.message).toMatch(/must be a scalar/);
    expect(schemaTables(schemaOf({ id: { type: 'string', format: 'decimal' } }, ['id'])).problems[0]?.message).toMatch(
      /key "id" maps to numeric: a key column must be a scalar/,
    );
    expect(schemaTables(schemaOf({ id: { type: ['string', 'null'] } }, ['id'])).problems[0]?.message).toMatch(
      /never be null/,
    );
  });

  it('should refuse the table names the loader keeps for itself', () => {
    const r = schemaTables(schemaOf({ id: { type: 'string' } }, ['id'], { table: 'eventful_load_ledger' }));
    expect(r.problems[0]?.message).toMatch(/reserved for the loader/);
  });

  it('should give a state table the same columns, its own key and the event table it comes from', () => {
    const r = schemaTables(
      schemaOf(
        { id: { type: 'string' }, thing_id: { type: 'integer' }, at: { type: 'string', format: 'date-time' } },
        ['id', 'thing_id'],
        {
          state: { table: 'thing_state', key: ['thing_id'] },
          eventTime: 'at',
        },
      ),
    );
    const [event, state] = r.tables;
    expect(state?.columns.map((c) => c.name)).toEqual(event?.columns.map((c) => c.name));
    expect(state).toMatchObject({
      name: 'thing_state',
      kind: 'state',
      primaryKey: ['thing_id'],
      state: { eventTable: 'things', eventTime: 'at' },
    });
  });
});

describe('DDL rendering', () => {
  it('should quote every identifier and render the primary key', () => {
    const r = schemaTables(schemaOf({ id: { type: 'string', format: 'uuid' }, select: { type: 'integer' } }, ['id']));
    const sql = createTableSql('my_schema', r.tables[0]!);
    expect(sql).toContain('CREATE TABLE "my_schema"."things" (');
    expect(sql).toContain('  "id" uuid NOT NULL,\n  "select" bigint,');
    expect(sql).toContain(
      '"_eventful_loaded_at" timestamp with time zone NOT NULL DEFAULT now(),\n  PRIMARY KEY ("id")\n)',
    );
  });

  it('should refuse to render an unsafe schema name', () => {
    expect(() => renderDdl('x"; DROP', [])).toThrow(/must match/);
  });

  it('should render ADD COLUMN with a default only for NOT NULL columns', () => {
    expect(addColumnSql('s', 't', { name: 'c', type: 'text', notNull: false })).toBe(
      'ALTER TABLE "s"."t" ADD COLUMN "c" text',
    );
    expect(addColumnSql('s', 't', { name: 'c', type: 'text', notNull: true }, literalSql('text', "o'k\\"))).toBe(
      `ALTER TABLE "s"."t" ADD COLUMN "c" text NOT NULL DEFAULT E'o''k\\\\'::text`,
    );
    const loadedAt = metadataColumns().find((c) => c.name === '_eventful_loaded_at')!;
    expect(addColumnSql('s', 't', loadedAt)).toMatch(/NOT NULL DEFAULT now\(\)$/);
  });
});
