package contract

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// Scenario is one file of clients/contract/scenarios/.
type Scenario struct {
	Name    string         `json:"name"`
	Summary string         `json:"summary"`
	Auth    Auth           `json:"auth"`
	Steps   []Step         `json:"steps"`
	Raw     map[string]any `json:"-"`
}

// Auth says how the scenario's client authenticates.
type Auth struct {
	Kind   string `json:"kind"` // keys | token | sts | password
	User   string `json:"user,omitempty"`
	Client string `json:"client,omitempty"` // "short": the 2-second-token client
}

// Step is one call: "do" names the op, the other members are its arguments and
// expectations, read by the runner as it needs them.
type Step map[string]any

// Do is the op's name.
func (s Step) Do() string { v, _ := s["do"].(string); return v }

// Load reads every scenario of dir (sorted by name), each validated against schemaPath and
// checked to be named after its file.
func Load(dir, schemaPath string) ([]Scenario, error) {
	compiler := jsonschema.NewCompiler()
	abs, err := filepath.Abs(schemaPath)
	if err != nil {
		return nil, err
	}
	schema, err := compiler.Compile(abs)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", schemaPath, err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	more, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
	files = append(files, more...)
	sort.Strings(files)
	var out []Scenario
	for _, file := range files {
		s, err := loadOne(file, schema)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func loadOne(file string, schema *jsonschema.Schema) (Scenario, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Scenario{}, err
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Scenario{}, err
	}
	// Through JSON, so the validator and the runner see JSON's types (numbers, objects).
	asJSON, err := json.Marshal(doc)
	if err != nil {
		return Scenario{}, err
	}
	instance, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		return Scenario{}, err
	}
	if err := schema.Validate(instance); err != nil {
		return Scenario{}, err
	}
	var s Scenario
	decoder := json.NewDecoder(bytes.NewReader(asJSON))
	if err := decoder.Decode(&s); err != nil {
		return Scenario{}, err
	}
	_ = json.Unmarshal(asJSON, &s.Raw)
	stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(file), ".yaml"), ".yml")
	if s.Name != stem {
		return Scenario{}, fmt.Errorf("name %q is not the file's stem %q", s.Name, stem)
	}
	return s, nil
}

// Substitute replaces "$bucket" (and any other variable given) in every string of v.
func Substitute(v any, vars map[string]string) any {
	switch x := v.(type) {
	case string:
		for name, value := range vars {
			x = strings.ReplaceAll(x, "$"+name, value)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = Substitute(item, vars)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = Substitute(item, vars)
		}
		return out
	}
	return v
}
