package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	"github.com/spf13/cobra"
)

func init() { register(newRm) }

// rmResult is rm's JSON result: the keys deleted (or, under --dry-run, that would be).
type rmResult struct {
	Bucket  string   `json:"bucket"`
	Keys    []string `json:"keys"`
	Deleted int      `json:"deleted"`
}

func newRm(app *App) *cobra.Command {
	var recursive bool
	var f filters
	c := &cobra.Command{
		Use:   "rm s3://BUCKET/KEY",
		Short: "Delete an object, or with -r every object under a prefix",
		Long: `Delete one object, or with -r every object under a prefix (in batches of 1000, --include and
--exclude choosing which). As in S3, deleting a key that does not exist succeeds.`,
		Example: `  artifactctl rm s3://releases/app/app-1.4.2.tgz
  artifactctl rm -r s3://releases/app/1.4.2/ --dry-run
  artifactctl rm -r s3://scratch/ci/ --include '*.log' -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runRm(c.Context(), app, args[0], recursive, &f)
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "delete every object under the prefix")
	addFilterFlags(c, &f)
	app.addDryRun(c)
	return c
}

func runRm(ctx context.Context, app *App, arg string, recursive bool, f *filters) error {
	loc, err := parseLocation(arg)
	if err != nil {
		return err
	}
	if !loc.remote() {
		return output.Usagef("rm takes s3://BUCKET/KEY, not %q", arg)
	}
	result := rmResult{Bucket: loc.Bucket, Keys: []string{}}
	if !recursive {
		if loc.Key == "" {
			return output.Usagef("%s names no key (rm -r deletes everything under a prefix; rb a bucket)", arg)
		}
		result.Keys = append(result.Keys, loc.Key)
	}
	if recursive || !app.dryRun {
		client, err := app.Client(ctx)
		if err != nil {
			return err
		}
		if recursive {
			objects, err := listRemote(ctx, client, loc.Bucket, loc.Key, f)
			if err != nil {
				return err
			}
			for _, o := range objects {
				result.Keys = append(result.Keys, o.Key)
			}
		}
		if !app.dryRun {
			if recursive {
				err = client.DeleteMany(ctx, loc.Bucket, result.Keys)
			} else {
				err = client.Delete(ctx, loc.Bucket, loc.Key)
			}
			if err != nil {
				return err
			}
		}
	}
	result.Deleted = len(result.Keys)
	return app.printer.Result(result, app.dryRun, func(w io.Writer) {
		if app.printer.Quiet {
			return
		}
		for _, k := range result.Keys {
			fmt.Fprintf(w, "%sdelete: s3://%s/%s\n", dryRunPrefix(app.dryRun), loc.Bucket, k)
		}
	})
}
