// Package artifactstore is the Go SDK of the artifact store: S3 through aws-sdk-go-v2, the
// store's JSON API (/_artifacts: referrers, trust, verdicts, presign, recursive deletes)
// through net/http, Keycloak logins, resumable uploads and downloads, signing, and one error
// model (*Error with a Family). No global state: every setting lives in a Client.
package artifactstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gopkg.in/ini.v1"
)

// Environment variables, read as the AWS SDKs read theirs: an explicit option wins over the
// environment, the environment over the profile in the config file.
const (
	EnvEndpoint     = "ARTIFACT_STORE_ENDPOINT"
	EnvRegion       = "ARTIFACT_STORE_REGION"
	EnvAccessKeyID  = "ARTIFACT_STORE_ACCESS_KEY_ID"
	EnvSecretKey    = "ARTIFACT_STORE_SECRET_ACCESS_KEY"
	EnvSessionToken = "ARTIFACT_STORE_SESSION_TOKEN"
	EnvToken        = "ARTIFACT_STORE_TOKEN"
	EnvOIDCIssuer   = "ARTIFACT_STORE_OIDC_ISSUER"
	EnvOIDCClient   = "ARTIFACT_STORE_OIDC_CLIENT"
	EnvProfile      = "ARTIFACT_STORE_PROFILE"
	EnvConfigFile   = "ARTIFACT_STORE_CONFIG_FILE"
	EnvStateDir     = "ARTIFACT_STORE_STATE_DIR"
	EnvRoleARN      = "ARTIFACT_STORE_ROLE_ARN"
)

// DefaultRoleARN names no realm role, so an STS session keeps the token's own roles.
const DefaultRoleARN = "arn:aws:iam::000000000000:role/artifact-store"

type authKind int

const (
	authNone authKind = iota
	authKeys
	authToken
	authSTS
)

type settings struct {
	endpoint, region       string
	accessKey, secret      string
	sessionToken           string
	tokens                 TokenSource
	roleARN                string
	kind                   authKind
	httpClient             *http.Client
	stateDir               string
	maxAttempts            int
	oidcIssuer, oidcClient string
	profile, configFile    string
	useEnv                 bool
}

// Option configures a Client.
type Option func(*settings)

// WithEndpoint sets the gateway's base URL (http://host:port).
func WithEndpoint(url string) Option { return func(s *settings) { s.endpoint = url } }

// WithRegion sets the SigV4 region (default us-east-1).
func WithRegion(region string) Option { return func(s *settings) { s.region = region } }

// WithAccessKey authenticates with an S3 access key (SigV4 on S3, HTTP Basic on the JSON API).
func WithAccessKey(id, secret string) Option {
	return func(s *settings) { s.kind, s.accessKey, s.secret = authKeys, id, secret }
}

// WithSessionToken adds the session token that goes with temporary access keys (from STS).
func WithSessionToken(token string) Option { return func(s *settings) { s.sessionToken = token } }

// WithToken authenticates every call, S3 ones included, with a Keycloak access token as
// Authorization: Bearer, taken from tokens before each attempt (so a refreshing source works).
func WithToken(tokens TokenSource) Option {
	return func(s *settings) { s.kind, s.tokens = authToken, tokens }
}

// WithSTS trades the token for STS session credentials (AssumeRoleWithWebIdentity on the
// gateway), refreshed before they expire; the JSON API keeps the Bearer token. An empty
// roleARN is DefaultRoleARN.
func WithSTS(tokens TokenSource, roleARN string) Option {
	return func(s *settings) { s.kind, s.tokens, s.roleARN = authSTS, tokens, roleARN }
}

// WithHTTPClient sets the client for every request (S3, JSON API, Keycloak).
func WithHTTPClient(c *http.Client) Option { return func(s *settings) { s.httpClient = c } }

// WithStateDir sets where resumable uploads keep their state (default: the user cache dir).
func WithStateDir(dir string) Option { return func(s *settings) { s.stateDir = dir } }

// WithMaxAttempts bounds tries of retryable calls (default 4; 1 disables retries).
func WithMaxAttempts(n int) Option { return func(s *settings) { s.maxAttempts = n } }

// WithProfile picks a section of the config file ([default], [profile NAME]).
func WithProfile(name string) Option { return func(s *settings) { s.profile = name } }

// WithConfigFile names the config file (default ~/.artifact-store/config).
func WithConfigFile(path string) Option { return func(s *settings) { s.configFile = path } }

// WithoutEnvironment ignores ARTIFACT_STORE_* variables and the config file.
func WithoutEnvironment() Option { return func(s *settings) { s.useEnv = false } }

// Client talks to one gateway. It is safe for concurrent use.
type Client struct {
	endpoint  string
	region    string
	s3        *s3.Client
	presign   *s3.PresignClient
	http      *http.Client
	kind      authKind
	tokens    TokenSource
	accessKey string
	secret    string
	// sessionToken goes with a temporary access key (STS).
	sessionToken string
	stateDir     string
	maxAttemps   int
}

// New builds a Client from the options, the environment and the config file's profile.
func New(ctx context.Context, opts ...Option) (*Client, error) {
	s := settings{useEnv: true}
	for _, opt := range opts {
		opt(&s)
	}
	if s.useEnv {
		if err := s.fillFromEnvironment(); err != nil {
			return nil, err
		}
	}
	if s.endpoint == "" {
		return nil, &Error{Family: FamilyInvalidRequest, Code: "NoEndpoint",
			Message: "no endpoint: set " + EnvEndpoint + " or use WithEndpoint"}
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = 4
	}
	if s.stateDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		s.stateDir = filepath.Join(base, "artifact-store", "uploads")
	}
	c := &Client{
		endpoint: strings.TrimRight(s.endpoint, "/"), region: s.region, http: s.httpClient,
		kind: s.kind, tokens: s.tokens, accessKey: s.accessKey, secret: s.secret, sessionToken: s.sessionToken,
		stateDir: s.stateDir, maxAttemps: s.maxAttempts,
	}
	var provider aws.CredentialsProvider
	switch s.kind {
	case authKeys:
		provider = credentials.NewStaticCredentialsProvider(s.accessKey, s.secret, s.sessionToken)
	case authSTS:
		role := s.roleARN
		if role == "" {
			role = DefaultRoleARN
		}
		provider = c.stsProvider(role)
	default:
		provider = aws.AnonymousCredentials{}
	}
	c.s3 = s3.New(s3.Options{
		BaseEndpoint: aws.String(c.endpoint),
		Region:       s.region,
		UsePathStyle: true,
		Credentials:  provider,
		HTTPClient:   s.httpClient,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = s.maxAttempts
		}),
		// Checksums are the SDK's to choose (CRC64NVME by default), not the AWS SDK's.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}, func(o *s3.Options) {
		if s.kind == authToken {
			o.APIOptions = append(o.APIOptions, bearerMiddleware(s.tokens))
		}
	})
	c.presign = s3.NewPresignClient(c.s3)
	_ = ctx
	return c, nil
}

// S3 is the underlying aws-sdk-go-v2 client, for the S3 operations the SDK does not wrap.
func (c *Client) S3() *s3.Client { return c.s3 }

// Endpoint is the gateway's base URL.
func (c *Client) Endpoint() string { return c.endpoint }

func (s *settings) fillFromEnvironment() error {
	profile := map[string]string{}
	name := firstNonEmpty(s.profile, os.Getenv(EnvProfile), "default")
	path := firstNonEmpty(s.configFile, os.Getenv(EnvConfigFile))
	if path == "" {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, ".artifact-store", "config")
		}
	}
	if path != "" {
		values, err := readProfile(path, name)
		if err != nil {
			return err
		}
		profile = values
	}
	pick := func(current, env, key string) string {
		return firstNonEmpty(current, os.Getenv(env), profile[key])
	}
	s.endpoint = pick(s.endpoint, EnvEndpoint, "endpoint")
	s.region = pick(s.region, EnvRegion, "region")
	s.stateDir = pick(s.stateDir, EnvStateDir, "state_dir")
	s.oidcIssuer = pick(s.oidcIssuer, EnvOIDCIssuer, "oidc_issuer")
	s.oidcClient = pick(s.oidcClient, EnvOIDCClient, "oidc_client")
	if s.kind != authNone {
		return nil
	}
	if token := pick("", EnvToken, "token"); token != "" {
		s.kind, s.tokens = authToken, StaticToken(token)
		if role := pick("", EnvRoleARN, "role_arn"); role != "" {
			// As the other SDKs: a token with a role is exchanged for STS session keys.
			s.kind, s.roleARN = authSTS, role
		}
		return nil
	}
	id, secret := pick("", EnvAccessKeyID, "access_key_id"), pick("", EnvSecretKey, "secret_access_key")
	if id != "" && secret != "" {
		s.kind, s.accessKey, s.secret = authKeys, id, secret
		s.sessionToken = pick("", EnvSessionToken, "session_token")
	}
	return nil
}

// readProfile reads [default] or [profile NAME] of an INI file like ~/.aws/config; a missing
// file is an empty profile, a named profile that is not there an error.
func readProfile(path, name string) (map[string]string, error) {
	file, err := ini.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("artifactstore: config file %s: %w", path, err)
	}
	section := "profile " + name
	if name == "default" {
		section = "default"
	}
	if !file.HasSection(section) {
		if name == "default" {
			return map[string]string{}, nil
		}
		return nil, fmt.Errorf("artifactstore: no [%s] in %s", section, path)
	}
	return file.Section(section).KeysHash(), nil
}

// OIDCFromEnvironment is the login provider named by ARTIFACT_STORE_OIDC_ISSUER and
// ARTIFACT_STORE_OIDC_CLIENT (or the profile's oidc_issuer, oidc_client).
func OIDCFromEnvironment(opts ...Option) (*OIDC, error) {
	s := settings{useEnv: true}
	for _, opt := range opts {
		opt(&s)
	}
	if err := s.fillFromEnvironment(); err != nil {
		return nil, err
	}
	if s.oidcIssuer == "" || s.oidcClient == "" {
		return nil, &Error{Family: FamilyInvalidRequest, Code: "NoIssuer",
			Message: "set " + EnvOIDCIssuer + " and " + EnvOIDCClient}
	}
	return &OIDC{Issuer: s.oidcIssuer, ClientID: s.oidcClient, HTTPClient: s.httpClient}, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
