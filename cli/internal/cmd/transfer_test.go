package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
)

func mustFilters(t *testing.T, rules ...string) *filters {
	t.Helper()
	f := &filters{}
	for _, r := range rules {
		kind, pattern, _ := strings.Cut(r, ":")
		if err := (&filterFlag{f, kind == "include"}).Set(pattern); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestFiltersLastMatchDecides(t *testing.T) {
	f := mustFilters(t, "exclude:*", "include:*.tgz", "exclude:old/**")
	for rel, want := range map[string]bool{
		"a.tgz": true, "dir/b.tgz": true, "a.txt": false, "old/c.tgz": false, "old/deep/d.tgz": false,
	} {
		if got := f.included(rel); got != want {
			t.Errorf("included(%q) = %v, want %v", rel, got, want)
		}
	}
	only := mustFilters(t, "include:*.tgz", "exclude:old/*")
	for rel, want := range map[string]bool{"a.tgz": true, "a.txt": false, "old/a.tgz": false, "x/old/a.tgz": true} {
		if got := only.included(rel); got != want {
			t.Errorf("include first: included(%q) = %v, want %v", rel, got, want)
		}
	}
	if !(*filters)(nil).included("x") || !(&filters{}).included("x") {
		t.Error("no filters must include everything")
	}
	if !mustFilters(t, "exclude:*.map").included("dist/app.js") || mustFilters(t, "exclude:*.map").included("dist/app.js.map") {
		t.Error("a pattern without '/' must match the base name at any depth")
	}
	if mustFilters(t, "exclude:{a,b}/*.log").included("b/x.log") == true {
		t.Error("brace patterns must match")
	}
	if err := (&filterFlag{&filters{}, true}).Set("[a-"); err == nil {
		t.Error("a bad glob must be refused")
	}
}

func write(t *testing.T, p string, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func noList(string, string) ([]remoteObject, error) { return nil, errors.New("no listing expected") }

func destinations(plan []*transfer) []string {
	var out []string
	for _, t := range plan {
		out = append(out, t.Action+" "+t.Source+" -> "+t.Destination)
	}
	return out
}

func TestPlanCpUploads(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tgz"), filepath.Join(dir, "b.tgz")
	write(t, a, "aa")
	write(t, b, "bbb")
	write(t, filepath.Join(dir, "tree", "x.txt"), "x")
	write(t, filepath.Join(dir, "tree", "sub", "y.map"), "y")
	write(t, filepath.Join(dir, "tree", "sub", "z.txt.partial"), "z")
	cases := []struct {
		srcs      []string
		dst       string
		recursive bool
		f         *filters
		want      []string
	}{
		{[]string{a}, "s3://b/k", false, nil, []string{"upload " + a + " -> s3://b/k"}},
		{[]string{a}, "s3://b/dir/", false, nil, []string{"upload " + a + " -> s3://b/dir/a.tgz"}},
		{[]string{a}, "s3://b", false, nil, []string{"upload " + a + " -> s3://b/a.tgz"}},
		{[]string{a, b}, "s3://b/dir", false, nil, []string{
			"upload " + a + " -> s3://b/dir/a.tgz", "upload " + b + " -> s3://b/dir/b.tgz"}},
		{[]string{filepath.Join(dir, "tree")}, "s3://b/p", true, mustFilters(t, "exclude:*.map"), []string{
			"upload " + filepath.Join(dir, "tree", "x.txt") + " -> s3://b/p/x.txt"}},
		{[]string{a, b}, "s3://b/", false, mustFilters(t, "exclude:b*"), []string{"upload " + a + " -> s3://b/a.tgz"}},
		{[]string{"-"}, "s3://b/k", false, nil, []string{"upload - -> s3://b/k"}},
	}
	for _, c := range cases {
		var srcs []location
		for _, s := range c.srcs {
			loc, _ := parseLocation(s)
			srcs = append(srcs, loc)
		}
		dst, _ := parseLocation(c.dst)
		plan, err := planCp(srcs, dst, c.recursive, c.f, noList)
		if err != nil {
			t.Fatalf("%v -> %s: %v", c.srcs, c.dst, err)
		}
		if got := destinations(plan); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%v -> %s:\n got %q\nwant %q", c.srcs, c.dst, got, c.want)
		}
	}
}

func TestPlanCpDownloadsAndCopies(t *testing.T) {
	dir := t.TempDir()
	list := func(bucket, prefix string) ([]remoteObject, error) {
		if bucket != "b" || prefix != "app/1.0" {
			t.Fatalf("listed %s %s", bucket, prefix)
		}
		return []remoteObject{
			{ObjectInfo: artifactstore.ObjectInfo{Key: "app/1.0/a.tgz", Size: 3}, Rel: "a.tgz"},
			{ObjectInfo: artifactstore.ObjectInfo{Key: "app/1.0/doc/r.md", Size: 4}, Rel: "doc/r.md"},
		}, nil
	}
	src, _ := parseLocation("s3://b/app/1.0")
	plan, err := planCp([]location{src}, location{Local: dir}, true, nil, list)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"download s3://b/app/1.0/a.tgz -> " + filepath.Join(dir, "a.tgz"),
		"download s3://b/app/1.0/doc/r.md -> " + filepath.Join(dir, "doc", "r.md")}
	if got := destinations(plan); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q want %q", got, want)
	}
	plan, _ = planCp([]location{src}, location{Bucket: "c", Key: "mirror"}, true, nil, list)
	if got := destinations(plan); got[1] != "copy s3://b/app/1.0/doc/r.md -> s3://c/mirror/doc/r.md" {
		t.Errorf("copy: %q", got)
	}
	one, _ := parseLocation("s3://b/app/a.tgz")
	plan, _ = planCp([]location{one}, location{Local: dir}, false, nil, noList)
	if got := destinations(plan); got[0] != "download s3://b/app/a.tgz -> "+filepath.Join(dir, "a.tgz") {
		t.Errorf("into an existing directory: %q", got)
	}
	plan, _ = planCp([]location{one}, location{Local: filepath.Join(dir, "out.bin")}, false, nil, noList)
	if got := destinations(plan); got[0] != "download s3://b/app/a.tgz -> "+filepath.Join(dir, "out.bin") {
		t.Errorf("to a file name: %q", got)
	}
	plan, _ = planCp([]location{one}, location{Local: "-"}, false, nil, noList)
	if got := destinations(plan); got[0] != "download s3://b/app/a.tgz -> -" {
		t.Errorf("to stdout: %q", got)
	}
}

func TestPlanCpUsageErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "f"), "f")
	loc := func(s string) location { l, _ := parseLocation(s); return l }
	for name, c := range map[string]struct {
		srcs      []location
		dst       location
		recursive bool
	}{
		"local to local":     {[]location{loc(filepath.Join(dir, "f"))}, loc(filepath.Join(dir, "g")), false},
		"dir without -r":     {[]location{loc(dir)}, loc("s3://b/p/"), false},
		"mixed sources":      {[]location{loc(filepath.Join(dir, "f")), loc("s3://b/k")}, loc("s3://b/p/"), false},
		"stdin to a prefix":  {[]location{loc("-")}, loc("s3://b/p/"), false},
		"prefix without -r":  {[]location{loc("s3://b/p/")}, loc(dir), false},
		"several to stdout":  {[]location{loc("s3://b/k"), loc("s3://b/l")}, loc("-"), false},
		"stdin with another": {[]location{loc("-"), loc(filepath.Join(dir, "f"))}, loc("s3://b/p/"), false},
	} {
		_, err := planCp(c.srcs, c.dst, c.recursive, nil, noList)
		var usage *output.UsageError
		if !errors.As(err, &usage) {
			t.Errorf("%s: want a usage error, got %v", name, err)
		}
	}
	if _, err := planCp([]location{loc(filepath.Join(dir, "missing"))}, loc("s3://b/k"), false, nil, noList); output.CodeOf(err) != output.ExitNotFound {
		t.Errorf("a missing local source must exit 2, got %v", err)
	}
}

func TestSameContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	write(t, p, "hello world")
	check := filepath.Join(dir, "check")
	write(t, check, "123456789")
	// The CRC-64/NVME check value 0xae8b14860a799888, base64 as S3 reports it.
	if crc, err := fileCRC64NVME(check); err != nil || crc != "rosUhgp5mIg=" {
		t.Errorf("crc %q %v", crc, err)
	}
	crc, err := fileCRC64NVME(p)
	if err != nil {
		t.Fatal(err)
	}
	same, how, _ := sameContent(p, 11, &artifactstore.ObjectInfo{Size: 11, Checksums: map[string]string{"CRC64NVME": crc}}, 8<<20)
	if !same || how != "CRC64NVME" {
		t.Errorf("same crc: %v %s", same, how)
	}
	if same, _, _ := sameContent(p, 11, &artifactstore.ObjectInfo{Size: 11, Checksums: map[string]string{"CRC64NVME": "AAAAAAAAAAA="}}, 8<<20); same {
		t.Error("a different CRC must differ")
	}
	if same, how, _ := sameContent(p, 11, &artifactstore.ObjectInfo{Size: 12, Checksums: map[string]string{"CRC64NVME": crc}}, 8<<20); same || how != "size" {
		t.Error("a different size must differ without reading")
	}
	// No full-object checksum: the ETag decides, a single PUT's MD5 or a multipart one.
	md5hex := "5eb63bbbe01eeed093cb22bb8f5acdc3"
	if same, how, _ := sameContent(p, 11, &artifactstore.ObjectInfo{Size: 11, ETag: `"` + md5hex + `"`}, 8<<20); !same || how != "etag" {
		t.Error("the MD5 ETag must match")
	}
	multi, err := fileETag(p, "x-2", 6)
	if err != nil || !strings.HasSuffix(multi, "-2") {
		t.Errorf("multipart etag %q %v", multi, err)
	}
	if same, _, _ := sameContent(p, 11, &artifactstore.ObjectInfo{Size: 11, ETag: multi}, 6); !same {
		t.Error("the multipart ETag for the same part size must match")
	}
	if same, _, _ := sameContent(p, 11, &artifactstore.ObjectInfo{Size: 11, ETag: multi}, 5); same {
		t.Error("another part size gives another ETag")
	}
}

func TestPlanSync(t *testing.T) {
	local := []localFile{{Path: "/d/a", Rel: "a", Size: 1}, {Path: "/d/s/b", Rel: "s/b", Size: 2}, {Path: "/d/c", Rel: "c", Size: 3}}
	remote := []remoteObject{
		{ObjectInfo: artifactstore.ObjectInfo{Key: "p/a", Size: 1}, Rel: "a"},
		{ObjectInfo: artifactstore.ObjectInfo{Key: "p/c", Size: 4}, Rel: "c"},
		{ObjectInfo: artifactstore.ObjectInfo{Key: "p/gone", Size: 5}, Rel: "gone"},
	}
	up, _ := planSync(local, remote, location{Local: "/d"}, location{Bucket: "b", Key: "p"}, true)
	got := map[string]string{}
	for _, t := range up {
		got[t.Action+" "+t.Destination] = t.SkipReason
	}
	want := map[string]string{"upload s3://b/p/a": "compare", "upload s3://b/p/s/b": "", "upload s3://b/p/c": "",
		"delete s3://b/p/gone": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("up: %v", got)
	}
	if plan, _ := planSync(local, remote, location{Local: "/d"}, location{Bucket: "b", Key: "p"}, false); len(plan) != 3 {
		t.Errorf("without --delete nothing is deleted: %d", len(plan))
	}
	down, _ := planSync(local, remote, location{Bucket: "b", Key: "p"}, location{Local: "/d"}, true)
	got = map[string]string{}
	for _, t := range down {
		got[t.Action+" "+t.Destination] = t.SkipReason
	}
	want = map[string]string{"download /d/a": "compare", "download /d/c": "", "download /d/gone": "",
		"delete /d/s/b": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("down: %v", got)
	}
}

func TestTransferJSONShape(t *testing.T) {
	var buf bytes.Buffer
	p := &output.Printer{Format: output.JSON, Command: "cp", Out: &buf}
	r := &cpResult{Transfers: []*transfer{{Action: actionUpload, Source: "f", Destination: "s3://b/k", Size: 3,
		Skipped: true, SkipReason: "CRC64NVME", src: location{Local: "f"}}}, Skipped: 1}
	if err := p.Result(r, false, nil); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	item := doc["result"].(map[string]any)["transfers"].([]any)[0].(map[string]any)
	if item["skipped"] != true || item["skipReason"] != "CRC64NVME" || len(item) != 6 {
		t.Errorf("item %v", item)
	}
}

func TestUnder(t *testing.T) {
	if got := under(location{Bucket: "b", Key: ""}, "x/y").String(); got != "s3://b/x/y" {
		t.Error(got)
	}
	if got := under(location{Bucket: "b", Key: "p"}, "x").String(); got != "s3://b/p/x" {
		t.Error(got)
	}
	if got := escapeKey("a b/c+d"); got != "a%20b/c+d" {
		t.Error(got)
	}
}

func TestProgressBarCountsEveryByteOnce(t *testing.T) {
	var buf bytes.Buffer
	bar := newProgress(&output.Printer{Progress: true, Err: &buf}, 300, "cp")
	a, b := bar.track(), bar.track()
	a(artifactstore.Progress{Bytes: 50})
	a(artifactstore.Progress{Bytes: 100})
	b(artifactstore.Progress{Bytes: 100})
	bar.skip(100)
	if got := bar.bar.State().CurrentNum; got != 300 {
		t.Errorf("bar at %d, want 300", got)
	}
	bar.done()
	if buf.Len() == 0 {
		t.Error("nothing drawn")
	}
	quiet := newProgress(&output.Printer{Progress: false, Err: &buf}, 300, "cp")
	quiet.track()(artifactstore.Progress{Bytes: 1})
	quiet.skip(1)
	quiet.done()
	if quiet.bar != nil {
		t.Error("no bar without Progress")
	}
}

func TestKeysCannotEscapeTheLocalDirectory(t *testing.T) {
	dir := t.TempDir()
	evil := func(string, string) ([]remoteObject, error) {
		return []remoteObject{{ObjectInfo: artifactstore.ObjectInfo{Key: "p/../../etc/x", Size: 1}, Rel: "../../etc/x"}}, nil
	}
	if _, err := planCp([]location{{Bucket: "b", Key: "p"}}, location{Local: dir}, true, nil, evil); output.CodeOf(err) != output.ExitInvalid {
		t.Errorf("cp -r: want exit 7, got %v", err)
	}
	if _, err := planCp([]location{{Bucket: "b", Key: "a/.."}}, location{Local: dir}, false, nil, noList); output.CodeOf(err) != output.ExitInvalid {
		t.Errorf("cp: want exit 7, got %v", err)
	}
	remote, _ := evil("b", "p")
	if _, err := planSync(nil, remote, location{Bucket: "b", Key: "p"}, location{Local: dir}, false); output.CodeOf(err) != output.ExitInvalid {
		t.Errorf("sync: want exit 7, got %v", err)
	}
	// The store side takes any key.
	if plan, err := planCp([]location{{Bucket: "b", Key: "p"}}, location{Bucket: "c"}, true, nil, evil); err != nil || len(plan) != 1 {
		t.Errorf("copy: %v", err)
	}
}
