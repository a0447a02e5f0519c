package contract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int64
	}{
		{0, 0}, {1000, 1000}, {float64(7), 7}, {"12", 12}, {"5MiB", 5 << 20}, {"512KiB", 512 << 10},
		{"1GiB", 1 << 30}, {"3 MiB", 3 << 20},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%v) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []any{-1, "-5", "5MB", "MiB", "", "1.5MiB", float64(1.5), "+3", nil, "99999999999GiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%v) accepted", bad)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, seed := range []string{"5MiB", "0", "12KiB", "1GiB", "x", "-1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
	})
}

func TestDataIsTheContractsConcatenation(t *testing.T) {
	var want []byte
	for i := 0; len(want) < 100; i++ {
		sum := sha256.Sum256([]byte("3:" + string(rune('0'+i))))
		want = append(want, sum[:]...)
	}
	got, _ := io.ReadAll(Data(100, 3))
	if !bytes.Equal(got, want[:100]) {
		t.Fatalf("data differs:\n%x\n%x", got, want[:100])
	}
	first := sha256.Sum256([]byte("0:0"))
	head, _ := io.ReadAll(Data(4, 0))
	if hex.EncodeToString(head) != hex.EncodeToString(first[:4]) {
		t.Fatal("seed 0 block 0")
	}
}

func TestSameAsData(t *testing.T) {
	body, _ := io.ReadAll(Data(70000, 2))
	for _, tc := range []struct {
		name string
		body []byte
		want bool
	}{
		{"same", body, true},
		{"short", body[:69999], false},
		{"long", append(append([]byte{}, body...), 0), false},
		{"flipped", append(append([]byte{}, body[:5]...), append([]byte{body[5] ^ 1}, body[6:]...)...), false},
	} {
		got, err := SameAsData(bytes.NewReader(tc.body), 70000, 2)
		if err != nil || got != tc.want {
			t.Errorf("%s: %v %v", tc.name, got, err)
		}
	}
}

func TestSubstitute(t *testing.T) {
	got := Substitute(map[string]any{"a": "$bucket/x", "b": []any{"arn:$bucket", 3}}, map[string]string{"bucket": "c-1"})
	m := got.(map[string]any)
	if m["a"] != "c-1/x" || m["b"].([]any)[0] != "arn:c-1" || m["b"].([]any)[1] != 3 {
		t.Fatal(got)
	}
}

func TestScenariosValidate(t *testing.T) {
	scenarios, err := Load("../../contract/scenarios", "../../contract/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(scenarios) == 0 {
		t.Fatal("no scenarios")
	}
}
