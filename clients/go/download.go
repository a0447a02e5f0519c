package artifactstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DownloadOptions tune one download.
type DownloadOptions struct {
	PartSize    int64 // bytes per ranged GET (default 8 MiB)
	Concurrency int   // ranges in flight (default 4)
	// RequireSignature asks the gateway's verdict first and refuses (VerificationFailed) an
	// object no trusted key or identity signed; no byte is kept then.
	RequireSignature bool
	Progress         func(Progress)
	NoResume         bool // start over even if a partial file is there
}

// DownloadResult says what was fetched and how it was checked.
type DownloadResult struct {
	Size        int64
	ETag        string
	SHA256      string // hex, of the bytes written
	Checksum    string // the stored checksum verified (CRC64NVME, SHA256, ...), "" if none
	ResumedFrom int64  // bytes found written by an interrupted download
}

// partialState is the side file of a download in progress (<path>.partial.json): how far
// each range got, for which version of the object (its ETag, then sent as If-Match).
type partialState struct {
	ETag     string          `json:"etag"`
	Size     int64           `json:"size"`
	PartSize int64           `json:"part_size"`
	Written  map[int32]int64 `json:"written"` // part number -> bytes written from its start
}

// DownloadFile downloads into path through path+".partial": parallel ranged GETs, each
// pinned to the object's ETag (If-Match), their progress kept in path+".partial.json" so
// an interrupted download (even a killed process) continues where each range stopped. The
// file is hashed as it fills and checked against the store's checksum before it is renamed
// to path.
func (c *Client) DownloadFile(ctx context.Context, bucket, key, path string, opts ...func(*DownloadOptions)) (*DownloadResult, error) {
	o := DownloadOptions{PartSize: DefaultPartSize, Concurrency: DefaultConcurrency}
	for _, opt := range opts {
		opt(&o)
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	o.Concurrency = max(o.Concurrency, 1)
	info, err := c.Head(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	if o.RequireSignature {
		if err := c.requireSignature(ctx, bucket, key); err != nil {
			return nil, err
		}
	}
	partial, sidePath := path+".partial", path+".partial.json"
	state := partialState{ETag: info.ETag, Size: info.Size, PartSize: o.PartSize, Written: map[int32]int64{}}
	var resumed int64
	if !o.NoResume {
		if data, err := os.ReadFile(sidePath); err == nil {
			var old partialState
			if json.Unmarshal(data, &old) == nil && old.ETag == info.ETag && old.Size == info.Size &&
				old.PartSize == o.PartSize && old.Written != nil {
				state = old
				for _, n := range state.Written {
					resumed += n
				}
			}
		}
	}
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if resumed == 0 {
		state.Written = map[int32]int64{}
	}
	if err := f.Truncate(info.Size); err != nil {
		return nil, err
	}
	run := &rangeRun{c: c, bucket: bucket, key: key, f: f, state: &state, side: sidePath, o: &o,
		done: resumed, total: info.Size, plan: PlanParts(info.Size, o.PartSize)}
	run.progress = sync.NewCond(&run.mu)
	if resumed > 0 && o.Progress != nil {
		o.Progress(Progress{Bytes: resumed, Total: info.Size, Resumed: true})
	}
	check := newFileCheck(info)
	hashed := make(chan error, 1)
	go func() { hashed <- run.hashBehind(check.writer) }()
	err = run.fetchAll(ctx)
	run.stop()
	hashErr := <-hashed
	if err != nil {
		if errors.Is(err, ErrPreconditionFailed) {
			// The object changed under us: what was written is of another version.
			os.Remove(sidePath)
			os.Remove(partial)
		}
		return nil, err
	}
	if hashErr != nil {
		return nil, hashErr
	}
	result := &DownloadResult{Size: info.Size, ETag: info.ETag, ResumedFrom: resumed}
	if err := check.finish(result); err != nil {
		os.Remove(sidePath)
		os.Remove(partial)
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(partial, path); err != nil {
		return nil, err
	}
	os.Remove(sidePath)
	return result, nil
}

// fileCheck hashes the bytes of a download: SHA-256 for the caller, and the stored
// whole-object checksum (CRC64NVME, SHA256, CRC32C, CRC32 or SHA1) to compare with.
type fileCheck struct {
	writer    io.Writer
	sha       hash.Hash
	stored    hash.Hash
	algorithm string
	want      string
}

func newFileCheck(info *ObjectInfo) *fileCheck {
	c := &fileCheck{sha: sha256.New()}
	writers := []io.Writer{c.sha}
	for _, name := range []string{"CRC64NVME", "SHA256", "CRC32C", "CRC32", "SHA1"} {
		if value, ok := info.Checksums[name]; ok {
			if h, err := newChecksum(types.ChecksumAlgorithm(name)); err == nil {
				c.stored, c.algorithm, c.want = h, name, value
				writers = append(writers, h)
				break
			}
		}
	}
	c.writer = io.MultiWriter(writers...)
	return c
}

func (c *fileCheck) finish(result *DownloadResult) error {
	result.SHA256 = hex.EncodeToString(c.sha.Sum(nil))
	if c.stored == nil {
		return nil
	}
	if got := base64.StdEncoding.EncodeToString(c.stored.Sum(nil)); got != c.want {
		return &Error{Family: FamilyVerificationFailed, Code: "ChecksumMismatch",
			Message: fmt.Sprintf("%s of the bytes received is %s, the store says %s", c.algorithm, got, c.want)}
	}
	result.Checksum = c.algorithm
	return nil
}

type rangeRun struct {
	c           *Client
	bucket, key string
	f           *os.File
	o           *DownloadOptions
	side        string
	mu          sync.Mutex
	state       *partialState
	done, total int64
	parts       int
	plan        []Part
	progress    *sync.Cond // signalled on every recorded MiB and at the end
	stopped     bool
}

// prefix is how many bytes from the start of the file are written (under r.mu).
func (r *rangeRun) prefix() int64 {
	for _, p := range r.plan {
		if w := r.state.Written[p.Number]; w < p.Size {
			return p.Offset + w
		}
	}
	return r.total
}

func (r *rangeRun) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.progress.Broadcast()
}

// hashBehind reads the file as its written prefix grows and feeds the checks, so hashing
// runs beside the transfer (ranges finish about in order) instead of after it.
func (r *rangeRun) hashBehind(w io.Writer) error {
	buf := make([]byte, mib)
	var hashed int64
	for hashed < r.total {
		r.mu.Lock()
		for r.prefix() <= hashed && !r.stopped {
			r.progress.Wait()
		}
		end := r.prefix()
		r.mu.Unlock()
		if end <= hashed {
			return nil // stopped short: the transfer failed and says why
		}
		for hashed < end {
			n, err := r.f.ReadAt(buf[:min(int64(len(buf)), end-hashed)], hashed)
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			_, _ = w.Write(buf[:n])
			hashed += int64(n)
		}
	}
	return nil
}

func (r *rangeRun) fetchAll(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	parts := make(chan Part)
	var wg sync.WaitGroup
	for range r.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range parts {
				if err := r.fetch(ctx, p); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for _, p := range r.plan {
		select {
		case parts <- p:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(parts)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// fetch gets the rest of one range (If-Match: the ETag seen at the start), writing it in
// 1 MiB steps and recording each step in the side file.
func (r *rangeRun) fetch(ctx context.Context, p Part) error {
	r.mu.Lock()
	written := r.state.Written[p.Number]
	r.mu.Unlock()
	if written >= p.Size {
		return nil
	}
	first, last := p.Offset+written, p.Offset+p.Size-1
	out, err := r.c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.bucket, Key: &r.key,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)), IfMatch: aws.String(r.state.ETag)})
	if err != nil {
		return wrapS3(err)
	}
	defer out.Body.Close()
	buf := make([]byte, mib)
	for written < p.Size {
		want := min(int64(len(buf)), p.Size-written)
		n, err := io.ReadFull(out.Body, buf[:want])
		if n > 0 {
			if _, werr := r.f.WriteAt(buf[:n], p.Offset+written); werr != nil {
				return werr
			}
			written += int64(n)
			if serr := r.record(p, written, int64(n)); serr != nil {
				return serr
			}
		}
		if err != nil {
			return &Error{Family: FamilyUnavailable, Code: "IncompleteBody",
				Message: fmt.Sprintf("range %d-%d ended early: %v", first, last, err), Err: err}
		}
	}
	return nil
}

func (r *rangeRun) record(p Part, written, n int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state.Written[p.Number] = written
	r.done += n
	if written == p.Size {
		r.parts++
	}
	data, err := json.Marshal(r.state)
	if err != nil {
		return err
	}
	tmp := r.side + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, r.side); err != nil {
		return err
	}
	r.progress.Broadcast()
	if r.o.Progress != nil {
		r.o.Progress(Progress{Bytes: r.done, Total: r.total, Parts: r.parts, TotalParts: len(r.plan)})
	}
	return nil
}

// Download streams an object into w with one GET, hashing it on the way (SHA-256 in the
// result; the stored checksum compared at the end: the bytes are already written then, so
// a mismatch is reported, not undone).
func (c *Client) Download(ctx context.Context, bucket, key string, w io.Writer, opts ...func(*DownloadOptions)) (*DownloadResult, error) {
	var o DownloadOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.RequireSignature {
		if err := c.requireSignature(ctx, bucket, key); err != nil {
			return nil, err
		}
	}
	out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		return nil, wrapS3(err)
	}
	defer out.Body.Close()
	sha := sha256.New()
	writers := []io.Writer{w, sha}
	var stored hash.Hash
	var want, algorithm string
	if out.ChecksumType != types.ChecksumTypeComposite && out.ChecksumCRC64NVME != nil {
		stored, _ = newChecksum(types.ChecksumAlgorithmCrc64nvme)
		want, algorithm = *out.ChecksumCRC64NVME, "CRC64NVME"
		writers = append(writers, stored)
	}
	n, err := io.Copy(io.MultiWriter(writers...), out.Body)
	if err != nil {
		return nil, &Error{Family: FamilyUnavailable, Code: "IncompleteBody", Message: err.Error(), Err: err}
	}
	result := &DownloadResult{Size: n, ETag: aws.ToString(out.ETag), SHA256: hex.EncodeToString(sha.Sum(nil))}
	if stored != nil {
		if got := base64.StdEncoding.EncodeToString(stored.Sum(nil)); got != want {
			return result, &Error{Family: FamilyVerificationFailed, Code: "ChecksumMismatch",
				Message: fmt.Sprintf("%s of the bytes received is %s, the store says %s", algorithm, got, want)}
		}
		result.Checksum = algorithm
	}
	return result, nil
}

func (c *Client) requireSignature(ctx context.Context, bucket, key string) error {
	verdict, err := c.Verify(ctx, bucket, key)
	if err != nil {
		return err
	}
	if !verdict.Signed {
		reason := "no trusted signature"
		if verdict.Reason != nil {
			reason = *verdict.Reason
		}
		return verificationFailed("%s/%s: %s", bucket, key, reason)
	}
	return nil
}
