package client

import (
	"context"

	"github.com/keyward/keyward/api"
)

// Encrypt encrypts with a key (applications only).
func (c *Client) Encrypt(ctx context.Context, ref string, in api.EncryptRequest) (*api.EncryptResponse, error) {
	var out api.EncryptResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "encrypt"), nil, in, &out)
}

// Decrypt decrypts with a key.
func (c *Client) Decrypt(ctx context.Context, ref string, in api.DecryptRequest) (*api.DecryptResponse, error) {
	var out api.DecryptResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "decrypt"), nil, in, &out)
}

// Sign signs a message or digest.
func (c *Client) Sign(ctx context.Context, ref string, in api.SignRequest) (*api.SignResponse, error) {
	var out api.SignResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "sign"), nil, in, &out)
}

// Verify checks a signature.
func (c *Client) Verify(ctx context.Context, ref string, in api.VerifyRequest) (*api.VerifyResponse, error) {
	var out api.VerifyResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "verify"), nil, in, &out)
}

// Wrap wraps key material.
func (c *Client) Wrap(ctx context.Context, ref string, in api.WrapRequest) (*api.WrapResponse, error) {
	var out api.WrapResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "wrap"), nil, in, &out)
}

// Unwrap unwraps key material.
func (c *Client) Unwrap(ctx context.Context, ref string, in api.UnwrapRequest) (*api.UnwrapResponse, error) {
	var out api.UnwrapResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "unwrap"), nil, in, &out)
}

// MAC computes an HMAC.
func (c *Client) MAC(ctx context.Context, ref string, in api.MACRequest) (*api.MACResponse, error) {
	var out api.MACResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "mac"), nil, in, &out)
}

// VerifyMAC checks an HMAC.
func (c *Client) VerifyMAC(ctx context.Context, ref string, in api.MACVerifyRequest) (*api.VerifyResponse, error) {
	var out api.VerifyResponse
	return &out, c.do(ctx, "POST", keyPath(ref, "mac", "verify"), nil, in, &out)
}

// Random returns random bytes from the server.
func (c *Client) Random(ctx context.Context, count int) ([]byte, error) {
	var out api.RandomResponse
	err := c.do(ctx, "POST", "/v1/random", nil, api.RandomRequest{Count: count}, &out)
	return out.Bytes, err
}
