import { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/basics/errors.js';
import {
  CONNECT_TIMEOUT_MS,
  DEFAULT_REGION,
  createS3Client,
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

describe('createS3Client', () => {
  /** The signed headers of each request the client would send (none is sent). */
  async function signedHeaders(send: (c: ReturnType<typeof createS3Client>) => Promise<unknown>) {
    const client = createS3Client(s3SettingsFromEnv({ ...KEYS, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' }));
    let headers: Record<string, string> | undefined;
    // The deserialize step runs after signing, just before the request would go out.
    client.middlewareStack.add(
      () => async (args) => {
        headers = (args.request as { headers: Record<string, string> }).headers;
        throw new Error('captured');
      },
      { step: 'deserialize', name: 'capture' },
    );
    await expect(send(client)).rejects.toThrow('captured');
    client.destroy();
    return headers!;
  }
  const body = Buffer.from('{"a":1}\n');

  it('should send data parts and small data files with an unsigned payload, still signing the request', async () => {
    const part = await signedHeaders((c) =>
      c.send(
        new UploadPartCommand({
          Bucket: 'b',
          Key: 'p/s1/attempt-x/events.ndjson',
          UploadId: 'u',
          PartNumber: 1,
          Body: body,
        }),
      ),
    );
    expect(part['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(part['authorization']).toMatch(/^AWS4-HMAC-SHA256 /);
    const small = await signedHeaders((c) =>
      c.send(new PutObjectCommand({ Bucket: 'b', Key: 'p/s1/attempt-x/rejected.ndjson', Body: body })),
    );
    expect(small['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
  });

  it('should sign the payload of the manifest', async () => {
    const manifest = await signedHeaders((c) =>
      c.send(new PutObjectCommand({ Bucket: 'b', Key: 'p/s1/manifest.json', Body: body, IfNoneMatch: '*' })),
    );
    expect(manifest['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should silence the SDK notice about Node 20 unless asked for', () => {
    createS3Client(s3SettingsFromEnv({ ...KEYS })).destroy();
    expect(process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED']).toBe('true');
  });
});
