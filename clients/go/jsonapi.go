package artifactstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"
)

// maxDocument bounds what the SDK reads from a JSON API answer (the API's documents are at
// most 4 MiB).
const maxDocument = 8 << 20

type apiRequest struct {
	method      string
	path        string // under the endpoint, already escaped
	query       url.Values
	body        []byte
	contentType string
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

// call sends one JSON API request, tries again on 503/429 and connection failures (every
// route the SDK calls is idempotent: attach returns the referrer attached before), and
// turns failures into *Error.
func (c *Client) call(ctx context.Context, r apiRequest) (*apiResponse, error) {
	target := c.endpoint + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var last error
	for attempt := 0; attempt < c.maxAttemps; attempt++ {
		if attempt > 0 {
			wait := backoff(attempt)
			var e *Error
			if errors.As(last, &e) && e.RetryAfter > wait {
				wait = e.RetryAfter
			}
			if err := sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
		resp, err := c.once(ctx, r, target)
		if err == nil {
			return resp, nil
		}
		last = err
		var e *Error
		if !errors.As(err, &e) || !e.Retryable() {
			return nil, err
		}
	}
	return nil, last
}

func (c *Client) once(ctx context.Context, r apiRequest, target string) (*apiResponse, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, err
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if err := c.authorize(ctx, req); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Family: FamilyUnavailable, Message: err.Error(), Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument))
	if err != nil {
		return nil, &Error{Family: FamilyUnavailable, Message: err.Error(), Err: err}
	}
	if resp.StatusCode >= 400 {
		return nil, fromResponse(resp, data)
	}
	return &apiResponse{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// authorize sets the JSON API's credentials: Basic for an access key (with its session token
// in X-Amz-Security-Token, as on S3, when it is a temporary one), Bearer otherwise.
func (c *Client) authorize(ctx context.Context, req *http.Request) error {
	switch c.kind {
	case authKeys:
		req.SetBasicAuth(c.accessKey, c.secret)
		if c.sessionToken != "" {
			req.Header.Set("X-Amz-Security-Token", c.sessionToken)
		}
	case authToken, authSTS:
		token, err := c.tokens.AccessToken(ctx)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return nil
}

func (c *Client) callJSON(ctx context.Context, r apiRequest, out any) error {
	resp, err := c.call(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(resp.body, out)
}

// backoff is full-jitter exponential: up to 0.2 s, 0.4 s, 0.8 s ... capped at 5 s.
func backoff(attempt int) time.Duration {
	ceiling := 200 * time.Millisecond << min(attempt-1, 5)
	if ceiling > 5*time.Second {
		ceiling = 5 * time.Second
	}
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

func jsonBody(v any) ([]byte, error) { return json.Marshal(v) }
