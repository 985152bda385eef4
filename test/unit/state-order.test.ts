import { describe, expect, it } from 'vitest';
import { metadataColumns, type TableDef } from '../../src/schema/ddl.js';
import {
  compareStateOrder,
  mergeStateSql,
  orderSql,
  supersedes,
  type StateOrderKey,
} from '../../src/warehouse/state-order.js';

const ev = (eventTimeMs: number | null, partition = 0, offset = 0, topic = 'incidents'): StateOrderKey => ({
  eventTimeMs,
  topic,
  partition,
  offset,
});

const state: TableDef = {
  name: 'incidents',
  kind: 'state',
  columns: [
    { name: 'incident_id', type: 'text', notNull: true, property: 'incident_id' },
    { name: 'occurred_at', type: 'timestamp with time zone', notNull: true, property: 'occurred_at' },
    { name: 'status', type: 'text', notNull: true, property: 'status' },
    ...metadataColumns(),
  ],
  primaryKey: ['incident_id'],
  state: { eventTable: 'incident_events', eventTime: 'occurred_at' },
};

describe('the state order', () => {
  it('should order by event time first', () => {
    expect(supersedes(ev(2_000, 0, 1), ev(1_000, 5, 99))).toBe(true);
    expect(supersedes(ev(1_000, 5, 99), ev(2_000, 0, 1))).toBe(false);
  });

  it('should break ties on time by topic, partition, then offset', () => {
    expect(supersedes(ev(1_000, 0, 2), ev(1_000, 0, 1))).toBe(true);
    expect(supersedes(ev(1_000, 1, 0), ev(1_000, 0, 9))).toBe(true);
    expect(supersedes(ev(1_000, 0, 0, 'b'), ev(1_000, 9, 9, 'a'))).toBe(true);
  });

  it('should put an event without a time before every timed one', () => {
    expect(supersedes(ev(0), ev(null, 9, 9))).toBe(true);
    expect(supersedes(ev(null, 0, 2), ev(null, 0, 1))).toBe(true);
  });

  it('should never let a replay of the current event replace it', () => {
    expect(supersedes(ev(1_000, 0, 1), ev(1_000, 0, 1))).toBe(false);
    expect(compareStateOrder(ev(1_000, 0, 1), ev(1_000, 0, 1))).toBe(0);
  });

  it('should be a total order, so any arrival order converges to the same state', () => {
    const events = [ev(3, 0, 0), ev(1, 0, 1), ev(3, 1, 0), ev(null, 0, 2), ev(2, 0, 3), ev(3, 0, 4)];
    const fold = (xs: StateOrderKey[]): StateOrderKey => xs.reduce((cur, e) => (supersedes(e, cur) ? e : cur));
    const expected = fold(events);
    for (let seed = 1; seed < 50; seed++) {
      const order = [...events].sort(() => ((seed * 7919) % 3) - 1);
      expect(fold(order)).toBe(expected);
      expect(fold([...events].reverse())).toBe(expected);
    }
    expect(expected).toEqual(ev(3, 1, 0));
  });
});

describe('the state order in SQL', () => {
  it('should use the event time property, then Kafka time, then -infinity, and byte order for topics', () => {
    expect(orderSql(state, 'x')).toEqual([
      `COALESCE(x."occurred_at", x."_kafka_timestamp", '-infinity'::timestamptz)`,
      'x."_kafka_topic" COLLATE "C"',
      'x."_kafka_partition"',
      'x."_kafka_offset"',
    ]);
    const noTime = { ...state, state: { eventTable: 'incident_events' } };
    expect(orderSql(noTime, 'x')[0]).toBe(`COALESCE(x."_kafka_timestamp", '-infinity'::timestamptz)`);
  });

  it('should merge only strictly newer candidates, one per entity', () => {
    const sql = mergeStateSql('s', state, 'pg_temp."c"');
    expect(sql).toContain('SELECT DISTINCT ON (s."incident_id")');
    expect(sql).toContain(
      `ORDER BY s."incident_id", COALESCE(s."occurred_at", s."_kafka_timestamp", '-infinity'::timestamptz) DESC`,
    );
    expect(sql).toContain('ON CONFLICT ("incident_id") DO UPDATE SET "occurred_at" = EXCLUDED."occurred_at"');
    expect(sql).toMatch(/WHERE \(COALESCE\(EXCLUDED\."occurred_at".*\) > \(COALESCE\(cur\."occurred_at"/);
    expect(sql).not.toContain('"incident_id" = EXCLUDED."incident_id"');
    expect(sql).toContain('now() AS "_eventful_loaded_at"');
  });
});
