package cmd

import (
	"fmt"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"io"

	"github.com/spf13/cobra"
)

func init() { register(newMb) }

// bucketResult is the JSON result of mb and rb.
type bucketResult struct {
	Bucket  string `json:"bucket"`
	Created bool   `json:"created,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

func newMb(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "mb s3://BUCKET",
		Short: "Make a bucket (one you already own is no error)",
		Example: `  artifactctl mb s3://releases
  artifactctl mb s3://releases --dry-run -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			bucket, err := parseBucket(args[0])
			if err != nil {
				return err
			}
			result := bucketResult{Bucket: bucket, Created: true}
			if err := app.unlessDryRun(c.Context(), func(client *artifactstore.Client) error {
				return client.CreateBucket(c.Context(), bucket)
			}); err != nil {
				return err
			}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				fmt.Fprintf(w, "%smake_bucket: s3://%s\n", dryRunPrefix(app.dryRun), bucket)
			})
		},
	}
	app.addDryRun(c)
	return c
}

// dryRunPrefix marks text lines of what a --dry-run would have done, as aws s3 does.
func dryRunPrefix(dryRun bool) string {
	if dryRun {
		return "(dryrun) "
	}
	return ""
}
