package cmd

import (
	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
)

func init() { register(newCat) }

func newCat(app *App) *cobra.Command {
	var requireSignature bool
	c := &cobra.Command{
		Use:   "cat s3://BUCKET/KEY",
		Short: "Write an object's bytes to stdout (streamed, checksum verified)",
		Long: `Stream an object to stdout in one GET (memory does not grow with its size), hashing it on
the way: when the store's full-object CRC64NVME does not match what arrived, cat exits 4
(the bytes are written by then; use cp to a file to keep none). --require-signature checks
the gateway's verdict before the first byte. stdout is the object's, so -o json applies only
to errors.`,
		Example: `  artifactctl cat s3://releases/app/1.4.2/checksums.txt
  artifactctl cat --require-signature s3://releases/app/app-1.4.2.tgz | tar xz`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			loc, err := parseObject(args[0])
			if err != nil {
				return err
			}
			if app.printer.Format == output.JSON {
				return output.Usagef("-o json cannot share stdout with the object's bytes (cat writes them there)")
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			_, err = client.Download(c.Context(), loc.Bucket, loc.Key, app.stdout, func(o *artifactstore.DownloadOptions) {
				o.RequireSignature = requireSignature
			})
			return err
		},
	}
	c.Flags().BoolVar(&requireSignature, "require-signature", false,
		"refuse (exit 4, nothing written) an object without a signature the bucket trusts")
	return c
}
