// Package cmd is artifactctl's command tree. Every command follows one shape: parse its
// arguments, build what it would do, print that and stop under --dry-run, else do it through
// the Go SDK and print one result (text or the JSON envelope). Errors become exit codes in
// one place (Main), so every command exits the same way for the same failure.
package cmd

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/artifact-store/artifact-store/cli/internal/output"
	"github.com/spf13/cobra"
)

// Version is set at build time (-ldflags "-X .../cmd.Version=v1.2.3").
var Version = "dev"

// Main runs artifactctl with args and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := newApp(stdin, stdout, stderr, os.Getenv)
	root := newRoot(app)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	app.close()
	if err == nil {
		return output.ExitOK
	}
	if app.printer == nil { // failed before a command ran: flags, arguments, config
		app.printer = output.NewPrinter(app.format(), app.flags.quiet, stdout, stderr, app.getenv)
		app.printer.Command = root.Name()
	}
	var usage *output.UsageError
	if !errors.As(err, &usage) && isCobraUsage(err) {
		err = &output.UsageError{Msg: err.Error()}
	}
	return app.printer.Error(err)
}

func newRoot(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "artifactctl",
		Short: "Store, sign, verify and fetch artifacts in the artifact store",
		Long: `artifactctl works with the artifact store: S3 buckets and objects, the signatures, SBOMs
and attestations attached to them, bucket policies, trust and access keys.

Settings come from, each overriding the one before: built-in defaults, the profile in
~/.config/artifactctl/config.yaml (ARTIFACTCTL_CONFIG), ARTIFACT_STORE_* environment
variables, then flags. Credentials: ARTIFACT_STORE_TOKEN, or ARTIFACT_STORE_ACCESS_KEY_ID +
ARTIFACT_STORE_SECRET_ACCESS_KEY (+ ARTIFACT_STORE_SESSION_TOKEN), or the profile's access
key, or the login 'artifactctl login' kept for the profile.

Exit codes: 0 ok, 1 usage, 2 not found, 3 denied, 4 verification failed, 5 transient (retry),
6 conflict, 7 invalid request, 8 interrupted, 10 other.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Version:           Version,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error { return app.prepare(c) },
	}
	root.SetVersionTemplate("artifactctl {{.Version}}\n")
	f := root.PersistentFlags()
	f.StringVar(&app.flags.profile, "profile", "", "profile in the config file (default \"default\"; env ARTIFACTCTL_PROFILE)")
	f.StringVar(&app.flags.endpoint, "endpoint", "", "the gateway's URL, e.g. https://artifacts.example.com (env ARTIFACT_STORE_ENDPOINT)")
	f.StringVar(&app.flags.region, "region", "", "SigV4 region (default us-east-1)")
	f.StringVar(&app.flags.caBundle, "ca-bundle", "", "PEM file of CAs to trust for the endpoint (env ARTIFACT_STORE_CA_BUNDLE)")
	f.StringVarP(&app.flags.output, "output", "o", "text", "output format: text or json (a versioned schema, docs/cli.md)")
	f.BoolVarP(&app.flags.quiet, "quiet", "q", false, "no progress bars or informational lines")
	f.IntVar(&app.flags.parallel, "parallel", 0, "parallel part transfers (default 8)")
	f.StringVar(&app.flags.partSize, "part-size", "", "multipart part size, e.g. 16MiB (default 8MiB)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	for _, add := range commands {
		root.AddCommand(add(app))
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &output.UsageError{Msg: err.Error()} })
	return root
}

// commands are the subcommands; each file adds its own in an init function.
var commands []func(*App) *cobra.Command

func register(build func(*App) *cobra.Command) { commands = append(commands, build) }

// isCobraUsage tells cobra's own argument errors (unknown command, wrong arg count).
func isCobraUsage(err error) bool {
	var usage *output.UsageError
	if errors.As(err, &usage) {
		return true
	}
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ",
		"requires at least", "requires at most", "invalid argument", "flag needs an argument",
		"required flag", "if any flags in the group"} {
		if len(msg) >= len(prefix) && msg[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}
