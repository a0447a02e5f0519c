package artifactstore

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Access keys over the JSON API: create sends the description (and no policy when none),
// list reads the array, revoke escapes the id and a 404 is NotFound.
func TestAccessKeys(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("no Bearer token: %q", r.Header.Get("Authorization"))
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/_artifacts/keys":
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["description"] != "ci" || body["policy"] != nil {
				t.Errorf("create body %v (%v)", body, err)
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"access_key_id":"AKNEW","owner":"alice","created":"2026-12-01T01:02:03Z",` +
				`"description":"ci","policy":null,"roles":["artifact-reader"],"groups":[],"secret_access_key":"s3cr3t"}`))
		case r.Method == http.MethodGet && r.URL.Path == "/_artifacts/keys":
			_, _ = w.Write([]byte(`[{"access_key_id":"AKNEW","owner":"alice","created":"2026-12-01T01:02:03Z",` +
				`"description":"ci","policy":null,"roles":[],"groups":[]}]`))
		case r.Method == http.MethodDelete && r.URL.EscapedPath() == "/_artifacts/keys/AK%2FX":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"title":"Not Found","status":404,"detail":"no such key"}`))
		case r.Method == http.MethodDelete && r.URL.Path == "/_artifacts/keys/AKNEW":
			w.WriteHeader(http.StatusNoContent)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer server.Close()
	c, err := New(t.Context(), WithoutEnvironment(), WithEndpoint(server.URL), WithToken(StaticToken("tok")))
	if err != nil {
		t.Fatal(err)
	}
	made, err := c.CreateAccessKey(t.Context(), AccessKeyOptions{Description: "ci"})
	if err != nil || made.AccessKeyId != "AKNEW" || made.SecretAccessKey != "s3cr3t" || made.Owner != "alice" {
		t.Fatalf("%v %+v", err, made)
	}
	keys, err := c.ListAccessKeys(t.Context())
	if err != nil || len(keys) != 1 || keys[0].Description != "ci" {
		t.Fatalf("%v %+v", err, keys)
	}
	if err := c.RevokeAccessKey(t.Context(), "AKNEW"); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeAccessKey(t.Context(), "AK/X"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%v", err)
	}
}
