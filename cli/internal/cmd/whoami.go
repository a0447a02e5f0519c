package cmd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
)

func init() { register(newWhoami) }

// claims are what whoami shows of a token (read, not verified: the store verifies it).
type claims struct {
	Issuer            string   `json:"iss"`
	Subject           string   `json:"sub"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	Expiry            int64    `json:"exp"`
	RealmAccess       struct {
		Roles []string `json:"roles"`
	} `json:"realm_access"`
}

// parseClaims reads a JWT's payload; a token that is not a JWT has no claims.
func parseClaims(token string) claims {
	var c claims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c
	}
	_ = json.Unmarshal(payload, &c)
	return c
}

func (c claims) username() string { return first(c.PreferredUsername, c.Subject) }

func (c claims) expires() *time.Time {
	if c.Expiry == 0 {
		return nil
	}
	t := time.Unix(c.Expiry, 0).UTC()
	return &t
}

// whoamiResult is `whoami`'s JSON result.
type whoamiResult struct {
	Profile     string     `json:"profile"`
	Endpoint    string     `json:"endpoint"`
	Credentials string     `json:"credentials"` // token, access-key or login
	Source      string     `json:"source"`      // env, file or login
	User        string     `json:"user,omitempty"`
	Issuer      string     `json:"issuer,omitempty"`
	Subject     string     `json:"subject,omitempty"`
	Groups      []string   `json:"groups,omitempty"`
	Roles       []string   `json:"roles,omitempty"`
	Expires     *time.Time `json:"expires,omitempty"`
	AccessKeyID string     `json:"accessKeyId,omitempty"`
	Arn         string     `json:"arn,omitempty"`
	UserID      string     `json:"userId,omitempty"`
	Account     string     `json:"account,omitempty"`
}

func newWhoami(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who the store sees you as, and where the credentials came from",
		Long: `whoami asks the store who the credentials in use belong to. For an access key that is
STS GetCallerIdentity at the endpoint (ARN, user id, account); for a token (ARTIFACT_STORE_TOKEN,
a token kept by 'login --token', or the cached device login) it shows the token's claims
(issuer, subject, user, groups, roles, expiry) after the store accepted it. 'source' says where
the credentials came from: env, file (the config file's profile) or login.`,
		Example: `  artifactctl whoami
  artifactctl whoami --profile ci -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			client, err := app.Client(ctx)
			if err != nil {
				return err
			}
			s := app.settings
			result := whoamiResult{Profile: s.Name, Endpoint: s.Endpoint, Source: s.Sources["credentials"]}
			var token string
			switch {
			case s.Token != "":
				result.Credentials, token = "token", s.Token
			case s.AccessKeyID != "":
				result.Credentials, result.AccessKeyID = "access-key", s.AccessKeyID
			case app.login != nil:
				result.Credentials, result.Source = "login", "login"
				if token, err = app.login.session.AccessToken(ctx); err != nil {
					return err
				}
			default:
				return &artifactstore.Error{Family: artifactstore.FamilyUnauthorized, Code: "NotLoggedIn",
					Message: fmt.Sprintf("no credentials for profile %q: run 'artifactctl login' or set ARTIFACT_STORE_TOKEN", s.Name)}
			}
			if result.Credentials == "access-key" {
				if err := callerIdentity(ctx, app, &result); err != nil {
					return err
				}
			} else {
				// The live check: the store must accept the token, not just the claims look right.
				if _, err := client.S3().ListBuckets(ctx, nil); err != nil {
					return artifactstore.WrapS3Error(err)
				}
				cl := parseClaims(token)
				result.User, result.Issuer, result.Subject = cl.username(), cl.Issuer, cl.Subject
				result.Groups, result.Roles, result.Expires = cl.Groups, cl.RealmAccess.Roles, cl.expires()
			}
			return app.printer.Result(result, false, func(w io.Writer) { printWhoami(w, result) })
		},
	}
}

// callerIdentity asks the gateway's STS endpoint who signed the request.
func callerIdentity(ctx context.Context, app *App, result *whoamiResult) error {
	s := app.settings
	httpClient, err := app.httpClient()
	if err != nil {
		return err
	}
	client := sts.New(sts.Options{
		BaseEndpoint: aws.String(s.Endpoint),
		Region:       s.Region,
		HTTPClient:   httpClient,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, s.SessionToken),
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return artifactstore.WrapS3Error(err)
	}
	result.Arn, result.UserID, result.Account = aws.ToString(out.Arn), aws.ToString(out.UserId), aws.ToString(out.Account)
	if i := strings.LastIndex(result.Arn, "/"); i >= 0 {
		result.User = result.Arn[i+1:]
	}
	return nil
}

func printWhoami(w io.Writer, r whoamiResult) {
	line := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "%-12s %s\n", name+":", value)
		}
	}
	line("user", r.User)
	line("credentials", r.Credentials+" (from "+r.Source+", profile "+r.Profile+")")
	line("endpoint", r.Endpoint)
	line("access key", r.AccessKeyID)
	line("arn", r.Arn)
	line("account", r.Account)
	line("issuer", r.Issuer)
	line("subject", r.Subject)
	line("groups", strings.Join(r.Groups, ", "))
	line("roles", strings.Join(r.Roles, ", "))
	if r.Expires != nil {
		line("expires", r.Expires.Local().Format(time.RFC3339))
	}
}
