package cmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/artifact-store/artifact-store/cli/internal/config"
	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
)

// globalFlags are the flags every command takes.
type globalFlags struct {
	profile, endpoint, region, caBundle, output, partSize string
	quiet                                                 bool
	parallel                                              int
}

// App is what a command runs with: resolved settings, the printer, and a client made on
// first use (so `version`, `completion` and usage errors need no endpoint).
type App struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	flags          globalFlags
	dryRun         bool

	file     *config.File
	settings *config.Settings
	printer  *output.Printer
	client   *artifactstore.Client
	login    *loginSession // the cached login in use, saved back when refreshed
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *App {
	return &App{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
}

func (a *App) format() output.Format {
	if a.flags.output == string(output.JSON) {
		return output.JSON
	}
	return output.Text
}

// prepare resolves the settings and the printer for the command about to run.
func (a *App) prepare(c *cobra.Command) error {
	if a.flags.output != string(output.Text) && a.flags.output != string(output.JSON) {
		return output.Usagef("--output must be text or json, not %q", a.flags.output)
	}
	a.printer = output.NewPrinter(a.format(), a.flags.quiet, a.stdout, a.stderr, a.getenv)
	a.printer.Command = commandPath(c)
	file, err := config.Load(config.Path())
	if err != nil {
		return &output.UsageError{Msg: err.Error()}
	}
	a.file = file
	settings, err := config.Resolve(file, config.Flags{
		Profile: a.flags.profile, Endpoint: a.flags.endpoint, Region: a.flags.region,
		CABundle: a.flags.caBundle, Parallel: a.flags.parallel, PartSize: a.flags.partSize,
		NewProfile: a.printer.Command == "login",
	}, a.getenv)
	if err != nil {
		return &output.UsageError{Msg: err.Error()}
	}
	a.settings = settings
	return nil
}

// commandPath is "cp", "policy get", ...: the command as the JSON envelope names it.
func commandPath(c *cobra.Command) string {
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

// httpClient trusts the CA bundle when one is set.
func (a *App) httpClient() (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	if path := a.settings.CABundle; path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("ca-bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, output.Usagef("ca-bundle %s holds no PEM certificate", path)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: transport}, nil
}

// Client is the SDK client for the resolved endpoint and credentials.
func (a *App) Client(ctx context.Context) (*artifactstore.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	s := a.settings
	if s.Endpoint == "" {
		return nil, output.Usagef("no endpoint: pass --endpoint, set ARTIFACT_STORE_ENDPOINT or 'endpoint' in profile %q of %s",
			s.Name, config.Path())
	}
	httpClient, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	opts := []artifactstore.Option{
		artifactstore.WithoutEnvironment(), artifactstore.WithEndpoint(s.Endpoint),
		artifactstore.WithRegion(s.Region), artifactstore.WithHTTPClient(httpClient),
	}
	if dir := a.getenv(artifactstore.EnvStateDir); dir != "" {
		opts = append(opts, artifactstore.WithStateDir(dir))
	}
	switch {
	case s.Token != "":
		opts = append(opts, tokenAuth(artifactstore.StaticToken(s.Token), s.RoleARN))
	case s.AccessKeyID != "":
		opts = append(opts, artifactstore.WithAccessKey(s.AccessKeyID, s.SecretAccessKey),
			artifactstore.WithSessionToken(s.SessionToken))
	default:
		login, err := resumeLogin(ctx, s, httpClient)
		if err != nil {
			return nil, err
		}
		if login != nil {
			a.login = login
			opts = append(opts, tokenAuth(login.session, s.RoleARN))
		}
	}
	client, err := artifactstore.New(ctx, opts...)
	if err != nil {
		return nil, err
	}
	a.client = client
	return client, nil
}

// tokenAuth sends the token as Bearer, or trades it for STS keys when a role is configured.
func tokenAuth(tokens artifactstore.TokenSource, roleARN string) artifactstore.Option {
	if roleARN != "" {
		return artifactstore.WithSTS(tokens, roleARN)
	}
	return artifactstore.WithToken(tokens)
}

// close saves a refreshed login so the next run starts from the new tokens.
func (a *App) close() {
	if a.login != nil {
		_ = a.login.save()
	}
}

// unlessDryRun makes the command's change with the client, or nothing under --dry-run: the
// one place where a dry run stops before the store is asked (or even reached).
func (a *App) unlessDryRun(ctx context.Context, change func(*artifactstore.Client) error) error {
	if a.dryRun {
		return nil
	}
	client, err := a.Client(ctx)
	if err != nil {
		return err
	}
	return change(client)
}

// addDryRun gives a command that changes something its --dry-run flag.
func (a *App) addDryRun(c *cobra.Command) {
	c.Flags().BoolVar(&a.dryRun, "dry-run", false, "print what would be done and change nothing")
}
