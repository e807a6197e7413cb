package api

import (
	"net/http"
	"time"
)

// Approval is a request to perform an operation that a group's quorum policy holds until
// enough of its approvers agree. Status: pending, approved, denied, executed, cancelled,
// expired.
type Approval struct {
	ID            string          `json:"id"`
	GroupID       string          `json:"group_id"`
	Action        string          `json:"action"`
	Target        string          `json:"target"` // "object:ID" or "group:ID"
	Params        *ApprovalParams `json:"params,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	RequestedBy   string          `json:"requested_by"` // "user:ID" or "app:ID"
	RequesterName string          `json:"requester_name"`
	Required      int             `json:"required"`
	Approvals     int             `json:"approvals"`
	Votes         []ApprovalVote  `json:"votes,omitempty"`
	Status        string          `json:"status"`
	Note          string          `json:"note,omitempty"`
	CreatedAt     time.Time       `json:"created_at"`
	ExpiresAt     time.Time       `json:"expires_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// ApprovalParams are the held operation's parameters: Export for object.export, Group for
// group.update; object.destroy and group.delete take none.
type ApprovalParams struct {
	Export *KeyExport   `json:"export,omitempty"`
	Group  *GroupUpdate `json:"group,omitempty"`
}

// ApprovalVote is one approver's answer.
type ApprovalVote struct {
	UserID  string    `json:"user_id"`
	Name    string    `json:"name"`
	Approve bool      `json:"approve"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// ApprovalList is a page of requests, newest first.
type ApprovalList struct {
	Items []Approval `json:"items"`
	Next  string     `json:"next,omitempty"`
}

// ApprovalCreate asks for approval of one operation.
type ApprovalCreate struct {
	Action string          `json:"action"`
	Target string          `json:"target"` // the key's or the group's id or name
	Params *ApprovalParams `json:"params,omitempty"`
	Reason string          `json:"reason,omitempty"`
	// ExpiresIn is how long the request waits for approval and execution, e.g. "4h"
	// (default 24h, at most 168h).
	ExpiresIn string `json:"expires_in,omitempty"`
}

// Validate checks the request's shape.
func (r *ApprovalCreate) Validate() error {
	if err := required("action", r.Action); err != nil {
		return err
	}
	return required("target", r.Target)
}

// ApprovalAnswer approves or denies a request, with an optional comment.
type ApprovalAnswer struct {
	Comment string `json:"comment,omitempty"`
}

// Validate checks the request's shape.
func (r *ApprovalAnswer) Validate() error { return nil }

// ApprovalExecution is what executing an approved request did: the operation's own answer.
type ApprovalExecution struct {
	Approval Approval     `json:"approval"`
	Export   *KeyExported `json:"export,omitempty"` // object.export
	Key      *Key         `json:"key,omitempty"`    // object.destroy
	Group    *Group       `json:"group,omitempty"`  // group.update
}

var approvalParams = []Param{
	{"status", "string", "only requests in this status: pending, approved, denied, executed, cancelled, expired"},
	{"after", "string", "return items after this key (the previous page's next)"},
	{"limit", "integer", "page size, 1..1000 (default 100)"},
}

func init() {
	Routes = append(Routes,
		Route{ID: "createApproval", Method: http.MethodPost, Path: "/v1/approvals", Tag: "approvals", Summary: "Ask for approval of an operation a group's quorum holds", Auth: AuthAny, Request: &ApprovalCreate{}, Response: Approval{}, Status: 201},
		Route{ID: "listApprovals", Method: http.MethodGet, Path: "/v1/approvals", Tag: "approvals", Summary: "List the approval requests the caller may see, newest first", Auth: AuthAny, Response: ApprovalList{}, Status: 200, Query: approvalParams},
		Route{ID: "getApproval", Method: http.MethodGet, Path: "/v1/approvals/{id}", Tag: "approvals", Summary: "Get an approval request", Auth: AuthAny, Response: Approval{}, Status: 200},
		Route{ID: "approveApproval", Method: http.MethodPost, Path: "/v1/approvals/{id}/approve", Tag: "approvals", Summary: "Approve a request (approvers only)", Auth: AuthUser, Request: &ApprovalAnswer{}, Response: Approval{}, Status: 200},
		Route{ID: "denyApproval", Method: http.MethodPost, Path: "/v1/approvals/{id}/deny", Tag: "approvals", Summary: "Deny a request (approvers only)", Auth: AuthUser, Request: &ApprovalAnswer{}, Response: Approval{}, Status: 200},
		Route{ID: "cancelApproval", Method: http.MethodPost, Path: "/v1/approvals/{id}/cancel", Tag: "approvals", Summary: "Withdraw a request (its requester only)", Auth: AuthAny, Response: Approval{}, Status: 200},
		Route{ID: "executeApproval", Method: http.MethodPost, Path: "/v1/approvals/{id}/execute", Tag: "approvals", Summary: "Run an approved request's operation, once (its requester only)", Auth: AuthAny, Response: ApprovalExecution{}, Status: 200},
	)
}
