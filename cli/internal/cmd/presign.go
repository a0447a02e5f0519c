package cmd

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	"github.com/spf13/cobra"
)

func init() { register(newPresign) }

// presignResult is presign's JSON result.
type presignResult struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Expires time.Time         `json:"expires"`
	Headers map[string]string `json:"headers"` // headers the request must carry
}

func newPresign(app *App) *cobra.Command {
	var expires time.Duration
	var method string
	c := &cobra.Command{
		Use:   "presign s3://BUCKET/KEY",
		Short: "Make a URL that lets anyone GET (or PUT) one object until it expires",
		Long: `Print a presigned URL for one object: anyone holding it may GET it (or, with --method PUT,
upload it) until --expires runs out, without credentials of their own. With an access key
the URL is signed here (SigV4); with a login or token the gateway signs it.`,
		Example: `  artifactctl presign s3://releases/app/app-1.4.2.tgz
  artifactctl presign s3://uploads/incoming/report.pdf --method PUT --expires 15m
  curl -fsSLO "$(artifactctl presign s3://releases/app/app-1.4.2.tgz --expires 10m)"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			loc, err := parseObject(args[0])
			if err != nil {
				return err
			}
			method = strings.ToUpper(method)
			if method != http.MethodGet && method != http.MethodPut {
				return output.Usagef("--method must be GET or PUT, not %q", method)
			}
			if expires <= 0 || expires > 7*24*time.Hour {
				return output.Usagef("--expires must be between 1s and 168h (7 days), not %s", expires)
			}
			client, err := app.Client(c.Context())
			if err != nil {
				return err
			}
			p, err := client.Presign(c.Context(), method, loc.Bucket, loc.Key, expires)
			if err != nil {
				return err
			}
			r := presignResult{URL: p.URL, Method: p.Method, Expires: p.Expires.UTC().Truncate(time.Second),
				Headers: map[string]string{}}
			for name := range p.Header {
				r.Headers[name] = p.Header.Get(name)
			}
			return app.printer.Result(r, false, func(w io.Writer) {
				fmt.Fprintln(w, r.URL)
				for _, name := range sortedKeys(r.Headers) {
					app.printer.Info("the %s request must carry %s: %s", r.Method, name, r.Headers[name])
				}
			})
		},
	}
	c.Flags().DurationVar(&expires, "expires", time.Hour, "how long the URL works, e.g. 15m, 1h, 24h (at most 168h)")
	c.Flags().StringVar(&method, "method", http.MethodGet, "GET to download, PUT to upload")
	return c
}
