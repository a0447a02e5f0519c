package artifactstore

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestPlanParts(t *testing.T) {
	parts := PlanParts(20*mib+1, 5*mib)
	if len(parts) != 5 || parts[4].Size != 1 || parts[4].Offset != 20*mib || parts[0].Number != 1 {
		t.Fatalf("%+v", parts)
	}
	if PlanParts(0, 5*mib) != nil {
		t.Fatal("empty object has parts")
	}
	big := PlanParts(100000*mib, 5*mib) // would be 20,000 parts: the part size grows
	if len(big) > 10000 || big[0].Size%mib != 0 {
		t.Fatalf("%d parts of %d", len(big), big[0].Size)
	}
	var sum int64
	for _, p := range big {
		sum += p.Size
	}
	if sum != 100000*mib {
		t.Fatal(sum)
	}
}

func FuzzPlanParts(f *testing.F) {
	f.Add(int64(1), int64(5*mib))
	f.Add(int64(20*mib), int64(0))
	f.Fuzz(func(t *testing.T, size, partSize int64) {
		if size < 0 || size > 1<<40 {
			return
		}
		parts := PlanParts(size, partSize)
		var next int64
		for i, p := range parts {
			if p.Offset != next || p.Size <= 0 || int(p.Number) != i+1 {
				t.Fatalf("part %d: %+v", i, p)
			}
			next += p.Size
		}
		if next != size || len(parts) > 10000 {
			t.Fatalf("covers %d of %d in %d parts", next, size, len(parts))
		}
	})
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := statePath(dir, "b", "k/ey", "fp")
	if filepath.Dir(path) != dir || strings.Contains(filepath.Base(path), "/") {
		t.Fatal(path)
	}
	if loadState(path, "b", "k/ey", "fp") != nil {
		t.Fatal("state out of nothing")
	}
	want := &uploadState{Bucket: "b", Key: "k/ey", Fingerprint: "fp", UploadID: "u1", PartSize: 5, Size: 10,
		Checksum: "CRC64NVME", Created: time.Now().UTC().Truncate(time.Second)}
	if err := saveState(path, want); err != nil {
		t.Fatal(err)
	}
	got := loadState(path, "b", "k/ey", "fp")
	if got == nil || *got != *want {
		t.Fatalf("%+v", got)
	}
	if loadState(path, "b", "other", "fp") != nil || loadState(path, "b", "k/ey", "changed") != nil {
		t.Fatal("state of another source")
	}
	if err := os.WriteFile(path, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if loadState(path, "b", "k/ey", "fp") != nil {
		t.Fatal("a broken file is state")
	}
	removeState(path)
	removeState(path)
}

func TestFamilyOf(t *testing.T) {
	for _, tc := range []struct {
		code   string
		status int
		msg    string
		want   Family
	}{
		{"NoSuchKey", 404, "", FamilyNotFound},
		{"NotFound", 404, "", FamilyNotFound},
		{"AccessDenied", 403, "Access Denied", FamilyAccessDenied},
		{"AccessDenied", 403, "This bucket requires a signature by a key or identity it trusts: x", FamilyVerificationFailed},
		{"ExpiredToken", 400, "", FamilyUnauthorized},
		{"invalid_grant", 400, "", FamilyUnauthorized},
		{"", 401, "", FamilyUnauthorized},
		{"BucketNotEmpty", 409, "", FamilyConflict},
		{"PreconditionFailed", 412, "", FamilyPreconditionFailed},
		{"SlowDown", 503, "", FamilyRetryable},
		{"", 503, "", FamilyRetryable},
		{"InternalError", 500, "", FamilyUnavailable},
		{"InvalidArgument", 400, "", FamilyInvalidRequest},
		{"", 422, "", FamilyInvalidRequest},
	} {
		if got := FamilyOf(tc.code, tc.status, tc.msg); got != tc.want {
			t.Errorf("FamilyOf(%q, %d) = %s, want %s", tc.code, tc.status, got, tc.want)
		}
	}
}

func TestProblemToError(t *testing.T) {
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"5"}, "X-Request-Id": {"r1"}}}
	err := fromResponse(resp, []byte(`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"registry down"}`))
	if err.Family != FamilyRetryable || err.RetryAfter != 5*time.Second || err.RequestID != "r1" ||
		err.Message != "registry down" || !err.Retryable() {
		t.Fatalf("%+v", err)
	}
	if !errors.Is(err, ErrRetryable) || errors.Is(err, ErrNotFound) {
		t.Fatal("sentinels")
	}
	oauth := fromResponse(&http.Response{StatusCode: 400, Header: http.Header{}},
		[]byte(`{"error":"invalid_grant","error_description":"Invalid user credentials"}`))
	if oauth.Family != FamilyUnauthorized || oauth.Code != "invalid_grant" {
		t.Fatalf("%+v", oauth)
	}
}

func TestChecksums(t *testing.T) {
	// S3's documented values for "Hello world" would need the network; these are the
	// algorithms' published check values over "123456789".
	for algorithm, want := range map[types.ChecksumAlgorithm]string{
		types.ChecksumAlgorithmCrc32:     "y/Q5Jg==",     // 0xcbf43926
		types.ChecksumAlgorithmCrc32c:    "4waSgw==",     // 0xe3069283
		types.ChecksumAlgorithmCrc64nvme: "rosUhgp5mIg=", // 0xae8b14860a799888
	} {
		got, err := checksumOf(algorithm, strings.NewReader("123456789"))
		if err != nil || got != want {
			t.Errorf("%s = %s, want %s (%v)", algorithm, got, want, err)
		}
	}
	if _, err := newChecksum("MD4"); !errors.Is(err, ErrInvalidRequest) {
		t.Fatal(err)
	}
}

func TestBundles(t *testing.T) {
	digest := strings.Repeat("ab", 32)
	for _, kind := range []KeyType{KeyECDSAP256, KeyEd25519} {
		key, err := GenerateKey(kind)
		if err != nil {
			t.Fatal(err)
		}
		bundle, err := SignBundle(key, "obj", digest)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(bundle), MediaTypeBundle) || !strings.Contains(string(bundle), `"hint"`) {
			t.Fatalf("%s", bundle)
		}
		if reason := CheckBundle(bundle, digest, key.Signer.Public()); reason != "" {
			t.Fatalf("%s: %s", kind, reason)
		}
		if reason := CheckBundle(bundle, strings.Repeat("cd", 32), key.Signer.Public()); reason == "" {
			t.Fatalf("%s: verified over another digest", kind)
		}
		other, _ := GenerateKey(kind)
		if reason := CheckBundle(bundle, digest, other.Signer.Public()); reason == "" {
			t.Fatalf("%s: verified with another key", kind)
		}
		pemKey, _ := key.PrivateKeyPEM()
		again, err := ParsePrivateKeyPEM(pemKey)
		if err != nil || again.Type != kind {
			t.Fatal(err)
		}
		public, _ := key.PublicKeyPEM()
		if _, err := ParsePublicKeyPEM([]byte(public)); err != nil {
			t.Fatal(err)
		}
	}
	if reason := CheckBundle([]byte("{"), digest, nil); reason == "" {
		t.Fatal("garbage verified")
	}
}

func TestEnvironmentAndProfile(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[default]\nendpoint = http://default:1\n\n[profile ci]\nendpoint = http://ci:2\naccess_key_id = AK\nsecret_access_key = SK\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{EnvEndpoint, EnvAccessKeyID, EnvSecretKey, EnvToken, EnvProfile} {
		t.Setenv(name, "")
	}
	t.Setenv(EnvConfigFile, config)
	c, err := New(t.Context(), WithProfile("ci"))
	if err != nil || c.Endpoint() != "http://ci:2" || c.kind != authKeys || c.accessKey != "AK" {
		t.Fatalf("%v %+v", err, c)
	}
	t.Setenv(EnvEndpoint, "http://env:3")
	t.Setenv(EnvToken, "tok")
	c, err = New(t.Context())
	if err != nil || c.Endpoint() != "http://env:3" || c.kind != authToken {
		t.Fatalf("%v %+v", err, c)
	}
	c, err = New(t.Context(), WithEndpoint("http://opt:4"), WithAccessKey("a", "b"))
	if err != nil || c.Endpoint() != "http://opt:4" || c.kind != authKeys {
		t.Fatalf("%v %+v", err, c)
	}
	if _, err := New(t.Context(), WithProfile("missing")); err == nil {
		t.Fatal("a missing profile is no error")
	}
	if _, err := New(t.Context(), WithoutEnvironment()); !errors.Is(err, ErrInvalidRequest) {
		t.Fatal(err)
	}
}

func FuzzProblem(f *testing.F) {
	f.Add(503, []byte(`{"title":"Service Unavailable","status":503,"detail":"x","request_id":"r"}`), "5")
	f.Add(400, []byte(`{"error":"invalid_grant"}`), "")
	f.Add(404, []byte(`<html>`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Fuzz(func(t *testing.T, status int, body []byte, after string) {
		if status < 400 || status > 599 {
			return
		}
		err := fromResponse(&http.Response{StatusCode: status, Header: http.Header{"Retry-After": {after}}}, body)
		if err.Family == "" || err.StatusCode != status || err.RetryAfter < 0 || len(err.Message) > 200 && err.Code == "" {
			t.Fatalf("%+v", err)
		}
	})
}

func FuzzCheckBundle(f *testing.F) {
	key, _ := GenerateKey(KeyECDSAP256)
	digest := strings.Repeat("ab", 32)
	good, _ := SignBundle(key, "k", digest)
	f.Add(good)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Fuzz(func(t *testing.T, document []byte) {
		reason := CheckBundle(document, digest, key.Signer.Public())
		if reason == "" && !bytes.Equal(document, good) {
			// Another document may verify only if it carries the same signature.
			var again bytes.Buffer
			again.Write(document)
			if CheckBundle(again.Bytes(), strings.Repeat("cd", 32), key.Signer.Public()) == "" {
				t.Fatal("verified over any digest")
			}
		}
	})
}

func TestWrittenPrefixAndHashBehind(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "partial")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	body := bytes.Repeat([]byte("0123456789"), 3*mib/10+1)
	if _, err := f.WriteAt(body, 0); err != nil {
		t.Fatal(err)
	}
	total := int64(len(body))
	r := &rangeRun{f: f, total: total, plan: PlanParts(total, mib),
		state: &partialState{Written: map[int32]int64{2: mib, 3: 10}}}
	r.progress = sync.NewCond(&r.mu)
	if got := r.prefix(); got != 0 {
		t.Fatalf("prefix with part 1 missing: %d", got)
	}
	r.state.Written[1] = mib
	if got := r.prefix(); got != 2*mib+10 {
		t.Fatalf("prefix: %d", got)
	}
	var seen bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- r.hashBehind(&seen) }()
	r.mu.Lock()
	r.state.Written[3] = mib
	r.state.Written[4] = total - 3*mib
	r.mu.Unlock()
	r.progress.Broadcast()
	if err := <-done; err != nil || !bytes.Equal(seen.Bytes(), body) {
		t.Fatalf("hashed %d of %d bytes: %v", seen.Len(), total, err)
	}
	stopped := &rangeRun{f: f, total: total, plan: r.plan, state: &partialState{Written: map[int32]int64{}}}
	stopped.progress = sync.NewCond(&stopped.mu)
	go stopped.stop()
	if err := stopped.hashBehind(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}
