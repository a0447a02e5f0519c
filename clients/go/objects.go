package artifactstore

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/artifact-store/artifact-store/clients/go/api"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ObjectInfo is what HEAD and listings say about an object.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	ContentType  string
	Metadata     map[string]string
	VersionID    string
	// Checksums the store keeps, by algorithm (CRC64NVME, SHA256, ...), base64 as S3 sends them.
	Checksums map[string]string
	// Referrer counts (x-artifact-store-signatures, -sboms, -attestations); HEAD only.
	Signatures, SBOMs, Attestations int
}

// Head reads an object's metadata.
func (c *Client) Head(ctx context.Context, bucket, key string) (*ObjectInfo, error) {
	var header http.Header
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key,
		ChecksumMode: types.ChecksumModeEnabled}, captureHeader(&header))
	if err != nil {
		return nil, wrapS3(err)
	}
	info := &ObjectInfo{
		Key: key, Size: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified), ContentType: aws.ToString(out.ContentType),
		Metadata: out.Metadata, VersionID: aws.ToString(out.VersionId), Checksums: map[string]string{},
	}
	for name, value := range map[string]*string{"CRC64NVME": out.ChecksumCRC64NVME, "CRC32": out.ChecksumCRC32,
		"CRC32C": out.ChecksumCRC32C, "SHA256": out.ChecksumSHA256, "SHA1": out.ChecksumSHA1} {
		if value != nil {
			info.Checksums[name] = *value
		}
	}
	if out.ChecksumType == types.ChecksumTypeComposite {
		info.Checksums = map[string]string{} // per-part checksums say nothing about the whole
	}
	info.Signatures, _ = strconv.Atoi(header.Get("X-Artifact-Store-Signatures"))
	info.SBOMs, _ = strconv.Atoi(header.Get("X-Artifact-Store-Sboms"))
	info.Attestations, _ = strconv.Atoi(header.Get("X-Artifact-Store-Attestations"))
	return info, nil
}

// ListOptions narrow a listing.
type ListOptions struct {
	Prefix   string
	PageSize int32 // keys per request (default: the server's, 1000)
}

// List iterates over a bucket's objects in key order, fetching pages as the loop needs
// them; a failure is yielded once, as the last pair.
func (c *Client) List(ctx context.Context, bucket string, opts ...func(*ListOptions)) iter.Seq2[ObjectInfo, error] {
	var o ListOptions
	for _, opt := range opts {
		opt(&o)
	}
	return func(yield func(ObjectInfo, error) bool) {
		input := &s3.ListObjectsV2Input{Bucket: &bucket}
		if o.Prefix != "" {
			input.Prefix = &o.Prefix
		}
		if o.PageSize > 0 {
			input.MaxKeys = &o.PageSize
		}
		pages := s3.NewListObjectsV2Paginator(c.s3, input)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				yield(ObjectInfo{}, wrapS3(err))
				return
			}
			for _, item := range page.Contents {
				info := ObjectInfo{Key: aws.ToString(item.Key), Size: aws.ToInt64(item.Size),
					ETag: aws.ToString(item.ETag), LastModified: aws.ToTime(item.LastModified)}
				if !yield(info, nil) {
					return
				}
			}
		}
	}
}

// Delete removes one object (a missing one is no error, as in S3).
func (c *Client) Delete(ctx context.Context, bucket, key string) error {
	_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	return wrapS3(err)
}

// DeleteMany removes keys in batches of 1000 (DeleteObjects); the first key S3 refused
// fails the call.
func (c *Client) DeleteMany(ctx context.Context, bucket string, keys []string) error {
	for start := 0; start < len(keys); start += 1000 {
		batch := keys[start:min(start+1000, len(keys))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i := range batch {
			ids[i] = types.ObjectIdentifier{Key: &batch[i]}
		}
		out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return wrapS3(err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			code, message := aws.ToString(e.Code), aws.ToString(e.Message)
			return &Error{Family: FamilyOf(code, 0, message), Code: code,
				Message: aws.ToString(e.Key) + ": " + message}
		}
	}
	return nil
}

// Presigned is a URL anyone can use once, until it expires, with the given method.
type Presigned struct {
	URL     string
	Method  string
	Header  http.Header // headers the request must carry (none for GET and plain PUT)
	Expires time.Time
}

// Presign makes a GET or PUT URL. Key holders sign locally (SigV4 query); Bearer users ask the
// gateway (POST /_artifacts/presign), since they hold no key to sign with.
func (c *Client) Presign(ctx context.Context, method, bucket, key string, expires time.Duration) (*Presigned, error) {
	if expires <= 0 {
		expires = time.Hour
	}
	if c.kind == authToken {
		body, err := jsonBody(api.PresignRequest{Bucket: bucket, Key: key,
			Method: (*api.PresignRequestMethod)(&method), Expires: ptr(int(expires / time.Second))})
		if err != nil {
			return nil, err
		}
		var out api.PresignedUrl
		err = c.callJSON(ctx, apiRequest{method: http.MethodPost, path: "/_artifacts/presign", body: body,
			contentType: "application/json"}, &out)
		if err != nil {
			return nil, err
		}
		return &Presigned{URL: out.Url, Method: out.Method, Header: http.Header{}, Expires: out.ExpiresAt}, nil
	}
	with := func(o *s3.PresignOptions) { o.Expires = expires }
	var signed *presignedRequest
	switch method {
	case http.MethodGet:
		r, err := c.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key}, with)
		if err != nil {
			return nil, wrapS3(err)
		}
		signed = &presignedRequest{r.URL, r.Method, r.SignedHeader}
	case http.MethodPut:
		r, err := c.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key}, with)
		if err != nil {
			return nil, wrapS3(err)
		}
		signed = &presignedRequest{r.URL, r.Method, r.SignedHeader}
	default:
		return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidMethod", Message: "presign GET or PUT, not " + method}
	}
	header := http.Header{}
	for name, values := range signed.header {
		if http.CanonicalHeaderKey(name) != "Host" {
			header[http.CanonicalHeaderKey(name)] = values
		}
	}
	return &Presigned{URL: signed.url, Method: signed.method, Header: header, Expires: time.Now().Add(expires)}, nil
}

type presignedRequest struct {
	url, method string
	header      http.Header
}

// PutRaw stores body with one plain PutObject (no multipart, no resume state).
func (c *Client) PutRaw(ctx context.Context, bucket, key string, body []byte) error {
	_, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key,
		Body: bytesReader(body), ContentLength: aws.Int64(int64(len(body)))})
	return wrapS3(err)
}

// CreateBucket makes a bucket (an existing one of yours is no error, as in us-east-1).
func (c *Client) CreateBucket(ctx context.Context, bucket string) error {
	_, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket})
	return wrapS3(err)
}

// DeleteBucket deletes an empty bucket; with recursive, the gateway deletes everything in
// it first (DELETE /_artifacts/buckets/{bucket}?recursive=true, admins) and DeleteBucket
// waits for the job to finish.
func (c *Client) DeleteBucket(ctx context.Context, bucket string, recursive bool) error {
	if !recursive {
		_, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
		return wrapS3(err)
	}
	resp, err := c.call(ctx, apiRequest{method: http.MethodDelete, path: "/_artifacts/buckets/" + url.PathEscape(bucket),
		query: url.Values{"recursive": {"true"}}})
	if err != nil {
		return err
	}
	for resp.status == http.StatusAccepted {
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return err
		}
		status, err := c.call(ctx, apiRequest{method: http.MethodGet,
			path: "/_artifacts/buckets/" + url.PathEscape(bucket) + "/deletion"})
		if err != nil {
			return err
		}
		var job api.DeletionStatus
		if err := json.Unmarshal(status.body, &job); err != nil {
			return err
		}
		switch job.State {
		case api.DeletionStatusStateDone:
			return nil
		case api.DeletionStatusStateFailed:
			e := &Error{Family: FamilyConflict, Code: "DeletionFailed", Message: "the recursive deletion failed"}
			if job.Problem != nil {
				e.Message = job.Problem.Detail
				if job.Problem.Status == http.StatusForbidden {
					e.Family = FamilyAccessDenied
				}
			}
			return e
		}
	}
	return nil
}

// PutBucketPolicy sets a bucket policy (an IAM-style JSON document).
func (c *Client) PutBucketPolicy(ctx context.Context, bucket string, policy any) error {
	document, err := json.Marshal(policy)
	if err != nil {
		return err
	}
	_, err = c.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &bucket, Policy: aws.String(string(document))})
	return wrapS3(err)
}

// GetBucketPolicy reads a bucket's policy as a JSON object.
func (c *Client) GetBucketPolicy(ctx context.Context, bucket string) (map[string]any, error) {
	out, err := c.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: &bucket})
	if err != nil {
		return nil, wrapS3(err)
	}
	var policy map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &policy); err != nil {
		return nil, err
	}
	return policy, nil
}

// DeleteBucketPolicy removes a bucket's policy (no error when it has none).
func (c *Client) DeleteBucketPolicy(ctx context.Context, bucket string) error {
	_, err := c.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: &bucket})
	return wrapS3(err)
}

func ptr[T any](v T) *T { return &v }
