package api

import "net/http"

// Auth says who may call a route.
type Auth int

const (
	AuthNone Auth = iota // anyone (login, health)
	AuthUser             // a logged-in user
	AuthAny              // a user or an application
	AuthApp              // an application (cryptographic operations)
)

// Param is a query parameter.
type Param struct {
	Name, Type, Description string
}

// Route is one operation of the REST API. The server binds a handler to each route by ID,
// and the OpenAPI document is generated from this table, so the two cannot disagree.
type Route struct {
	ID       string
	Method   string
	Path     string // net/http pattern syntax: /v1/groups/{id}
	Tag      string
	Summary  string
	Auth     Auth
	Request  any // a pointer to the request body type, or nil
	Response any // the response body type, or nil for 204
	Status   int
	Query    []Param
	// Produces overrides the response content type (exports).
	Produces []string
}

var pageParams = []Param{
	{"after", "string", "return items after this key (the previous page's next)"},
	{"limit", "integer", "page size, 1..1000 (default 100)"},
}

// Routes is the API. Later features append their routes to it in their own files.
var Routes = []Route{
	{ID: "login", Method: http.MethodPost, Path: "/v1/login", Tag: "session", Summary: "Log in with email and password; returns a session token", Auth: AuthNone, Request: &LoginRequest{}, Response: LoginResponse{}, Status: 200},
	{ID: "logout", Method: http.MethodPost, Path: "/v1/logout", Tag: "session", Summary: "End the caller's session", Auth: AuthUser, Status: 204},
	{ID: "getSession", Method: http.MethodGet, Path: "/v1/session", Tag: "session", Summary: "Who am I", Auth: AuthAny, Response: Session{}, Status: 200},
	{ID: "changePassword", Method: http.MethodPost, Path: "/v1/session/password", Tag: "session", Summary: "Change the caller's password", Auth: AuthUser, Request: &PasswordChange{}, Status: 204},

	{ID: "listAccounts", Method: http.MethodGet, Path: "/v1/accounts", Tag: "accounts", Summary: "List the caller's accounts", Auth: AuthAny, Response: AccountList{}, Status: 200},
	{ID: "createAccount", Method: http.MethodPost, Path: "/v1/accounts", Tag: "accounts", Summary: "Create an account; the caller becomes its administrator", Auth: AuthUser, Request: &AccountCreate{}, Response: Account{}, Status: 201},
	{ID: "getAccount", Method: http.MethodGet, Path: "/v1/accounts/{id}", Tag: "accounts", Summary: "Get the caller's account", Auth: AuthAny, Response: Account{}, Status: 200},
	{ID: "updateAccount", Method: http.MethodPatch, Path: "/v1/accounts/{id}", Tag: "accounts", Summary: "Rename or describe the account", Auth: AuthUser, Request: &AccountUpdate{}, Response: Account{}, Status: 200},
	{ID: "deleteAccount", Method: http.MethodDelete, Path: "/v1/accounts/{id}", Tag: "accounts", Summary: "Delete the account and everything in it (the audit trail stays)", Auth: AuthUser, Status: 204},

	{ID: "listUsers", Method: http.MethodGet, Path: "/v1/users", Tag: "users", Summary: "List the account's users", Auth: AuthUser, Response: UserList{}, Status: 200, Query: pageParams},
	{ID: "createUser", Method: http.MethodPost, Path: "/v1/users", Tag: "users", Summary: "Add a user to the account (creating it when the email is new)", Auth: AuthUser, Request: &UserCreate{}, Response: User{}, Status: 201},
	{ID: "getUser", Method: http.MethodGet, Path: "/v1/users/{id}", Tag: "users", Summary: "Get a user of the account", Auth: AuthUser, Response: User{}, Status: 200},
	{ID: "updateUser", Method: http.MethodPatch, Path: "/v1/users/{id}", Tag: "users", Summary: "Change a user's account role", Auth: AuthUser, Request: &UserUpdate{}, Response: User{}, Status: 200},
	{ID: "removeUser", Method: http.MethodDelete, Path: "/v1/users/{id}", Tag: "users", Summary: "Remove a user from the account", Auth: AuthUser, Status: 204},

	{ID: "listGroups", Method: http.MethodGet, Path: "/v1/groups", Tag: "groups", Summary: "List the groups the caller may see", Auth: AuthAny, Response: GroupList{}, Status: 200, Query: pageParams},
	{ID: "createGroup", Method: http.MethodPost, Path: "/v1/groups", Tag: "groups", Summary: "Create a group; the caller becomes its administrator", Auth: AuthUser, Request: &GroupCreate{}, Response: Group{}, Status: 201},
	{ID: "getGroup", Method: http.MethodGet, Path: "/v1/groups/{id}", Tag: "groups", Summary: "Get a group", Auth: AuthAny, Response: Group{}, Status: 200},
	{ID: "updateGroup", Method: http.MethodPatch, Path: "/v1/groups/{id}", Tag: "groups", Summary: "Rename or describe a group", Auth: AuthUser, Request: &GroupUpdate{}, Response: Group{}, Status: 200},
	{ID: "deleteGroup", Method: http.MethodDelete, Path: "/v1/groups/{id}", Tag: "groups", Summary: "Delete a group", Auth: AuthUser, Status: 204},
	{ID: "listGroupMembers", Method: http.MethodGet, Path: "/v1/groups/{id}/members", Tag: "groups", Summary: "List a group's users and applications", Auth: AuthUser, Response: GroupMemberList{}, Status: 200},
	{ID: "setGroupMember", Method: http.MethodPut, Path: "/v1/groups/{id}/members/{kind}/{principal}", Tag: "groups", Summary: "Add a user (administrator|auditor) or app (member) to a group, or change its role", Auth: AuthUser, Request: &GroupMemberSet{}, Response: GroupMember{}, Status: 200},
	{ID: "removeGroupMember", Method: http.MethodDelete, Path: "/v1/groups/{id}/members/{kind}/{principal}", Tag: "groups", Summary: "Remove a user or app from a group", Auth: AuthUser, Status: 204},

	{ID: "listApps", Method: http.MethodGet, Path: "/v1/apps", Tag: "apps", Summary: "List the applications the caller may see", Auth: AuthUser, Response: AppList{}, Status: 200, Query: pageParams},
	{ID: "createApp", Method: http.MethodPost, Path: "/v1/apps", Tag: "apps", Summary: "Create an application; returns its API key once", Auth: AuthUser, Request: &AppCreate{}, Response: AppCreated{}, Status: 201},
	{ID: "getApp", Method: http.MethodGet, Path: "/v1/apps/{id}", Tag: "apps", Summary: "Get an application", Auth: AuthAny, Response: App{}, Status: 200},
	{ID: "updateApp", Method: http.MethodPatch, Path: "/v1/apps/{id}", Tag: "apps", Summary: "Change an application's name, groups, certificates or disabled flag", Auth: AuthUser, Request: &AppUpdate{}, Response: App{}, Status: 200},
	{ID: "deleteApp", Method: http.MethodDelete, Path: "/v1/apps/{id}", Tag: "apps", Summary: "Delete an application", Auth: AuthUser, Status: 204},
	{ID: "regenerateAPIKey", Method: http.MethodPost, Path: "/v1/apps/{id}/api-key", Tag: "apps", Summary: "Replace an application's API key; returns the new key once", Auth: AuthUser, Response: APIKey{}, Status: 200},

	{ID: "listAudit", Method: http.MethodGet, Path: "/v1/audit", Tag: "audit", Summary: "List audit records of the account", Auth: AuthUser, Response: AuditList{}, Status: 200, Query: auditParams},
	{ID: "exportAudit", Method: http.MethodGet, Path: "/v1/audit/export", Tag: "audit", Summary: "Export audit records as JSON lines or CSV", Auth: AuthUser, Status: 200,
		Query: append([]Param{{"format", "string", "jsonl (default) or csv"}}, auditParams...), Produces: []string{"application/x-ndjson", "text/csv"}},
	{ID: "verifyAudit", Method: http.MethodPost, Path: "/v1/audit/verify", Tag: "audit", Summary: "Walk the account's hash chain and report the first bad record", Auth: AuthUser, Response: AuditVerification{}, Status: 200},
}

var auditParams = []Param{
	{"from", "string", "RFC 3339 time, inclusive"},
	{"to", "string", "RFC 3339 time, exclusive"},
	{"actor", "string", "user:ID or app:ID"},
	{"action", "string", "an action (group.update) or a prefix ending in a dot (group.)"},
	{"target", "string", "group:ID, app:ID, ..."},
	{"outcome", "string", "success, denied or failure"},
	{"after_seq", "integer", "return records after this sequence number"},
	{"limit", "integer", "page size, 1..1000 (default 100)"},
}

// ServiceRoutes are served outside /v1 and take no authentication.
var ServiceRoutes = []Route{
	{ID: "healthz", Method: http.MethodGet, Path: "/healthz", Tag: "service", Summary: "Liveness: the process is up", Auth: AuthNone, Response: Health{}, Status: 200},
	{ID: "readyz", Method: http.MethodGet, Path: "/readyz", Tag: "service", Summary: "Readiness: the database answers", Auth: AuthNone, Response: Health{}, Status: 200},
	{ID: "metrics", Method: http.MethodGet, Path: "/metrics", Tag: "service", Summary: "Prometheus metrics", Auth: AuthNone, Status: 200, Produces: []string{"text/plain"}},
	{ID: "openapi", Method: http.MethodGet, Path: "/v1/openapi.json", Tag: "service", Summary: "This document", Auth: AuthNone, Status: 200, Produces: []string{"application/json"}},
}
