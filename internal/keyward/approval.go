package keyward

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// QuorumPolicy holds a group's sensitive operations until Required of its Approvers agree
// (M of N). Required 0 means no quorum.
type QuorumPolicy struct {
	Required  int      `json:"required,omitempty"`
	Approvers []string `json:"approvers,omitempty"` // user ids
	Actions   []Action `json:"actions,omitempty"`   // which of QuorumActions need approval
}

// QuorumActions are the actions a quorum policy may hold: exporting or destroying an
// object, and changing (including the policy itself) or deleting the group.
var QuorumActions = []Action{"object.export", "object.destroy", ActGroupUpdate, ActGroupDelete}

// Covers reports whether the policy holds action a.
func (q QuorumPolicy) Covers(a Action) bool { return q.Required > 0 && slices.Contains(q.Actions, a) }

// IsApprover reports whether user id is one of the approvers.
func (q QuorumPolicy) IsApprover(userID string) bool { return slices.Contains(q.Approvers, userID) }

func (q *QuorumPolicy) validate() error {
	if q.Required == 0 {
		if len(q.Approvers) > 0 || len(q.Actions) > 0 {
			return Invalid("policy.quorum.required", "give how many approvals are required (at least 1) with approvers and actions, or none of them")
		}
		return nil
	}
	if q.Required < 0 {
		return Invalid("policy.quorum.required", "must be at least 1, not %d", q.Required)
	}
	for i, a := range q.Approvers {
		if a == "" || slices.Index(q.Approvers, a) < i {
			return Invalid(fmt.Sprintf("policy.quorum.approvers[%d]", i), "approvers must be distinct user ids")
		}
	}
	if len(q.Approvers) < q.Required {
		return Invalid("policy.quorum.approvers", "%d approvals required but only %d approvers named: name at least as many approvers as approvals", q.Required, len(q.Approvers))
	}
	if len(q.Actions) == 0 {
		return Invalid("policy.quorum.actions", "name the actions that need approval (any of %v)", QuorumActions)
	}
	for i, a := range q.Actions {
		if !slices.Contains(QuorumActions, a) {
			return Invalid(fmt.Sprintf("policy.quorum.actions[%d]", i), "%q cannot need approval (any of %v)", a, QuorumActions)
		}
	}
	if !slices.Contains(q.Actions, ActGroupUpdate) {
		// Otherwise any administrator of the group could lift the quorum, act, and put it back.
		return Invalid("policy.quorum.actions", "must include group.update: a quorum that the group's administrators can lift alone holds nothing")
	}
	return nil
}

// ApprovalStatus is where an approval request stands.
type ApprovalStatus string

const (
	ApprovalPending   ApprovalStatus = "pending"   // waiting for approvers
	ApprovalApproved  ApprovalStatus = "approved"  // enough approvals: the requester may execute it, once
	ApprovalDenied    ApprovalStatus = "denied"    // an approver said no
	ApprovalExecuted  ApprovalStatus = "executed"  // the operation ran
	ApprovalCancelled ApprovalStatus = "cancelled" // the requester withdrew it
	ApprovalExpired   ApprovalStatus = "expired"   // not executed in time (never stored; see Effective)
)

// Approval is a request to perform one operation that a group's quorum policy holds. The
// requester creates it with the operation's parameters, approvers approve or deny it, and
// once approved the requester executes it: the operation runs then, with the requester's
// rights, exactly as requested, once.
type Approval struct {
	ID        string          `json:"id"`
	AccountID string          `json:"account_id"`
	GroupID   string          `json:"group_id"`
	Action    Action          `json:"action"`
	Target    string          `json:"target"` // "object:ID" or "group:ID"
	Params    json.RawMessage `json:"params,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	// RequestedBy is the requester's actor ("user:ID"); RequesterName their name.
	RequestedBy   string         `json:"requested_by"`
	RequesterName string         `json:"requester_name"`
	Required      int            `json:"required"` // approvals needed, from the policy when requested
	Votes         []ApprovalVote `json:"votes,omitempty"`
	Status        ApprovalStatus `json:"status"`
	Note          string         `json:"note,omitempty"` // why it was denied or cancelled
	CreatedAt     time.Time      `json:"created_at"`
	ExpiresAt     time.Time      `json:"expires_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	Version       int64          `json:"-"` // for UpdateApproval's check that nobody changed it meanwhile
}

// ApprovalVote is one approver's answer.
type ApprovalVote struct {
	UserID  string    `json:"user_id"`
	Name    string    `json:"name"`
	Approve bool      `json:"approve"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Effective is the status at now: a pending or approved request past its expiry is expired.
func (a *Approval) Effective(now time.Time) ApprovalStatus {
	if (a.Status == ApprovalPending || a.Status == ApprovalApproved) && !now.Before(a.ExpiresAt) {
		return ApprovalExpired
	}
	return a.Status
}

// Approvals counts the votes in favour.
func (a *Approval) Approvals() int {
	n := 0
	for _, v := range a.Votes {
		if v.Approve {
			n++
		}
	}
	return n
}

// Voted reports whether user id has answered.
func (a *Approval) Voted(userID string) bool {
	return slices.ContainsFunc(a.Votes, func(v ApprovalVote) bool { return v.UserID == userID })
}

// ApprovalFilter selects approval requests; results are newest first.
type ApprovalFilter struct {
	Status ApprovalStatus // "" for any (stored status: expired ones are pending or approved)
	Page   Page           // After is the last id of the previous page
}

// ApprovalTx stores approval requests.
type ApprovalTx interface {
	InsertApproval(a *Approval) error
	GetApproval(accountID, id string) (*Approval, error)
	// UpdateApproval stores a, read at a.Version, and increments a.Version; ECONFLICT when
	// another transaction changed it since it was read.
	UpdateApproval(a *Approval) error
	ListApprovals(accountID string, f ApprovalFilter) ([]Approval, error)
}
