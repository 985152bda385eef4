import { beforeAll, describe, expect, it } from 'vitest';
import { schemaTables, type TableDef } from '../../src/schema/ddl.js';
import { DEFAULT_SCHEMAS_DIR, SchemaRegistry } from '../../src/schema/registry.js';
import { SnapshotLineEncoder, type EncodedRows } from '../../src/warehouse/line-encoder.js';

let registry: SchemaRegistry;
let tables: Array<[string, TableDef]>;
beforeAll(async () => {
  registry = (await SchemaRegistry.load(DEFAULT_SCHEMAS_DIR)).registry;
  tables = registry.schemas.map((s) => [s.name, schemaTables(s).tables[0]!]);
});

const AT = '2026-11-27T07:45:12Z';
const arrival = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_id: id,
  event_type: 'train_arrival',
  occurred_at: AT,
  train_id: 'BL-1',
  line: 'Blue',
  direction: 'north',
  station_id: 'STN-1',
  ...extra,
});
const line = (offset: number, value: unknown, topic = 'train-arrivals'): string =>
  JSON.stringify({ topic, partition: 0, offset, timestamp: 0, key: null, headers: [], value });
const ID = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const rowsOf = (r: EncodedRows | undefined): string[] => (r ? r.data.toString('utf8').split('\n').slice(0, -1) : []);

describe('SnapshotLineEncoder', () => {
  it('should put each event in its table slot and refused ones in the quarantine slot', () => {
    const enc = new SnapshotLineEncoder(registry, tables, 'snap');
    const block = enc.encode(
      'events',
      [
        line(0, arrival(ID(1))),
        line(1, arrival(ID(2), { dwell_seconds: -1 })),
        line(2, { x: 1 }, 'nowhere'),
        line(3, arrival(ID(3), { station_name: 'a\u0000' })),
      ],
      1,
    );
    const arrivalsSlot = tables.findIndex(([n]) => n === 'train_arrival');
    expect(block).toMatchObject({
      events: 4,
      rejected: 0,
      rejectedByLoad: 3,
      rejectedByLoadReasons: { schema_violation: 1, no_schema: 1, nul_character: 1 },
    });
    expect(rowsOf(block.tables[arrivalsSlot])).toHaveLength(1);
    // The key, event time first: (occurred_at, event_id).
    expect(block.tables[arrivalsSlot]!.keys).toEqual([[AT], [ID(1)]]);
    expect(rowsOf(block.tables[enc.quarantineSlot]).map((r) => r.split('\t').slice(1, 3))).toEqual([
      ['0', '1'],
      ['0', '2'],
      ['0', '3'],
    ]);
  });

  it('should store a bigint beyond 2^53 exactly and quarantine one beyond the bigint range with its exact text', () => {
    const enc = new SnapshotLineEncoder(registry, tables, 'snap');
    const text = (offset: number, dwell: string): string =>
      line(offset, arrival(ID(offset))).replace(/}}$/, `,"dwell_seconds":${dwell}}}`);
    const block = enc.encode('events', [text(1, '9007199254740993'), text(2, '9223372036854775808')], 1);
    const arrivals = rowsOf(block.tables[tables.findIndex(([n]) => n === 'train_arrival')]);
    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]!.split('\t')).toContain('9007199254740993');
    expect(block.rejectedByLoadReasons).toEqual({ schema_violation: 1 });
    const quarantined = rowsOf(block.tables[enc.quarantineSlot])[0]!.split('\t');
    expect(quarantined[5]).toMatch(/9223372036854775808 is beyond the bigint range/);
    expect(Buffer.from(quarantined[7]!, 'base64').toString()).toMatch(/"dwell_seconds":9223372036854775808}$/);
  });

  it('should check integers beyond 2^53 on their exact text in the registry, and only with the text at hand', () => {
    const value = arrival(ID(1), { dwell_seconds: 2 ** 63 });
    const source = { text: JSON.stringify(value).replace(/}$/, ',"dwell_seconds":9223372036854775807}'), path: [] };
    expect(registry.check('train-arrivals', value, source)).toHaveProperty('schema');
    expect(registry.check('train-arrivals', value)).toMatchObject({
      reason: { issues: [{ code: 'bigint_range', path: '/dwell_seconds' }] },
    });
  });

  it('should report the first malformed line with its number', () => {
    const enc = new SnapshotLineEncoder(registry, tables, 'snap');
    expect(enc.encode('events', [line(0, arrival(ID(1))), '{"topic":', line(2, arrival(ID(2)))], 41).malformed).toBe(
      'events.ndjson line 42 is not JSON',
    );
    expect(enc.encode('events', ['{"topic":"t"}'], 1).malformed).toBe('events.ndjson line 1 is not an event line');
    expect(enc.encode('rejected', ['{}'], 7).malformed).toBe('rejected.ndjson line 7 is not a rejected-message line');
  });

  it('should encode a prepared block the same, leaving out the lines found stored', () => {
    const enc = new SnapshotLineEncoder(registry, tables, 'snap');
    const lines = [
      line(0, arrival(ID(1))),
      line(1, arrival(`urn:uuid:${ID(2)}`)),
      line(2, arrival('not-a-uuid')),
      line(3, arrival(ID(4))),
    ];
    const prepared = enc.prepare('events', lines);
    const slot = tables.findIndex(([n]) => n === 'train_arrival');
    expect(prepared.lookups[slot]).toEqual({
      lines: [0, 1, 3],
      keys: [
        [AT, AT, AT],
        [ID(1), ID(2), ID(4)],
      ],
    });
    const none = enc.encodePrepared(
      prepared,
      1,
      tables.map(() => undefined),
    );
    expect(none).toEqual(enc.encode('events', lines, 1));
    const some = enc.encodePrepared(
      prepared,
      1,
      tables.map((_, i) => (i === slot ? new Set([1, 3]) : undefined)),
    );
    expect(some.unchanged[slot]).toBe(2);
    expect(some.tables[slot]!.keys).toEqual([[AT], [ID(1)]]);
    expect(some.rejectedByLoad).toBe(1);
  });
});
