import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/exit-codes.js';
import {
  CONNECT_TIMEOUT_MS,
  DEFAULT_REGION,
  MAX_ATTEMPTS,
  s3ClientConfig,
  s3SettingsFromEnv,
} from '../../src/snapshot/s3-settings.js';

const KEYS = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'not-a-real-secret' };

describe('s3SettingsFromEnv', () => {
  it('should default the region to us-east-1 and talk to AWS S3 without path style', () => {
    const s = s3SettingsFromEnv({ ...KEYS });
    expect(s).toEqual({
      region: DEFAULT_REGION,
      endpoint: undefined,
      forcePathStyle: false,
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'not-a-real-secret' },
    });
  });

  it('should use AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, with path style on', () => {
    const s = s3SettingsFromEnv({
      ...KEYS,
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://generic:9000',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:19000',
    });
    expect(s.endpoint).toBe('http://127.0.0.1:19000');
    expect(s.forcePathStyle).toBe(true);
    expect(s.region).toBe('eu-west-1');
    expect(s3SettingsFromEnv({ ...KEYS, AWS_ENDPOINT_URL: 'http://minio:9000' }).endpoint).toBe('http://minio:9000');
  });

  it('should fall back to AWS_DEFAULT_REGION and pass a session token along', () => {
    const s = s3SettingsFromEnv({ ...KEYS, AWS_DEFAULT_REGION: 'eu-central-1', AWS_SESSION_TOKEN: 'tok' });
    expect(s.region).toBe('eu-central-1');
    expect(s.credentials?.sessionToken).toBe('tok');
  });

  it('should leave credentials to the SDK chain on AWS when no key pair is set', () => {
    expect(s3SettingsFromEnv({}).credentials).toBeUndefined();
  });

  it('should refuse half a key pair, naming the missing variable and never the secret', () => {
    expect(() => s3SettingsFromEnv({ AWS_SECRET_ACCESS_KEY: 'hunter2' })).toThrow(/AWS_ACCESS_KEY_ID is not set/);
    try {
      s3SettingsFromEnv({ AWS_SECRET_ACCESS_KEY: 'hunter2' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(() => s3SettingsFromEnv({ AWS_ACCESS_KEY_ID: 'AKIA' })).toThrow(UsageError);
  });

  it('should refuse a custom endpoint without a key pair', () => {
    expect(() => s3SettingsFromEnv({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' })).toThrow(/key pair/);
  });

  it('should refuse an endpoint that is not an http(s) URL or that holds credentials', () => {
    expect(() => s3SettingsFromEnv({ ...KEYS, AWS_ENDPOINT_URL_S3: 'not a url' })).toThrow(/not a URL/);
    expect(() => s3SettingsFromEnv({ ...KEYS, AWS_ENDPOINT_URL_S3: 'ftp://host' })).toThrow(/http/);
    let message = '';
    try {
      s3SettingsFromEnv({ ...KEYS, AWS_ENDPOINT_URL_S3: 'http://me:pw123@host:9000' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/must not hold credentials/);
    expect(message).not.toContain('pw123');
  });
});

describe('s3ClientConfig', () => {
  it('should bound connection time and retries', () => {
    const config = s3ClientConfig(s3SettingsFromEnv({ ...KEYS, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:19000' }));
    expect(config.maxAttempts).toBe(MAX_ATTEMPTS);
    expect(config.requestHandler).toMatchObject({ connectionTimeout: CONNECT_TIMEOUT_MS });
    expect(config.forcePathStyle).toBe(true);
    expect(config.endpoint).toBe('http://127.0.0.1:19000');
  });
});
