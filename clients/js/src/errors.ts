/**
 * One error model for S3 calls and the JSON API: every failure is an ArtifactStoreError whose
 * `family` is one of the contract's families, so callers branch on a type, not on a code.
 */

export type ErrorFamily =
  | "NotFound"
  | "AccessDenied"
  | "Unauthorized"
  | "Conflict"
  | "PreconditionFailed"
  | "InvalidRequest"
  | "Retryable"
  | "VerificationFailed"
  | "Unavailable";

export interface ErrorDetails {
  code: string;
  message: string;
  status?: number | undefined;
  requestId?: string | undefined;
  /** Seconds the server asked to wait (Retry-After), when it said. */
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

export class ArtifactStoreError extends Error {
  readonly family: ErrorFamily = "InvalidRequest";
  readonly code: string;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(details: ErrorDetails) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code;
    this.status = details.status;
    this.requestId = details.requestId;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  /** Whether repeating the same call later may succeed (the SDK already retried safe calls). */
  get retryable(): boolean {
    return this.family === "Retryable" || this.family === "Unavailable";
  }
}

export class NotFoundError extends ArtifactStoreError {
  override readonly family = "NotFound";
}
export class AccessDeniedError extends ArtifactStoreError {
  override readonly family = "AccessDenied";
}
export class UnauthorizedError extends ArtifactStoreError {
  override readonly family = "Unauthorized";
}
export class ConflictError extends ArtifactStoreError {
  override readonly family = "Conflict";
}
export class PreconditionFailedError extends ArtifactStoreError {
  override readonly family = "PreconditionFailed";
}
export class InvalidRequestError extends ArtifactStoreError {
  override readonly family = "InvalidRequest";
}
export class RetryableError extends ArtifactStoreError {
  override readonly family = "Retryable";
}
export class VerificationFailedError extends ArtifactStoreError {
  override readonly family = "VerificationFailed";
}
export class UnavailableError extends ArtifactStoreError {
  override readonly family = "Unavailable";
}

type ErrorClass = new (details: ErrorDetails) => ArtifactStoreError;

const BY_CODE: Record<string, ErrorClass> = {
  NoSuchBucket: NotFoundError,
  NoSuchKey: NotFoundError,
  NoSuchUpload: NotFoundError,
  NoSuchVersion: NotFoundError,
  NoSuchBucketPolicy: NotFoundError,
  NoSuchTagSet: NotFoundError,
  NoSuchLifecycleConfiguration: NotFoundError,
  NoSuchCORSConfiguration: NotFoundError,
  NotFound: NotFoundError,
  AccessDenied: AccessDeniedError,
  AccessForbidden: AccessDeniedError,
  InvalidAccessKeyId: UnauthorizedError,
  SignatureDoesNotMatch: UnauthorizedError,
  ExpiredToken: UnauthorizedError,
  ExpiredTokenException: UnauthorizedError,
  InvalidToken: UnauthorizedError,
  InvalidIdentityToken: UnauthorizedError,
  InvalidClientTokenId: UnauthorizedError,
  MissingAuthenticationToken: UnauthorizedError,
  RequestTimeTooSkewed: UnauthorizedError,
  BucketAlreadyOwnedByYou: ConflictError,
  BucketAlreadyExists: ConflictError,
  BucketNotEmpty: ConflictError,
  ConditionalRequestConflict: ConflictError,
  InvalidBucketState: ConflictError,
  OperationAborted: ConflictError,
  PreconditionFailed: PreconditionFailedError,
  SlowDown: RetryableError,
  ServiceUnavailable: RetryableError,
  RequestTimeout: RetryableError,
  InternalError: RetryableError,
};

/** The family of an HTTP status, for answers without a known code. */
export function classForStatus(status: number | undefined): ErrorClass {
  switch (status) {
    case 401:
      return UnauthorizedError;
    case 403:
      return AccessDeniedError;
    case 404:
    case 405:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 412:
      return PreconditionFailedError;
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return RetryableError;
    default:
      return status === undefined ? UnavailableError : InvalidRequestError;
  }
}

/** The gateway's require-signature refusal is an AccessDenied whose message starts so. */
const SIGNATURE_REQUIRED = "This bucket requires a signature";

export function errorFor(details: ErrorDetails): ArtifactStoreError {
  if (details.code === "AccessDenied" && details.message.startsWith(SIGNATURE_REQUIRED)) {
    return new VerificationFailedError(details);
  }
  const known = BY_CODE[details.code];
  const Class = known ?? classForStatus(details.status);
  return new Class(details);
}

function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

interface ServiceErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "TimeoutError",
]);

/** An AWS SDK (or network) error as the SDK's typed error; our own errors pass unchanged. */
export function fromAwsError(error: unknown): ArtifactStoreError {
  if (error instanceof ArtifactStoreError) return error;
  const shape = (typeof error === "object" && error !== null ? error : {}) as ServiceErrorShape & {
    code?: string;
  };
  const status = shape.$metadata?.httpStatusCode ?? shape.$response?.statusCode;
  const headers = shape.$response?.headers ?? {};
  const message = shape.message ?? String(error);
  if (status === undefined) {
    const code = shape.code ?? shape.name ?? "NetworkError";
    const Class = NETWORK_CODES.has(code) ? UnavailableError : classForStatus(undefined);
    return new Class({ code, message, cause: error });
  }
  // HEAD answers carry no body: the SDK names them by status ("NotFound", "Forbidden", ...).
  let code = shape.Code ?? shape.name ?? "Unknown";
  if (code === "Forbidden") code = "AccessDenied";
  return errorFor({
    code,
    message,
    status,
    requestId: shape.$metadata?.requestId ?? headers["x-amz-request-id"],
    retryAfterSeconds: parseRetryAfter(headers["retry-after"]),
    cause: error,
  });
}

/** An RFC 7807 problem answer of the JSON API as the SDK's typed error. */
export function fromProblem(
  status: number,
  body: unknown,
  headers: { get(name: string): string | null },
): ArtifactStoreError {
  const problem = (typeof body === "object" && body !== null ? body : {}) as Record<
    string,
    unknown
  >;
  const title = typeof problem.title === "string" ? problem.title : `HTTP ${status}`;
  const detail = typeof problem.detail === "string" ? problem.detail : undefined;
  const requestId =
    typeof problem.request_id === "string"
      ? problem.request_id
      : (headers.get("x-request-id") ?? undefined);
  const Class = classForStatus(status);
  return new Class({
    code: title.replace(/\s+/g, ""),
    message: detail === undefined ? title : `${title}: ${detail}`,
    status,
    requestId,
    retryAfterSeconds: parseRetryAfter(headers.get("retry-after")),
  });
}
