import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { MANIFEST_FILE } from './format.js';
import { UsageError } from '../basics/errors.js';

/** AWS's own default region, used when neither AWS_REGION nor AWS_DEFAULT_REGION is set. */
export const DEFAULT_REGION = 'us-east-1';
/** How long opening a TCP connection to the store may take before the attempt fails. */
export const CONNECT_TIMEOUT_MS = 5_000;
/** How long a connection may stay silent (no byte either way) before the attempt fails. */
export const SOCKET_IDLE_TIMEOUT_MS = 30_000;
/**
 * Tries per request (the SDK's standard retry with backoff). With the timeouts above, an unreachable endpoint
 * fails within ~20 s and a refused connection within ~1 s; a refused key pair is not retried.
 */
export const MAX_ATTEMPTS = 3;

/** How to reach the object store, from the environment the way AWS tools read it. Holds no location. */
export interface S3Settings {
  region: string;
  /** A custom endpoint (MinIO, SeaweedFS, s3proxy, ...), or undefined for AWS S3 itself. */
  endpoint: string | undefined;
  /** Path-style addressing (`http://host/bucket/key`): on for custom endpoints, which rarely serve bucket subdomains. */
  forcePathStyle: boolean;
  /** A static key pair from the environment; undefined: the SDK's default chain (instance or pod roles) on AWS. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

/**
 * Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_REGION (or AWS_DEFAULT_REGION;
 * default us-east-1) and AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL). Throws {@link UsageError} for settings
 * that cannot work; messages name variables, never their secret values.
 */
export function s3SettingsFromEnv(env: NodeJS.ProcessEnv): S3Settings {
  const region = nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']) ?? DEFAULT_REGION;
  const endpointVar = nonEmpty(env['AWS_ENDPOINT_URL_S3']) ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const endpoint = nonEmpty(env[endpointVar]);
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new UsageError(`${endpointVar} is not a URL: give the store's address, e.g. http://127.0.0.1:9000`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new UsageError(`${endpointVar} must be an http:// or https:// URL, not ${url.protocol}`);
    if (url.username || url.password)
      throw new UsageError(
        `${endpointVar} must not hold credentials: put them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      );
  }
  const accessKeyId = nonEmpty(env['AWS_ACCESS_KEY_ID']);
  const secretAccessKey = nonEmpty(env['AWS_SECRET_ACCESS_KEY']);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined))
    throw new UsageError(
      `${accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} is not set but ` +
        `${accessKeyId === undefined ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'} is: set both, or neither`,
    );
  if (endpoint !== undefined && accessKeyId === undefined)
    throw new UsageError(
      `${endpointVar} is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not: set the store's key pair`,
    );
  let credentials: S3Settings['credentials'];
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = nonEmpty(env['AWS_SESSION_TOKEN']);
    credentials = sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
  }
  return { region, endpoint, forcePathStyle: endpoint !== undefined, credentials };
}

/** Where requests go, for messages: the custom endpoint, or AWS S3 in its region. */
export function describeEndpoint(settings: S3Settings): string {
  return settings.endpoint ?? `AWS S3 (${settings.region})`;
}

/** The S3 client configuration: bounded timeouts, a few retries, path style for custom endpoints. */
export function s3ClientConfig(settings: S3Settings): S3ClientConfig {
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, socketTimeout: SOCKET_IDLE_TIMEOUT_MS },
  };
  if (settings.endpoint !== undefined) {
    config.endpoint = settings.endpoint;
    // Stores other than AWS S3 differ in which of the SDK's newer optional checksums they accept; our own
    // sha256 in the manifest covers the content end to end, so only the checksums S3 requires are sent.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (settings.credentials) config.credentials = settings.credentials;
  return config;
}

/** Commands whose body is a snapshot's data: the part uploads, and the single put of a file smaller than a part. */
const DATA_COMMANDS = new Set(['UploadPartCommand', 'PutObjectCommand']);

/**
 * An S3 client configured from `settings`, the one place the package makes them.
 *
 * - Data objects are sent with `x-amz-content-sha256: UNSIGNED-PAYLOAD`: the request is still signed, but its
 *   body is not hashed a second time (the SDK would SHA-256 every part, and the store check it). Their content is
 *   covered end to end by the sha256 of each file in the manifest, which load checks while reading. The manifest
 *   itself, the object that makes a snapshot complete, keeps a signed payload.
 * - The SDK's notice that its releases after January 2027 need Node 22 is not printed into every task log
 *   (eventful runs on Node 20 with the SDK version its lockfile pins); set
 *   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false to see it.
 */
export function createS3Client(settings: S3Settings): S3Client {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const client = new S3Client(s3ClientConfig(settings));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: unknown }).Key;
      const request = args.request as { headers?: Record<string, string> } | undefined;
      const isData = typeof key === 'string' && !key.endsWith(`/${MANIFEST_FILE}`) && key !== MANIFEST_FILE;
      if (DATA_COMMANDS.has(context.commandName ?? '') && isData && request?.headers)
        request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'eventfulUnsignedDataPayload' },
  );
  return client;
}
