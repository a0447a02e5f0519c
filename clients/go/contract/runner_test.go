package contract

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// childEnv carries a killed step to the re-executed test binary (see TestMain).
const childEnv = "CONTRACT_GO_CHILD"

// TestMain turns the test binary into the child of a killed step when childEnv is set:
// it runs that one transfer, reports progress on stdout, and blocks once the kill point is
// reached, so the parent's SIGKILL lands mid-transfer.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type environment struct {
	Endpoint    string            `json:"endpoint"`
	AccessKey   string            `json:"access_key"`
	SecretKey   string            `json:"secret_key"`
	Issuer      string            `json:"issuer"`
	Client      string            `json:"client"`
	ShortClient string            `json:"short_client"`
	Users       map[string]string `json:"users"`
	Workdir     string            `json:"workdir"`
}

func readEnvironment() (environment, string, error) {
	e := environment{
		Endpoint: os.Getenv("ARTIFACT_STORE_ENDPOINT"), AccessKey: os.Getenv("ARTIFACT_STORE_ACCESS_KEY_ID"),
		SecretKey: os.Getenv("ARTIFACT_STORE_SECRET_ACCESS_KEY"), Issuer: os.Getenv("ARTIFACT_STORE_OIDC_ISSUER"),
		Client: os.Getenv("ARTIFACT_STORE_OIDC_CLIENT"), ShortClient: os.Getenv("CONTRACT_SHORT_CLIENT"),
		Workdir: os.Getenv("CONTRACT_WORKDIR"),
	}
	scenarios := os.Getenv("CONTRACT_SCENARIOS")
	if scenarios == "" || e.Endpoint == "" {
		return e, "", errors.New("CONTRACT_SCENARIOS and ARTIFACT_STORE_ENDPOINT are not set")
	}
	if users := os.Getenv("CONTRACT_USERS"); users != "" {
		if err := json.Unmarshal([]byte(users), &e.Users); err != nil {
			return e, "", fmt.Errorf("CONTRACT_USERS: %w", err)
		}
	}
	if e.Workdir == "" {
		e.Workdir = os.TempDir()
	}
	return e, scenarios, nil
}

// TestContract runs every scenario file as a subtest. It needs the live stack's
// environment (the pytest harness tests/integration/sdk/ sets it); without it it fails
// rather than skip, so run the unit tests with -skip TestContract.
func TestContract(t *testing.T) {
	env, dir, err := readEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	scenarios, err := Load(dir, filepath.Join(dir, "..", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	only := map[string]bool{}
	for _, name := range strings.Split(os.Getenv("CONTRACT_ONLY"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			only[name] = true
		}
	}
	for _, s := range scenarios {
		if len(only) > 0 && !only[s.Name] {
			continue
		}
		t.Run(s.Name, func(t *testing.T) { runScenario(t, env, s) })
	}
}

type runner struct {
	t      *testing.T
	env    environment
	auth   Auth
	ctx    context.Context
	client *artifactstore.Client
	vars   map[string]string
	keys   map[string]*artifactstore.SigningKey
	dir    string
}

func runScenario(t *testing.T, env environment, s Scenario) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	suffix := make([]byte, 5)
	_, _ = rand.Read(suffix)
	bucket := "c-" + hex.EncodeToString(suffix)
	root, err := artifactstore.New(ctx, artifactstore.WithoutEnvironment(), artifactstore.WithEndpoint(env.Endpoint),
		artifactstore.WithAccessKey(env.AccessKey, env.SecretKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := root.DeleteBucket(context.Background(), bucket, true)
		if err != nil && !errors.Is(err, artifactstore.ErrNotFound) {
			t.Errorf("cleanup of %s: %v", bucket, err)
		}
	})
	dir := filepath.Join(env.Workdir, "go-"+s.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	client, err := newClient(ctx, env, s.Auth, dir)
	if err != nil {
		t.Fatalf("auth %+v: %v", s.Auth, err)
	}
	r := &runner{t: t, env: env, auth: s.Auth, ctx: ctx, client: client, vars: map[string]string{"bucket": bucket},
		keys: map[string]*artifactstore.SigningKey{}, dir: dir}
	clients := map[Auth]*artifactstore.Client{s.Auth: client}
	for i, raw := range s.Steps {
		step := Step(Substitute(map[string]any(raw), r.vars).(map[string]any))
		// A step may name its own caller (e.g. root sets up what a reader is then refused).
		r.client, r.auth = client, s.Auth
		if own, ok := step["auth"].(map[string]any); ok {
			auth := Auth{}
			auth.Kind, _ = own["kind"].(string)
			auth.User, _ = own["user"].(string)
			auth.Client, _ = own["client"].(string)
			if clients[auth] == nil {
				if clients[auth], err = newClient(ctx, env, auth, dir); err != nil {
					t.Fatalf("step %d auth %+v: %v", i+1, auth, err)
				}
			}
			r.client, r.auth = clients[auth], auth
		}
		err := r.step(step)
		want, _ := step["expect_error"].(string)
		switch {
		case want == "" && err != nil:
			t.Fatalf("step %d (%s): %v", i+1, step.Do(), err)
		case want != "" && err == nil:
			t.Fatalf("step %d (%s): succeeded, expected %s", i+1, step.Do(), want)
		case want != "":
			var e *artifactstore.Error
			if !errors.As(err, &e) || string(e.Family) != want {
				t.Fatalf("step %d (%s): expected %s, got %v", i+1, step.Do(), want, err)
			}
		}
	}
}

// newClient builds the scenario's client: root keys, or a Keycloak login (password grant
// against the public client, or the 2-second one) used as Bearer token, STS, or a
// refreshing session.
func newClient(ctx context.Context, env environment, auth Auth, dir string) (*artifactstore.Client, error) {
	base := []artifactstore.Option{artifactstore.WithoutEnvironment(), artifactstore.WithEndpoint(env.Endpoint),
		artifactstore.WithStateDir(filepath.Join(dir, "state"))}
	if auth.Kind == "keys" || auth.Kind == "" {
		return artifactstore.New(ctx, append(base, artifactstore.WithAccessKey(env.AccessKey, env.SecretKey))...)
	}
	clientID := env.Client
	if auth.Client == "short" {
		clientID = env.ShortClient
	}
	user := auth.User
	if user == "" {
		user = "carol"
	}
	oidc := &artifactstore.OIDC{Issuer: env.Issuer, ClientID: clientID}
	session, err := oidc.PasswordLogin(ctx, user, env.Users[user])
	if err != nil {
		return nil, err
	}
	switch auth.Kind {
	case "token":
		token, err := session.AccessToken(ctx)
		if err != nil {
			return nil, err
		}
		return artifactstore.New(ctx, append(base, artifactstore.WithToken(artifactstore.StaticToken(token)))...)
	case "sts":
		return artifactstore.New(ctx, append(base, artifactstore.WithSTS(session, ""))...)
	case "password":
		return artifactstore.New(ctx, append(base, artifactstore.WithToken(session))...)
	}
	return nil, fmt.Errorf("unknown auth kind %q", auth.Kind)
}

func (r *runner) str(step Step, name string) string { v, _ := step[name].(string); return v }

func (r *runner) size(step Step, name string, fallback int64) int64 {
	v, ok := step[name]
	if !ok {
		return fallback
	}
	n, err := ParseSize(v)
	if err != nil {
		r.t.Fatalf("%s: %v", name, err)
	}
	return n
}

func (r *runner) expect(step Step) map[string]any {
	e, _ := step["expect"].(map[string]any)
	if e == nil {
		return map[string]any{}
	}
	return e
}

// payload is a step's data: {size, seed} (deterministic), or a string's UTF-8 bytes.
type payload struct {
	size, seed int64
	literal    []byte
	isLiteral  bool
}

func (r *runner) payload(v any) payload {
	switch d := v.(type) {
	case string:
		return payload{literal: []byte(d), isLiteral: true, size: int64(len(d))}
	case map[string]any:
		size, err := ParseSize(d["size"])
		if err != nil {
			r.t.Fatalf("data.size: %v", err)
		}
		seed, _ := d["seed"].(float64)
		return payload{size: size, seed: int64(seed)}
	}
	r.t.Fatalf("bad data %v", v)
	return payload{}
}

func (p payload) bytes() []byte {
	if p.isLiteral {
		return p.literal
	}
	b, _ := io.ReadAll(Data(p.size, p.seed))
	return b
}

func (p payload) matches(r io.Reader) (bool, error) {
	if p.isLiteral {
		got, err := io.ReadAll(r)
		return bytes.Equal(got, p.literal), err
	}
	return SameAsData(r, p.size, p.seed)
}

// file is the payload as a file of the workdir, made once per (size, seed).
func (r *runner) file(p payload) string {
	if p.isLiteral {
		path := filepath.Join(r.dir, "literal-"+hex.EncodeToString(p.literal[:min(8, len(p.literal))]))
		if err := os.WriteFile(path, p.literal, 0o644); err != nil {
			r.t.Fatal(err)
		}
		return path
	}
	path := filepath.Join(r.env.Workdir, fmt.Sprintf("data-%d-%d.bin", p.size, p.seed))
	if err := WriteData(path, p.size, p.seed); err != nil {
		r.t.Fatal(err)
	}
	return path
}

func (r *runner) step(step Step) error {
	bucket, key := r.str(step, "bucket"), r.str(step, "key")
	expect := r.expect(step)
	c, ctx := r.client, r.ctx
	switch step.Do() {
	case "create_bucket":
		return c.CreateBucket(ctx, bucket)
	case "delete_bucket":
		recursive, _ := step["recursive"].(bool)
		return c.DeleteBucket(ctx, bucket, recursive)
	case "put_bucket_policy":
		return c.PutBucketPolicy(ctx, bucket, step["policy"])
	case "get_bucket_policy":
		policy, err := c.GetBucketPolicy(ctx, bucket)
		if err != nil {
			return err
		}
		if want, ok := expect["policy"]; ok {
			r.equal("policy", normalise(policy), normalise(want))
		}
		return nil
	case "upload":
		return r.upload(step, bucket, key, expect)
	case "download":
		return r.download(step, bucket, key, expect)
	case "head":
		info, err := c.Head(ctx, bucket, key)
		if err != nil {
			return err
		}
		if want, ok := expect["size"]; ok {
			n, _ := ParseSize(want)
			r.equal("size", info.Size, n)
		}
		if want, ok := expect["etag_present"].(bool); ok {
			r.equal("etag_present", info.ETag != "", want)
		}
		if want, ok := expect["metadata"].(map[string]any); ok {
			for k, v := range want {
				r.equal("metadata."+k, info.Metadata[strings.ToLower(k)], v)
			}
		}
		return nil
	case "list":
		pageSize, _ := step["page_size"].(float64)
		var keys []any
		for info, err := range c.List(ctx, bucket, func(o *artifactstore.ListOptions) {
			o.Prefix, o.PageSize = r.str(step, "prefix"), int32(pageSize)
		}) {
			if err != nil {
				return err
			}
			keys = append(keys, info.Key)
		}
		if want, ok := expect["keys"]; ok {
			r.equal("keys", keys, want)
		}
		return nil
	case "delete":
		var keys []string
		listed, _ := step["keys"].([]any)
		for _, k := range listed {
			keys = append(keys, fmt.Sprint(k))
		}
		if key != "" {
			keys = append(keys, key)
		}
		if len(keys) == 1 {
			return c.Delete(ctx, bucket, keys[0])
		}
		return c.DeleteMany(ctx, bucket, keys)
	case "presign":
		return r.presign(step, bucket, key, expect)
	case "put_raw":
		return c.PutRaw(ctx, bucket, key, r.payload(step["data"]).bytes())
	case "sign":
		signer, err := artifactstore.GenerateKey(artifactstore.KeyType(r.str(step, "key_type")))
		if err != nil {
			return err
		}
		r.keys[r.str(step, "as")] = signer
		_, err = c.Sign(ctx, bucket, key, signer)
		return err
	case "trust":
		ref := r.str(step, "key_ref")
		signer, ok := r.keys[ref]
		if !ok {
			r.t.Fatalf("trust: no key %q signed before", ref)
		}
		public, err := signer.PublicKeyPEM()
		if err != nil {
			return err
		}
		if err := c.TrustKey(ctx, bucket, ref, public); err != nil {
			return err
		}
		if on, ok := step["require_signature"].(bool); ok {
			return c.SetRequireSignature(ctx, bucket, on)
		}
		return nil
	case "attach":
		document := []byte(nil)
		if doc, ok := step["document"]; ok {
			var err error
			if document, err = json.Marshal(doc); err != nil {
				return err
			}
		} else {
			document = r.payload(step["data"]).bytes()
		}
		_, err := c.Attach(ctx, bucket, key, r.str(step, "kind"), r.str(step, "media_type"), document)
		return err
	case "referrers":
		list, err := c.Referrers(ctx, bucket, key, r.str(step, "kind"))
		if err != nil {
			return err
		}
		if want, ok := expect["count"].(float64); ok {
			r.equal("count", len(list), int(want))
		}
		if want, ok := expect["kinds"].([]any); ok {
			var got, expected []string
			for _, item := range list {
				got = append(got, string(item.Kind))
			}
			for _, k := range want {
				expected = append(expected, k.(string))
			}
			sort.Strings(got)
			sort.Strings(expected)
			r.equal("kinds", got, expected)
		}
		return nil
	case "verify":
		verdict, err := c.Verify(ctx, bucket, key)
		if err != nil {
			return err
		}
		var got map[string]any
		data, _ := json.Marshal(verdict)
		_ = json.Unmarshal(data, &got)
		for name, want := range expect {
			r.equal("verdict."+name, got[name], want)
		}
		return nil
	case "verify_local":
		signer, ok := r.keys[r.str(step, "key_ref")]
		if !ok {
			r.t.Fatalf("verify_local: no key %q", r.str(step, "key_ref"))
		}
		verdict, err := c.VerifyLocal(ctx, bucket, key, signer.Signer.Public())
		if err != nil {
			return err
		}
		if want, ok := expect["valid"].(bool); ok && verdict.Valid != want {
			r.t.Fatalf("verify_local: valid %v, want %v (%s)", verdict.Valid, want, verdict.Reason)
		}
		return nil
	case "wait":
		seconds, _ := step["seconds"].(float64)
		time.Sleep(time.Duration(seconds * float64(time.Second)))
		return nil
	}
	r.t.Fatalf("unknown op %q", step.Do())
	return nil
}

func (r *runner) equal(what string, got, want any) {
	r.t.Helper()
	if !reflect.DeepEqual(normalise(got), normalise(want)) {
		r.t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// normalise puts values through JSON, so Go types compare with the scenario's.
func normalise(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

func uploadOptions(step Step, r *runner) func(*artifactstore.UploadOptions) {
	return func(o *artifactstore.UploadOptions) {
		o.PartSize = r.size(step, "part_size", o.PartSize)
		o.Threshold = r.size(step, "threshold", o.Threshold)
		if n, ok := step["concurrency"].(float64); ok {
			o.Concurrency = int(n)
		}
		if algorithm := r.str(step, "checksum"); algorithm != "" {
			o.Checksum = types.ChecksumAlgorithm(strings.ToUpper(algorithm))
		}
		if meta, ok := step["metadata"].(map[string]any); ok {
			o.Metadata = map[string]string{}
			for k, v := range meta {
				o.Metadata[k] = fmt.Sprint(v)
			}
		}
	}
}

func (r *runner) upload(step Step, bucket, key string, expect map[string]any) error {
	path := r.file(r.payload(step["data"]))
	if n, ok := step["kill_after_parts"].(float64); ok {
		r.killed(step, "parts", int64(n), path)
		return nil
	}
	result, err := r.client.UploadFile(r.ctx, bucket, key, path, uploadOptions(step, r))
	if err != nil {
		return err
	}
	r.t.Logf("upload %s: %d bytes, multipart %v, %d parts, %d resumed", key, result.Size, result.Multipart,
		result.Parts, result.ResumedParts)
	if want, ok := expect["parts"].(float64); ok {
		r.equal("parts", result.Parts, int(want))
	}
	if want, ok := expect["resumed_parts_min"].(float64); ok && result.ResumedParts < int(want) {
		r.t.Fatalf("resumed %d parts, want at least %v", result.ResumedParts, want)
	}
	if want, ok := expect["etag_present"].(bool); ok {
		r.equal("etag_present", result.ETag != "", want)
	}
	return nil
}

func downloadOptions(step Step, r *runner) func(*artifactstore.DownloadOptions) {
	return func(o *artifactstore.DownloadOptions) {
		o.PartSize = r.size(step, "part_size", o.PartSize)
		if n, ok := step["concurrency"].(float64); ok {
			o.Concurrency = int(n)
		}
		o.RequireSignature, _ = step["require_signature"].(bool)
	}
}

func (r *runner) download(step Step, bucket, key string, expect map[string]any) error {
	target := filepath.Join(r.dir, "download-"+hex.EncodeToString([]byte(key)))
	if n, ok := step["kill_after_bytes"]; ok {
		limit, err := ParseSize(n)
		if err != nil {
			r.t.Fatal(err)
		}
		r.killed(step, "bytes", limit, target)
		return nil
	}
	result, err := r.client.DownloadFile(r.ctx, bucket, key, target, downloadOptions(step, r))
	if err != nil {
		if _, statErr := os.Stat(target); statErr == nil {
			r.t.Fatalf("%s kept after a failed download", target)
		}
		return err
	}
	defer os.Remove(target)
	r.t.Logf("download %s: %d bytes, resumed from %d, checksum %q verified, sha256 %s", key, result.Size,
		result.ResumedFrom, result.Checksum, result.SHA256)
	if want, ok := expect["data"]; ok {
		f, err := os.Open(target)
		if err != nil {
			return err
		}
		defer f.Close()
		same, err := r.payload(want).matches(f)
		if err != nil {
			return err
		}
		if !same {
			r.t.Fatalf("downloaded bytes differ from %v", want)
		}
	}
	if want, ok := expect["resumed_from_min"]; ok {
		n, _ := ParseSize(want)
		if result.ResumedFrom < n {
			r.t.Fatalf("resumed from %d, want at least %d", result.ResumedFrom, n)
		}
	}
	return nil
}

func (r *runner) presign(step Step, bucket, key string, expect map[string]any) error {
	method := strings.ToUpper(r.str(step, "method"))
	if method == "" {
		method = http.MethodGet
	}
	expires := time.Hour
	if seconds, ok := step["expires"].(float64); ok {
		expires = time.Duration(seconds) * time.Second
	}
	signed, err := r.client.Presign(r.ctx, method, bucket, key, expires)
	if err != nil {
		return err
	}
	var body io.Reader
	var p payload
	if method == http.MethodPut {
		p = r.payload(step["data"])
		body = bytes.NewReader(p.bytes())
	}
	req, err := http.NewRequestWithContext(r.ctx, method, signed.URL, body)
	if err != nil {
		return err
	}
	for name, values := range signed.Header {
		req.Header[name] = values
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if want, ok := expect["status"].(float64); ok {
		r.equal("status", resp.StatusCode, int(want))
	}
	if want, ok := expect["data"]; ok {
		same, err := r.payload(want).matches(resp.Body)
		if err != nil {
			return err
		}
		if !same {
			r.t.Fatalf("presigned GET body differs from %v", want)
		}
	}
	return nil
}

// childSpec is what a killed step's child needs to redo the step.
type childSpec struct {
	Env   environment    `json:"env"`
	Auth  Auth           `json:"auth"`
	Step  map[string]any `json:"step"`
	Dir   string         `json:"dir"`
	Path  string         `json:"path"`
	Unit  string         `json:"unit"` // parts | bytes
	Limit int64          `json:"limit"`
}

// killed runs the step in a child process (this test binary again) and SIGKILLs it once it
// reports the limit reached (parts stored, or bytes written).
func (r *runner) killed(step Step, unit string, limit int64, path string) {
	spec, err := json.Marshal(childSpec{Env: r.env, Auth: r.auth, Step: step, Dir: r.dir, Path: path, Unit: unit, Limit: limit})
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.CommandContext(r.ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	reached := false
	for lines.Scan() {
		if lines.Text() == "REACHED" {
			reached = true
			_ = cmd.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	_ = cmd.Wait()
	if !reached {
		r.t.Fatalf("the child never reached %d %s before it ended: %s", limit, unit, stderr.String())
	}
}

func runChild(raw string) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return err
	}
	ctx := context.Background()
	client, err := newClient(ctx, spec.Env, spec.Auth, spec.Dir)
	if err != nil {
		return err
	}
	r := &runner{t: &testing.T{}, env: spec.Env}
	step := Step(spec.Step)
	// Block forever once the limit is reached: the parent kills this process then.
	reached := func(n int64) {
		if n >= spec.Limit {
			fmt.Println("REACHED")
			select {}
		}
	}
	bucket, key := r.str(step, "bucket"), r.str(step, "key")
	switch spec.Unit {
	case "parts":
		_, err = client.UploadFile(ctx, bucket, key, spec.Path, uploadOptions(step, r), func(o *artifactstore.UploadOptions) {
			o.Progress = func(p artifactstore.Progress) { reached(int64(p.Parts)) }
		})
	case "bytes":
		_, err = client.DownloadFile(ctx, bucket, key, spec.Path, downloadOptions(step, r), func(o *artifactstore.DownloadOptions) {
			o.Progress = func(p artifactstore.Progress) { reached(p.Bytes) }
		})
	default:
		err = errors.New("unknown unit " + strconv.Quote(spec.Unit))
	}
	if err != nil {
		return err
	}
	return errors.New("finished before the limit")
}
