import { describe, expect, it } from 'vitest';
import { LAG_DEFAULTS, resolveLagSettings } from '../../src/config/lag-settings.js';

const env = { KAFKA_BOOTSTRAP_SERVERS: 'k:9092' };

describe('lag settings', () => {
  it('should take topics, group and broker from the same variables as extract', () => {
    const s = resolveLagSettings({}, { ...env, EVENTFUL_TOPICS: 'a, b,a', EVENTFUL_GROUP_ID: 'g' });
    expect(s).toMatchObject({
      topics: ['a', 'b'],
      groupId: 'g',
      retentionWarn: LAG_DEFAULTS.retentionWarn,
      minLag: undefined,
      maxAgeMs: undefined,
      connectTimeoutMs: LAG_DEFAULTS.connectTimeoutMs,
      kafka: { 'bootstrap.servers': 'k:9092' },
    });
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('should let flags win over the environment', () => {
    const s = resolveLagSettings(
      { topics: 't', groupId: 'g2', minLag: '10', maxAge: '2h', retentionWarn: '0.8', connectTimeout: '3s' },
      { ...env, EVENTFUL_GROUP_ID: 'g', EVENTFUL_LAG_MIN_LAG: '5' },
    );
    expect(s).toMatchObject({
      groupId: 'g2',
      minLag: 10,
      maxAgeMs: 7_200_000,
      retentionWarn: 0.8,
      connectTimeoutMs: 3_000,
    });
  });

  it("should default the group to the connection's group.id and keep it out of the client properties", () => {
    const s = resolveLagSettings(
      { topics: 't' },
      { EVENTFUL_KAFKA_CONFIG: '{"bootstrap.servers":"k:1","group.id":"from-conn"}' },
    );
    expect(s.groupId).toBe('from-conn');
    expect(s.kafka['group.id']).toBeUndefined();
  });

  it('should refuse negative, zero or malformed thresholds with the flag named', () => {
    const base = { topics: 't', groupId: 'g' };
    expect(() => resolveLagSettings({ ...base, minLag: '-5' }, env)).toThrow(/--min-lag must be a positive integer/);
    expect(() => resolveLagSettings({ ...base, minLag: '0' }, env)).toThrow(/--min-lag/);
    expect(() => resolveLagSettings({ ...base, maxAge: '-1h' }, env)).toThrow(/--max-age must be a positive duration/);
    expect(() => resolveLagSettings({ ...base, retentionWarn: '1.5' }, env)).toThrow(
      /--retention-warn must be a number above 0/,
    );
    expect(() => resolveLagSettings({ ...base, retentionWarn: '0' }, env)).toThrow(/--retention-warn/);
    expect(() => resolveLagSettings(base, { ...env, EVENTFUL_LAG_MAX_AGE: 'soon' })).toThrow(/EVENTFUL_LAG_MAX_AGE/);
  });

  it('should require topics, a group and a broker', () => {
    expect(() => resolveLagSettings({ groupId: 'g' }, env)).toThrow(/--topics is required/);
    expect(() => resolveLagSettings({ topics: 't' }, env)).toThrow(/--group-id is required/);
    expect(() => resolveLagSettings({ topics: 't', groupId: 'g' }, {})).toThrow(/no Kafka broker/);
    expect(() => resolveLagSettings({ topics: 'a b', groupId: 'g' }, env)).toThrow(/not a Kafka topic name/);
  });
});
