package cmd

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
)

func init() { register(newLs) }

// lsEntry is one line of `ls`: a prefix (a "directory" when not recursive) or an object.
type lsEntry struct {
	Key          string     `json:"key"`
	Prefix       bool       `json:"prefix,omitempty"`
	Size         int64      `json:"size"`
	ETag         string     `json:"etag,omitempty"`
	LastModified *time.Time `json:"lastModified,omitempty"`
}

// lsResult is `ls`'s JSON result.
type lsResult struct {
	Bucket  string    `json:"bucket"`
	Prefix  string    `json:"prefix"`
	Entries []lsEntry `json:"entries"`
}

func newLs(app *App) *cobra.Command {
	var recursive bool
	c := &cobra.Command{
		Use:   "ls [s3://BUCKET[/PREFIX]]",
		Short: "List buckets, or the objects under a prefix",
		Example: `  artifactctl ls s3://releases/app/
  artifactctl ls -r s3://releases -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return listBuckets(c, app, client)
			}
			loc, err := parseLocation(args[0])
			if err != nil {
				return err
			}
			if !loc.remote() {
				return output.Usagef("ls takes s3://BUCKET[/PREFIX], not %q", args[0])
			}
			result := lsResult{Bucket: loc.Bucket, Prefix: loc.Key, Entries: []lsEntry{}}
			seen := map[string]bool{}
			for info, err := range client.List(c.Context(), loc.Bucket, func(o *artifactstore.ListOptions) {
				o.Prefix = loc.Key
			}) {
				if err != nil {
					return err
				}
				if !recursive {
					rest := strings.TrimPrefix(info.Key, loc.Key)
					if dir, _, nested := strings.Cut(rest, "/"); nested {
						name := loc.Key + dir + "/"
						if !seen[name] {
							seen[name] = true
							result.Entries = append(result.Entries, lsEntry{Key: name, Prefix: true})
						}
						continue
					}
				}
				modified := info.LastModified.UTC()
				result.Entries = append(result.Entries, lsEntry{Key: info.Key, Size: info.Size,
					ETag: strings.Trim(info.ETag, `"`), LastModified: &modified})
			}
			return app.printer.Result(result, false, func(w io.Writer) {
				for _, e := range result.Entries {
					if e.Prefix {
						fmt.Fprintf(w, "%30s %s\n", "PRE", e.Key)
						continue
					}
					fmt.Fprintf(w, "%s %10d %s\n", e.LastModified.Format("2006-01-02 15:04:05"), e.Size, e.Key)
				}
			})
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "list every key under the prefix, not one level")
	return c
}

// bucketEntry is one bucket in `ls` without arguments.
type bucketEntry struct {
	Name    string     `json:"name"`
	Created *time.Time `json:"created,omitempty"`
}

func listBuckets(c *cobra.Command, app *App, client *artifactstore.Client) error {
	out, err := client.S3().ListBuckets(c.Context(), nil)
	if err != nil {
		return artifactstore.WrapS3Error(err)
	}
	result := struct {
		Buckets []bucketEntry `json:"buckets"`
	}{Buckets: []bucketEntry{}}
	for _, b := range out.Buckets {
		entry := bucketEntry{Name: *b.Name}
		if b.CreationDate != nil {
			created := b.CreationDate.UTC()
			entry.Created = &created
		}
		result.Buckets = append(result.Buckets, entry)
	}
	return app.printer.Result(result, false, func(w io.Writer) {
		for _, b := range result.Buckets {
			when := ""
			if b.Created != nil {
				when = b.Created.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(w, "%19s %s\n", when, b.Name)
		}
	})
}
