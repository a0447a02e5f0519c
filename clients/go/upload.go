package artifactstore

import (
	"context"
	"crypto/md5" //nolint:gosec // S3 part ETags are MD5s; used only to recognise stored parts
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	mib = 1 << 20
	// DefaultPartSize and DefaultThreshold: objects from 16 MiB go multipart in 8 MiB parts.
	DefaultPartSize    = 8 * mib
	DefaultThreshold   = 16 * mib
	DefaultConcurrency = 4
	minPartSize        = 5 * mib
)

// Progress reports a transfer: bytes done of Total (-1: unknown), and for multipart
// transfers the parts stored. Callbacks come one at a time, never concurrently.
type Progress struct {
	Bytes, Total int64
	Parts        int // parts stored so far (uploads) or ranges written (downloads)
	TotalParts   int
	Resumed      bool // this report is about work found done before this call
}

// UploadOptions tune one upload.
type UploadOptions struct {
	PartSize    int64 // multipart part size (default 8 MiB, at least 5 MiB but the last)
	Threshold   int64 // single PUT below this size (default 16 MiB)
	Concurrency int   // parts in flight (default 4)
	// Checksum sent with every PUT and part (default CRC64NVME); the store checks it.
	Checksum    types.ChecksumAlgorithm
	ContentType string
	Metadata    map[string]string
	Progress    func(Progress)
	// Fingerprint identifies the source for resuming; UploadFile derives it from the file
	// (path, size, modification time). Streams resume only when one is given.
	Fingerprint string
	// NoResume starts over even if a state file names stored parts.
	NoResume bool
}

// UploadResult says what was stored.
type UploadResult struct {
	ETag         string
	VersionID    string
	Size         int64
	Multipart    bool
	Parts        int // 1 for a single PUT
	ResumedParts int // parts found stored (and checked) from an interrupted upload
}

// UploadFile uploads a file: one PUT below the threshold, else parallel multipart parts
// read straight from the file (memory does not grow with its size). An upload of the same
// file interrupted before (even by a killed process) continues from the parts stored.
func (c *Client) UploadFile(ctx context.Context, bucket, key, path string, opts ...func(*UploadOptions)) (*UploadResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	fingerprint := fmt.Sprintf("file:%s:%d:%d", abs, st.Size(), st.ModTime().UnixNano())
	return c.upload(ctx, bucket, key, f, nil, st.Size(), append([]func(*UploadOptions){func(o *UploadOptions) {
		if o.Fingerprint == "" {
			o.Fingerprint = fingerprint
		}
	}}, opts...))
}

// Upload uploads from a reader. A reader that is also an io.ReaderAt and io.Seeker (a file,
// a bytes.Reader) is read in parallel like UploadFile; any other is read once, in order,
// holding at most Concurrency+1 parts in memory. size may be -1 when unknown.
func (c *Client) Upload(ctx context.Context, bucket, key string, body io.Reader, size int64, opts ...func(*UploadOptions)) (*UploadResult, error) {
	if ra, ok := body.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		start, err := ra.Seek(0, io.SeekCurrent)
		if err == nil {
			end, err := ra.Seek(0, io.SeekEnd)
			if err == nil {
				return c.upload(ctx, bucket, key, io.NewSectionReader(ra, start, end-start), nil, end-start, opts)
			}
		}
	}
	return c.upload(ctx, bucket, key, nil, body, size, opts)
}

func (c *Client) upload(ctx context.Context, bucket, key string, at io.ReaderAt, stream io.Reader, size int64,
	opts []func(*UploadOptions)) (*UploadResult, error) {
	o := UploadOptions{PartSize: DefaultPartSize, Threshold: DefaultThreshold, Concurrency: DefaultConcurrency,
		Checksum: DefaultChecksum}
	for _, opt := range opts {
		opt(&o)
	}
	if o.PartSize < minPartSize {
		o.PartSize = minPartSize
	}
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if _, err := newChecksum(o.Checksum); err != nil {
		return nil, err
	}
	if stream != nil && (size < 0 || size >= o.Threshold) {
		// Read up to the threshold: a short stream still goes in one PUT.
		head := make([]byte, o.Threshold)
		n, err := io.ReadFull(stream, head)
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return c.putOnce(ctx, bucket, key, bytesReader(head[:n]), int64(n), &o)
		case err != nil:
			return nil, err
		}
		stream = io.MultiReader(bytesReader(head), stream)
	} else if stream != nil {
		head, err := io.ReadAll(io.LimitReader(stream, size))
		if err != nil {
			return nil, err
		}
		return c.putOnce(ctx, bucket, key, bytesReader(head), int64(len(head)), &o)
	}
	if at != nil && size < o.Threshold {
		return c.putOnce(ctx, bucket, key, io.NewSectionReader(at, 0, size), size, &o)
	}
	return c.multipart(ctx, bucket, key, at, stream, size, &o)
}

func (c *Client) putOnce(ctx context.Context, bucket, key string, body io.ReadSeeker, size int64, o *UploadOptions) (*UploadResult, error) {
	sum, err := checksumOf(o.Checksum, body)
	if err != nil {
		return nil, err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	input := &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: body, ContentLength: aws.Int64(size),
		Metadata: o.Metadata}
	setChecksum(o.Checksum, sum, &input.ChecksumCRC64NVME, &input.ChecksumCRC32, &input.ChecksumCRC32C,
		&input.ChecksumSHA256, &input.ChecksumSHA1)
	if o.ContentType != "" {
		input.ContentType = &o.ContentType
	}
	out, err := c.s3.PutObject(ctx, input)
	if err != nil {
		return nil, wrapS3(err)
	}
	if o.Progress != nil {
		o.Progress(Progress{Bytes: size, Total: size})
	}
	return &UploadResult{ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId), Size: size, Parts: 1}, nil
}

func setChecksum(algorithm types.ChecksumAlgorithm, value string, crc64nvme, crc32, crc32c, sha256, sha1 **string) {
	target := map[types.ChecksumAlgorithm]**string{types.ChecksumAlgorithmCrc64nvme: crc64nvme,
		types.ChecksumAlgorithmCrc32: crc32, types.ChecksumAlgorithmCrc32c: crc32c,
		types.ChecksumAlgorithmSha256: sha256, types.ChecksumAlgorithmSha1: sha1}[algorithm]
	if target != nil {
		*target = aws.String(value)
	}
}

func partChecksum(algorithm types.ChecksumAlgorithm, p types.Part) string {
	switch algorithm {
	case types.ChecksumAlgorithmCrc64nvme:
		return aws.ToString(p.ChecksumCRC64NVME)
	case types.ChecksumAlgorithmCrc32:
		return aws.ToString(p.ChecksumCRC32)
	case types.ChecksumAlgorithmCrc32c:
		return aws.ToString(p.ChecksumCRC32C)
	case types.ChecksumAlgorithmSha256:
		return aws.ToString(p.ChecksumSHA256)
	case types.ChecksumAlgorithmSha1:
		return aws.ToString(p.ChecksumSHA1)
	}
	return ""
}

// job is one part to store: its bytes come from the file (a section) or a buffer.
type job struct {
	part Part
	body io.ReadSeeker
	buf  []byte // a stream's part buffer, reused once the part is stored
}

type multipartRun struct {
	c               *Client
	bucket, key     string
	o               *UploadOptions
	uploadID        string
	stored          map[int32]types.Part // from ListParts, when resuming
	mu              sync.Mutex
	done            []types.CompletedPart
	bytes, total    int64
	parts, allParts int
	resumed         int
}

func (c *Client) multipart(ctx context.Context, bucket, key string, at io.ReaderAt, stream io.Reader, size int64,
	o *UploadOptions) (*UploadResult, error) {
	run := &multipartRun{c: c, bucket: bucket, key: key, o: o, total: size, stored: map[int32]types.Part{}}
	statePath := ""
	if o.Fingerprint != "" {
		statePath = filepathForState(c.stateDir, bucket, key, o.Fingerprint)
	}
	if statePath != "" && !o.NoResume {
		if s := loadState(statePath, bucket, key, o.Fingerprint); s != nil && s.PartSize == o.PartSize &&
			s.Size == size && s.Checksum == string(o.Checksum) {
			parts, err := c.listParts(ctx, bucket, key, s.UploadID)
			if err == nil {
				run.uploadID = s.UploadID
				for _, p := range parts {
					run.stored[aws.ToInt32(p.PartNumber)] = p
				}
			} else if !errors.Is(err, ErrNotFound) {
				return nil, err
			}
		}
	}
	if run.uploadID == "" {
		input := &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key, Metadata: o.Metadata,
			ChecksumAlgorithm: o.Checksum}
		if fullObject(o.Checksum) {
			input.ChecksumType = types.ChecksumTypeFullObject
		} else {
			input.ChecksumType = types.ChecksumTypeComposite
		}
		if o.ContentType != "" {
			input.ContentType = &o.ContentType
		}
		out, err := c.s3.CreateMultipartUpload(ctx, input)
		if err != nil {
			return nil, wrapS3(err)
		}
		run.uploadID = aws.ToString(out.UploadId)
		if statePath != "" {
			if err := saveState(statePath, &uploadState{Bucket: bucket, Key: key, Fingerprint: o.Fingerprint,
				UploadID: run.uploadID, PartSize: o.PartSize, Size: size, Checksum: string(o.Checksum),
				Created: time.Now().UTC()}); err != nil {
				return nil, err
			}
		}
	}
	if size >= 0 {
		run.allParts = len(PlanParts(size, o.PartSize))
	}
	if err := run.send(ctx, at, stream, size); err != nil {
		return nil, err
	}
	sort.Slice(run.done, func(i, j int) bool { return *run.done[i].PartNumber < *run.done[j].PartNumber })
	complete := &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: &run.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: run.done}}
	if fullObject(o.Checksum) {
		complete.ChecksumType = types.ChecksumTypeFullObject
	}
	out, err := c.s3.CompleteMultipartUpload(ctx, complete)
	if err != nil {
		return nil, wrapS3(err)
	}
	if statePath != "" {
		removeState(statePath)
	}
	return &UploadResult{ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId), Size: run.bytes,
		Multipart: true, Parts: len(run.done), ResumedParts: run.resumed}, nil
}

func filepathForState(dir, bucket, key, fingerprint string) string {
	return statePath(dir, bucket, key, fingerprint)
}

func (c *Client) listParts(ctx context.Context, bucket, key, uploadID string) ([]types.Part, error) {
	var parts []types.Part
	pages := s3.NewListPartsPaginator(c.s3, &s3.ListPartsInput{Bucket: &bucket, Key: &key, UploadId: &uploadID})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrapS3(err)
		}
		parts = append(parts, page.Parts...)
	}
	return parts, nil
}

// send feeds the parts to Concurrency workers; the first failure cancels the rest.
func (r *multipartRun) send(ctx context.Context, at io.ReaderAt, stream io.Reader, size int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan job)
	// A stream's part buffers go round: at most Concurrency in flight and one filling, so
	// memory stays at about (Concurrency+2) parts whatever the stream's length (a fresh
	// buffer per part would leave the rest to the garbage collector, which lets the heap
	// reach about twice that).
	free := make(chan []byte, r.o.Concurrency+1)
	var wg sync.WaitGroup
	for range r.o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := r.store(ctx, j); err != nil {
					cancel(err)
				}
				if j.buf != nil {
					select {
					case free <- j.buf:
					default:
					}
				}
			}
		}()
	}
	produce := func() error {
		defer close(jobs)
		if at != nil {
			for _, p := range PlanParts(size, r.o.PartSize) {
				select {
				case jobs <- job{part: p, body: io.NewSectionReader(at, p.Offset, p.Size)}:
				case <-ctx.Done():
					return nil
				}
			}
			return nil
		}
		for n, offset := int32(1), int64(0); ; n++ {
			var buf []byte
			select {
			case buf = <-free:
			default:
				buf = make([]byte, r.o.PartSize)
			}
			got, err := io.ReadFull(stream, buf)
			if got > 0 {
				select {
				case jobs <- job{Part{Number: n, Offset: offset, Size: int64(got)}, bytesReader(buf[:got]), buf}:
				case <-ctx.Done():
					return nil
				}
				offset += int64(got)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	if err := produce(); err != nil {
		cancel(err)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// store uploads one part, or skips it when the interrupted upload holds it already with the
// same bytes (its checksum, else its MD5 ETag, matches the source's).
func (r *multipartRun) store(ctx context.Context, j job) error {
	sum, err := checksumOf(r.o.Checksum, j.body)
	if err != nil {
		return err
	}
	if _, err := j.body.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if have, ok := r.stored[j.part.Number]; ok && aws.ToInt64(have.Size) == j.part.Size && r.same(have, sum, j.body) {
		r.finish(j.part, aws.ToString(have.ETag), sum, true)
		return nil
	}
	if _, err := j.body.Seek(0, io.SeekStart); err != nil {
		return err
	}
	input := &s3.UploadPartInput{Bucket: &r.bucket, Key: &r.key, UploadId: &r.uploadID,
		PartNumber: aws.Int32(j.part.Number), Body: j.body, ContentLength: aws.Int64(j.part.Size)}
	setChecksum(r.o.Checksum, sum, &input.ChecksumCRC64NVME, &input.ChecksumCRC32, &input.ChecksumCRC32C,
		&input.ChecksumSHA256, &input.ChecksumSHA1)
	out, err := r.c.s3.UploadPart(ctx, input)
	if err != nil {
		return wrapS3(err)
	}
	r.finish(j.part, aws.ToString(out.ETag), sum, false)
	return nil
}

func (r *multipartRun) same(have types.Part, sum string, body io.ReadSeeker) bool {
	if stored := partChecksum(r.o.Checksum, have); stored != "" {
		return stored == sum
	}
	etag := strings.Trim(aws.ToString(have.ETag), `"`)
	if len(etag) != 32 {
		return false
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return false
	}
	h := md5.New() //nolint:gosec
	if _, err := io.Copy(h, body); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == etag
}

func (r *multipartRun) finish(p Part, etag, sum string, resumed bool) {
	done := types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(etag)}
	setChecksum(r.o.Checksum, sum, &done.ChecksumCRC64NVME, &done.ChecksumCRC32, &done.ChecksumCRC32C,
		&done.ChecksumSHA256, &done.ChecksumSHA1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, done)
	r.bytes += p.Size
	r.parts++
	if resumed {
		r.resumed++
	}
	if r.o.Progress != nil {
		total := r.total
		r.o.Progress(Progress{Bytes: r.bytes, Total: total, Parts: r.parts, TotalParts: r.allParts, Resumed: resumed})
	}
}
