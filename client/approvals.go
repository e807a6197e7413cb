package client

import (
	"context"
	"net/url"

	"github.com/keyward/keyward/api"
)

// CreateApproval asks for approval of an operation a group's quorum policy holds.
func (c *Client) CreateApproval(ctx context.Context, in api.ApprovalCreate) (*api.Approval, error) {
	var out api.Approval
	return &out, c.do(ctx, "POST", "/v1/approvals", nil, in, &out)
}

// ListApprovals lists the approval requests the caller may see, newest first; status ""
// lists all.
func (c *Client) ListApprovals(ctx context.Context, status, after string, limit int) (*api.ApprovalList, error) {
	q := pageQuery(after, limit)
	if status != "" {
		q.Set("status", status)
	}
	var out api.ApprovalList
	return &out, c.do(ctx, "GET", "/v1/approvals", q, nil, &out)
}

// GetApproval returns one approval request.
func (c *Client) GetApproval(ctx context.Context, id string) (*api.Approval, error) {
	var out api.Approval
	return &out, c.do(ctx, "GET", "/v1/approvals/"+url.PathEscape(id), nil, nil, &out)
}

// ApproveApproval approves a request (approvers only).
func (c *Client) ApproveApproval(ctx context.Context, id, comment string) (*api.Approval, error) {
	var out api.Approval
	return &out, c.do(ctx, "POST", "/v1/approvals/"+url.PathEscape(id)+"/approve", nil, api.ApprovalAnswer{Comment: comment}, &out)
}

// DenyApproval denies a request (approvers only).
func (c *Client) DenyApproval(ctx context.Context, id, comment string) (*api.Approval, error) {
	var out api.Approval
	return &out, c.do(ctx, "POST", "/v1/approvals/"+url.PathEscape(id)+"/deny", nil, api.ApprovalAnswer{Comment: comment}, &out)
}

// CancelApproval withdraws a request (its requester only).
func (c *Client) CancelApproval(ctx context.Context, id string) (*api.Approval, error) {
	var out api.Approval
	return &out, c.do(ctx, "POST", "/v1/approvals/"+url.PathEscape(id)+"/cancel", nil, nil, &out)
}

// ExecuteApproval runs an approved request's operation, once (its requester only).
func (c *Client) ExecuteApproval(ctx context.Context, id string) (*api.ApprovalExecution, error) {
	var out api.ApprovalExecution
	return &out, c.do(ctx, "POST", "/v1/approvals/"+url.PathEscape(id)+"/execute", nil, nil, &out)
}
