package cmd

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
)

func init() { register(newVersion) }

// versionResult is `version`'s JSON result.
type versionResult struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

func newVersion(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print artifactctl's version",
		Example: "  artifactctl version\n  artifactctl version -o json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			r := versionResult{Version: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			return app.printer.Result(r, false, func(w io.Writer) {
				fmt.Fprintf(w, "artifactctl %s (%s, %s)\n", r.Version, r.GoVersion, r.Platform)
			})
		},
	}
}
