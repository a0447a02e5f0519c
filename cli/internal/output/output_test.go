package output

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
)

// Every SDK family, and the CLI's own errors, map to their documented exit code.
func TestCodeOf(t *testing.T) {
	families := map[artifactstore.Family]int{
		artifactstore.FamilyNotFound:           ExitNotFound,
		artifactstore.FamilyAccessDenied:       ExitDenied,
		artifactstore.FamilyUnauthorized:       ExitDenied,
		artifactstore.FamilyConflict:           ExitConflict,
		artifactstore.FamilyPreconditionFailed: ExitConflict,
		artifactstore.FamilyInvalidRequest:     ExitInvalid,
		artifactstore.FamilyRetryable:          ExitTransient,
		artifactstore.FamilyVerificationFailed: ExitVerification,
		artifactstore.FamilyUnavailable:        ExitTransient,
		artifactstore.Family("SomethingNew"):   ExitFailed,
	}
	for family, want := range families {
		err := fmt.Errorf("wrapped: %w", &artifactstore.Error{Family: family, Message: "m"})
		if got := CodeOf(err); got != want {
			t.Errorf("%s: exit %d, want %d", family, got, want)
		}
	}
	others := map[error]int{
		nil:                                      ExitOK,
		Usagef("bad %s", "flag"):                 ExitUsage,
		context.Canceled:                         ExitInterrupted,
		context.DeadlineExceeded:                 ExitTransient,
		fmt.Errorf("open x: %w", fs.ErrNotExist): ExitNotFound,
		io.ErrUnexpectedEOF:                      ExitFailed,
		&Reported{Code: ExitVerification}:        ExitVerification,
	}
	for err, want := range others {
		if got := CodeOf(err); got != want {
			t.Errorf("%v: exit %d, want %d", err, got, want)
		}
	}
}

func TestEnvelope(t *testing.T) {
	var out, errOut bytes.Buffer
	p := NewPrinter(JSON, false, &out, &errOut, func(string) string { return "" })
	p.Command = "policy get"
	if err := p.Result(map[string]string{"bucket": "b"}, true, func(io.Writer) { t.Fatal("text in JSON mode") }); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schemaVersion"] != float64(SchemaVersion) || doc["command"] != "policy get" || doc["dryRun"] != true ||
		doc["result"].(map[string]any)["bucket"] != "b" || doc["error"] != nil || len(doc) != 4 {
		t.Fatalf("%v", doc)
	}
	out.Reset()
	code := p.Error(&artifactstore.Error{Family: artifactstore.FamilyNotFound, Code: "NoSuchBucket", Message: "gone", RequestID: "r1"})
	doc = nil
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	e := doc["error"].(map[string]any)
	if code != ExitNotFound || e["exitCode"] != float64(2) || e["family"] != "NotFound" || e["code"] != "NoSuchBucket" ||
		e["message"] != "gone" || e["requestId"] != "r1" || doc["result"] != nil || doc["dryRun"] != nil {
		t.Fatalf("%d %v", code, doc)
	}
	if errOut.Len() != 0 {
		t.Fatalf("stderr in JSON mode: %q", errOut.String())
	}
	out.Reset()
	if p.Error(&Reported{Code: ExitVerification, Msg: "printed already"}) != ExitVerification || out.Len() != 0 {
		t.Fatalf("a reported failure printed again: %q", out.String())
	}
}

func TestText(t *testing.T) {
	var out, errOut bytes.Buffer
	p := NewPrinter(Text, true, &out, &errOut, func(string) string { return "" })
	_ = p.Result(nil, false, func(w io.Writer) { fmt.Fprintln(w, "line") })
	p.Info("hidden by --quiet")
	if out.String() != "line\n" || errOut.Len() != 0 || p.Progress {
		t.Fatalf("%q %q", out.String(), errOut.String())
	}
	code := p.Error(&artifactstore.Error{Family: artifactstore.FamilyInvalidRequest, Code: "MalformedPolicy",
		Message: "Policy has invalid action", RequestID: "r2"})
	want := "artifactctl: MalformedPolicy: Policy has invalid action (request id r2)\n"
	if code != ExitInvalid || errOut.String() != want {
		t.Fatalf("%d %q", code, errOut.String())
	}
	errOut.Reset()
	p.Error(Usagef("no endpoint"))
	if !strings.HasPrefix(errOut.String(), "artifactctl: no endpoint") {
		t.Fatal(errOut.String())
	}
}
