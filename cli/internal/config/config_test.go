package config

import (
	"os"
	"path/filepath"
	"testing"
)

func env(values map[string]string) func(string) string {
	return func(k string) string { return values[k] }
}

func writeFile(t *testing.T, text string) *File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const sample = `profiles:
  default:
    endpoint: https://file.example
    region: eu-west-1
    part-size: 16MiB
    parallel: 4
    access-key-id: AKFILE
    secret-access-key: SKFILE
  ci:
    endpoint: https://ci.example
    token: file-token
`

// defaults < file < env < flags, value by value, with where each came from.
func TestPrecedence(t *testing.T) {
	f := writeFile(t, sample)
	s, err := Resolve(&File{Profiles: map[string]Profile{}}, Flags{}, env(nil))
	if err != nil || s.Name != "default" || s.Region != DefaultRegion || s.Parallel != DefaultParallel ||
		s.PartBytes() != DefaultPartSize || s.Endpoint != "" || s.OIDCClient != "artifactctl" || s.Sources["region"] != "default" {
		t.Fatalf("defaults: %v %+v", err, s)
	}
	s, _ = Resolve(f, Flags{}, env(nil))
	if s.Endpoint != "https://file.example" || s.Region != "eu-west-1" || s.PartBytes() != 16<<20 || s.Parallel != 4 ||
		s.Sources["endpoint"] != "file" || s.AccessKeyID != "AKFILE" || s.Sources["credentials"] != "file" {
		t.Fatalf("file: %+v", s)
	}
	e := env(map[string]string{"ARTIFACT_STORE_ENDPOINT": "https://env.example", "ARTIFACT_STORE_REGION": "ap-south-1"})
	s, _ = Resolve(f, Flags{}, e)
	if s.Endpoint != "https://env.example" || s.Sources["endpoint"] != "env" || s.Region != "ap-south-1" || s.PartBytes() != 16<<20 {
		t.Fatalf("env: %+v", s)
	}
	s, _ = Resolve(f, Flags{Endpoint: "https://flag.example", PartSize: "5MB", Parallel: 2}, e)
	if s.Endpoint != "https://flag.example" || s.Sources["endpoint"] != "flag" || s.PartBytes() != 5e6 || s.Parallel != 2 ||
		s.Region != "ap-south-1" {
		t.Fatalf("flags: %+v", s)
	}
}

// Credentials move as a whole, the environment's first; a profile's token beats its key.
func TestCredentials(t *testing.T) {
	f := writeFile(t, sample)
	s, _ := Resolve(f, Flags{}, env(map[string]string{"ARTIFACT_STORE_ACCESS_KEY_ID": "AKENV"}))
	if s.AccessKeyID != "AKFILE" || s.SecretAccessKey != "SKFILE" { // an env key without its secret is ignored
		t.Fatalf("%+v", s)
	}
	s, _ = Resolve(f, Flags{}, env(map[string]string{"ARTIFACT_STORE_ACCESS_KEY_ID": "AKENV", "ARTIFACT_STORE_SECRET_ACCESS_KEY": "SKENV",
		"ARTIFACT_STORE_SESSION_TOKEN": "sess"}))
	if s.AccessKeyID != "AKENV" || s.SecretAccessKey != "SKENV" || s.SessionToken != "sess" || s.Sources["credentials"] != "env" {
		t.Fatalf("%+v", s)
	}
	s, _ = Resolve(f, Flags{}, env(map[string]string{"ARTIFACT_STORE_TOKEN": "envtok", "ARTIFACT_STORE_ACCESS_KEY_ID": "AKENV",
		"ARTIFACT_STORE_SECRET_ACCESS_KEY": "SKENV"}))
	if s.Token != "envtok" || s.AccessKeyID != "" || s.Sources["credentials"] != "env" {
		t.Fatalf("%+v", s)
	}
	s, _ = Resolve(f, Flags{Profile: "ci"}, env(nil))
	if s.Token != "file-token" || s.Sources["credentials"] != "file" || s.Endpoint != "https://ci.example" || s.Region != DefaultRegion {
		t.Fatalf("%+v", s)
	}
}

func TestProfiles(t *testing.T) {
	f := writeFile(t, sample)
	for _, e := range []map[string]string{{"ARTIFACTCTL_PROFILE": "ci"}, {"ARTIFACT_STORE_PROFILE": "ci"}} {
		if s, err := Resolve(f, Flags{}, env(e)); err != nil || s.Name != "ci" {
			t.Fatalf("%v: %v %+v", e, err, s)
		}
	}
	s, _ := Resolve(f, Flags{Profile: "default"}, env(map[string]string{"ARTIFACTCTL_PROFILE": "ci"}))
	if s.Name != "default" { // the flag wins
		t.Fatal(s.Name)
	}
	if _, err := Resolve(f, Flags{Profile: "nope"}, env(nil)); err == nil {
		t.Fatal("a missing named profile resolved")
	}
	if s, err := Resolve(f, Flags{Profile: "new", NewProfile: true}, env(nil)); err != nil || s.Name != "new" {
		t.Fatalf("login's new profile: %v", err)
	}
	if _, err := Resolve(f, Flags{PartSize: "lots"}, env(nil)); err == nil {
		t.Fatal("a bad part size resolved")
	}
	if got := f.Names(); len(got) != 2 || got[0] != "ci" || got[1] != "default" {
		t.Fatal(got)
	}
}

func TestSaveIsPrivateAndRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.yaml")
	f := &File{Profiles: map[string]Profile{"ci": {Endpoint: "https://x", AccessKeyID: "AK", SecretAccessKey: "SK"}}}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", err, info.Mode())
	}
	back, err := Load(path)
	if err != nil || back.Profiles["ci"] != f.Profiles["ci"] {
		t.Fatalf("%v %+v", err, back)
	}
	if missing, err := Load(filepath.Join(t.TempDir(), "none.yaml")); err != nil || len(missing.Profiles) != 0 {
		t.Fatalf("%v %+v", err, missing)
	}
	if err := os.WriteFile(path, []byte("profiles: [unclosed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("a broken file loaded")
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{"8MiB": 8 << 20, "5MB": 5e6, "1048576": 1 << 20, "64k": 64 << 10, "64KiB": 64 << 10,
		"1G": 1 << 30, "2GB": 2e9, " 16 MiB ": 16 << 20, "10B": 10}
	for text, want := range good {
		if got, err := ParseSize(text); err != nil || got != want {
			t.Errorf("%q: %d %v", text, got, err)
		}
	}
	for _, bad := range []string{"", "0", "-1MiB", "1.5MiB", "MiB", "8 mebibytes", "08"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
