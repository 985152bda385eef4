import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/basics/errors.js';
import {
  EXTRACT_DEFAULTS,
  defaultRunId,
  resolveExtractSettings,
  type ExtractFlags,
} from '../../src/config/extract-settings.js';
import { consumerConfig } from '../../src/kafka/consumer-config.js';
import { DEFAULT_SCHEMAS_DIR } from '../../src/schema/registry.js';

const NOW = new Date('2026-11-27T06:15:00.123Z');
const base: ExtractFlags = { topics: 'train-arrivals', groupId: 'g', out: '/snap', bootstrapServers: 'k:9092' };
const resolve = (flags: ExtractFlags, env: NodeJS.ProcessEnv = {}) => resolveExtractSettings(flags, env, NOW);

describe('extract settings', () => {
  it('should apply the defaults and freeze the result', () => {
    const s = resolve(base);
    expect(s).toMatchObject({
      topics: ['train-arrivals'],
      partitions: undefined,
      groupId: 'g',
      out: '/snap',
      schemasDir: DEFAULT_SCHEMAS_DIR,
      runId: defaultRunId(NOW),
      maxMessages: undefined,
      maxDurationMs: undefined,
      maxRejectedRatio: EXTRACT_DEFAULTS.maxRejectedRatio,
      dryRun: false,
      connectTimeoutMs: 30_000,
      batchSize: EXTRACT_DEFAULTS.batchSize,
      kafka: { 'bootstrap.servers': 'k:9092' },
    });
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.kafka)).toBe(true);
    expect(defaultRunId(NOW)).toBe('manual-20261127T061500Z');
  });

  it('should take settings from EVENTFUL_* variables when no flag is given, and let flags win', () => {
    const env = {
      EVENTFUL_TOPICS: 'a,b,a',
      EVENTFUL_GROUP_ID: 'eg',
      EVENTFUL_OUT: 'rel/out',
      EVENTFUL_RUN_ID: 'scheduled__2026-11-27T06:00:00+00:00-try1',
      EVENTFUL_MAX_MESSAGES: '1000',
      EVENTFUL_MAX_DURATION: '5m',
      EVENTFUL_MAX_REJECTED_RATIO: '0.5',
      EVENTFUL_DRY_RUN: 'true',
      EVENTFUL_CONNECT_TIMEOUT: '5s',
      KAFKA_BOOTSTRAP_SERVERS: 'env:9092',
    };
    const s = resolve({}, env);
    expect(s).toMatchObject({
      topics: ['a', 'b'],
      groupId: 'eg',
      out: path.resolve('rel/out'),
      runId: 'scheduled__2026-11-27T06:00:00+00:00-try1',
      maxMessages: 1000,
      maxDurationMs: 300_000,
      maxRejectedRatio: 0.5,
      dryRun: true,
      connectTimeoutMs: 5_000,
      kafka: { 'bootstrap.servers': 'env:9092' },
    });
    expect(resolve({ ...base, maxMessages: '7', dryRun: false }, env)).toMatchObject({
      topics: ['train-arrivals'],
      maxMessages: 7,
      dryRun: false,
    });
  });

  it('should refuse a negative, zero or fractional --max-messages with a message naming the flag', () => {
    for (const bad of ['-5', '0', '1.5', 'many', ''])
      expect(() => resolve({ ...base, maxMessages: bad })).toThrow(/^--max-messages must be a positive integer/);
    expect(() => resolve(base, { EVENTFUL_MAX_MESSAGES: '-1' })).toThrow(/^EVENTFUL_MAX_MESSAGES/);
  });

  it('should refuse bad durations, ratios and booleans, naming the flag or variable', () => {
    expect(() => resolve({ ...base, maxDuration: 'soon' })).toThrow(/--max-duration/);
    expect(() => resolve({ ...base, connectTimeout: '0s' })).toThrow(/--connect-timeout/);
    expect(() => resolve({ ...base, maxRejectedRatio: '1.5' })).toThrow(/--max-rejected-ratio/);
    expect(() => resolve(base, { EVENTFUL_DRY_RUN: 'maybe' })).toThrow(/EVENTFUL_DRY_RUN/);
    expect(() => resolve({ ...base, maxMessages: ['1', '2'] })).toThrow(/more than once/);
  });

  it('should require a group id, topics and (unless dry run) an output folder', () => {
    expect(() => resolve({ ...base, groupId: undefined })).toThrow(/--group-id is required/);
    expect(() => resolve({ ...base, topics: undefined })).toThrow(/--topics/);
    expect(() => resolve({ ...base, out: undefined })).toThrow(/--out is required/);
    expect(resolve({ ...base, out: undefined, dryRun: true }).out).toBeUndefined();
    for (const f of [{ groupId: undefined }, { topics: undefined }, { out: undefined }])
      expect(() => resolve({ ...base, ...f })).toThrow(UsageError);
  });

  it('should take the group id from the kafka config when no flag or variable gives one', () => {
    const s = resolve({ ...base, groupId: undefined }, { EVENTFUL_KAFKA_CONFIG: '{"group.id":"from-conn"}' });
    expect(s.groupId).toBe('from-conn');
    expect(s.kafka['group.id']).toBeUndefined();
  });

  it("should keep a kafka config's other group.id in the properties, where the consumer says it ignores it", () => {
    const env = { EVENTFUL_KAFKA_CONFIG: '{"group.id":"from-conn"}' };
    const s = resolve(base, env);
    expect(s.groupId).toBe('g');
    expect(s.kafka['group.id']).toBe('from-conn');
    const warnings: string[] = [];
    const consumer = consumerConfig(s.kafka, s.groupId, (w) => warnings.push(w));
    expect(consumer['group.id']).toBe('g');
    expect(warnings).toEqual([expect.stringMatching(/^ignoring group\.id=from-conn from the Kafka settings/)]);
    // The same group named twice is no conflict.
    expect(resolve(base, { EVENTFUL_KAFKA_CONFIG: '{"group.id":"g"}' }).kafka['group.id']).toBeUndefined();
  });

  it('should let --partitions name the topics and win over EVENTFUL_TOPICS', () => {
    const s = resolve({ ...base, topics: undefined, partitions: 'a:0-2,b:1' }, { EVENTFUL_TOPICS: 'a,b,c' });
    expect(s.topics).toEqual(['a', 'b']);
    expect([...s.partitions!]).toEqual([
      ['a', [0, 1, 2]],
      ['b', [1]],
    ]);
    expect(() => resolve({ ...base, topics: 'a', partitions: 'b:1' })).toThrow(/different topics/);
    expect(resolve({ ...base, topics: 'a' }, { EVENTFUL_PARTITIONS: 'b:1' }).topics).toEqual(['a']);
  });

  it('should default the decode depth to two batches per decode thread, and let a flag or variable set it', () => {
    expect(resolve(base).decodeDepth).toBe(2);
    expect(resolve({ ...base, decodeThreads: '3' }).decodeDepth).toBe(6);
    expect(resolve({ ...base, decodeThreads: '0' }).decodeDepth).toBe(2);
    expect(resolve(base, { EVENTFUL_DECODE_DEPTH: '4' }).decodeDepth).toBe(4);
    expect(resolve({ ...base, decodeDepth: '1' }, { EVENTFUL_DECODE_DEPTH: '4' }).decodeDepth).toBe(1);
    expect(() => resolve({ ...base, decodeDepth: '0' })).toThrow(/--decode-depth must be a positive integer up to 64/);
  });

  it('should refuse topic names Kafka would refuse', () => {
    expect(() => resolve({ ...base, topics: 'ok,not ok' })).toThrow(/not a Kafka topic name/);
  });
});

describe('extract settings for the snapshot store', () => {
  it('should keep an s3:// location as given and read --compress', () => {
    const s = resolveExtractSettings({ ...base, out: 's3://lake/eventful', compress: 'gzip' }, {}, NOW);
    expect([s.out, s.compress]).toEqual(['s3://lake/eventful', 'gzip']);
    expect(resolveExtractSettings(base, { EVENTFUL_COMPRESS: 'none' }, NOW).compress).toBeUndefined();
    expect(() => resolveExtractSettings({ ...base, compress: 'zip' }, {}, NOW)).toThrow(
      /--compress must be gzip or none/,
    );
  });
});
