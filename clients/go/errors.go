package artifactstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Family is the kind of failure, the same names in the Python, Go and JS SDKs: callers branch
// on the family, never on the wire code (which differs between the S3 and JSON API routes).
type Family string

// The error families of the SDK contract (clients/contract/README.md).
const (
	FamilyNotFound           Family = "NotFound"
	FamilyAccessDenied       Family = "AccessDenied"
	FamilyUnauthorized       Family = "Unauthorized"
	FamilyConflict           Family = "Conflict"
	FamilyPreconditionFailed Family = "PreconditionFailed"
	FamilyInvalidRequest     Family = "InvalidRequest"
	FamilyRetryable          Family = "Retryable"
	FamilyVerificationFailed Family = "VerificationFailed"
	FamilyUnavailable        Family = "Unavailable"
)

// Sentinels for errors.Is: errors.Is(err, artifactstore.ErrNotFound).
var (
	ErrNotFound           = &Error{Family: FamilyNotFound}
	ErrAccessDenied       = &Error{Family: FamilyAccessDenied}
	ErrUnauthorized       = &Error{Family: FamilyUnauthorized}
	ErrConflict           = &Error{Family: FamilyConflict}
	ErrPreconditionFailed = &Error{Family: FamilyPreconditionFailed}
	ErrInvalidRequest     = &Error{Family: FamilyInvalidRequest}
	ErrRetryable          = &Error{Family: FamilyRetryable}
	ErrVerificationFailed = &Error{Family: FamilyVerificationFailed}
	ErrUnavailable        = &Error{Family: FamilyUnavailable}
)

// Error is every failure the SDK returns for a call the store (or the identity provider)
// answered, or could not be reached for.
type Error struct {
	Family     Family
	Code       string // the S3 code (NoSuchKey, SlowDown, ...) or the problem's title
	Message    string
	StatusCode int    // 0 when nothing was answered
	RequestID  string // x-amz-request-id / x-request-id: quote it when reporting a problem
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
	Err        error // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Family))
	if e.Code != "" && e.Code != string(e.Family) {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " [%d]", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	if e.Message == "" && e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinels by family.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == "" && t.Family == e.Family
}

// Retryable says whether trying the same call again later may succeed.
func (e *Error) Retryable() bool {
	return e.Family == FamilyRetryable || e.Family == FamilyUnavailable
}

// signatureRequired starts the message of a require-signature bucket's refusal
// (docs/errors.md): the SDK reports it as a failed verification, not a missing right.
const signatureRequired = "This bucket requires a signature"

// FamilyOf maps an S3 error code or an HTTP status to its family.
func FamilyOf(code string, status int, message string) Family {
	switch code {
	case "NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NoSuchVersion", "NotFound",
		"NoSuchBucketPolicy", "NoSuchTagSet", "NoSuchLifecycleConfiguration":
		return FamilyNotFound
	case "AccessDenied":
		if strings.HasPrefix(message, signatureRequired) {
			return FamilyVerificationFailed
		}
		return FamilyAccessDenied
	case "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidClientTokenId", "RequestTimeTooSkewed",
		"AccessForbidden", "MissingAuthenticationToken":
		return FamilyAccessDenied
	case "ExpiredToken", "ExpiredTokenException", "InvalidToken", "InvalidIdentityToken", "invalid_grant",
		"unauthorized_client", "invalid_client":
		return FamilyUnauthorized
	case "BucketNotEmpty", "BucketAlreadyExists", "BucketAlreadyOwnedByYou", "ConditionalRequestConflict",
		"InvalidBucketState", "OperationAborted":
		return FamilyConflict
	case "PreconditionFailed":
		return FamilyPreconditionFailed
	case "SlowDown", "ServiceUnavailable", "RequestTimeout", "Throttling", "ThrottlingException":
		return FamilyRetryable
	}
	switch {
	case status == http.StatusNotFound:
		return FamilyNotFound
	case status == http.StatusUnauthorized:
		return FamilyUnauthorized
	case status == http.StatusForbidden:
		return FamilyAccessDenied
	case status == http.StatusConflict:
		return FamilyConflict
	case status == http.StatusPreconditionFailed:
		return FamilyPreconditionFailed
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return FamilyRetryable
	case status >= 500:
		return FamilyUnavailable
	case status >= 400:
		return FamilyInvalidRequest
	}
	return FamilyUnavailable
}

// WrapS3Error gives an error of a call made on S3() directly the SDK's *Error form, so it
// has a Family like every other error.
func WrapS3Error(err error) error { return wrapS3(err) }

// wrapS3 turns an aws-sdk-go-v2 error into an *Error; nil and *Error pass through.
func wrapS3(err error) error {
	if err == nil {
		return nil
	}
	var own *Error
	if errors.As(err, &own) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	out := &Error{Err: err}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		out.StatusCode = resp.HTTPStatusCode()
		out.RequestID = resp.ServiceRequestID()
		if resp.Response != nil {
			out.RetryAfter = retryAfter(resp.Response.Header.Get("Retry-After"))
		}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		out.Code = api.ErrorCode()
		out.Message = api.ErrorMessage()
	}
	if out.StatusCode == 0 && out.Code == "" {
		out.Family = FamilyUnavailable
		var netErr net.Error
		if !errors.As(err, &netErr) {
			out.Message = err.Error()
		}
		return out
	}
	out.Family = FamilyOf(out.Code, out.StatusCode, out.Message)
	return out
}

// problem is an RFC 7807 body of the JSON API (docs/errors.md).
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	// OAuth2 errors (Keycloak's token endpoint) come in the same call path.
	OAuthError       string `json:"error"`
	OAuthDescription string `json:"error_description"`
}

// fromResponse reads a failed JSON API (or token endpoint) answer into an *Error.
func fromResponse(resp *http.Response, body []byte) *Error {
	var p problem
	_ = json.Unmarshal(body, &p)
	out := &Error{
		StatusCode: resp.StatusCode,
		Code:       p.Title,
		Message:    p.Detail,
		RequestID:  p.RequestID,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After")),
	}
	if out.RequestID == "" {
		out.RequestID = resp.Header.Get("X-Request-Id")
	}
	if p.OAuthError != "" {
		out.Code, out.Message = p.OAuthError, p.OAuthDescription
	}
	if out.Code == "" {
		out.Code = http.StatusText(resp.StatusCode)
	}
	if out.Message == "" && p.Title == "" && p.OAuthError == "" {
		out.Message = strings.TrimSpace(string(body))
		if len(out.Message) > 200 {
			out.Message = out.Message[:200]
		}
	}
	out.Family = FamilyOf(p.OAuthError, resp.StatusCode, out.Message)
	return out
}

func retryAfter(value string) time.Duration {
	if value == "" {
		return 0
	}
	if seconds, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && seconds >= 0 {
		return time.Duration(seconds) * time.Second
	}
	if when, err := http.ParseTime(value); err == nil {
		if d := time.Until(when); d > 0 {
			return d
		}
	}
	return 0
}

func verificationFailed(format string, args ...any) *Error {
	return &Error{Family: FamilyVerificationFailed, Code: "VerificationFailed", Message: fmt.Sprintf(format, args...)}
}
