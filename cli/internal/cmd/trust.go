package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/artifact-store/artifact-store/clients/go/api"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
)

func init() { register(newTrust) }

// trustResult is the JSON result of the trust commands.
type trustResult struct {
	Bucket           string              `json:"bucket"`
	RequireSignature *bool               `json:"requireSignature,omitempty"`
	Receipts         *bool               `json:"receipts,omitempty"`
	Keys             []trustedKey        `json:"keys,omitempty"`
	Identities       []api.IdentityModel `json:"identities,omitempty"`
	AddedKey         string              `json:"addedKey,omitempty"`
}

type trustedKey struct {
	Name      string `json:"name"`
	PublicKey string `json:"publicKey"`
}

func newTrust(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "trust",
		Short: "Whom a bucket trusts to sign, and whether it requires a signature",
		Long: `A bucket's trust settings name the public keys (and keyless identities) whose signatures
count in verdicts, and whether GETs of objects no trusted signer signed are refused
(require-signature). Changing them needs an admin.`,
	}
	c.AddCommand(newTrustGet(app), newTrustRequireSignature(app), newTrustAddKey(app))
	return c
}

func trustOf(bucket string, t *api.TrustModel) trustResult {
	r := trustResult{Bucket: bucket, RequireSignature: t.RequireSignature, Receipts: t.Receipts}
	if t.Keys != nil {
		for _, k := range *t.Keys {
			r.Keys = append(r.Keys, trustedKey{Name: k.Name, PublicKey: k.PublicKey})
		}
	}
	if t.Identities != nil {
		r.Identities = *t.Identities
	}
	return r
}

func newTrustGet(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "get s3://BUCKET",
		Short:   "Print a bucket's trust settings",
		Example: `  artifactctl trust get s3://releases -o json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			bucket, err := parseBucket(args[0])
			if err != nil {
				return err
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			trust, err := client.GetTrust(c.Context(), bucket)
			if errors.Is(err, artifactstore.ErrNotFound) {
				// No trust settings is a bucket trusting no one, unless the bucket is missing.
				if _, headErr := client.S3().HeadBucket(c.Context(), headBucket(bucket)); headErr != nil {
					return artifactstore.WrapS3Error(headErr)
				}
				trust, err = &api.TrustModel{}, nil
			}
			if err != nil {
				return err
			}
			result := trustOf(bucket, trust)
			return app.printer.Result(result, false, func(w io.Writer) {
				fmt.Fprintf(w, "require-signature: %v\n", result.RequireSignature != nil && *result.RequireSignature)
				for _, k := range result.Keys {
					fmt.Fprintf(w, "key: %s\n", k.Name)
				}
				for _, id := range result.Identities {
					data, _ := json.Marshal(id)
					fmt.Fprintf(w, "identity: %s\n", data)
				}
			})
		},
	}
}

func newTrustRequireSignature(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "require-signature on|off s3://BUCKET",
		Short: "Refuse (on) or allow (off) GETs of objects no trusted key signed",
		Example: `  artifactctl trust require-signature on s3://releases
  artifactctl trust require-signature off s3://releases --dry-run`,
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"on", "off"},
		RunE: func(c *cobra.Command, args []string) error {
			if args[0] != "on" && args[0] != "off" {
				return output.Usagef("require-signature takes on or off, not %q", args[0])
			}
			on := args[0] == "on"
			bucket, err := parseBucket(args[1])
			if err != nil {
				return err
			}
			if err := app.unlessDryRun(c.Context(), func(client *artifactstore.Client) error {
				return client.SetRequireSignature(c.Context(), bucket, on)
			}); err != nil {
				return err
			}
			return app.printer.Result(trustResult{Bucket: bucket, RequireSignature: &on}, app.dryRun, func(w io.Writer) {
				fmt.Fprintf(w, "%srequire_signature: s3://%s %s\n", dryRunPrefix(app.dryRun), bucket, args[0])
			})
		},
	}
	app.addDryRun(c)
	return c
}

func newTrustAddKey(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:     "add-key s3://BUCKET NAME PUBLIC.pem",
		Short:   "Trust a public key's signatures on a bucket (replaces a key of the same name)",
		Example: `  artifactctl trust add-key s3://releases release release.pem.pub`,
		Args:    cobra.ExactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			bucket, err := parseBucket(args[0])
			if err != nil {
				return err
			}
			name := args[1]
			data, err := os.ReadFile(args[2])
			if err != nil {
				return err
			}
			if _, err := artifactstore.ParsePublicKeyPEM(data); err != nil {
				return output.Usagef("%s: %v", args[2], err)
			}
			if err := app.unlessDryRun(c.Context(), func(client *artifactstore.Client) error {
				return client.TrustKey(c.Context(), bucket, name, string(data))
			}); err != nil {
				return err
			}
			result := trustResult{Bucket: bucket, AddedKey: name}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				fmt.Fprintf(w, "%strust_key: s3://%s %s (%s)\n", dryRunPrefix(app.dryRun), bucket, name, args[2])
			})
		},
	}
	app.addDryRun(c)
	return c
}

func headBucket(bucket string) *s3.HeadBucketInput { return &s3.HeadBucketInput{Bucket: &bucket} }
