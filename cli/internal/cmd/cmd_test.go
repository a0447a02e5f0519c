package cmd

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/artifact-store/artifact-store/clients/go/api"
)

// run runs artifactctl in-process with a HOME of its own and no store.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, name := range []string{"ARTIFACT_STORE_ENDPOINT", "ARTIFACT_STORE_TOKEN", "ARTIFACTCTL_CONFIG", "ARTIFACTCTL_PROFILE"} {
		t.Setenv(name, "")
	}
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestParseClaims(t *testing.T) {
	payload, _ := json.Marshal(map[string]any{"iss": "https://kc/realms/r", "sub": "u-1", "preferred_username": "alice",
		"groups": []string{"/team"}, "exp": 1900000000, "realm_access": map[string]any{"roles": []string{"artifact-reader"}}})
	token := "e30." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
	c := parseClaims(token)
	if c.username() != "alice" || c.Issuer != "https://kc/realms/r" || c.RealmAccess.Roles[0] != "artifact-reader" ||
		c.Groups[0] != "/team" || !c.expires().Equal(time.Unix(1900000000, 0)) {
		t.Fatalf("%+v", c)
	}
	if empty := parseClaims("opaque-token"); empty.username() != "" || empty.expires() != nil {
		t.Fatalf("%+v", empty)
	}
	if noName := parseClaims("a." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"s"}`)) + ".c"); noName.username() != "s" {
		t.Fatal(noName)
	}
}

func TestGuessMediaType(t *testing.T) {
	cases := []struct{ kind, doc, want string }{
		{"sbom", `{"bomFormat":"CycloneDX","specVersion":"1.6"}`, artifactstore.MediaTypeCycloneDX},
		{"sbom", `{"spdxVersion":"SPDX-2.3"}`, artifactstore.MediaTypeSPDX},
		{"sbom", `{"something":"else"}`, ""},
		{"sbom", `not json`, ""},
		{"attestation", `{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[]}`, artifactstore.MediaTypeDSSE},
		{"attestation", `{}`, artifactstore.MediaTypeDSSE},
		{"signature", `{"mediaType":"x","verificationMaterial":{}}`, artifactstore.MediaTypeBundle},
	}
	for _, c := range cases {
		if got := guessMediaType(c.kind, []byte(c.doc)); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.kind, c.doc, got, c.want)
		}
	}
}

func TestVerdictResult(t *testing.T) {
	name, reason, sum := "release", "not signed by a trusted key", "ab"
	passed := verdictResult(&api.VerdictInfo{Bucket: "b", Key: "k", Signed: true, Sha256: &sum,
		Signatures: []api.SignatureInfo{{Digest: "sha256:1", Verified: true, Trusted: true,
			Signer: &api.SignerInfo{Kind: "key", Name: &name}}}}, false)
	if !passed.Passed || len(passed.Reasons) != 0 || passed.Signatures[0].Signer != "release" || passed.SHA256 != "ab" {
		t.Fatalf("%+v", passed)
	}
	why := "the signature does not verify"
	failed := verdictResult(&api.VerdictInfo{Bucket: "b", Key: "k", Reason: &reason,
		Signatures: []api.SignatureInfo{{Digest: "sha256:2", Reason: &why}}}, true)
	if failed.Passed || len(failed.Reasons) != 3 || failed.Reasons[0] != reason ||
		!strings.Contains(failed.Reasons[1], why) || failed.Reasons[2] != "no valid SBOM is attached" {
		t.Fatalf("%+v", failed.Reasons)
	}
	sbomOnly := verdictResult(&api.VerdictInfo{Signed: true}, true)
	if sbomOnly.Passed {
		t.Fatal("passed without the SBOM it requires")
	}
}

func TestUsageErrorsExit1(t *testing.T) {
	for _, args := range [][]string{
		{"sign", "s3://b/k"}, // no key
		{"sign", "--key", "a.pem", "--generate-key", "b.pem", "s3://b/k"}, // both
		{"sign", "--key", "a.pem"},                                        // no object
		{"sign", "--generate-key", "x.pem", "s3://b"},                     // not an object
		{"attach", "--kind", "poem", "--file", "f", "s3://b/k"},
		{"attach", "--file", "f", "s3://b/k"}, // --kind is required
		{"referrers", "--kind", "poem", "s3://b/k"},
		{"trust", "require-signature", "maybe", "s3://b"},
		{"policy", "get", "s3://b/key"},
		{"login", "--token", "--access-key", "AK"},
		{"completion", "tcsh"},
		{"keys", "revoke"},
	} {
		if code, _, stderr := run(t, "", args...); code != output.ExitUsage {
			t.Errorf("%v: exit %d (%s)", args, code, stderr)
		}
	}
}

func TestNoEndpointIsAUsageError(t *testing.T) {
	code, out, _ := run(t, "", "whoami", "-o", "json")
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != output.ExitUsage ||
		!strings.Contains(doc["error"].(map[string]any)["message"].(string), "no endpoint") {
		t.Fatalf("%d %s %v", code, out, err)
	}
}

// --generate-key writes a private key only its owner reads, a public key sign and verify
// accept, and never over an existing file; dry runs write nothing and need no store.
func TestGenerateKeyAndDryRuns(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.pem")
	if code, _, stderr := run(t, "", "sign", "--generate-key", key, "--dry-run"); code != 0 || fileExists(key) {
		t.Fatalf("dry run: %d %s", code, stderr)
	}
	code, out, stderr := run(t, "", "sign", "--generate-key", key, "--key-type", "ed25519", "-o", "json")
	if code != 0 {
		t.Fatalf("%d %s", code, stderr)
	}
	info, err := os.Stat(key)
	if err != nil || info.Mode().Perm() != 0o600 || !strings.Contains(out, `"keyType": "ed25519"`) {
		t.Fatalf("%v %v %s", err, info, out)
	}
	private, _ := os.ReadFile(key)
	if signer, err := artifactstore.ParsePrivateKeyPEM(private); err != nil || signer.Type != artifactstore.KeyEd25519 {
		t.Fatalf("%v", err)
	}
	public, _ := os.ReadFile(key + ".pub")
	if _, err := artifactstore.ParsePublicKeyPEM(public); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := run(t, "", "sign", "--generate-key", key); code != output.ExitUsage {
		t.Fatalf("overwrote a key: %d", code)
	}
	code, out, stderr = run(t, "", "sign", "--key", key, "s3://b/k", "--dry-run")
	if code != 0 || !strings.Contains(out, "(dryrun) sign: s3://b/k") {
		t.Fatalf("%d %q %s", code, out, stderr)
	}
	policy := filepath.Join(dir, "p.json")
	_ = os.WriteFile(policy, []byte(`{"Version":"2012-10-17","Statement":[]}`), 0o600)
	code, out, _ = run(t, "", "policy", "set", "s3://b", policy, "--dry-run", "-o", "json")
	if code != 0 || !strings.Contains(out, `"dryRun": true`) || !strings.Contains(out, `"Version": "2012-10-17"`) {
		t.Fatalf("%d %s", code, out)
	}
	if code, out, _ := run(t, "", "trust", "add-key", "s3://b", "rel", key+".pub", "--dry-run"); code != 0 ||
		!strings.Contains(out, "(dryrun) trust_key: s3://b rel") {
		t.Fatalf("%d %s", code, out)
	}
	if code, _, _ := run(t, "", "trust", "add-key", "s3://b", "rel", key, "--dry-run"); code != output.ExitUsage {
		t.Fatalf("a private key taken as a public one: %d", code)
	}
	if code, out, _ := run(t, "", "logout", "--dry-run", "-o", "json"); code != 0 || !strings.Contains(out, `"removed": []`) {
		t.Fatalf("%d %s", code, out)
	}
}

func TestAnchor(t *testing.T) {
	if got := anchor("artifactctl trust require-signature"); got != "artifactctl-trust-require-signature" {
		t.Fatal(got)
	}
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }
