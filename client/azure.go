package client

import (
	"context"
	"net/url"

	"github.com/keyward/keyward/api"
)

// ListCloudCredentials lists a page of cloud credentials.
func (c *Client) ListCloudCredentials(ctx context.Context, after string, limit int) (*api.CloudCredentialList, error) {
	var out api.CloudCredentialList
	return &out, c.do(ctx, "GET", "/v1/cloud-credentials", pageQuery(after, limit), nil, &out)
}

// CreateCloudCredential creates a cloud credential.
func (c *Client) CreateCloudCredential(ctx context.Context, in api.CloudCredentialInput) (*api.CloudCredential, error) {
	var out api.CloudCredential
	return &out, c.do(ctx, "POST", "/v1/cloud-credentials", nil, in, &out)
}

// GetCloudCredential gets a cloud credential by id or name.
func (c *Client) GetCloudCredential(ctx context.Context, ref string) (*api.CloudCredential, error) {
	var out api.CloudCredential
	return &out, c.do(ctx, "GET", "/v1/cloud-credentials/"+url.PathEscape(ref), nil, nil, &out)
}

// UpdateCloudCredential replaces a cloud credential's settings.
func (c *Client) UpdateCloudCredential(ctx context.Context, ref string, in api.CloudCredentialInput) (*api.CloudCredential, error) {
	var out api.CloudCredential
	return &out, c.do(ctx, "PUT", "/v1/cloud-credentials/"+url.PathEscape(ref), nil, in, &out)
}

// DeleteCloudCredential deletes a cloud credential.
func (c *Client) DeleteCloudCredential(ctx context.Context, ref string) error {
	return c.do(ctx, "DELETE", "/v1/cloud-credentials/"+url.PathEscape(ref), nil, nil, nil)
}

// TestCloudCredential signs in and lists the subscription's vaults.
func (c *Client) TestCloudCredential(ctx context.Context, ref string, in api.CredentialTest) (*api.CredentialTestResult, error) {
	var out api.CredentialTestResult
	return &out, c.do(ctx, "POST", "/v1/cloud-credentials/"+url.PathEscape(ref)+"/test", nil, in, &out)
}

func groupAzurePath(group string, rest ...string) string {
	p := "/v1/groups/" + url.PathEscape(group) + "/azure"
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// LinkGroup links a group to a vault and tests the connection.
func (c *Client) LinkGroup(ctx context.Context, group string, in api.AzureLinkInput) (*api.AzureLink, error) {
	var out api.AzureLink
	return &out, c.do(ctx, "PUT", groupAzurePath(group), nil, in, &out)
}

// GetGroupLink gets a group's Azure link.
func (c *Client) GetGroupLink(ctx context.Context, group string) (*api.AzureLink, error) {
	var out api.AzureLink
	return &out, c.do(ctx, "GET", groupAzurePath(group), nil, nil, &out)
}

// UpdateGroupLink changes a link's credential or TLS settings.
func (c *Client) UpdateGroupLink(ctx context.Context, group string, in api.AzureLinkUpdate) (*api.AzureLink, error) {
	var out api.AzureLink
	return &out, c.do(ctx, "PATCH", groupAzurePath(group), nil, in, &out)
}

// TestGroupLink tests a group's connection again.
func (c *Client) TestGroupLink(ctx context.Context, group string) (*api.AzureLink, error) {
	var out api.AzureLink
	return &out, c.do(ctx, "POST", groupAzurePath(group, "test"), nil, nil, &out)
}

// UnlinkGroup removes a group's Azure link.
func (c *Client) UnlinkGroup(ctx context.Context, group string) error {
	return c.do(ctx, "DELETE", groupAzurePath(group), nil, nil, nil)
}

// SyncGroup starts a sync of a group with its vault and returns the job.
func (c *Client) SyncGroup(ctx context.Context, group string) (*api.Job, error) {
	var out api.Job
	return &out, c.do(ctx, "POST", groupAzurePath(group, "sync"), nil, nil, &out)
}

// SyncSchedule returns when a group syncs with its vault on its own (not_found: never).
func (c *Client) SyncSchedule(ctx context.Context, group string) (*api.SyncSchedule, error) {
	var out api.SyncSchedule
	return &out, c.do(ctx, "GET", groupAzurePath(group, "sync-schedule"), nil, nil, &out)
}

// SetSyncSchedule makes a group sync on a schedule, replacing the one it had.
func (c *Client) SetSyncSchedule(ctx context.Context, group string, in api.SyncScheduleInput) (*api.SyncSchedule, error) {
	var out api.SyncSchedule
	return &out, c.do(ctx, "PUT", groupAzurePath(group, "sync-schedule"), nil, in, &out)
}

// DeleteSyncSchedule stops a group's scheduled syncs.
func (c *Client) DeleteSyncSchedule(ctx context.Context, group string) error {
	return c.do(ctx, "DELETE", groupAzurePath(group, "sync-schedule"), nil, nil, nil)
}
