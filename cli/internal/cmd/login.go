package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/artifact-store/artifact-store/cli/internal/config"
	"github.com/artifact-store/artifact-store/cli/internal/output"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() {
	register(newLogin)
	register(newLogout)
}

// loginResult is `login`'s JSON result. Secrets are never part of it.
type loginResult struct {
	Profile     string     `json:"profile"`
	Method      string     `json:"method"` // device, token or access-key
	Issuer      string     `json:"issuer,omitempty"`
	ClientID    string     `json:"clientId,omitempty"`
	User        string     `json:"user,omitempty"`
	AccessKeyID string     `json:"accessKeyId,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	SavedTo     string     `json:"savedTo"`
}

func newLogin(app *App) *cobra.Command {
	var issuer, clientID, token, accessKey string
	c := &cobra.Command{
		Use:   "login",
		Short: "Log in: the device flow in a browser, or keep a token or an access key",
		Long: `login gives the profile credentials that later runs use.

Without flags it runs the OAuth 2.0 device flow against the realm's public client: it prints a
URL and a code on stderr, you approve the login in a browser (on any device), and the tokens
are kept in ~/.config/artifactctl/logins/<profile>.json (readable by you only) and refreshed
as they expire. The issuer and client come from --issuer/--client-id, the profile's
oidc-issuer/oidc-client, or ARTIFACT_STORE_OIDC_ISSUER/ARTIFACT_STORE_OIDC_CLIENT.

--token keeps an access token (read from stdin; never type it on the command line) as the
profile's token. --access-key ID keeps an access key as the profile's: the secret is read from
stdin, or asked for without echo on a terminal. Both are checked against the store before
they are saved in the config file (mode 0600). Each login replaces the profile's other kind.`,
		Example: `  # log in in a browser (prints a URL and a code)
  artifactctl login
  # keep a CI token for the profile "ci"
  printf '%s' "$CI_TOKEN" | artifactctl login --profile ci --token
  # keep an access key made by 'artifactctl keys create' (the secret on stdin)
  artifactctl login --access-key AKIA0123456789EXAMPLE < secret.txt`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if token != "" && accessKey != "" {
				return output.Usagef("give --token or --access-key, not both")
			}
			switch {
			case token != "":
				return loginToken(c.Context(), app, token)
			case accessKey != "":
				return loginAccessKey(c.Context(), app, accessKey)
			}
			return loginDevice(c.Context(), app, issuer, clientID)
		},
	}
	f := c.Flags()
	f.StringVar(&issuer, "issuer", "", "the realm's OIDC issuer URL (env ARTIFACT_STORE_OIDC_ISSUER)")
	f.StringVar(&clientID, "client-id", "", "the realm's public client (env ARTIFACT_STORE_OIDC_CLIENT; default artifactctl)")
	f.StringVar(&token, "token", "", "keep an access token read from stdin (--token=VALUE takes it from the flag, not recommended)")
	f.Lookup("token").NoOptDefVal = "-"
	f.StringVar(&accessKey, "access-key", "", "keep this access key ID; its secret is read from stdin or asked for")
	return c
}

func loginDevice(ctx context.Context, app *App, issuer, clientID string) error {
	s := app.settings
	issuer, clientID = first(issuer, s.OIDCIssuer), first(clientID, s.OIDCClient)
	if issuer == "" {
		return output.Usagef("no OIDC issuer: pass --issuer, set ARTIFACT_STORE_OIDC_ISSUER or 'oidc-issuer' in profile %q", s.Name)
	}
	httpClient, err := app.httpClient()
	if err != nil {
		return err
	}
	oidc := &artifactstore.OIDC{Issuer: issuer, ClientID: clientID, HTTPClient: httpClient}
	session, err := oidc.DeviceLogin(ctx, func(code artifactstore.DeviceCode) {
		// Always shown, even with --quiet or -o json: without it no one can log in.
		fmt.Fprintf(app.stderr, "To log in, open %s and enter the code %s\n", code.VerificationURI, code.UserCode)
		if code.VerificationURIComplete != "" {
			fmt.Fprintf(app.stderr, "or open %s\n", code.VerificationURIComplete)
		}
		fmt.Fprintf(app.stderr, "Waiting for the approval (until %s)...\n", code.Expiry.Local().Format("15:04:05"))
	})
	if err != nil {
		return err
	}
	token, err := session.Token()
	if err != nil {
		return err
	}
	if err := writeLogin(s.Name, &cachedLogin{Issuer: issuer, ClientID: clientID, Token: token}); err != nil {
		return err
	}
	if err := forgetProfileCredentials(app); err != nil {
		return err
	}
	claims := parseClaims(token.AccessToken)
	result := loginResult{Profile: s.Name, Method: "device", Issuer: issuer, ClientID: clientID,
		User: claims.username(), SavedTo: loginPath(s.Name)}
	if !token.Expiry.IsZero() {
		expiry := token.Expiry.UTC().Truncate(time.Second)
		result.Expires = &expiry
	}
	return app.printer.Result(result, false, func(w io.Writer) {
		fmt.Fprintf(w, "Logged in as %s (profile %s)\n", first(result.User, "?"), s.Name)
	})
}

func loginToken(ctx context.Context, app *App, value string) error {
	token := value
	if value == "-" {
		read, err := readSecret(app, "Token: ")
		if err != nil {
			return err
		}
		token = read
	}
	if token == "" {
		return output.Usagef("no token on stdin")
	}
	s := app.settings
	s.Token, s.AccessKeyID, s.SecretAccessKey, s.SessionToken = token, "", "", ""
	if err := checkCredentials(ctx, app); err != nil {
		return err
	}
	if err := saveProfile(app, func(p *config.Profile) {
		p.Token, p.AccessKeyID, p.SecretAccessKey = token, "", ""
	}); err != nil {
		return err
	}
	if err := removeLogin(s.Name); err != nil {
		return err
	}
	claims := parseClaims(token)
	result := loginResult{Profile: s.Name, Method: "token", Issuer: claims.Issuer, User: claims.username(),
		Expires: claims.expires(), SavedTo: config.Path()}
	return app.printer.Result(result, false, func(w io.Writer) {
		fmt.Fprintf(w, "Token kept for profile %s (%s)\n", s.Name, first(result.User, "a token"))
	})
}

func loginAccessKey(ctx context.Context, app *App, id string) error {
	secret, err := readSecret(app, "Secret access key for "+id+": ")
	if err != nil {
		return err
	}
	if secret == "" {
		return output.Usagef("no secret access key on stdin")
	}
	s := app.settings
	s.Token, s.AccessKeyID, s.SecretAccessKey, s.SessionToken = "", id, secret, ""
	if err := checkCredentials(ctx, app); err != nil {
		return err
	}
	if err := saveProfile(app, func(p *config.Profile) {
		p.Token, p.AccessKeyID, p.SecretAccessKey = "", id, secret
	}); err != nil {
		return err
	}
	if err := removeLogin(s.Name); err != nil {
		return err
	}
	result := loginResult{Profile: s.Name, Method: "access-key", AccessKeyID: id, SavedTo: config.Path()}
	return app.printer.Result(result, false, func(w io.Writer) {
		fmt.Fprintf(w, "Access key %s kept for profile %s\n", id, s.Name)
	})
}

// checkCredentials makes one call that needs them (list buckets), so nothing wrong is saved.
func checkCredentials(ctx context.Context, app *App) error {
	client, err := app.Client(ctx)
	if err != nil {
		return err
	}
	_, err = client.S3().ListBuckets(ctx, nil)
	return artifactstore.WrapS3Error(err)
}

// readSecret reads one line from stdin: asked for without echo on a terminal, else piped.
func readSecret(app *App, prompt string) (string, error) {
	if f, ok := app.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(app.stderr, prompt)
		data, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(app.stderr)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(data)), nil
	}
	line, err := bufio.NewReader(io.LimitReader(app.stdin, 1<<20)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// saveProfile changes the profile in the config file (written 0600: it may hold a secret).
func saveProfile(app *App, change func(*config.Profile)) error {
	file, err := config.Load(config.Path())
	if err != nil {
		return err
	}
	p := file.Profiles[app.settings.Name]
	change(&p)
	file.Profiles[app.settings.Name] = p
	return file.Save(config.Path())
}

// forgetProfileCredentials drops a token or access key the profile kept, so the new login is
// the one used.
func forgetProfileCredentials(app *App) error {
	p, found := app.file.Profiles[app.settings.Name]
	if !found || (p.Token == "" && p.AccessKeyID == "" && p.SecretAccessKey == "") {
		return nil
	}
	return saveProfile(app, func(p *config.Profile) { p.Token, p.AccessKeyID, p.SecretAccessKey = "", "", "" })
}

func removeLogin(profile string) error {
	err := os.Remove(loginPath(profile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// logoutResult is `logout`'s JSON result: what was (or, under --dry-run, would be) removed.
type logoutResult struct {
	Profile string   `json:"profile"`
	Removed []string `json:"removed"`
}

func newLogout(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "logout",
		Short: "Forget the profile's login, token and access key",
		Long: `logout removes the profile's cached login (~/.config/artifactctl/logins/<profile>.json)
and the token or access key kept in its section of the config file. Credentials from
ARTIFACT_STORE_* variables are not touched (unset them yourself).`,
		Example: `  artifactctl logout
  artifactctl logout --profile ci --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			name := app.settings.Name
			result := logoutResult{Profile: name, Removed: []string{}}
			if _, err := os.Stat(loginPath(name)); err == nil {
				result.Removed = append(result.Removed, "login")
			}
			p := app.file.Profiles[name]
			if p.Token != "" {
				result.Removed = append(result.Removed, "token")
			}
			if p.AccessKeyID != "" || p.SecretAccessKey != "" {
				result.Removed = append(result.Removed, "access-key")
			}
			if !app.dryRun {
				if err := removeLogin(name); err != nil {
					return err
				}
				if err := forgetProfileCredentials(app); err != nil {
					return err
				}
			}
			return app.printer.Result(result, app.dryRun, func(w io.Writer) {
				if len(result.Removed) == 0 {
					fmt.Fprintf(w, "Profile %s had no login to remove\n", name)
					return
				}
				fmt.Fprintf(w, "%slogout: profile %s: removed %s\n", dryRunPrefix(app.dryRun), name,
					strings.Join(result.Removed, ", "))
			})
		},
	}
	app.addDryRun(c)
	return c
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
