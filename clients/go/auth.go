package artifactstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/oauth2"
)

// TokenSource hands out a valid Keycloak access token, refreshing it when needed.
type TokenSource interface {
	AccessToken(ctx context.Context) (string, error)
}

type staticToken string

func (t staticToken) AccessToken(context.Context) (string, error) { return string(t), nil }

// StaticToken is a token that is never refreshed (ARTIFACT_STORE_TOKEN).
func StaticToken(token string) TokenSource { return staticToken(token) }

// OIDC logs in against the realm's public client (device flow or password grant).
type OIDC struct {
	Issuer     string // the realm's issuer URL
	ClientID   string // a public client, e.g. artifactctl
	HTTPClient *http.Client
	// EarlyRefresh is how long before expiry a token is refreshed (default 10 s, capped at
	// half the token's lifetime so short-lived tokens are still reused).
	EarlyRefresh time.Duration

	once      sync.Once
	endpoint  oauth2.Endpoint
	discovery error
}

func (o *OIDC) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return http.DefaultClient
}

func (o *OIDC) context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, o.httpClient())
}

// discover reads the issuer's openid-configuration for the token and device endpoints.
func (o *OIDC) discover(ctx context.Context) (oauth2.Config, error) {
	o.once.Do(func() {
		url := strings.TrimRight(o.Issuer, "/") + "/.well-known/openid-configuration"
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			o.discovery = err
			return
		}
		resp, err := o.httpClient().Do(req)
		if err != nil {
			o.discovery = &Error{Family: FamilyUnavailable, Message: err.Error(), Err: err}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusOK {
			o.discovery = fromResponse(resp, body)
			return
		}
		var doc struct {
			Token  string `json:"token_endpoint"`
			Device string `json:"device_authorization_endpoint"`
			Auth   string `json:"authorization_endpoint"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || doc.Token == "" {
			o.discovery = fmt.Errorf("artifactstore: %s: no token_endpoint", url)
			return
		}
		o.endpoint = oauth2.Endpoint{AuthURL: doc.Auth, TokenURL: doc.Token, DeviceAuthURL: doc.Device,
			AuthStyle: oauth2.AuthStyleInParams}
	})
	if o.discovery != nil {
		return oauth2.Config{}, o.discovery
	}
	return oauth2.Config{ClientID: o.ClientID, Endpoint: o.endpoint, Scopes: []string{"openid"}}, nil
}

// Session is a logged-in user's tokens; it refreshes the access token before it expires.
type Session struct {
	oidc   *OIDC
	mu     sync.Mutex
	source oauth2.TokenSource
}

// AccessToken is a valid access token, refreshed with the refresh token when due.
func (s *Session) AccessToken(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	token, err := s.source.Token()
	if err != nil {
		return "", wrapOAuth(err)
	}
	return token.AccessToken, nil
}

// Token is the session's current tokens (refreshed first when due), for a caller that keeps
// a login across runs, as a CLI does; Resume takes them back.
func (s *Session) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	token, err := s.source.Token()
	if err != nil {
		return nil, wrapOAuth(err)
	}
	return token, nil
}

// Resume continues a session from tokens a previous login kept: the access token is used
// while valid, then the refresh token renews it (an expired refresh token is Unauthorized).
func (o *OIDC) Resume(ctx context.Context, token *oauth2.Token) (*Session, error) {
	cfg, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	return o.session(ctx, cfg, token), nil
}

func (o *OIDC) session(ctx context.Context, cfg oauth2.Config, token *oauth2.Token) *Session {
	early := o.EarlyRefresh
	if early == 0 {
		early = 10 * time.Second
	}
	if life := time.Until(token.Expiry); life > 0 && early > life/2 {
		early = life / 2
	}
	// The refreshing source outlives the login call: give it its own context (the HTTP
	// client rides in it), not the caller's, which may be cancelled once logged in.
	base := o.context(context.WithoutCancel(ctx))
	return &Session{oidc: o, source: oauth2.ReuseTokenSourceWithExpiry(token, cfg.TokenSource(base, token), early)}
}

// PasswordLogin logs in with the password grant (direct access grants on the client).
func (o *OIDC) PasswordLogin(ctx context.Context, username, password string) (*Session, error) {
	cfg, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	token, err := cfg.PasswordCredentialsToken(o.context(ctx), username, password)
	if err != nil {
		return nil, wrapOAuth(err)
	}
	return o.session(ctx, cfg, token), nil
}

// DeviceCode is what a user needs to approve a device login in a browser.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	Expiry                  time.Time
}

// DeviceLogin runs the OAuth 2.0 device flow: prompt gets the URL and code to show the user
// (a CLI prints them), then DeviceLogin polls until the user approves, refuses or time runs out.
func (o *OIDC) DeviceLogin(ctx context.Context, prompt func(DeviceCode)) (*Session, error) {
	cfg, err := o.discover(ctx)
	if err != nil {
		return nil, err
	}
	auth, err := cfg.DeviceAuth(o.context(ctx))
	if err != nil {
		return nil, wrapOAuth(err)
	}
	prompt(DeviceCode{UserCode: auth.UserCode, VerificationURI: auth.VerificationURI,
		VerificationURIComplete: auth.VerificationURIComplete, Expiry: auth.Expiry})
	token, err := cfg.DeviceAccessToken(o.context(ctx), auth)
	if err != nil {
		return nil, wrapOAuth(err)
	}
	return o.session(ctx, cfg, token), nil
}

func wrapOAuth(err error) error {
	var retrieve *oauth2.RetrieveError
	if errors.As(err, &retrieve) && retrieve.Response != nil {
		out := fromResponse(retrieve.Response, retrieve.Body)
		out.Err = err
		return out
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Family: FamilyUnavailable, Message: err.Error(), Err: err}
}

// bearerMiddleware puts the token on every S3 attempt, after signing (the credentials are
// anonymous, so nothing else claims the Authorization header).
func bearerMiddleware(tokens TokenSource) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("ArtifactStoreBearer",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
				middleware.FinalizeOutput, middleware.Metadata, error) {
				req, ok := in.Request.(*smithyhttp.Request)
				if ok {
					token, err := tokens.AccessToken(ctx)
					if err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
					req.Header.Set("Authorization", "Bearer "+token)
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

type identityToken struct{ tokens TokenSource }

func (t identityToken) GetIdentityToken() ([]byte, error) {
	token, err := t.tokens.AccessToken(context.Background())
	return []byte(token), err
}

// stsProvider trades the token for session credentials at the gateway's STS endpoint, cached
// and renewed a minute before they expire.
func (c *Client) stsProvider(roleARN string) aws.CredentialsProvider {
	client := sts.New(sts.Options{
		BaseEndpoint: aws.String(c.endpoint),
		Region:       c.region,
		HTTPClient:   c.http,
		Credentials:  aws.AnonymousCredentials{},
	})
	provider := stscreds.NewWebIdentityRoleProvider(client, roleARN, identityToken{c.tokens},
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = "artifactstore-go" })
	return aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = time.Minute
	})
}
