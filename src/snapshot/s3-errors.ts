import { EventfulError, ExitCode } from '../basics/errors.js';

/** The fields of an SDK or network error that say what went wrong. */
interface ErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
]);
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);
const HTTP_FORBIDDEN = 403;
const HTTP_NOT_FOUND = 404;
const HTTP_PRECONDITION_FAILED = 412;
const HTTP_CONFLICT = 409;

function shape(err: unknown): ErrorShape {
  return typeof err === 'object' && err !== null ? (err as ErrorShape) : { message: String(err) };
}

/** The HTTP status of an S3 error response, if the error is one. */
export function httpStatus(err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode;
}

/** A missing key (GET/HEAD of an object that is not there). */
export function isNotFound(err: unknown): boolean {
  const e = shape(err);
  return (
    e.name === 'NoSuchKey' || e.name === 'NotFound' || (httpStatus(err) === HTTP_NOT_FOUND && e.name !== 'NoSuchBucket')
  );
}

/** A conditional write refused because the key exists (`If-None-Match: *`). */
export function isPreconditionFailed(err: unknown): boolean {
  return shape(err).name === 'PreconditionFailed' || httpStatus(err) === HTTP_PRECONDITION_FAILED;
}

/** AWS answers 409 when another conditional write of the same key is in flight: retry, then expect 412. */
export function isConditionalConflict(err: unknown): boolean {
  return shape(err).name === 'ConditionalRequestConflict' || httpStatus(err) === HTTP_CONFLICT;
}

/**
 * The S3 error codes that the settings cause and only other settings fix (exit 2). Expired or refreshable
 * credentials, a credential provider that timed out and a bare HTTP 403 may pass on a retry (exit 1).
 */
const SETTINGS_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'NoSuchBucket',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'IllegalLocationConstraintException',
]);

/** The name that classifies a failure: the S3 error code, or the network error's code. */
function errorCode(err: unknown): string {
  const e = shape(err);
  if (e.code && NETWORK_ERRORS.has(e.code)) return e.code;
  return e.name ?? e.code ?? 'Error';
}

/**
 * Turns an SDK or network error into a message that says what to do, as an {@link EventfulError}: exit 2 for
 * settings a retry will not change ({@link SETTINGS_ERRORS}: refused keys, access denied, no such bucket, another
 * region), exit 1 for the rest (an unreachable store, expired credentials, its other errors). `what` says what was attempted (`listing s3://bucket/prefix/`),
 * `endpoint` where the requests went. Never includes credentials.
 */
export function describeS3Error(err: unknown, what: string, endpoint: string): EventfulError {
  if (err instanceof EventfulError) return err;
  const e = shape(err);
  const code = errorCode(err);
  const status = httpStatus(err);
  let message: string;
  let kind: string;
  if (CREDENTIAL_ERRORS.has(code)) {
    kind = 's3_credentials';
    message =
      `${what} failed: the object store at ${endpoint} refused the key pair (${code}): ` +
      'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)';
  } else if (code === 'AccessDenied' || code === 'Forbidden' || status === HTTP_FORBIDDEN) {
    kind = 's3_access_denied';
    message =
      `${what} failed: access denied by ${endpoint} (${code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
      'and that they may list, read, write and delete objects under the snapshot location';
  } else if (code === 'NoSuchBucket') {
    kind = 's3_no_such_bucket';
    message = `${what} failed: the bucket does not exist at ${endpoint}: create it, or fix the location's bucket name`;
  } else if (
    code === 'PermanentRedirect' ||
    code === 'AuthorizationHeaderMalformed' ||
    code === 'IllegalLocationConstraintException'
  ) {
    kind = 's3_wrong_region';
    message = `${what} failed: the bucket is in another region than AWS_REGION (${code}): set AWS_REGION to the bucket's region`;
  } else if (code === 'CredentialsProviderError') {
    kind = 's3_credentials';
    message = `${what} failed: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  } else if (NETWORK_ERRORS.has(code)) {
    kind = 's3_unreachable';
    message =
      `${what} failed: cannot reach the object store at ${endpoint} (${code}): is it running, and are ` +
      'AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) and the network right?';
  } else {
    kind = 's3_error';
    message = `${what} failed: ${code}${e.message && e.message !== code ? `: ${e.message}` : ''}${status ? ` (HTTP ${status})` : ''}`;
  }
  const wrapped = new EventfulError(message, SETTINGS_ERRORS.has(code) ? ExitCode.Usage : ExitCode.Failure, kind);
  (wrapped as Error & { cause?: unknown }).cause = err;
  return wrapped;
}
