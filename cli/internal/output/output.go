// Package output prints what commands produce: lines for people, or one JSON document per
// run for scripts ({"schemaVersion": 1, "command": ..., "result": ...} or "error": ...), and
// a progress bar only where someone watches (a terminal, not --quiet, not CI=true, not JSON).
package output

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"golang.org/x/term"
)

// SchemaVersion is the version of the JSON output (cli/schema/output.schema.json). It changes
// only when a field changes meaning or goes away; new fields keep it.
const SchemaVersion = 1

// Format is text or json.
type Format string

const (
	Text Format = "text"
	JSON Format = "json"
)

// Printer writes a command's output.
type Printer struct {
	Format  Format
	Quiet   bool // no progress, no informational lines (results and errors still print)
	Command string
	Out     io.Writer
	Err     io.Writer
	// Progress is true when a progress bar may be drawn on Err.
	Progress bool
}

// NewPrinter decides whether progress is shown: only on a terminal, without --quiet, outside
// CI (CI=true), in text mode.
func NewPrinter(format Format, quiet bool, stdout, stderr io.Writer, getenv func(string) string) *Printer {
	p := &Printer{Format: format, Quiet: quiet, Out: stdout, Err: stderr}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.Progress = !quiet && format == Text && getenv("CI") != "true"
	}
	return p
}

// envelope is the JSON document of one run.
type envelope struct {
	SchemaVersion int        `json:"schemaVersion"`
	Command       string     `json:"command"`
	DryRun        bool       `json:"dryRun,omitempty"`
	Result        any        `json:"result,omitempty"`
	Error         *errorBody `json:"error,omitempty"`
}

type errorBody struct {
	ExitCode  int    `json:"exitCode"`
	Family    string `json:"family,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
}

// Result prints a command's result: JSON as the envelope's result, text through the text
// function (nil: nothing in text mode).
func (p *Printer) Result(result any, dryRun bool, text func(w io.Writer)) error {
	if p.Format == JSON {
		return p.emit(envelope{SchemaVersion: SchemaVersion, Command: p.Command, DryRun: dryRun, Result: result})
	}
	if text != nil {
		text(p.Out)
	}
	return nil
}

// Info prints a line for people (on stderr, so stdout stays the result); not in JSON mode or
// with --quiet.
func (p *Printer) Info(format string, args ...any) {
	if p.Quiet || p.Format == JSON {
		return
	}
	fmt.Fprintf(p.Err, format+"\n", args...)
}

// Error prints a failure and returns its exit code.
func (p *Printer) Error(err error) int {
	code := CodeOf(err)
	var reported *Reported
	if errors.As(err, &reported) {
		return code
	}
	body := &errorBody{ExitCode: code, Message: err.Error()}
	var e *artifactstore.Error
	if errors.As(err, &e) {
		body.Family, body.Code, body.RequestID = string(e.Family), e.Code, e.RequestID
		if e.Message != "" {
			body.Message = e.Message
		}
	}
	if p.Format == JSON {
		_ = p.emit(envelope{SchemaVersion: SchemaVersion, Command: p.Command, Error: body})
		return code
	}
	line := "artifactctl: " + body.Message
	if body.Code != "" && body.Code != body.Message {
		line = fmt.Sprintf("artifactctl: %s: %s", body.Code, body.Message)
	}
	if body.RequestID != "" {
		line += " (request id " + body.RequestID + ")"
	}
	fmt.Fprintln(p.Err, line)
	return code
}

func (p *Printer) emit(v envelope) error {
	enc := json.NewEncoder(p.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
