package cmd

import (
	"fmt"
	"io"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
)

func init() { register(newRb) }

// rbResult is rb's JSON result.
type rbResult struct {
	Bucket    string `json:"bucket"`
	Deleted   bool   `json:"deleted"`
	Recursive bool   `json:"recursive"`
	// Objects is how many objects a --recursive --dry-run found (what would go with it).
	Objects *int `json:"objects,omitempty"`
}

func newRb(app *App) *cobra.Command {
	var recursive bool
	c := &cobra.Command{
		Use:   "rb s3://BUCKET",
		Short: "Remove a bucket (with --recursive, everything in it first)",
		Long: `Remove an empty bucket. With --recursive the gateway deletes every object, signature and
attachment in it and then the bucket (an admin operation; rb waits until it is done).
--dry-run deletes nothing; with --recursive it counts what would go.`,
		Example: `  artifactctl rb s3://scratch
  artifactctl rb s3://scratch --recursive --dry-run
  artifactctl rb s3://scratch --recursive -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			bucket, err := parseBucket(args[0])
			if err != nil {
				return err
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			result := rbResult{Bucket: bucket, Deleted: true, Recursive: recursive}
			if app.dryRun {
				// A dry run still says whether the bucket is there, and what is in it.
				n := 0
				for _, err := range client.List(c.Context(), bucket) {
					if err != nil {
						return err
					}
					n++
					if !recursive {
						break
					}
				}
				if recursive {
					result.Objects = &n
				} else if n > 0 {
					return &artifactstore.Error{Family: artifactstore.FamilyConflict, Code: "BucketNotEmpty",
						Message: "The bucket you tried to delete is not empty (rb --recursive deletes what is in it)"}
				}
			} else if err := client.DeleteBucket(c.Context(), bucket, recursive); err != nil {
				return err
			}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				fmt.Fprintf(w, "%sremove_bucket: s3://%s\n", dryRunPrefix(app.dryRun), bucket)
			})
		},
	}
	c.Flags().BoolVar(&recursive, "recursive", false, "delete everything in the bucket first (admins)")
	app.addDryRun(c)
	return c
}
