package cmd

import (
	"context"
	"crypto/md5" //nolint:gosec // S3 ETags are MD5s; used only to compare with them
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/bmatcuk/doublestar/v4"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// filters are --include/--exclude patterns in the order given; the last one that matches a
// path decides, as in aws s3. A path no pattern matches is included, unless the first
// pattern is an --include: then only what some --include matches is (so `--include '*.tgz'`
// alone means "only .tgz files").
type filters struct {
	rules []filterRule
}

type filterRule struct {
	pattern string
	include bool
}

// addFilterFlags gives a command --include and --exclude, kept in the order typed.
func addFilterFlags(c *cobra.Command, f *filters) {
	c.Flags().Var(&filterFlag{f, true}, "include", "take paths matching this glob (**, *, ?, [a-z], {a,b}); repeatable; given first, only what an --include matches is taken")
	c.Flags().Var(&filterFlag{f, false}, "exclude", "skip paths matching this glob; repeatable; the last --include/--exclude matching a path decides")
}

type filterFlag struct {
	f       *filters
	include bool
}

func (v *filterFlag) String() string { return "" }
func (v *filterFlag) Type() string   { return "glob" }
func (v *filterFlag) Set(pattern string) error {
	if !doublestar.ValidatePattern(pattern) {
		return output.Usagef("%q is not a valid glob pattern", pattern)
	}
	v.f.rules = append(v.f.rules, filterRule{pattern: pattern, include: v.include})
	return nil
}

// included says whether rel (a path relative to the source directory or prefix, with '/')
// passes the filters. A pattern without '/' also matches the base name, so --exclude '*.log'
// leaves out logs at every depth.
func (f *filters) included(rel string) bool {
	if f == nil {
		return true
	}
	keep := len(f.rules) == 0 || !f.rules[0].include
	for _, r := range f.rules {
		if matchPattern(r.pattern, rel) {
			keep = r.include
		}
	}
	return keep
}

func matchPattern(pattern, rel string) bool {
	if ok, _ := doublestar.Match(pattern, rel); ok {
		return true
	}
	if !strings.Contains(pattern, "/") {
		ok, _ := doublestar.Match(pattern, path.Base(rel))
		return ok
	}
	return false
}

// localFile is a file under a directory being copied: its path and its path from the root.
type localFile struct {
	Path string // as on disk
	Rel  string // relative to the walked root, '/'-separated
	Size int64
}

// walkLocal lists the regular files under root (following no symlinked directories), sorted.
func walkLocal(root string, f *filters) ([]localFile, error) {
	var files []localFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasSuffix(p, ".partial") || strings.HasSuffix(p, ".partial.json") || !f.included(rel) {
			return nil // a download in progress is not a source
		}
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		files = append(files, localFile{Path: p, Rel: rel, Size: info.Size()})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, err
}

// remoteObject is an object under a prefix being copied, with its key relative to the prefix.
type remoteObject struct {
	artifactstore.ObjectInfo
	Rel string
}

// listRemote lists the objects under prefix whose key past the prefix passes the filters.
// A prefix not ending in '/' is taken as a directory: "dir" lists "dir/...".
func listRemote(ctx context.Context, client *artifactstore.Client, bucket, prefix string, f *filters) ([]remoteObject, error) {
	prefix = dirPrefix(prefix)
	var out []remoteObject
	for info, err := range client.List(ctx, bucket, func(o *artifactstore.ListOptions) { o.Prefix = prefix }) {
		if err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(info.Key, prefix)
		if rel == "" || strings.HasSuffix(rel, "/") || !f.included(rel) {
			continue
		}
		out = append(out, remoteObject{ObjectInfo: info, Rel: rel})
	}
	return out, nil
}

// dirPrefix is a prefix as a directory: "" stays "", "a" becomes "a/".
func dirPrefix(prefix string) string {
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return prefix
	}
	return prefix + "/"
}

// fileCRC64NVME is the base64 CRC64NVME of a file, as S3 keeps it for the whole object.
func fileCRC64NVME(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := crc64.New(crc64.MakeTable(0x9a6c9329ac4bc9b5))
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// fileETag is the ETag S3 gives a file uploaded as one PUT (its MD5), or, for an ETag of
// the "md5-N" form, as N parts of partSize (the MD5 of the parts' MD5s).
func fileETag(p string, etag string, partSize int64) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if !strings.Contains(etag, "-") {
		h := md5.New() //nolint:gosec
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	whole := md5.New() //nolint:gosec
	n := 0
	for {
		h := md5.New() //nolint:gosec
		got, err := io.Copy(h, io.LimitReader(f, partSize))
		if err != nil {
			return "", err
		}
		if got == 0 {
			break
		}
		whole.Write(h.Sum(nil))
		n++
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(whole.Sum(nil)), n), nil
}

// sameContent decides whether a local file holds what an object holds: equal sizes and the
// store's full-object CRC64NVME equal to the file's; when the store keeps no such checksum,
// equal sizes and the ETag the file would have. reason says which test decided.
func sameContent(localPath string, localSize int64, remote *artifactstore.ObjectInfo, partSize int64) (bool, string, error) {
	if localSize != remote.Size {
		return false, "size", nil
	}
	if want, ok := remote.Checksums["CRC64NVME"]; ok {
		got, err := fileCRC64NVME(localPath)
		if err != nil {
			return false, "", err
		}
		return got == want, "CRC64NVME", nil
	}
	etag := strings.Trim(remote.ETag, `"`)
	if etag == "" {
		return false, "etag", nil
	}
	got, err := fileETag(localPath, etag, partSize)
	if err != nil {
		return false, "", err
	}
	return got == etag, "etag", nil
}

// headOrNil is Head, with a missing object as nil and no error.
func headOrNil(ctx context.Context, client *artifactstore.Client, bucket, key string) (*artifactstore.ObjectInfo, error) {
	info, err := client.Head(ctx, bucket, key)
	if errors.Is(err, artifactstore.ErrNotFound) {
		return nil, nil
	}
	return info, err
}

// progress is one bar for the bytes of a whole command, drawn only when the printer says
// someone watches; transfers report their own running totals through track.
type progress struct {
	bar *progressbar.ProgressBar
	mu  sync.Mutex
}

func newProgress(p *output.Printer, total int64, what string) *progress {
	if !p.Progress || total <= 0 {
		return &progress{}
	}
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.Err), progressbar.OptionShowBytes(true),
		progressbar.OptionSetDescription(what), progressbar.OptionShowCount(), progressbar.OptionThrottle(100_000_000),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish())
	return &progress{bar: bar}
}

// track returns an SDK progress callback for one transfer, adding what it newly did.
func (p *progress) track() func(artifactstore.Progress) {
	var last int64
	return func(r artifactstore.Progress) {
		if p.bar == nil {
			return
		}
		delta := r.Bytes - last
		last = r.Bytes
		p.mu.Lock()
		_ = p.bar.Add64(delta)
		p.mu.Unlock()
	}
}

// skip adds a transfer that was not needed.
func (p *progress) skip(n int64) {
	if p.bar == nil {
		return
	}
	p.mu.Lock()
	_ = p.bar.Add64(n)
	p.mu.Unlock()
}

func (p *progress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// runAll runs fn over n items on up to workers goroutines; the first error stops new work and
// is returned (the others' results stay as they are).
func runAll(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// interrupted tells, after Ctrl-C, that running the command again continues the transfers.
func interrupted(app *App, err error) {
	if errors.Is(err, context.Canceled) {
		app.printer.Info("interrupted: run the same command again to continue where it stopped")
	}
}
