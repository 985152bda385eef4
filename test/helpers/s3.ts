import { DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createS3Client, s3SettingsFromEnv } from '../../src/snapshot/s3-settings.js';

/** The bucket `scripts/s3proxy start` created, from the environment the global setup exported. */
export function testBucket(): string {
  const b = process.env['EVENTFUL_S3_BUCKET'];
  if (!b) throw new Error('EVENTFUL_S3_BUCKET is not set: run the integration tests through vitest (global setup)');
  return b;
}

/** A client of the real s3proxy the global setup started, configured exactly as the package configures its own. */
export function testS3Client(): S3Client {
  return createS3Client(s3SettingsFromEnv(process.env));
}

/** A key prefix no other test uses, ending in '/'. */
export function uniquePrefix(name = 'test'): string {
  return `${name}-${randomUUID().slice(0, 8)}/`;
}

/** Every key under a prefix (paginated). */
export async function listKeys(client: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: testBucket(),
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Deletes everything under a prefix. */
export async function clearPrefix(client: S3Client, prefix: string): Promise<void> {
  const keys = await listKeys(client, prefix);
  for (let i = 0; i < keys.length; i += 32)
    await Promise.all(
      keys.slice(i, i + 32).map((Key) => client.send(new DeleteObjectCommand({ Bucket: testBucket(), Key }))),
    );
}
