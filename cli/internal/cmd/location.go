package cmd

import (
	"strings"

	"github.com/artifact-store/artifact-store/cli/internal/output"
)

// location is an s3://bucket/key URI or a local path ("-" is stdin or stdout).
type location struct {
	Bucket, Key string
	Local       string
}

func (l location) remote() bool { return l.Bucket != "" }

func (l location) String() string {
	if l.remote() {
		return "s3://" + l.Bucket + "/" + l.Key
	}
	return l.Local
}

// parseLocation reads s3://bucket[/key] as remote and anything else as a local path.
func parseLocation(arg string) (location, error) {
	rest, ok := strings.CutPrefix(arg, "s3://")
	if !ok {
		if arg == "" {
			return location{}, output.Usagef("empty path")
		}
		return location{Local: arg}, nil
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return location{}, output.Usagef("%q names no bucket (s3://bucket/key)", arg)
	}
	return location{Bucket: bucket, Key: key}, nil
}

// parseBucket reads s3://bucket or a bare bucket name.
func parseBucket(arg string) (string, error) {
	loc, err := parseLocation(arg)
	if err != nil {
		return "", err
	}
	if !loc.remote() {
		if strings.Contains(arg, "/") {
			return "", output.Usagef("%q is not a bucket (s3://bucket)", arg)
		}
		return arg, nil
	}
	if strings.Trim(loc.Key, "/") != "" {
		return "", output.Usagef("%q names a key; give only the bucket (s3://%s)", arg, loc.Bucket)
	}
	return loc.Bucket, nil
}

// parseObject reads s3://bucket/key, the key required.
func parseObject(arg string) (location, error) {
	loc, err := parseLocation(arg)
	if err != nil {
		return loc, err
	}
	if !loc.remote() || loc.Key == "" {
		return loc, output.Usagef("%q is not an object (s3://bucket/key)", arg)
	}
	return loc, nil
}
