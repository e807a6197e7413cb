package client

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/keyward/keyward/api"
)

// Login opens a session and makes the client use it.
func (c *Client) Login(ctx context.Context, in api.LoginRequest) (*api.LoginResponse, error) {
	var out api.LoginResponse
	if err := c.do(ctx, "POST", "/v1/login", nil, in, &out); err != nil {
		return nil, err
	}
	c.token = out.Token
	return &out, nil
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, "POST", "/v1/logout", nil, nil, nil)
}

// Session returns who the client is.
func (c *Client) Session(ctx context.Context) (*api.Session, error) {
	var out api.Session
	return &out, c.do(ctx, "GET", "/v1/session", nil, nil, &out)
}

// ChangePassword changes the logged-in user's password.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	return c.do(ctx, "POST", "/v1/session/password", nil, api.PasswordChange{CurrentPassword: current, NewPassword: next}, nil)
}

// ListAccounts lists the caller's accounts.
func (c *Client) ListAccounts(ctx context.Context) (*api.AccountList, error) {
	var out api.AccountList
	return &out, c.do(ctx, "GET", "/v1/accounts", nil, nil, &out)
}

// CreateAccount creates an account.
func (c *Client) CreateAccount(ctx context.Context, in api.AccountCreate) (*api.Account, error) {
	var out api.Account
	return &out, c.do(ctx, "POST", "/v1/accounts", nil, in, &out)
}

// GetAccount gets the caller's account.
func (c *Client) GetAccount(ctx context.Context, id string) (*api.Account, error) {
	var out api.Account
	return &out, c.do(ctx, "GET", "/v1/accounts/"+url.PathEscape(id), nil, nil, &out)
}

// UpdateAccount changes the account.
func (c *Client) UpdateAccount(ctx context.Context, id string, in api.AccountUpdate) (*api.Account, error) {
	var out api.Account
	return &out, c.do(ctx, "PATCH", "/v1/accounts/"+url.PathEscape(id), nil, in, &out)
}

// DeleteAccount deletes the account.
func (c *Client) DeleteAccount(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/accounts/"+url.PathEscape(id), nil, nil, nil)
}

// ListUsers lists a page of the account's users.
func (c *Client) ListUsers(ctx context.Context, after string, limit int) (*api.UserList, error) {
	var out api.UserList
	return &out, c.do(ctx, "GET", "/v1/users", pageQuery(after, limit), nil, &out)
}

// CreateUser adds a user to the account.
func (c *Client) CreateUser(ctx context.Context, in api.UserCreate) (*api.User, error) {
	var out api.User
	return &out, c.do(ctx, "POST", "/v1/users", nil, in, &out)
}

// GetUser gets a user of the account.
func (c *Client) GetUser(ctx context.Context, id string) (*api.User, error) {
	var out api.User
	return &out, c.do(ctx, "GET", "/v1/users/"+url.PathEscape(id), nil, nil, &out)
}

// UpdateUser changes a user's account role.
func (c *Client) UpdateUser(ctx context.Context, id string, in api.UserUpdate) (*api.User, error) {
	var out api.User
	return &out, c.do(ctx, "PATCH", "/v1/users/"+url.PathEscape(id), nil, in, &out)
}

// RemoveUser removes a user from the account.
func (c *Client) RemoveUser(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/users/"+url.PathEscape(id), nil, nil, nil)
}

// ListGroups lists a page of groups.
func (c *Client) ListGroups(ctx context.Context, after string, limit int) (*api.GroupList, error) {
	var out api.GroupList
	return &out, c.do(ctx, "GET", "/v1/groups", pageQuery(after, limit), nil, &out)
}

// CreateGroup creates a group.
func (c *Client) CreateGroup(ctx context.Context, in api.GroupCreate) (*api.Group, error) {
	var out api.Group
	return &out, c.do(ctx, "POST", "/v1/groups", nil, in, &out)
}

// GetGroup gets a group.
func (c *Client) GetGroup(ctx context.Context, id string) (*api.Group, error) {
	var out api.Group
	return &out, c.do(ctx, "GET", "/v1/groups/"+url.PathEscape(id), nil, nil, &out)
}

// UpdateGroup changes a group.
func (c *Client) UpdateGroup(ctx context.Context, id string, in api.GroupUpdate) (*api.Group, error) {
	var out api.Group
	return &out, c.do(ctx, "PATCH", "/v1/groups/"+url.PathEscape(id), nil, in, &out)
}

// DeleteGroup deletes a group.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/groups/"+url.PathEscape(id), nil, nil, nil)
}

// ListGroupMembers lists a group's members.
func (c *Client) ListGroupMembers(ctx context.Context, id string) (*api.GroupMemberList, error) {
	var out api.GroupMemberList
	return &out, c.do(ctx, "GET", "/v1/groups/"+url.PathEscape(id)+"/members", nil, nil, &out)
}

// SetGroupMember adds a user or app to a group, or changes its role. kind is "user" or "app".
func (c *Client) SetGroupMember(ctx context.Context, groupID, kind, principalID, role string) (*api.GroupMember, error) {
	var out api.GroupMember
	path := fmt.Sprintf("/v1/groups/%s/members/%s/%s", url.PathEscape(groupID), url.PathEscape(kind), url.PathEscape(principalID))
	return &out, c.do(ctx, "PUT", path, nil, api.GroupMemberSet{Role: role}, &out)
}

// RemoveGroupMember removes a user or app from a group.
func (c *Client) RemoveGroupMember(ctx context.Context, groupID, kind, principalID string) error {
	path := fmt.Sprintf("/v1/groups/%s/members/%s/%s", url.PathEscape(groupID), url.PathEscape(kind), url.PathEscape(principalID))
	return c.do(ctx, "DELETE", path, nil, nil, nil)
}

// ListApps lists a page of applications.
func (c *Client) ListApps(ctx context.Context, after string, limit int) (*api.AppList, error) {
	var out api.AppList
	return &out, c.do(ctx, "GET", "/v1/apps", pageQuery(after, limit), nil, &out)
}

// CreateApp creates an application and returns its API key.
func (c *Client) CreateApp(ctx context.Context, in api.AppCreate) (*api.AppCreated, error) {
	var out api.AppCreated
	return &out, c.do(ctx, "POST", "/v1/apps", nil, in, &out)
}

// GetApp gets an application.
func (c *Client) GetApp(ctx context.Context, id string) (*api.App, error) {
	var out api.App
	return &out, c.do(ctx, "GET", "/v1/apps/"+url.PathEscape(id), nil, nil, &out)
}

// UpdateApp changes an application.
func (c *Client) UpdateApp(ctx context.Context, id string, in api.AppUpdate) (*api.App, error) {
	var out api.App
	return &out, c.do(ctx, "PATCH", "/v1/apps/"+url.PathEscape(id), nil, in, &out)
}

// DeleteApp deletes an application.
func (c *Client) DeleteApp(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/apps/"+url.PathEscape(id), nil, nil, nil)
}

// RegenerateAPIKey replaces an application's API key.
func (c *Client) RegenerateAPIKey(ctx context.Context, id string) (*api.APIKey, error) {
	var out api.APIKey
	return &out, c.do(ctx, "POST", "/v1/apps/"+url.PathEscape(id)+"/api-key", nil, nil, &out)
}

// AuditQuery filters audit records; zero values mean any.
type AuditQuery struct {
	From, To                       time.Time
	Actor, Action, Target, Outcome string
	AfterSeq                       int64
	Limit                          int
}

func (q AuditQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.From.IsZero() {
		set("from", q.From.Format(time.RFC3339))
	}
	if !q.To.IsZero() {
		set("to", q.To.Format(time.RFC3339))
	}
	set("actor", q.Actor)
	set("action", q.Action)
	set("target", q.Target)
	set("outcome", q.Outcome)
	if q.AfterSeq > 0 {
		set("after_seq", strconv.FormatInt(q.AfterSeq, 10))
	}
	if q.Limit > 0 {
		set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// ListAudit lists a page of audit records.
func (c *Client) ListAudit(ctx context.Context, q AuditQuery) (*api.AuditList, error) {
	var out api.AuditList
	return &out, c.do(ctx, "GET", "/v1/audit", q.values(), nil, &out)
}

// ExportAudit streams matching records to w as "jsonl" or "csv".
func (c *Client) ExportAudit(ctx context.Context, w io.Writer, format string, q AuditQuery) error {
	v := q.values()
	v.Set("format", format)
	resp, err := c.send(ctx, "GET", "/v1/audit/export", v, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

// VerifyAudit asks the server to walk the account's hash chain.
func (c *Client) VerifyAudit(ctx context.Context) (*api.AuditVerification, error) {
	var out api.AuditVerification
	return &out, c.do(ctx, "POST", "/v1/audit/verify", nil, nil, &out)
}

// OpenAPI fetches the server's OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	resp, err := c.send(ctx, "GET", "/v1/openapi.json", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// Health calls /healthz or /readyz.
func (c *Client) Health(ctx context.Context, ready bool) (*api.Health, error) {
	path := "/healthz"
	if ready {
		path = "/readyz"
	}
	var out api.Health
	return &out, c.do(ctx, "GET", path, nil, nil, &out)
}
