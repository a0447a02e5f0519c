package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
)

func init() { register(newCp) }

// Transfer actions.
const (
	actionUpload   = "upload"
	actionDownload = "download"
	actionCopy     = "copy"
	actionDelete   = "delete"
)

// transfer is one file or object cp (or sync) moves, and afterwards what came of it.
type transfer struct {
	Action      string `json:"action"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Size        int64  `json:"size"` // -1: a stream of unknown size, before it ran
	Skipped     bool   `json:"skipped,omitempty"`
	// SkipReason is the comparison that found the destination identical (CRC64NVME, etag).
	SkipReason   string `json:"skipReason,omitempty"`
	ETag         string `json:"etag,omitempty"`
	SHA256       string `json:"sha256,omitempty"`   // downloads: of the bytes written
	Checksum     string `json:"checksum,omitempty"` // downloads: the stored checksum verified
	Parts        int    `json:"parts,omitempty"`
	ResumedParts int    `json:"resumedParts,omitempty"` // uploads: parts an interrupted run had stored
	ResumedBytes int64  `json:"resumedBytes,omitempty"` // downloads: bytes an interrupted run had written

	src, dst location // what the planner decided; Local "-" is stdin or stdout
	checked  bool     // sync compared the contents already
}

// cpResult is cp's JSON result.
type cpResult struct {
	Transfers   []*transfer `json:"transfers"`
	Transferred int         `json:"transferred"`
	Skipped     int         `json:"skipped"`
	Bytes       int64       `json:"bytes"` // bytes moved (skipped files not counted)
}

type cpOptions struct {
	recursive, requireSignature bool
	filters                     filters
}

func newCp(app *App) *cobra.Command {
	var o cpOptions
	c := &cobra.Command{
		Use:   "cp SOURCE... DESTINATION",
		Short: "Copy files to, from and within the store (resumable, verified, skips identical files)",
		Long: `Copy a local file to an object, an object to a local file, or an object to another object
(a server-side copy: no bytes pass through this machine). '-' as SOURCE reads stdin, as
DESTINATION writes stdout (streamed: memory does not grow with the object).

Several SOURCEs (a shell glob such as *.tgz), a DESTINATION ending in '/', an existing local
directory, or -r make DESTINATION a directory or prefix: each source keeps its name under it.
With -r a local directory or an s3:// prefix is copied with everything under it. --include
and --exclude choose what (globs with **, * and {a,b}, matched against the path under the
directory or prefix; a pattern without '/' also matches the base name; the last one matching
a path decides; when the first is an --include, only what an --include matches is taken).

Large files go in parallel multipart parts (--parallel, --part-size), every part and every
download checked with CRC64NVME. An interrupted cp (Ctrl-C, a killed process, a dropped
connection) continues from what was stored or written when run again with the same
arguments. A destination that already holds the same bytes (same size and full-object
CRC64NVME) is skipped, so a re-run is cheap. --require-signature refuses an object the
gateway does not find signed by a trusted key or identity, and keeps no byte of it.`,
		Example: `  artifactctl cp app-1.4.2.tgz s3://releases/app/
  artifactctl cp *.tgz checksums.txt s3://releases/app/1.4.2/
  artifactctl cp -r ./dist s3://releases/app/1.4.2 --exclude '*.map'
  artifactctl cp --require-signature s3://releases/app/app-1.4.2.tgz .
  artifactctl cp -r s3://releases/app/1.4.2/ ./downloads --include '*.tgz'
  artifactctl cp s3://releases/app/app-1.4.2.tgz s3://archive/app/app-1.4.2.tgz
  tar cz src | artifactctl cp - s3://backups/src.tgz
  artifactctl cp s3://backups/src.tgz - | tar xz
  artifactctl cp --parallel 16 --part-size 64MiB big.iso s3://images/ -o json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return runCp(c.Context(), app, args, &o)
		},
	}
	c.Flags().BoolVarP(&o.recursive, "recursive", "r", false, "copy a directory or prefix and everything under it")
	c.Flags().BoolVar(&o.requireSignature, "require-signature", false,
		"downloads: refuse (exit 4, no file written) an object without a signature the bucket trusts")
	addFilterFlags(c, &o.filters)
	app.addDryRun(c)
	return c
}

func runCp(ctx context.Context, app *App, args []string, o *cpOptions) error {
	srcs := make([]location, 0, len(args)-1)
	for _, a := range args[:len(args)-1] {
		loc, err := parseLocation(a)
		if err != nil {
			return err
		}
		srcs = append(srcs, loc)
	}
	dst, err := parseLocation(args[len(args)-1])
	if err != nil {
		return err
	}
	streams := (dst.Local == "-") || (len(srcs) == 1 && srcs[0].Local == "-")
	if dst.Local == "-" && app.printer.Format == output.JSON {
		return output.Usagef("-o json cannot share stdout with the object's bytes (cp ... -)")
	}
	var client *artifactstore.Client
	lister := func(bucket, prefix string) ([]remoteObject, error) {
		if client == nil {
			var err error
			if client, err = app.Client(ctx); err != nil {
				return nil, err
			}
		}
		return listRemote(ctx, client, bucket, prefix, &o.filters)
	}
	plan, err := planCp(srcs, dst, o.recursive, &o.filters, lister)
	if err != nil {
		return err
	}
	result := &cpResult{Transfers: plan}
	if !app.dryRun {
		if client == nil {
			if client, err = app.Client(ctx); err != nil {
				return err
			}
		}
		x := newExecutor(app, client, o.requireSignature)
		var total int64
		for _, t := range plan {
			if t.Size < 0 && t.src.remote() && app.printer.Progress {
				// A single object's size is known only from the store; the bar needs it.
				if info, err := client.Head(ctx, t.src.Bucket, t.src.Key); err == nil {
					t.Size = info.Size
				}
			}
			total += max(t.Size, 0)
		}
		if !streams {
			x.bar = newProgress(app.printer, total, "cp")
		}
		err = runAll(ctx, len(plan), app.settings.Parallel, func(ctx context.Context, i int) error {
			return x.run(ctx, plan[i])
		})
		x.bar.done()
		if err != nil {
			interrupted(app, err)
			return err
		}
	}
	for _, t := range plan {
		if t.Skipped {
			result.Skipped++
		} else {
			result.Transferred++
			result.Bytes += max(t.Size, 0)
		}
	}
	return app.printer.Result(result, app.dryRun, func(w io.Writer) {
		if app.printer.Quiet || dst.Local == "-" {
			return
		}
		printTransfers(w, plan, app.dryRun)
	})
}

// printTransfers writes a line per transfer, as aws s3 does.
func printTransfers(w io.Writer, plan []*transfer, dryRun bool) {
	for _, t := range plan {
		if t.Skipped {
			fmt.Fprintf(w, "skipped: %s (%s has the same bytes)\n", t.Source, t.Destination)
			continue
		}
		line := fmt.Sprintf("%s%s: %s to %s", dryRunPrefix(dryRun), t.Action, t.Source, t.Destination)
		if t.Action == actionDelete {
			line = fmt.Sprintf("%sdelete: %s", dryRunPrefix(dryRun), t.Destination)
		}
		switch {
		case t.ResumedParts > 0:
			line += fmt.Sprintf(" (resumed: %d of %d parts were stored)", t.ResumedParts, t.Parts)
		case t.ResumedBytes > 0:
			line += fmt.Sprintf(" (resumed from byte %d)", t.ResumedBytes)
		}
		fmt.Fprintln(w, line)
	}
}

// planCp turns cp's arguments into transfers. list lists a prefix (only called for remote
// sources with -r).
func planCp(srcs []location, dst location, recursive bool, f *filters,
	list func(bucket, prefix string) ([]remoteObject, error)) ([]*transfer, error) {
	remoteSrc := srcs[0].remote()
	for _, s := range srcs {
		if s.remote() != remoteSrc {
			return nil, output.Usagef("sources must be all local or all s3://")
		}
		if s.Local == "-" && len(srcs) > 1 {
			return nil, output.Usagef("'-' (stdin) must be the only source")
		}
	}
	if !remoteSrc && !dst.remote() {
		return nil, output.Usagef("one side must be s3://BUCKET/KEY (for local copies use cp(1))")
	}
	if dst.Local == "-" && (len(srcs) > 1 || recursive) {
		return nil, output.Usagef("'-' (stdout) takes one object, not several")
	}
	intoDir := len(srcs) > 1 || recursive || isDirTarget(dst)
	var plan []*transfer
	add := func(action string, src, to location, size int64) {
		plan = append(plan, &transfer{Action: action, Source: src.String(), Destination: to.String(), Size: size,
			src: src, dst: to})
	}
	action := actionUpload
	switch {
	case remoteSrc && dst.remote():
		action = actionCopy
	case remoteSrc:
		action = actionDownload
	}
	for _, src := range srcs {
		switch {
		case src.Local == "-":
			if dst.Key == "" || strings.HasSuffix(dst.Key, "/") {
				return nil, output.Usagef("stdin needs a key to go to (s3://%s/NAME)", dst.Bucket)
			}
			add(actionUpload, src, dst, -1)
		case !src.remote():
			info, err := os.Stat(src.Local)
			if err != nil {
				return nil, err
			}
			if info.IsDir() {
				if !recursive {
					return nil, output.Usagef("%s is a directory (use -r to copy it)", src.Local)
				}
				files, err := walkLocal(src.Local, f)
				if err != nil {
					return nil, err
				}
				for _, file := range files {
					add(action, location{Local: file.Path}, under(dst, file.Rel), file.Size)
				}
				continue
			}
			name := filepath.Base(src.Local)
			if !f.included(name) {
				continue
			}
			to := dst
			if intoDir {
				to = under(dst, name)
			}
			add(action, src, to, info.Size())
		case recursive:
			objects, err := list(src.Bucket, src.Key)
			if err != nil {
				return nil, err
			}
			for _, obj := range objects {
				to, err := safeUnder(dst, obj.Rel)
				if err != nil {
					return nil, err
				}
				add(action, location{Bucket: src.Bucket, Key: obj.Key}, to, obj.Size)
			}
		default:
			if src.Key == "" || strings.HasSuffix(src.Key, "/") {
				return nil, output.Usagef("%s is a prefix (use -r to copy what is under it)", src)
			}
			name := path.Base(src.Key)
			if !f.included(name) {
				continue
			}
			to := dst
			if intoDir {
				var err error
				if to, err = safeUnder(dst, name); err != nil {
					return nil, err
				}
			}
			add(action, src, to, -1)
		}
	}
	return plan, nil
}

// isDirTarget: s3://b, s3://b/dir/, dir/ or an existing local directory.
func isDirTarget(dst location) bool {
	if dst.remote() {
		return dst.Key == "" || strings.HasSuffix(dst.Key, "/")
	}
	if dst.Local == "-" {
		return false
	}
	if strings.HasSuffix(dst.Local, "/") || strings.HasSuffix(dst.Local, string(filepath.Separator)) {
		return true
	}
	info, err := os.Stat(dst.Local)
	return err == nil && info.IsDir()
}

// safeUnder is under, refusing a key that would land outside a local directory ("../x",
// "/etc/x", ".."): an object's name must not choose where on this machine it is written.
func safeUnder(dst location, rel string) (location, error) {
	if !dst.remote() && !filepath.IsLocal(filepath.FromSlash(rel)) {
		return location{}, &artifactstore.Error{Family: artifactstore.FamilyInvalidRequest, Code: "UnsafeKey",
			Message: fmt.Sprintf("key part %q would be written outside %s; refusing", rel, dst.Local)}
	}
	return under(dst, rel), nil
}

// under is rel (a '/' path) inside the directory or prefix dst.
func under(dst location, rel string) location {
	if dst.remote() {
		return location{Bucket: dst.Bucket, Key: dirPrefix(dst.Key) + rel}
	}
	return location{Local: filepath.Join(dst.Local, filepath.FromSlash(rel))}
}

// executor runs transfers with one client, sharing a progress bar.
type executor struct {
	app              *App
	client           *artifactstore.Client
	requireSignature bool
	partSize         int64
	parallel         int
	bar              *progress
	stdoutMu         sync.Mutex
}

func newExecutor(app *App, client *artifactstore.Client, requireSignature bool) *executor {
	return &executor{app: app, client: client, requireSignature: requireSignature,
		partSize: app.settings.PartBytes(), parallel: app.settings.Parallel, bar: &progress{}}
}

func (x *executor) run(ctx context.Context, t *transfer) error {
	var err error
	switch t.Action {
	case actionUpload:
		err = x.upload(ctx, t)
	case actionDownload:
		err = x.download(ctx, t)
	case actionCopy:
		err = x.copy(ctx, t)
	case actionDelete:
		err = x.delete(ctx, t)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", t.Action, t.Source, err)
	}
	return nil
}

// uploadOptions are the SDK's options for one upload; the content type comes from the
// file name's extension, as aws s3 cp guesses it (none for stdin: the store's default).
func (x *executor) uploadOptions(name string) func(*artifactstore.UploadOptions) {
	return func(o *artifactstore.UploadOptions) {
		o.PartSize, o.Concurrency = x.partSize, x.parallel
		o.Threshold = max(artifactstore.DefaultThreshold, x.partSize)
		o.Progress = x.bar.track()
		o.ContentType = mime.TypeByExtension(filepath.Ext(name))
	}
}

func (x *executor) upload(ctx context.Context, t *transfer) error {
	if t.src.Local == "-" {
		r, err := x.client.Upload(ctx, t.dst.Bucket, t.dst.Key, x.app.stdin, -1, x.uploadOptions(""))
		if err != nil {
			return err
		}
		t.Size, t.ETag, t.Parts = r.Size, trimETag(r.ETag), r.Parts
		return nil
	}
	if t.Skipped {
		return nil // sync decided
	}
	if !t.checked {
		have, err := headOrNil(ctx, x.client, t.dst.Bucket, t.dst.Key)
		if err != nil {
			return err
		}
		if have != nil {
			same, how, err := sameContent(t.src.Local, t.Size, have, x.partSize)
			if err != nil {
				return err
			}
			if same {
				t.Skipped, t.SkipReason, t.ETag = true, how, trimETag(have.ETag)
				x.bar.skip(t.Size)
				return nil
			}
		}
	}
	r, err := x.client.UploadFile(ctx, t.dst.Bucket, t.dst.Key, t.src.Local, x.uploadOptions(t.src.Local))
	if err != nil {
		return err
	}
	t.Size, t.ETag, t.Parts, t.ResumedParts = r.Size, trimETag(r.ETag), r.Parts, r.ResumedParts
	return nil
}

func (x *executor) download(ctx context.Context, t *transfer) error {
	require := func(o *artifactstore.DownloadOptions) {
		o.PartSize, o.Concurrency, o.RequireSignature = x.partSize, x.parallel, x.requireSignature
		o.Progress = x.bar.track()
	}
	if t.dst.Local == "-" {
		x.stdoutMu.Lock()
		defer x.stdoutMu.Unlock()
		r, err := x.client.Download(ctx, t.src.Bucket, t.src.Key, x.app.stdout, require)
		if err != nil {
			return err
		}
		t.Size, t.ETag, t.SHA256, t.Checksum = r.Size, trimETag(r.ETag), r.SHA256, r.Checksum
		return nil
	}
	info, err := x.client.Head(ctx, t.src.Bucket, t.src.Key)
	if err != nil {
		return err
	}
	t.Size = info.Size
	if local, err := os.Stat(t.dst.Local); err == nil && local.Mode().IsRegular() && !t.checked {
		same, how, err := sameContent(t.dst.Local, local.Size(), info, x.partSize)
		if err != nil {
			return err
		}
		if same {
			if x.requireSignature {
				if err := x.verified(ctx, t.src); err != nil {
					return err
				}
			}
			t.Skipped, t.SkipReason, t.ETag = true, how, trimETag(info.ETag)
			x.bar.skip(t.Size)
			return nil
		}
	}
	if t.Skipped {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(t.dst.Local), 0o755); err != nil {
		return err
	}
	r, err := x.client.DownloadFile(ctx, t.src.Bucket, t.src.Key, t.dst.Local, require)
	if err != nil {
		return err
	}
	t.Size, t.ETag, t.SHA256, t.Checksum, t.ResumedBytes = r.Size, trimETag(r.ETag), r.SHA256, r.Checksum, r.ResumedFrom
	return nil
}

// verified asks the gateway's verdict, as a download with --require-signature does.
func (x *executor) verified(ctx context.Context, src location) error {
	verdict, err := x.client.Verify(ctx, src.Bucket, src.Key)
	if err != nil {
		return err
	}
	if !verdict.Signed {
		reason := "no trusted signature"
		if verdict.Reason != nil {
			reason = *verdict.Reason
		}
		return &artifactstore.Error{Family: artifactstore.FamilyVerificationFailed, Code: "VerificationFailed",
			Message: fmt.Sprintf("%s/%s: %s", src.Bucket, src.Key, reason)}
	}
	return nil
}

// copy is a server-side CopyObject, skipped when the destination has the same size and
// full-object checksum (or ETag) as the source.
func (x *executor) copy(ctx context.Context, t *transfer) error {
	info, err := x.client.Head(ctx, t.src.Bucket, t.src.Key)
	if err != nil {
		return err
	}
	t.Size = info.Size
	have, err := headOrNil(ctx, x.client, t.dst.Bucket, t.dst.Key)
	if err != nil {
		return err
	}
	if have != nil && have.Size == info.Size {
		want, ok := info.Checksums["CRC64NVME"]
		got, ok2 := have.Checksums["CRC64NVME"]
		if ok && ok2 && want == got {
			t.Skipped, t.SkipReason, t.ETag = true, "CRC64NVME", trimETag(have.ETag)
		} else if !ok && !ok2 && have.ETag == info.ETag {
			t.Skipped, t.SkipReason, t.ETag = true, "etag", trimETag(have.ETag)
		}
		if t.Skipped {
			x.bar.skip(t.Size)
			return nil
		}
	}
	source := url.PathEscape(t.src.Bucket) + "/" + escapeKey(t.src.Key)
	out, err := x.client.S3().CopyObject(ctx, &s3.CopyObjectInput{Bucket: &t.dst.Bucket, Key: &t.dst.Key,
		CopySource: &source})
	if err != nil {
		return artifactstore.WrapS3Error(err)
	}
	if out.CopyObjectResult != nil && out.CopyObjectResult.ETag != nil {
		t.ETag = trimETag(*out.CopyObjectResult.ETag)
	}
	x.bar.skip(t.Size)
	return nil
}

func (x *executor) delete(ctx context.Context, t *transfer) error {
	if t.dst.remote() {
		return x.client.Delete(ctx, t.dst.Bucket, t.dst.Key)
	}
	if err := os.Remove(t.dst.Local); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// escapeKey escapes a key for x-amz-copy-source, each segment, keeping the '/'.
func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func trimETag(etag string) string { return strings.Trim(etag, `"`) }
