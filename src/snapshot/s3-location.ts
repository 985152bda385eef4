import { UsageError } from '../basics/errors.js';

/** A snapshot location in an object store: `s3://bucket/prefix`. */
export interface S3Location {
  bucket: string;
  /** The key prefix, empty (the bucket's root) or ending in `/`: `raw/kafka/`. */
  prefix: string;
}

export const S3_SCHEME = 's3://';

// S3's rules for bucket names: 3-63 characters, lowercase letters, digits, dots and hyphens, beginning and
// ending with a letter or digit, no two dots in a row, not shaped like an IP address.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;
const MAX_PREFIX_CHARS = 512;
// Characters S3 documents as safe in keys; others (spaces, %, ?, #, control characters) are refused so a
// location means the same thing in every tool that reads it.
const PREFIX_SEGMENT = /^[A-Za-z0-9!_.*'()=+,-]+$/;

/** Does the location name an object store (`s3://...`) rather than a directory? */
export function isS3Location(location: string): boolean {
  return location.toLowerCase().startsWith(S3_SCHEME);
}

// `scheme:/...`: what a URL looks like, even with a slash missing (`s3:/bucket`).
const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\//i;

/**
 * Refuses a location that looks like a URL but is not `s3://...`: another scheme (`gs://`, `https://`) or `s3:`
 * with a slash missing. Taken for a folder, it would become a relative path under the working directory (for
 * Airflow, a throwaway one), and extract would commit offsets for a snapshot nobody ever loads.
 * Throws {@link UsageError} (exit 2); the message names the scheme only (a URL may hold credentials).
 */
export function checkLocationScheme(location: string): void {
  if (isS3Location(location)) return;
  const scheme = URL_SCHEME.exec(location)?.[1]?.toLowerCase() ?? (/^s3:/i.test(location) ? 's3' : undefined);
  if (scheme === undefined) return;
  if (scheme === 's3')
    throw new UsageError("the snapshot location starts with 's3:' but not 's3://': write s3://bucket/prefix");
  throw new UsageError(
    `snapshot locations with the scheme '${scheme}:' are not supported: give a folder, or s3://bucket/prefix ` +
      '(any S3-compatible store, through AWS_ENDPOINT_URL_S3)',
  );
}

/**
 * Parses `s3://bucket[/prefix[/]]`. The prefix is normalised to end in `/`.
 * Throws {@link UsageError} (exit 2) with what is wrong; messages never echo a location that looks like it
 * holds credentials.
 */
export function parseS3Location(location: string): S3Location {
  if (!isS3Location(location)) throw new UsageError(`'${location}' is not an s3:// location`);
  const rest = location.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  if (bucket.includes('@') || bucket.includes(':'))
    throw new UsageError(
      'the snapshot location must not hold credentials or a host (s3://bucket/prefix): put the key pair in ' +
        'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the server in AWS_ENDPOINT_URL_S3',
    );
  if (bucket === '') throw new UsageError(`snapshot location '${location}' names no bucket: use s3://bucket/prefix`);
  if (!BUCKET.test(bucket) || bucket.includes('..') || IP_ADDRESS.test(bucket))
    throw new UsageError(
      `'${bucket}' in '${location}' is not a valid bucket name: 3-63 lowercase letters, digits, '.' and '-', ` +
        'beginning and ending with a letter or digit',
    );
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (trimmed === '') return { bucket, prefix: '' };
  if (trimmed.length > MAX_PREFIX_CHARS)
    throw new UsageError(`the prefix of '${location}' is longer than ${MAX_PREFIX_CHARS} characters`);
  for (const segment of trimmed.split('/'))
    if (segment === '' || segment === '.' || segment === '..' || !PREFIX_SEGMENT.test(segment))
      throw new UsageError(
        `the prefix of '${location}' has an empty, '.', '..' or unusual segment ('${segment}'): ` +
          "use letters, digits and ! _ . * ' ( ) = + , - between single slashes",
      );
  return { bucket, prefix: trimmed + '/' };
}

/** `s3://bucket/prefix/` for logs and messages (a location never holds credentials). */
export function formatS3Location(bucket: string, key = ''): string {
  return `${S3_SCHEME}${bucket}/${key}`;
}
