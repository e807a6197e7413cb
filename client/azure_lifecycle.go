package client

import (
	"context"
	"net/url"

	"github.com/keyward/keyward/api"
)

func azureKeyPath(key, action string) string {
	return "/v1/keys/" + url.PathEscape(key) + "/azure/" + action
}

func (c *Client) azureKeyJob(ctx context.Context, key, action string, in any) (*api.Job, error) {
	var out api.Job
	return &out, c.do(ctx, "POST", azureKeyPath(key, action), nil, in, &out)
}

// SetAzureKeyTags writes a virtual key's tags to its Azure key version; it returns the job.
func (c *Client) SetAzureKeyTags(ctx context.Context, key string, tags map[string]string) (*api.Job, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	return c.azureKeyJob(ctx, key, "tags", api.AzureKeyTags{Tags: tags})
}

// DeactivateAzureKey disables a virtual key's version in Azure; it returns the job.
func (c *Client) DeactivateAzureKey(ctx context.Context, key string) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "deactivate", nil)
}

// ActivateAzureKey enables a virtual key's version in Azure again; it returns the job.
func (c *Client) ActivateAzureKey(ctx context.Context, key string) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "activate", nil)
}

// DeleteAzureKey soft-deletes a virtual key's Azure key with all its versions. confirm
// must be true; it returns the job.
func (c *Client) DeleteAzureKey(ctx context.Context, key string, confirm bool) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "delete", api.AzureKeyConfirm{Confirm: confirm})
}

// RecoverAzureKey recovers a soft-deleted Azure key; it returns the job.
func (c *Client) RecoverAzureKey(ctx context.Context, key string) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "recover", nil)
}

// PurgeAzureKey purges a soft-deleted Azure key for good. confirm must be true; it
// returns the job.
func (c *Client) PurgeAzureKey(ctx context.Context, key string, confirm bool) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "purge", api.AzureKeyConfirm{Confirm: confirm})
}

// RestoreAzureKey restores a purged Azure key from Keyward's escrowed backup; it returns
// the job.
func (c *Client) RestoreAzureKey(ctx context.Context, key string) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "restore", nil)
}

// ReimportAzureKey re-imports a purged Keyward-owned Azure key from its source key; it
// returns the job.
func (c *Client) ReimportAzureKey(ctx context.Context, key string) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "reimport", nil)
}

// RotateAzureKey makes a new version of a virtual key's Azure key: by Azure when from is
// "", else from the material of that Keyward key. It returns the job.
func (c *Client) RotateAzureKey(ctx context.Context, key, from string) (*api.Job, error) {
	return c.azureKeyJob(ctx, key, "rotate", api.AzureKeyRotate{From: from})
}

// RemoveAzureKey removes a purged Azure key's virtual keys and its escrowed backup.
// confirm must be true.
func (c *Client) RemoveAzureKey(ctx context.Context, key string, confirm bool) (*api.AzureKeyRemoved, error) {
	var out api.AzureKeyRemoved
	return &out, c.do(ctx, "POST", azureKeyPath(key, "remove"), nil, api.AzureKeyConfirm{Confirm: confirm}, &out)
}

// ListAzureCopies lists a Keyward key's live Azure copies.
func (c *Client) ListAzureCopies(ctx context.Context, key string) (*api.AzureCopyList, error) {
	var out api.AzureCopyList
	return &out, c.do(ctx, "GET", "/v1/keys/"+url.PathEscape(key)+"/azure-copies", nil, nil, &out)
}
