package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"github.com/artifact-store/artifact-store/cli/internal/config"
	artifactstore "github.com/artifact-store/artifact-store/clients/go"
	"golang.org/x/oauth2"
)

// cachedLogin is what `artifactctl login` keeps per profile, beside the config file, readable
// by its owner only: the issuer and client it came from and the OAuth tokens.
type cachedLogin struct {
	Issuer   string        `json:"issuer"`
	ClientID string        `json:"clientId"`
	Token    *oauth2.Token `json:"token"`
}

// loginSession is a resumed login and the file it came from.
type loginSession struct {
	profile string
	cached  cachedLogin
	session *artifactstore.Session
}

// loginPath is where a profile's login is kept.
func loginPath(profile string) string {
	return filepath.Join(config.Dir(), "logins", profile+".json")
}

func readLogin(profile string) (*cachedLogin, error) {
	data, err := os.ReadFile(loginPath(profile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c cachedLogin
	if err := json.Unmarshal(data, &c); err != nil || c.Token == nil {
		return nil, nil // a damaged cache is no login: `artifactctl login` writes a new one
	}
	return &c, nil
}

func writeLogin(profile string, c *cachedLogin) error {
	path := loginPath(profile)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// resumeLogin continues the profile's cached login, nil when there is none.
func resumeLogin(ctx context.Context, s *config.Settings, httpClient *http.Client) (*loginSession, error) {
	cached, err := readLogin(s.Name)
	if err != nil || cached == nil {
		return nil, err
	}
	oidc := &artifactstore.OIDC{Issuer: cached.Issuer, ClientID: cached.ClientID, HTTPClient: httpClient}
	session, err := oidc.Resume(ctx, cached.Token)
	if err != nil {
		return nil, err
	}
	return &loginSession{profile: s.Name, cached: *cached, session: session}, nil
}

// save writes the tokens back when the session refreshed them.
func (l *loginSession) save() error {
	token, err := l.session.Token()
	if err != nil || token.AccessToken == l.cached.Token.AccessToken {
		return err
	}
	l.cached.Token = token
	return writeLogin(l.profile, &l.cached)
}
