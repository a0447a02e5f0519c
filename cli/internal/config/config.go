// Package config resolves artifactctl's settings: built-in defaults, then the profile in
// ~/.config/artifactctl/config.yaml, then ARTIFACT_STORE_* variables, then flags. Each later
// source wins over the earlier ones, value by value, as with aws-cli.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"gopkg.in/yaml.v3"
)

// Environment variables the CLI reads besides the SDK's ARTIFACT_STORE_* ones.
const (
	EnvConfig  = "ARTIFACTCTL_CONFIG"  // the config file's path
	EnvProfile = "ARTIFACTCTL_PROFILE" // the profile's name (ARTIFACT_STORE_PROFILE also works)
)

// Defaults for what no source sets.
const (
	DefaultRegion   = "us-east-1"
	DefaultParallel = 8
	DefaultPartSize = 8 << 20
	DefaultProfile  = "default"
)

// Profile is one named section of the config file. Empty fields inherit from the defaults.
type Profile struct {
	Endpoint        string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Region          string `yaml:"region,omitempty" json:"region,omitempty"`
	AccessKeyID     string `yaml:"access-key-id,omitempty" json:"accessKeyId,omitempty"`
	SecretAccessKey string `yaml:"secret-access-key,omitempty" json:"-"`
	Token           string `yaml:"token,omitempty" json:"-"` // kept by `artifactctl login --token`
	OIDCIssuer      string `yaml:"oidc-issuer,omitempty" json:"oidcIssuer,omitempty"`
	OIDCClient      string `yaml:"oidc-client,omitempty" json:"oidcClient,omitempty"`
	RoleARN         string `yaml:"role-arn,omitempty" json:"roleArn,omitempty"`
	CABundle        string `yaml:"ca-bundle,omitempty" json:"caBundle,omitempty"`
	Parallel        int    `yaml:"parallel,omitempty" json:"parallel,omitempty"`
	PartSize        string `yaml:"part-size,omitempty" json:"partSize,omitempty"`
}

// File is the whole config file.
type File struct {
	Profiles map[string]Profile `yaml:"profiles"`
}

// Path is the config file artifactctl reads: $ARTIFACTCTL_CONFIG, else
// $XDG_CONFIG_HOME/artifactctl/config.yaml (~/.config/artifactctl/config.yaml).
func Path() string {
	if p := os.Getenv(EnvConfig); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "artifactctl", "config.yaml")
}

// Dir is the directory of the config file: cached login tokens live beside it.
func Dir() string { return filepath.Dir(Path()) }

// Load reads a config file; a missing file is an empty one.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &File{Profiles: map[string]Profile{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var f File
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if f.Profiles == nil {
		f.Profiles = map[string]Profile{}
	}
	return &f, nil
}

// Save writes the file readable by its owner only: it may hold a secret key.
func (f *File) Save(path string) error {
	data, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Names lists the profiles in order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Profiles))
	for name := range f.Profiles {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Settings are the resolved values a command runs with.
type Settings struct {
	Name    string // the profile's name
	Profile        // its values, as resolved
	// Credentials: at most one kind is used, in this order: Token, AccessKeyID+Secret, the
	// login cached for the profile.
	Token        string
	SessionToken string
	// Where each resolved value came from (default, file, env, flag), for whoami and errors.
	Sources map[string]string
}

// Flags are the values given on the command line (empty: not given).
type Flags struct {
	Profile, Endpoint, Region, CABundle string
	Parallel                            int
	PartSize                            string
	// NewProfile lets a profile missing from the file resolve (from defaults): `login`
	// creates it.
	NewProfile bool
}

// Resolve merges defaults < file < environment < flags.
func Resolve(file *File, flags Flags, getenv func(string) string) (*Settings, error) {
	name := first(flags.Profile, getenv(EnvProfile), getenv(artifactstore.EnvProfile), DefaultProfile)
	p, found := file.Profiles[name]
	if !found && name != DefaultProfile && !flags.NewProfile {
		return nil, fmt.Errorf("no profile %q in %s (have: %s)", name, Path(), strings.Join(file.Names(), ", "))
	}
	s := &Settings{Name: name, Sources: map[string]string{}}
	pick := func(field string, def string, fromFile string, env string, flag string) string {
		value, source := def, "default"
		if fromFile != "" {
			value, source = fromFile, "file"
		}
		if env != "" {
			if v := getenv(env); v != "" {
				value, source = v, "env"
			}
		}
		if flag != "" {
			value, source = flag, "flag"
		}
		if value != "" {
			s.Sources[field] = source
		}
		return value
	}
	r := &s.Profile
	r.Endpoint = pick("endpoint", "", p.Endpoint, artifactstore.EnvEndpoint, flags.Endpoint)
	r.Region = pick("region", DefaultRegion, p.Region, artifactstore.EnvRegion, flags.Region)
	r.OIDCIssuer = pick("oidc-issuer", "", p.OIDCIssuer, artifactstore.EnvOIDCIssuer, "")
	r.OIDCClient = pick("oidc-client", "artifactctl", p.OIDCClient, artifactstore.EnvOIDCClient, "")
	r.RoleARN = pick("role-arn", "", p.RoleARN, artifactstore.EnvRoleARN, "")
	r.CABundle = pick("ca-bundle", "", p.CABundle, "ARTIFACT_STORE_CA_BUNDLE", flags.CABundle)
	r.PartSize = pick("part-size", "8MiB", p.PartSize, "", flags.PartSize)
	r.Parallel = DefaultParallel
	if p.Parallel > 0 {
		r.Parallel = p.Parallel
	}
	if flags.Parallel > 0 {
		r.Parallel = flags.Parallel
	}
	// Credentials move as a whole: an access key from the environment does not pair with a
	// secret from the file.
	switch {
	case getenv(artifactstore.EnvToken) != "":
		s.Token, s.Sources["credentials"] = getenv(artifactstore.EnvToken), "env"
	case getenv(artifactstore.EnvAccessKeyID) != "" && getenv(artifactstore.EnvSecretKey) != "":
		r.AccessKeyID, r.SecretAccessKey = getenv(artifactstore.EnvAccessKeyID), getenv(artifactstore.EnvSecretKey)
		s.SessionToken, s.Sources["credentials"] = getenv(artifactstore.EnvSessionToken), "env"
	case p.Token != "":
		s.Token, s.Sources["credentials"] = p.Token, "file"
	case p.AccessKeyID != "" && p.SecretAccessKey != "":
		r.AccessKeyID, r.SecretAccessKey, s.Sources["credentials"] = p.AccessKeyID, p.SecretAccessKey, "file"
	}
	if _, err := ParseSize(r.PartSize); err != nil {
		return nil, fmt.Errorf("part-size: %w", err)
	}
	return s, nil
}

// PartBytes is the resolved part size in bytes.
func (s *Settings) PartBytes() int64 {
	n, _ := ParseSize(s.Profile.PartSize)
	return n
}

// ParseSize reads 8MiB, 5MB, 1048576 or 64k (binary units for k/M/G with or without "iB").
func ParseSize(text string) (int64, error) {
	t := strings.TrimSpace(text)
	units := []struct {
		suffix string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"k", 1 << 10}, {"B", 1}}
	factor := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("%q is not a size (e.g. 8MiB, 64KiB, 1048576)", text)
	}
	return n * factor, nil
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
