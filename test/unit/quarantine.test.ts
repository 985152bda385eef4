import { describe, expect, it } from 'vitest';
import {
  jsonbSafe,
  QUARANTINE_COLUMNS,
  quarantineRowFromEvent,
  quarantineRowFromRejected,
  quarantineTable,
} from '../../src/warehouse/quarantine.js';

describe('the quarantine', () => {
  it('should be keyed by Kafka coordinates so a replay adds nothing', () => {
    expect(quarantineTable().primaryKey).toEqual(['kafka_topic', 'kafka_partition', 'kafka_offset']);
    expect(
      quarantineTable()
        .columns.map((c) => c.name)
        .filter((c) => c !== 'loaded_at'),
    ).toEqual(QUARANTINE_COLUMNS);
  });

  it('should encode a rejected line with its raw bytes, reason and coordinates', () => {
    const r = quarantineRowFromRejected(
      {
        topic: 't',
        partition: 1,
        offset: 9,
        timestamp: 0,
        key_base64: 'AQI=',
        value_base64: null,
        headers: [{ key: 'k', value: 'a\u0000b' }],
        reason: { code: 'tombstone', message: 'no value' },
      },
      's1',
    );
    expect(r.keys).toEqual(['t', '1', '9']);
    expect(r.row.split('\t')).toEqual([
      't',
      '1',
      '9',
      '1970-01-01T00:00:00.000Z',
      'tombstone',
      '{"code":"tombstone","message":"no value"}',
      'AQI=',
      '\\N',
      `[{"key":"k","value":"${Buffer.from('a\u0000b').toString('base64')}","encoding":"base64"}]`,
      'extract',
      's1\n',
    ]);
  });

  it('should keep the value of an event load refused as base64 JSON', () => {
    const value = { a: 'x\u0000' };
    const r = quarantineRowFromEvent(
      { topic: 't', partition: 0, offset: 1, timestamp: null, key: 'k', headers: [], value },
      { code: 'nul_character', message: '/a holds a NUL' },
      's1',
    );
    const fields = r.row.split('\t');
    expect(JSON.parse(Buffer.from(fields[7]!, 'base64').toString('utf8'))).toEqual(value);
    expect(fields[6]).toBe(Buffer.from('k').toString('base64'));
    expect(fields[9]).toBe('load');
  });

  it('should make any JSON safe for jsonb', () => {
    expect(jsonbSafe({ ['k\u0000']: ['\ud800x', 'ok 😀', 1, null] })).toEqual({
      ['k\ufffd']: ['\ufffdx', 'ok 😀', 1, null],
    });
  });
});
