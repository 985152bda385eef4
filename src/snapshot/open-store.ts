import { DirectorySnapshotStore } from './directory-store.js';
import { checkLocationScheme, isS3Location, parseS3Location } from './s3-location.js';
import type { PrunableSnapshotStore } from './store.js';

/**
 * Opens the snapshot store a location names: `s3://bucket/prefix` is a bucket in an S3-compatible object store
 * (configured from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL in `env`); anything else is a directory. A malformed location or S3 setting throws
 * UsageError (exit 2); an object store that refuses the key pair, lacks the bucket or cannot be reached fails
 * here (exit 1) within a bounded time, with a message that says what to fix.
 */
export async function openSnapshotStore(
  location: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PrunableSnapshotStore> {
  checkLocationScheme(location);
  if (!isS3Location(location)) return DirectorySnapshotStore.open(location);
  // The AWS SDK is loaded for s3:// locations only: it adds ~0.1 s to the start of every command otherwise.
  const [{ createS3Client, describeEndpoint, s3SettingsFromEnv }, { S3SnapshotStore }] = await Promise.all([
    import('./s3-settings.js'),
    import('./s3-store.js'),
  ]);
  const where = parseS3Location(location);
  const settings = s3SettingsFromEnv(env);
  const client = createS3Client(settings);
  try {
    return await S3SnapshotStore.open(client, where, describeEndpoint(settings));
  } catch (err) {
    client.destroy();
    throw err;
  }
}
