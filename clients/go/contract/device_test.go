package contract

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	artifactstore "github.com/artifact-store/artifact-store/clients/go"
)

var (
	formAction = regexp.MustCompile(`(?s)<form[^>]*action="([^"]+)"`)
	inputField = regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*?(?:value="([^"]*)")?[^>]*>`)
)

// approve plays the user of a device login: opens the verification URL in a "browser" (a
// cookie jar), logs in on Keycloak's form and accepts the grant if asked.
func approve(ctx context.Context, link, user, password string) error {
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	resp, err := browser.Do(req)
	for step := 0; step < 5; step++ {
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if strings.Contains(page, "Device Login Successful") || strings.Contains(page, "device login successful") {
			return nil
		}
		match := formAction.FindStringSubmatch(page)
		if match == nil {
			return errors.New("no form on the page: " + page[:min(len(page), 300)])
		}
		action, _ := resp.Request.URL.Parse(html.UnescapeString(match[1]))
		form := url.Values{}
		for _, field := range inputField.FindAllStringSubmatch(page, -1) {
			form.Set(field[1], html.UnescapeString(field[2]))
		}
		if form.Has("username") || form.Has("password") {
			form.Set("username", user)
			form.Set("password", password)
		}
		form.Set("accept", "Yes")
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err = browser.Do(req)
	}
	return errors.New("the device login was not approved in 5 pages")
}

// TestDeviceLoginLive logs in with the device flow against the live Keycloak (the harness
// sets the contract's environment; without it this test fails: skip it with -skip).
func TestDeviceLoginLive(t *testing.T) {
	env, _, err := readEnvironment()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	oidc := &artifactstore.OIDC{Issuer: env.Issuer, ClientID: env.Client}
	approved := make(chan error, 1)
	var shown artifactstore.DeviceCode
	session, err := oidc.DeviceLogin(ctx, func(code artifactstore.DeviceCode) {
		shown = code
		go func() { approved <- approve(ctx, code.VerificationURIComplete, "carol", env.Users["carol"]) }()
	})
	if err != nil {
		t.Fatalf("device login: %v (approval: %v)", err, <-approved)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	if shown.UserCode == "" || !strings.HasPrefix(shown.VerificationURI, env.Issuer) {
		t.Fatalf("prompt got %+v", shown)
	}
	client, err := artifactstore.New(ctx, artifactstore.WithoutEnvironment(), artifactstore.WithEndpoint(env.Endpoint),
		artifactstore.WithToken(session))
	if err != nil {
		t.Fatal(err)
	}
	// carol (artifact-admin) creates and deletes a bucket with the device login's token.
	bucket := "device-login-" + strings.ToLower(shown.UserCode[:4])
	if err := client.CreateBucket(ctx, bucket); err != nil {
		t.Fatalf("create with the device token: %v", err)
	}
	if err := client.DeleteBucket(ctx, bucket, false); err != nil {
		t.Fatalf("delete with the device token: %v", err)
	}
}
