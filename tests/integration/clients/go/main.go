// Command s3client is a small S3 client on aws-sdk-go-v2, driven by
// tests/integration/clients/test_go_sdk.py. One operation per run, JSON on stdout.
//
//	s3client mb BUCKET | rb BUCKET
//	s3client put BUCKET KEY FILE                PutObject, Body = *os.File
//	s3client upload BUCKET KEY FILE PART_MIB    feature/s3/manager Uploader
//	s3client download BUCKET KEY FILE PART_MIB  feature/s3/manager Downloader: ranged GETs
//	s3client get BUCKET KEY FILE | head BUCKET KEY | rm BUCKET KEY
//	s3client ls BUCKET PREFIX DELIMITER
//	s3client presign BUCKET KEY
//
// Endpoint in S3_ENDPOINT; credentials, region and an HTTPS endpoint's CA (AWS_CA_BUNDLE) from
// the SDK's usual environment. Each result carries, for each request the SDK sent, its method,
// its query parameters' names and the headers that tell how it framed and checksummed the body
// ("sent").
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var telling = map[string]bool{
	"Content-Encoding":             true,
	"Content-Length":               true,
	"Range":                        true,
	"Transfer-Encoding":            true,
	"X-Amz-Content-Sha256":         true,
	"X-Amz-Decoded-Content-Length": true,
	"X-Amz-Sdk-Checksum-Algorithm": true,
	"X-Amz-Trailer":                true,
}

// recorder keeps the telling headers of every request it passes on (the upload and download
// managers send from several goroutines).
type recorder struct {
	inner aws.HTTPClient
	mu    sync.Mutex
	sent  []map[string]string
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	names := []string{}
	for name := range req.URL.Query() {
		names = append(names, name)
	}
	sort.Strings(names)
	seen := map[string]string{"method": req.Method, "query": strings.Join(names, "&")}
	for name, values := range req.Header {
		if telling[name] || strings.HasPrefix(name, "X-Amz-Checksum-") {
			seen[strings.ToLower(name)] = strings.Join(values, ",")
		}
	}
	if req.ContentLength >= 0 {
		seen["content-length"] = strconv.FormatInt(req.ContentLength, 10)
	}
	if len(req.TransferEncoding) > 0 {
		seen["transfer-encoding"] = strings.Join(req.TransferEncoding, ",")
	}
	r.mu.Lock()
	r.sent = append(r.sent, seen)
	r.mu.Unlock()
	return r.inner.Do(req)
}

func run(ctx context.Context, args []string) (map[string]any, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil { // set only when AWS_CA_BUNDLE is
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	rec := &recorder{inner: cfg.HTTPClient, sent: []map[string]string{}}
	cfg.HTTPClient = rec
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("S3_ENDPOINT"))
		o.UsePathStyle = true
		o.RetryMaxAttempts = 1
	})
	result := map[string]any{}
	op, bucket := args[0], aws.String(args[1])
	switch op {
	case "mb":
		_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket})
	case "rb":
		_, err = client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket})
	case "put":
		var file *os.File
		if file, err = os.Open(args[3]); err != nil {
			return nil, err
		}
		defer file.Close()
		var out *s3.PutObjectOutput
		out, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &args[2], Body: file})
		if err == nil {
			result["etag"] = aws.ToString(out.ETag)
		}
	case "upload":
		var file *os.File
		if file, err = os.Open(args[3]); err != nil {
			return nil, err
		}
		defer file.Close()
		var mib int64
		if mib, err = strconv.ParseInt(args[4], 10, 64); err != nil {
			return nil, err
		}
		uploader := manager.NewUploader(client, func(u *manager.Uploader) {
			u.PartSize = mib << 20
		})
		var out *manager.UploadOutput
		out, err = uploader.Upload(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &args[2], Body: file})
		if err == nil {
			result["etag"] = aws.ToString(out.ETag)
		}
	case "download":
		var mib int64
		if mib, err = strconv.ParseInt(args[4], 10, 64); err != nil {
			return nil, err
		}
		var file *os.File
		if file, err = os.Create(args[3]); err != nil {
			return nil, err
		}
		defer file.Close()
		downloader := manager.NewDownloader(client, func(d *manager.Downloader) {
			d.PartSize = mib << 20
		})
		var n int64
		n, err = downloader.Download(ctx, file, &s3.GetObjectInput{Bucket: bucket, Key: &args[2]})
		result["size"] = n
	case "get":
		var out *s3.GetObjectOutput
		if out, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: &args[2]}); err != nil {
			return nil, err
		}
		defer out.Body.Close()
		var file *os.File
		if file, err = os.Create(args[3]); err != nil {
			return nil, err
		}
		defer file.Close()
		_, err = io.Copy(file, out.Body)
		result["etag"] = aws.ToString(out.ETag)
	case "head":
		var out *s3.HeadObjectOutput
		out, err = client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: &args[2]})
		if err == nil {
			result["size"] = aws.ToInt64(out.ContentLength)
			result["etag"] = aws.ToString(out.ETag)
		}
	case "ls":
		var out *s3.ListObjectsV2Output
		out, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
			Bucket: bucket, Prefix: &args[2], Delimiter: &args[3],
		})
		if err == nil {
			keys, prefixes := []string{}, []string{}
			for _, item := range out.Contents {
				keys = append(keys, aws.ToString(item.Key))
			}
			for _, item := range out.CommonPrefixes {
				prefixes = append(prefixes, aws.ToString(item.Prefix))
			}
			result["keys"], result["prefixes"] = keys, prefixes
		}
	case "presign":
		presigned, perr := s3.NewPresignClient(client).PresignGetObject(ctx,
			&s3.GetObjectInput{Bucket: bucket, Key: &args[2]}, s3.WithPresignExpires(10*time.Minute))
		if err = perr; err == nil {
			result["url"] = presigned.URL
		}
	case "rm":
		_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: &args[2]})
	default:
		err = fmt.Errorf("unknown operation %q", op)
	}
	result["sent"] = rec.sent
	return result, err
}

func main() {
	result, err := run(context.Background(), os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
