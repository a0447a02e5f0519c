import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AccessDeniedError,
  ArtifactStoreError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  RetryableError,
  UnauthorizedError,
  UnavailableError,
  VerificationFailedError,
  fromAwsError,
  fromProblem,
} from "../../src/errors.js";

const s3Error = (name: string, status: number, headers: Record<string, string> = {}) => ({
  name,
  message: `${name} happened`,
  $metadata: { httpStatusCode: status, requestId: "req-1" },
  $response: { statusCode: status, headers },
});

test("S3 codes map to families", () => {
  const cases: [string, number, new (...args: never[]) => ArtifactStoreError][] = [
    ["NoSuchKey", 404, NotFoundError],
    ["NotFound", 404, NotFoundError],
    ["NoSuchBucket", 404, NotFoundError],
    ["AccessDenied", 403, AccessDeniedError],
    ["Forbidden", 403, AccessDeniedError],
    ["InvalidAccessKeyId", 403, UnauthorizedError],
    ["BucketNotEmpty", 409, ConflictError],
    ["PreconditionFailed", 412, PreconditionFailedError],
    ["SlowDown", 503, RetryableError],
    ["SomethingNew", 400, ArtifactStoreError],
  ];
  for (const [code, status, Class] of cases) {
    const error = fromAwsError(s3Error(code, status));
    assert.ok(error instanceof Class, `${code} -> ${error.name}`);
    assert.equal(error.status, status);
    assert.equal(error.requestId, "req-1");
  }
  assert.equal(fromAwsError(s3Error("SomethingNew", 400)).family, "InvalidRequest");
});

test("retry guidance comes from Retry-After", () => {
  const error = fromAwsError(s3Error("SlowDown", 503, { "retry-after": "5" }));
  assert.equal(error.retryAfterSeconds, 5);
  assert.equal(error.retryable, true);
  assert.equal(fromAwsError(s3Error("NoSuchKey", 404)).retryable, false);
});

test("the require-signature refusal is VerificationFailed", () => {
  const error = fromAwsError({
    ...s3Error("AccessDenied", 403),
    message: "This bucket requires a signature by a key or identity it trusts: no signature.",
  });
  assert.ok(error instanceof VerificationFailedError);
});

test("network failures are Unavailable", () => {
  const error = fromAwsError(Object.assign(new Error("connect"), { code: "ECONNREFUSED" }));
  assert.ok(error instanceof UnavailableError);
});

test("problems map by status and keep the request id", () => {
  const headers = new Headers({ "x-request-id": "r-9", "retry-after": "2" });
  const error = fromProblem(404, { title: "Not Found", detail: "no such key" }, headers);
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.message, "Not Found: no such key");
  assert.equal(error.requestId, "r-9");
  assert.ok(fromProblem(401, {}, headers) instanceof UnauthorizedError);
  assert.ok(fromProblem(409, {}, headers) instanceof ConflictError);
  const busy = fromProblem(503, { title: "Service Unavailable", request_id: "r-1" }, headers);
  assert.ok(busy instanceof RetryableError);
  assert.equal(busy.requestId, "r-1");
  assert.equal(busy.retryAfterSeconds, 2);
});
