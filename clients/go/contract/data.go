// Package contract runs the SDK contract (clients/contract/): language-neutral scenarios
// that the Python, Go and JS SDKs each execute against a live gateway. This file holds the
// pure parts: sizes and the deterministic data every runner generates alike.
package contract

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ParseSize reads a size: a non-negative integer of bytes, or a string such as "5MiB",
// "512KiB", "1GiB" or "123" (binary units only, as the contract says).
func ParseSize(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		if n < 0 {
			return 0, fmt.Errorf("negative size %d", n)
		}
		return int64(n), nil
	case int64:
		if n < 0 {
			return 0, fmt.Errorf("negative size %d", n)
		}
		return n, nil
	case float64:
		if n < 0 || n != float64(int64(n)) {
			return 0, fmt.Errorf("bad size %v", n)
		}
		return int64(n), nil
	case string:
		return parseSizeString(n)
	}
	return 0, fmt.Errorf("bad size %v (%T)", v, v)
}

func parseSizeString(s string) (int64, error) {
	text := strings.TrimSpace(s)
	unit := int64(1)
	for suffix, factor := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(text, suffix) {
			text, unit = strings.TrimSpace(strings.TrimSuffix(text, suffix)), factor
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || text == "" || text[0] == '+' {
		return 0, fmt.Errorf("bad size %q", s)
	}
	if n > (1<<62)/unit {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return n * unit, nil
}

// Data is the contract's deterministic byte stream for a seed: SHA-256("<seed>:<i>") for
// i = 0, 1, 2 ... concatenated, cut to size bytes.
func Data(size int64, seed int64) io.Reader {
	return io.LimitReader(&dataReader{seed: seed}, size)
}

type dataReader struct {
	seed  int64
	i     int64
	block []byte
}

func (d *dataReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.block) == 0 {
			sum := sha256.Sum256([]byte(strconv.FormatInt(d.seed, 10) + ":" + strconv.FormatInt(d.i, 10)))
			d.block = sum[:]
			d.i++
		}
		c := copy(p[n:], d.block)
		d.block = d.block[c:]
		n += c
	}
	return n, nil
}

// WriteData writes the data to path unless a file of that size is already there (it is
// the same bytes then: scenarios reuse their source files, so resumed uploads see the file
// they were interrupted on).
func WriteData(path string, size, seed int64) error {
	if st, err := os.Stat(path); err == nil && st.Size() == size {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.Copy(w, Data(size, seed)); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SameAsData says whether r holds exactly the data of (size, seed).
func SameAsData(r io.Reader, size, seed int64) (bool, error) {
	want := bufio.NewReaderSize(Data(size, seed), 1<<20)
	got := bufio.NewReaderSize(r, 1<<20)
	a, b := make([]byte, 1<<16), make([]byte, 1<<16)
	for {
		n, errA := io.ReadFull(want, a)
		m, errB := io.ReadFull(got, b[:len(a)])
		if n != m || string(a[:n]) != string(b[:m]) {
			return false, nil
		}
		if errA != nil || errB != nil {
			if (errA == nil) != (errB == nil) {
				return false, nil
			}
			if errB != io.EOF && errB != io.ErrUnexpectedEOF {
				return false, errB
			}
			return true, nil
		}
	}
}
