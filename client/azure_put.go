package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/keyward/keyward/api"
)

// GenerateAzureKey starts a job that generates a key in a group's vault.
func (c *Client) GenerateAzureKey(ctx context.Context, group string, in api.AzureKeyGenerate) (*api.Job, error) {
	var out api.Job
	return &out, c.do(ctx, "POST", groupAzurePath(group, "keys"), nil, in, &out)
}

// ImportAzureKey starts a job that imports key material into a group's vault.
func (c *Client) ImportAzureKey(ctx context.Context, group string, in api.AzureKeyImport) (*api.Job, error) {
	var out api.Job
	return &out, c.do(ctx, "POST", groupAzurePath(group, "keys", "import"), nil, in, &out)
}

// CopyAzureKey starts a job that copies a Keyward key into a group's vault.
func (c *Client) CopyAzureKey(ctx context.Context, group string, in api.AzureKeyCopy) (*api.Job, error) {
	var out api.Job
	return &out, c.do(ctx, "POST", groupAzurePath(group, "keys", "copy"), nil, in, &out)
}

// AzureKeyPutResult decodes what a succeeded generate, import or copy job made.
func AzureKeyPutResult(j *api.Job) (*api.AzureKeyPut, error) {
	if j.State != "succeeded" {
		return nil, fmt.Errorf("job %s is %s: %s", j.ID, j.State, j.Error)
	}
	b, err := json.Marshal(j.Result)
	if err != nil {
		return nil, err
	}
	var out api.AzureKeyPut
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("job %s result: %w", j.ID, err)
	}
	return &out, nil
}
