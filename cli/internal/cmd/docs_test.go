package cmd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md from the command tree")

// TestDocs fails when docs/cli.md differs from what the generator writes for the command tree,
// so the reference never drifts from the commands; -update rewrites it.
func TestDocs(t *testing.T) {
	module, _ := filepath.Abs(filepath.Join("..", ".."))
	target := filepath.Join(module, "..", "docs", "cli.md")
	root := newRoot(newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" }))
	root.InitDefaultHelpCmd()
	var got bytes.Buffer
	if err := GenerateDocs(&got, root, module); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(target, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(target)
	if err != nil {
		t.Fatalf("%v (generate it: cd cli && go test ./internal/cmd -run TestDocs -update)", err)
	}
	if !bytes.Equal(want, got.Bytes()) {
		t.Fatalf("docs/cli.md is out of date with the command tree: cd cli && go test ./internal/cmd -run TestDocs -update")
	}
}

// Every command that prints a result has its schema, and every example names a command.
func TestSchemasAndExamplesMatchCommands(t *testing.T) {
	module, _ := filepath.Abs(filepath.Join("..", ".."))
	root := newRoot(newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" }))
	names := map[string]bool{}
	for _, c := range leafCommands(root) {
		name := schemaName(c)
		names[name] = true
		if name == "completion" || name == "cat" {
			continue // print a shell script or the object's bytes, never JSON
		}
		if _, err := os.Stat(filepath.Join(module, "schema", "results", name+".json")); err != nil {
			t.Errorf("%s: no result schema: %v", name, err)
		}
	}
	examples, err := readExamples(filepath.Join(module, "docs", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range examples {
		if !names[name] {
			t.Errorf("docs/examples/%s.json names no command", name)
		}
	}
}
