package artifactstore

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// The JSON API path: credentials on every attempt, 503 tried again after Retry-After, and
// a 404 problem not tried again and typed.
func TestCallRetriesAndTypes(t *testing.T) {
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "AK" || pass != "SK" {
			t.Errorf("attempt without Basic credentials: %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("X-Request-Id", "req-1")
		switch r.URL.Path {
		case "/_artifacts/verify/b":
			if calls.Add(1) < 3 {
				w.Header().Set("Retry-After", "0")
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"title":"Service Unavailable","status":503,"detail":"registry down"}`))
				return
			}
			_, _ = w.Write([]byte(`{"bucket":"b","key":"k","signed":true,"signatures":[],"sboms":[],"attestations":[],` +
				`"manifest_digest":"sha256:00","require_signature":false,"sbom_valid":false,"cached":false,"checked":"2026-12-01T01:02:03Z","sha256":null}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"title":"Not Found","status":404,"detail":"no such bucket"}`))
		}
	}))
	defer server.Close()
	c, err := New(t.Context(), WithoutEnvironment(), WithEndpoint(server.URL), WithAccessKey("AK", "SK"))
	if err != nil {
		t.Fatal(err)
	}
	verdict, err := c.Verify(t.Context(), "b", "k")
	if err != nil || !verdict.Signed || calls.Load() != 3 {
		t.Fatalf("%v %+v after %d calls", err, verdict, calls.Load())
	}
	_, err = c.GetTrust(t.Context(), "b")
	var e *Error
	if !errors.As(err, &e) || e.Family != FamilyNotFound || e.RequestID != "req-1" || e.Message != "no such bucket" {
		t.Fatalf("%#v", err)
	}
	limited, _ := New(t.Context(), WithoutEnvironment(), WithEndpoint(server.URL), WithAccessKey("AK", "SK"), WithMaxAttempts(1))
	calls.Store(0)
	if _, err := limited.Verify(t.Context(), "b", "k"); !errors.Is(err, ErrRetryable) || calls.Load() != 1 {
		t.Fatalf("%v after %d calls", err, calls.Load())
	}
}
