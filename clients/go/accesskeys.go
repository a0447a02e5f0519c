package artifactstore

import (
	"context"
	"net/http"
	"net/url"

	"github.com/artifact-store/artifact-store/clients/go/api"
)

// AccessKeyOptions tune CreateAccessKey.
type AccessKeyOptions struct {
	Description string // what the key is for
	Policy      string // an IAM-style policy (JSON) narrowing what the key may do; "" for none
}

// CreateAccessKey makes an access key for the caller (a Bearer user or the root key). The
// secret is in the answer only: it cannot be read back.
func (c *Client) CreateAccessKey(ctx context.Context, opts AccessKeyOptions) (*api.NewKeyInfo, error) {
	request := api.KeyRequest{}
	if opts.Description != "" {
		request.Description = &opts.Description
	}
	if opts.Policy != "" {
		request.Policy = &opts.Policy
	}
	body, err := jsonBody(request)
	if err != nil {
		return nil, err
	}
	var out api.NewKeyInfo
	if err := c.callJSON(ctx, apiRequest{method: http.MethodPost, path: "/_artifacts/keys", body: body,
		contentType: "application/json"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListAccessKeys lists the caller's access keys (without their secrets).
func (c *Client) ListAccessKeys(ctx context.Context) ([]api.KeyInfo, error) {
	out := []api.KeyInfo{}
	if err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: "/_artifacts/keys"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeAccessKey revokes one of the caller's access keys (NotFound: no such key of theirs).
func (c *Client) RevokeAccessKey(ctx context.Context, accessKeyID string) error {
	return c.callJSON(ctx, apiRequest{method: http.MethodDelete, path: "/_artifacts/keys/" + url.PathEscape(accessKeyID)}, nil)
}
