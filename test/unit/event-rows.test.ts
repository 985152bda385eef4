import { describe, expect, it } from 'vitest';
import { metadataColumns, type TableDef } from '../../src/schema/ddl.js';
import type { EventLine } from '../../src/snapshot/format.js';
import { copyColumns, EventRowEncoder, kafkaTimestampText } from '../../src/warehouse/event-rows.js';

const table: TableDef = {
  name: 'things',
  kind: 'event',
  columns: [
    { name: 'id', type: 'uuid', notNull: true, property: 'id' },
    { name: 'label', type: 'text', notNull: false, property: 'label' },
    { name: 'n', type: 'bigint', notNull: true, property: 'n' },
    { name: 'extra', type: 'jsonb', notNull: false, property: 'extra' },
    ...metadataColumns(),
  ],
  primaryKey: ['id'],
};

const line = (value: Record<string, unknown>, extra: Partial<EventLine> = {}): EventLine => ({
  topic: 'things',
  partition: 2,
  offset: 41,
  timestamp: Date.parse('2026-11-27T07:45:12.250Z'),
  key: null,
  headers: [],
  value,
  ...extra,
});

const ID = '5f0c7c59-3d4e-4a5e-9a53-2f6e0f6b8a11';

describe('EventRowEncoder', () => {
  const encoder = new EventRowEncoder(table, 'snap\t1');

  it('should list the property columns, then the metadata it fills (loaded_at comes from the default)', () => {
    expect(encoder.columns).toEqual(copyColumns(table));
    expect(encoder.columns).toEqual([
      'id',
      'label',
      'n',
      'extra',
      '_kafka_topic',
      '_kafka_partition',
      '_kafka_offset',
      '_kafka_timestamp',
      '_eventful_snapshot_id',
    ]);
  });

  it('should encode one COPY line with escapes, NULLs and the key', () => {
    const r = encoder.encode(line({ id: `urn:uuid:${ID}`, label: 'a\tb\\', n: 7, extra: { q: 'x"y' }, unknown: 1 }));
    expect(r).toEqual({
      row: `${ID}\ta\\tb\\\\\t7\t{"q":"x\\\\"y"}\tthings\t2\t41\t2026-11-27T07:45:12.250Z\tsnap\\t1\n`,
      keys: [ID],
    });
    expect(encoder.encode(line({ id: ID, n: 1 }), false)).toEqual({
      row: `${ID}\t\\N\t1\t\\N\tthings\t2\t41\t2026-11-27T07:45:12.250Z\tsnap\\t1\n`,
      keys: [ID],
    });
  });

  it('should give the same row with and without the no-backslash shortcut when the line has none', () => {
    const value = { id: ID, label: "it's 😀", n: 3, extra: [1, 'two'] };
    expect(encoder.encode(line(value), false)).toEqual(encoder.encode(line(value), true));
  });

  it('should write a bigint beyond 2^53 from the snapshot line text, not from the rounded number', () => {
    const raw = `{"topic":"things","value":{"id":"${ID}","n":9007199254740993}}`;
    const parsed = JSON.parse(raw) as { value: Record<string, unknown> };
    expect(parsed.value['n']).toBe(9007199254740992);
    const r = encoder.encode(line(parsed.value), false, false, { text: raw, path: ['value'] });
    expect('row' in r && r.row.split('\t').slice(0, 3)).toEqual([ID, '\\N', '9007199254740993']);
  });

  it('should reject a value that does not fit its column, naming it', () => {
    expect(encoder.encode(line({ id: ID, n: 2 ** 64 }))).toEqual({
      reason: {
        code: 'schema_violation',
        message: expect.stringMatching(
          /^does not fit column things\.n \(bigint\): \/n .* is beyond the bigint range .*$/,
        ),
        issues: [{ code: 'column_type', path: '/n', message: expect.stringMatching(/beyond the bigint range/) }],
      },
    });
    expect(encoder.encode(line({ id: ID }))).toMatchObject({
      reason: { issues: [{ path: '/n', message: 'a value is required' }] },
    });
  });

  it('should write no Kafka timestamp when there is none', () => {
    const r = encoder.encode(line({ id: ID, n: 1 }, { timestamp: null }));
    expect('row' in r && r.row.split('\t')[7]).toBe('\\N');
  });
});

describe('kafkaTimestampText', () => {
  it('should match toISOString for any millisecond', () => {
    const samples = [0, 1, 999, 86_399_999, 86_400_000, Date.parse('2026-11-27T23:59:59.999Z'), 253_402_300_799_999];
    for (let i = 0; i < 2_000; i++) samples.push(Math.floor(Math.random() * 253_402_300_799_999));
    for (const ms of samples) expect(kafkaTimestampText(ms)).toBe(new Date(ms).toISOString());
  });

  it('should give null for a missing or unrepresentable timestamp', () => {
    expect(kafkaTimestampText(null)).toBeNull();
    expect(kafkaTimestampText(-1)).toBeNull();
    expect(kafkaTimestampText(253_402_300_800_000)).toBeNull();
    expect(kafkaTimestampText(1.5)).toBeNull();
  });
});
