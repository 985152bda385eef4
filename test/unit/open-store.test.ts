import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/basics/errors.js';
import { DirectorySnapshotStore } from '../../src/snapshot/directory-store.js';
import { openSnapshotStore } from '../../src/snapshot/open-store.js';

const KEYS = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'not-a-real-secret' };

describe('openSnapshotStore', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('should open a directory store for anything that is not s3://', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'eventful-open-'));
    dirs.push(dir);
    const store = await openSnapshotStore(dir, {});
    expect(store).toBeInstanceOf(DirectorySnapshotStore);
    expect(store.location).toBe(dir);
  });

  it.each(['s3://', 's3:///raw', 's3://Bad_Bucket/raw', 's3://lake/a//b'])(
    'should refuse the malformed location %s with a usage error before any request',
    async (location) => {
      await expect(openSnapshotStore(location, KEYS)).rejects.toBeInstanceOf(UsageError);
    },
  );

  it('should refuse S3 settings that cannot work with a usage error', async () => {
    await expect(
      openSnapshotStore('s3://lake/raw', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x' }),
    ).rejects.toBeInstanceOf(UsageError);
  });
});
