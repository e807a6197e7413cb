package client

import (
	"context"
	"net/url"

	"github.com/keyward/keyward/api"
)

// KeyQuery filters a key listing; zero values mean any.
type KeyQuery struct {
	Group, Type, State, Tag, NamePrefix, Name string
	After                                     string
	Limit                                     int
}

func (q KeyQuery) values() url.Values {
	v := pageQuery(q.After, q.Limit)
	for k, s := range map[string]string{"group": q.Group, "type": q.Type, "state": q.State, "tag": q.Tag, "name_prefix": q.NamePrefix, "name": q.Name} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func keyPath(ref string, rest ...string) string {
	p := "/v1/keys/" + url.PathEscape(ref)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// ListKeys lists a page of keys.
func (c *Client) ListKeys(ctx context.Context, q KeyQuery) (*api.KeyList, error) {
	var out api.KeyList
	return &out, c.do(ctx, "GET", "/v1/keys", q.values(), nil, &out)
}

// CreateKey generates a key.
func (c *Client) CreateKey(ctx context.Context, in api.KeyCreate) (*api.Key, error) {
	var out api.Key
	return &out, c.do(ctx, "POST", "/v1/keys", nil, in, &out)
}

// ImportKey imports key material.
func (c *Client) ImportKey(ctx context.Context, in api.KeyImport) (*api.Key, error) {
	var out api.Key
	return &out, c.do(ctx, "POST", "/v1/keys/import", nil, in, &out)
}

// GetKey gets a key by id or name.
func (c *Client) GetKey(ctx context.Context, ref string) (*api.Key, error) {
	var out api.Key
	return &out, c.do(ctx, "GET", keyPath(ref), nil, nil, &out)
}

// UpdateKey changes a key's metadata.
func (c *Client) UpdateKey(ctx context.Context, ref string, in api.KeyUpdate) (*api.Key, error) {
	var out api.Key
	return &out, c.do(ctx, "PATCH", keyPath(ref), nil, in, &out)
}

// ExportKey exports a key's material.
func (c *Client) ExportKey(ctx context.Context, ref string, in api.KeyExport) (*api.KeyExported, error) {
	var out api.KeyExported
	return &out, c.do(ctx, "POST", keyPath(ref, "export"), nil, in, &out)
}

// CopyKey copies a key into another group.
func (c *Client) CopyKey(ctx context.Context, ref string, in api.KeyCopy) (*api.Key, error) {
	var out api.Key
	return &out, c.do(ctx, "POST", keyPath(ref, "copy"), nil, in, &out)
}

// RotateKey replaces a key with new material.
func (c *Client) RotateKey(ctx context.Context, ref string, in api.KeyRotate) (*api.KeyRotated, error) {
	var out api.KeyRotated
	return &out, c.do(ctx, "POST", keyPath(ref, "rotate"), nil, in, &out)
}

// SetKeyState applies "activate", "deactivate", "compromise" or "destroy".
func (c *Client) SetKeyState(ctx context.Context, ref, action string) (*api.Key, error) {
	var out api.Key
	return &out, c.do(ctx, "POST", keyPath(ref, action), nil, nil, &out)
}

// KeyLinks lists a key's copies and rotations.
func (c *Client) KeyLinks(ctx context.Context, ref string) (*api.KeyLinks, error) {
	var out api.KeyLinks
	return &out, c.do(ctx, "GET", keyPath(ref, "links"), nil, nil, &out)
}

// RotationPolicy returns when a key rotates on its own (not_found: never).
func (c *Client) RotationPolicy(ctx context.Context, ref string) (*api.RotationPolicy, error) {
	var out api.RotationPolicy
	return &out, c.do(ctx, "GET", keyPath(ref, "rotation-policy"), nil, nil, &out)
}

// SetRotationPolicy makes a key rotate on a schedule, replacing its policy.
func (c *Client) SetRotationPolicy(ctx context.Context, ref string, in api.RotationPolicyInput) (*api.RotationPolicy, error) {
	var out api.RotationPolicy
	return &out, c.do(ctx, "PUT", keyPath(ref, "rotation-policy"), nil, in, &out)
}

// DeleteRotationPolicy stops a key's scheduled rotations.
func (c *Client) DeleteRotationPolicy(ctx context.Context, ref string) error {
	return c.do(ctx, "DELETE", keyPath(ref, "rotation-policy"), nil, nil, nil)
}
