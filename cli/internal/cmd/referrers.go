package cmd

import (
	"fmt"
	"io"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	"github.com/spf13/cobra"
)

func init() { register(newReferrers) }

// referrersResult is `referrers`'s JSON result.
type referrersResult struct {
	Bucket    string          `json:"bucket"`
	Key       string          `json:"key"`
	Referrers []referrerEntry `json:"referrers"`
}

func newReferrers(app *App) *cobra.Command {
	var kind string
	c := &cobra.Command{
		Use:   "referrers s3://BUCKET/KEY",
		Short: "List an object's signatures, SBOMs and attestations",
		Example: `  artifactctl referrers s3://releases/app/1.0/app.tar.gz
  artifactctl referrers --kind sbom s3://releases/app/1.0/app.tar.gz -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			loc, err := parseObject(args[0])
			if err != nil {
				return err
			}
			if kind != "" && !contains(referrerKinds, kind) {
				return output.Usagef("--kind must be sbom, attestation or signature, not %q", kind)
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			found, err := client.Referrers(c.Context(), loc.Bucket, loc.Key, kind)
			if err != nil {
				return err
			}
			result := referrersResult{Bucket: loc.Bucket, Key: loc.Key, Referrers: []referrerEntry{}}
			for _, r := range found {
				result.Referrers = append(result.Referrers, referrerOf(r))
			}
			return app.printer.Result(result, false, func(w io.Writer) {
				for _, r := range result.Referrers {
					fmt.Fprintf(w, "%s %-11s %8d %s %s\n", r.Created.Format("2006-01-02 15:04:05"), r.Kind, r.Size,
						r.Digest, r.MediaType)
				}
			})
		},
	}
	c.Flags().StringVar(&kind, "kind", "", "only this kind: sbom, attestation or signature")
	_ = c.RegisterFlagCompletionFunc("kind", cobra.FixedCompletions(referrerKinds, cobra.ShellCompDirectiveNoFileComp))
	return c
}
