package cmd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// DocsHeader and the sections below are docs/cli.md's fixed parts; the command reference is
// generated from the command tree, so a command added anywhere shows up on regeneration:
//
//	cd cli && go test ./internal/cmd -run TestDocs -update
const docsHeader = `# artifactctl reference

<!-- Generated from the command tree by cli/internal/cmd/docs.go; do not edit by hand.
     Regenerate: cd cli && go test ./internal/cmd -run TestDocs -update
     (the test fails when this file differs from what the generator writes). -->

artifactctl is the artifact store's CLI: buckets and objects, the signatures, SBOMs and
attestations attached to them, bucket policies, trust settings and access keys. It is built
from [cli/](../cli) on the Go SDK.

    cd cli && go build -o artifactctl ./cmd/artifactctl
`

const docsSettings = `## Settings, profiles and precedence

Every setting comes from, each source overriding the one before, value by value:

1. built-in defaults (region us-east-1, 8 parallel parts of 8MiB, OIDC client artifactctl);
2. the profile's section of the config file, ~/.config/artifactctl/config.yaml
   ($XDG_CONFIG_HOME/artifactctl/config.yaml; another file with ARTIFACTCTL_CONFIG);
3. ARTIFACT_STORE_* environment variables;
4. flags (--endpoint, --region, --ca-bundle, --parallel, --part-size).

The profile is --profile, else ARTIFACTCTL_PROFILE or ARTIFACT_STORE_PROFILE, else "default".
A named profile missing from the file is a usage error (exit 1).

` + "```yaml" + `
profiles:
  default:
    endpoint: https://artifacts.example.com
    oidc-issuer: https://sso.example.com/realms/artifact-store
    oidc-client: artifactctl          # the realm's public client (device flow)
    ca-bundle: /etc/ssl/company-ca.pem
    part-size: 16MiB                  # 8MiB, 64KiB, 5MB, 1048576...
    parallel: 8
  ci:
    endpoint: https://artifacts.example.com
    access-key-id: AKIA0123456789EXAMPLE   # written by 'artifactctl login --access-key'
    secret-access-key: ...                 # the file is kept mode 0600
` + "```" + `

| setting | config key | environment | flag |
| --- | --- | --- | --- |
| endpoint | endpoint | ARTIFACT_STORE_ENDPOINT | --endpoint |
| region | region | ARTIFACT_STORE_REGION | --region |
| CA bundle | ca-bundle | ARTIFACT_STORE_CA_BUNDLE | --ca-bundle |
| OIDC issuer | oidc-issuer | ARTIFACT_STORE_OIDC_ISSUER | login --issuer |
| OIDC client | oidc-client | ARTIFACT_STORE_OIDC_CLIENT | login --client-id |
| role for STS | role-arn | ARTIFACT_STORE_ROLE_ARN | |
| part size | part-size | | --part-size |
| parallel parts | parallel | | --parallel |

Credentials move as a whole (an access key from the environment never pairs with a secret from
the file) and the first of these is used:

1. ARTIFACT_STORE_TOKEN (a Bearer token);
2. ARTIFACT_STORE_ACCESS_KEY_ID + ARTIFACT_STORE_SECRET_ACCESS_KEY (+ ARTIFACT_STORE_SESSION_TOKEN);
3. the profile's token (` + "`login --token`" + `), else its access key (` + "`login --access-key`" + `);
4. the profile's device login, ~/.config/artifactctl/logins/<profile>.json (mode 0600),
   refreshed as it expires and saved back.

` + "`artifactctl whoami`" + ` says which one is in use and where it came from (env, file or login).
Secrets are never taken from the command line in these docs: give them on stdin or in files.
`

const docsOutput = `## JSON output

With ` + "`-o json`" + ` every run prints exactly one JSON document on stdout (progress and prompts go to
stderr). Its shape is versioned: ` + "`schemaVersion`" + ` changes only when a field changes meaning or
goes away; new fields keep it.

` + "```json" + `
{"schemaVersion": 1, "command": "policy get", "result": {...}}
{"schemaVersion": 1, "command": "mb", "dryRun": true, "result": {...}}
{"schemaVersion": 1, "command": "ls", "error": {"exitCode": 2, "family": "NotFound", "code": "NoSuchBucket", "message": "...", "requestId": "..."}}
` + "```" + `

The envelope's schema is [cli/schema/envelope.schema.json](../cli/schema/envelope.schema.json);
each command's ` + "`result`" + ` has its own, cli/schema/results/<command>.json (the command's words joined
by "-", e.g. [policy-get.json](../cli/schema/results/policy-get.json)). Each command below shows a
real document (kept in cli/docs/examples/, checked against these schemas by the tests).
` + "`--dry-run`" + ` results say what would be done and carry ` + "`\"dryRun\": true`" + `.

## Exit codes

Scripts can rely on these; they never change meaning.

| code | meaning |
| --- | --- |
| 0 | success (verify: the object passed) |
| 1 | usage: bad flags or arguments, a bad config file |
| 2 | not found: no such bucket, key, policy, access key, local file |
| 3 | denied: not allowed, or not logged in / credentials rejected |
| 4 | verification failed: verify's verdict failed, or the bucket requires a signature |
| 5 | transient: slow down, unavailable, timed out; try again later |
| 6 | conflict: the bucket is not empty or exists elsewhere, a precondition failed |
| 7 | invalid: the store refused the request as malformed (e.g. a policy it cannot accept) |
| 8 | interrupted (Ctrl-C) |
| 10 | anything else |
`

// GenerateDocs writes docs/cli.md for the command tree under root. module is the cli/
// directory: each command's example is docs/examples/<name>.json and its result schema
// schema/results/<name>.json, name being the command's words joined by "-".
func GenerateDocs(w io.Writer, root *cobra.Command, module string) error {
	examples, err := readExamples(filepath.Join(module, "docs", "examples"))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString(docsHeader)
	commands := leafCommands(root)
	b.WriteString("\n## Commands\n\n")
	for _, c := range commands {
		path := commandPath(c)
		fmt.Fprintf(&b, "- [%s](#%s): %s\n", path, anchor("artifactctl "+path), c.Short)
	}
	b.WriteString("\n" + docsSettings + "\n" + docsOutput)
	b.WriteString("\n## Global flags\n\nEvery command takes these:\n\n```\n")
	b.WriteString(root.PersistentFlags().FlagUsagesWrapped(100))
	b.WriteString("```\n")
	for _, c := range commands {
		writeCommandDocs(&b, c, examples, filepath.Join(module, "schema", "results"))
	}
	_, err = w.Write(b.Bytes())
	return err
}

// leafCommands are the commands that run, depth first in name order (cobra sorts them).
func leafCommands(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || !sub.IsAvailableCommand() && !sub.HasSubCommands() {
				continue
			}
			if sub.Runnable() {
				out = append(out, sub)
			}
			walk(sub)
		}
	}
	walk(root)
	return out
}

func schemaName(c *cobra.Command) string { return strings.ReplaceAll(commandPath(c), " ", "-") }

func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func writeCommandDocs(b *bytes.Buffer, c *cobra.Command, examples map[string][]byte, schemas string) {
	path := commandPath(c)
	fmt.Fprintf(b, "\n## artifactctl %s\n\n%s.\n", path, strings.TrimSuffix(c.Short, "."))
	if parent := c.Parent(); parent != nil && parent != c.Root() && parent.Long != "" {
		fmt.Fprintf(b, "\n%s\n", parent.Long)
	}
	if c.Long != "" {
		fmt.Fprintf(b, "\n%s\n", c.Long)
	}
	fmt.Fprintf(b, "\n```\n%s\n```\n", c.UseLine())
	if flags := c.LocalNonPersistentFlags().FlagUsagesWrapped(100); flags != "" {
		fmt.Fprintf(b, "\nFlags:\n\n```\n%s```\n", flags)
	}
	if c.Example != "" {
		fmt.Fprintf(b, "\nExamples:\n\n```sh\n%s\n```\n", strings.TrimRight(c.Example, "\n"))
	}
	name := schemaName(c)
	if example, ok := examples[name]; ok {
		fmt.Fprintf(b, "\nJSON (`-o json`; result schema [cli/schema/results/%s.json](../cli/schema/results/%s.json)):\n\n```json\n%s\n```\n",
			name, name, strings.TrimRight(string(example), "\n"))
	} else if _, err := os.Stat(filepath.Join(schemas, name+".json")); err == nil {
		fmt.Fprintf(b, "\nJSON result schema: [cli/schema/results/%s.json](../cli/schema/results/%s.json).\n", name, name)
	}
}

// readExamples loads cli/docs/examples/*.json by name.
func readExamples(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	names := []string{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(n, ".json")] = data
	}
	return out, nil
}
