package output

import (
	"context"
	"errors"
	"io/fs"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
)

// Exit codes scripts can rely on (docs/cli.md#exit-codes). They never change meaning; new
// ones are only added.
const (
	ExitOK           = 0
	ExitUsage        = 1  // bad flags or arguments, a bad config file
	ExitNotFound     = 2  // no such bucket, key, upload, referrer, local file
	ExitDenied       = 3  // not allowed, or not logged in / credentials rejected
	ExitVerification = 4  // a signature or checksum check failed, or the bucket requires one
	ExitTransient    = 5  // slow down, unavailable, timed out: try again later
	ExitConflict     = 6  // the bucket is not empty, exists elsewhere, a precondition failed
	ExitInvalid      = 7  // the store refused the request as malformed
	ExitInterrupted  = 8  // cancelled (Ctrl-C); a resumable transfer continues on the next run
	ExitFailed       = 10 // anything else
)

// UsageError marks a mistake in how the command was called.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: sprintf(format, args...)}
}

// Reported is a failure whose result the command has already printed (verify's failed
// verdict): the run exits with Code and nothing more is printed.
type Reported struct {
	Code int
	Msg  string
}

func (e *Reported) Error() string { return e.Msg }

// CodeOf maps an error to its exit code.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var reported *Reported
	if errors.As(err, &reported) {
		return reported.Code
	}
	var usage *UsageError
	if errors.As(err, &usage) {
		return ExitUsage
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	if errors.Is(err, fs.ErrNotExist) {
		return ExitNotFound
	}
	var e *artifactstore.Error
	if !errors.As(err, &e) {
		if errors.Is(err, context.DeadlineExceeded) {
			return ExitTransient
		}
		return ExitFailed
	}
	switch e.Family {
	case artifactstore.FamilyNotFound:
		return ExitNotFound
	case artifactstore.FamilyAccessDenied, artifactstore.FamilyUnauthorized:
		return ExitDenied
	case artifactstore.FamilyVerificationFailed:
		return ExitVerification
	case artifactstore.FamilyRetryable, artifactstore.FamilyUnavailable:
		return ExitTransient
	case artifactstore.FamilyConflict, artifactstore.FamilyPreconditionFailed:
		return ExitConflict
	case artifactstore.FamilyInvalidRequest:
		return ExitInvalid
	}
	return ExitFailed
}
