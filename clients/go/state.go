package artifactstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// uploadState is the small file that lets a killed multipart upload continue: which upload
// id holds this source's parts. The parts themselves are asked of the store (ListParts) and
// checked against the source's bytes before they are skipped.
type uploadState struct {
	Version     int       `json:"version"`
	Bucket      string    `json:"bucket"`
	Key         string    `json:"key"`
	Fingerprint string    `json:"fingerprint"`
	UploadID    string    `json:"upload_id"`
	PartSize    int64     `json:"part_size"`
	Size        int64     `json:"size"`
	Checksum    string    `json:"checksum"`
	Created     time.Time `json:"created"`
}

// statePath names the state of one (bucket, key, source): the three in one hash, so keys
// with any characters make a safe file name.
func statePath(dir, bucket, key, fingerprint string) string {
	sum := sha256.Sum256([]byte(bucket + "\x00" + key + "\x00" + fingerprint))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".json")
}

// loadState reads a state file; a missing, unreadable or foreign one is no state.
func loadState(path, bucket, key, fingerprint string) *uploadState {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var s uploadState
	if json.Unmarshal(data, &s) != nil || s.Version != 1 || s.Bucket != bucket || s.Key != key ||
		s.Fingerprint != fingerprint || s.UploadID == "" {
		return nil
	}
	return &s
}

// saveState writes atomically (a temporary file renamed over the old one), so a kill in the
// middle leaves the old state or the new one, never half of either.
func saveState(path string, s *uploadState) error {
	s.Version = 1
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func removeState(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return
	}
}

// Part is one part of a multipart transfer: its number (from 1), offset and size.
type Part struct {
	Number int32
	Offset int64
	Size   int64
}

// PlanParts splits size bytes into parts of partSize (the last one shorter). S3 allows
// 10,000 parts: a part size too small for that is raised to the smallest that fits,
// rounded up to a MiB.
func PlanParts(size, partSize int64) []Part {
	if size <= 0 {
		return nil
	}
	const maxParts = 10000
	if partSize <= 0 {
		partSize = DefaultPartSize
	}
	if (size+partSize-1)/partSize > maxParts {
		partSize = (size + maxParts - 1) / maxParts
		partSize = (partSize + mib - 1) / mib * mib
	}
	parts := make([]Part, 0, (size+partSize-1)/partSize)
	for offset, n := int64(0), int32(1); offset < size; offset, n = offset+partSize, n+1 {
		parts = append(parts, Part{Number: n, Offset: offset, Size: min(partSize, size-offset)})
	}
	return parts
}
