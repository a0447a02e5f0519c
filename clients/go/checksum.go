package artifactstore

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // S3's SHA1 checksum, not a signature
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"

	s3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// crc64NVME is the reversed NVMe polynomial, as hash/crc64 takes it (S3's CRC64NVME).
const crc64NVME = 0x9a6c9329ac4bc9b5

var crc64NVMETable = crc64.MakeTable(crc64NVME)

// DefaultChecksum is what uploads send unless told otherwise (as aws-cli v2 does).
const DefaultChecksum = types.ChecksumAlgorithmCrc64nvme

func newChecksum(algorithm types.ChecksumAlgorithm) (hash.Hash, error) {
	switch algorithm {
	case types.ChecksumAlgorithmCrc64nvme:
		return crc64.New(crc64NVMETable), nil
	case types.ChecksumAlgorithmCrc32:
		return crc32.NewIEEE(), nil
	case types.ChecksumAlgorithmCrc32c:
		return crc32.New(crc32.MakeTable(crc32.Castagnoli)), nil
	case types.ChecksumAlgorithmSha256:
		return sha256.New(), nil
	case types.ChecksumAlgorithmSha1:
		return sha1.New(), nil //nolint:gosec
	}
	return nil, &Error{Family: FamilyInvalidRequest, Code: "InvalidChecksum",
		Message: fmt.Sprintf("unsupported checksum algorithm %q", algorithm)}
}

// fullObject says whether S3 keeps a whole-object value for multipart uploads of the
// algorithm (CRCs combine; SHA digests of parts only compose).
func fullObject(algorithm types.ChecksumAlgorithm) bool {
	switch algorithm {
	case types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c:
		return true
	}
	return false
}

// checksumOf reads r to its end and returns the base64 checksum S3 would compute.
func checksumOf(algorithm types.ChecksumAlgorithm, r io.Reader) (string, error) {
	h, err := newChecksum(algorithm)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// captureHeader keeps the raw answer's headers (the store's own x-artifact-store-* ones,
// which the AWS SDK's output types do not carry).
func captureHeader(into *http.Header) func(*s3.Options) {
	return func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("ArtifactStoreHeaders",
				func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
					middleware.DeserializeOutput, middleware.Metadata, error) {
					out, md, err := next.HandleDeserialize(ctx, in)
					if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
						*into = resp.Header
					}
					return out, md, err
				}), middleware.After)
		})
	}
}
