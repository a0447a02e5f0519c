package cmd

import (
	"fmt"
	"io"
	"os"
	"time"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/artifact-store/artifact-store/clients/go/api"
	"github.com/spf13/cobra"
)

func init() { register(newKeys) }

// keyEntry is an access key in JSON results; SecretAccessKey only from `keys create`.
type keyEntry struct {
	AccessKeyID     string     `json:"accessKeyId,omitempty"`
	SecretAccessKey string     `json:"secretAccessKey,omitempty"`
	Owner           string     `json:"owner,omitempty"`
	Description     string     `json:"description"`
	Created         *time.Time `json:"created,omitempty"`
	Policy          string     `json:"policy,omitempty"`
	Roles           []string   `json:"roles,omitempty"`
	Groups          []string   `json:"groups,omitempty"`
}

func keyOf(k api.KeyInfo) keyEntry {
	created := k.Created.UTC()
	return keyEntry{AccessKeyID: k.AccessKeyId, Owner: k.Owner, Description: k.Description, Created: &created,
		Policy: deref(k.Policy), Roles: k.Roles, Groups: k.Groups}
}

func newKeys(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "keys",
		Short: "Make, list and revoke your access keys (for SigV4 clients and CI)",
		Long: `Access keys let S3 tools (aws, mc, boto3, ...) and CI jobs act as you, with your roles and
groups, optionally narrowed by a policy. They are managed with a login (or the root key): a key
cannot make or revoke keys. The secret is shown once, by 'keys create'.`,
	}
	c.AddCommand(newKeysCreate(app), newKeysList(app), newKeysRevoke(app))
	return c
}

func newKeysCreate(app *App) *cobra.Command {
	var description, policyFile string
	c := &cobra.Command{
		Use:   "create",
		Short: "Make an access key (its secret is shown once)",
		Example: `  artifactctl keys create --description "release CI"
  # narrowed by a policy; the JSON (with the secret) kept in a file only you read
  (umask 077; artifactctl keys create --description ci --policy ci-policy.json -o json > ci-key.json)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts := artifactstore.AccessKeyOptions{Description: description}
			if policyFile != "" {
				data, err := os.ReadFile(policyFile)
				if err != nil {
					return err
				}
				opts.Policy = string(data)
			}
			result := keyEntry{Description: description, Policy: opts.Policy}
			if !app.dryRun {
				client, err := app.Client(c.Context())
				if err != nil {
					return err
				}
				made, err := client.CreateAccessKey(c.Context(), opts)
				if err != nil {
					return err
				}
				result = keyOf(api.KeyInfo{AccessKeyId: made.AccessKeyId, Owner: made.Owner, Created: made.Created,
					Description: made.Description, Policy: made.Policy, Roles: made.Roles, Groups: made.Groups})
				result.SecretAccessKey = made.SecretAccessKey
			}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				if app.dryRun {
					fmt.Fprintf(w, "(dryrun) create_access_key: %q\n", description)
					return
				}
				fmt.Fprintf(w, "AccessKeyId:     %s\nSecretAccessKey: %s\n", result.AccessKeyID, result.SecretAccessKey)
				fmt.Fprintln(app.stderr, "The secret is shown only now: keep it (e.g. 'artifactctl login --access-key ID' reads it from stdin).")
			})
		},
	}
	c.Flags().StringVar(&description, "description", "", "what the key is for")
	c.Flags().StringVar(&policyFile, "policy", "", "an IAM-style policy (JSON file) narrowing what the key may do")
	app.addDryRun(c)
	return c
}

// keysListResult is `keys list`'s JSON result.
type keysListResult struct {
	Keys []keyEntry `json:"keys"`
}

func newKeysList(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List your access keys (never their secrets)",
		Example: `  artifactctl keys list -o json`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			keys, err := client.ListAccessKeys(c.Context())
			if err != nil {
				return err
			}
			result := keysListResult{Keys: []keyEntry{}}
			for _, k := range keys {
				result.Keys = append(result.Keys, keyOf(k))
			}
			return app.printer.Result(result, false, func(w io.Writer) {
				for _, k := range result.Keys {
					fmt.Fprintf(w, "%s %s %s\n", k.Created.Format("2006-01-02 15:04:05"), k.AccessKeyID, k.Description)
				}
			})
		},
	}
}

// revokeResult is `keys revoke`'s JSON result.
type revokeResult struct {
	AccessKeyID string `json:"accessKeyId"`
	Revoked     bool   `json:"revoked"`
}

func newKeysRevoke(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "revoke ACCESS_KEY_ID",
		Short: "Revoke one of your access keys (exit 2: no such key of yours)",
		Example: `  artifactctl keys revoke AKIA0123456789EXAMPLE
  artifactctl keys revoke AKIA0123456789EXAMPLE --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			id := args[0]
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			if app.dryRun {
				// Say whether it would work: the key must be one of the caller's.
				keys, err := client.ListAccessKeys(c.Context())
				if err != nil {
					return err
				}
				found := false
				for _, k := range keys {
					found = found || k.AccessKeyId == id
				}
				if !found {
					return &artifactstore.Error{Family: artifactstore.FamilyNotFound, Code: "NoSuchKey",
						Message: "no access key " + id + " of yours"}
				}
			} else if err := client.RevokeAccessKey(c.Context(), id); err != nil {
				return err
			}
			return app.printer.Result(revokeResult{AccessKeyID: id, Revoked: true}, app.dryRun, func(w io.Writer) {
				fmt.Fprintf(w, "%srevoke_access_key: %s\n", dryRunPrefix(app.dryRun), id)
			})
		},
	}
	app.addDryRun(c)
	return c
}
