package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// Quorum approvals. A group's quorum policy names the actions it holds (export, destroy,
// changing or deleting the group), its approvers and how many must agree. An attempt at a
// held action is refused with what to do; the principal asks for approval instead, with
// the operation's parameters; approvers approve or deny; once enough have approved, the
// requester executes the request and the operation runs then, with the requester's rights,
// exactly as requested. Executing consumes the approval in the operation's own transaction,
// so an approval is used at most once, and an operation that fails leaves it to be retried.

const (
	ActApprovalRequest keyward.Action = "approval.request"
	ActApprovalApprove keyward.Action = "approval.approve"
	ActApprovalDeny    keyward.Action = "approval.deny"
	ActApprovalCancel  keyward.Action = "approval.cancel"
	ActApprovalExecute keyward.Action = "approval.execute"
	ActApprovalRead    keyward.Action = "approval.read"
)

// DefaultApprovalTTL is how long a request waits for approval and execution unless the
// requester says otherwise; MaxApprovalTTL bounds it.
const (
	DefaultApprovalTTL = 24 * time.Hour
	MaxApprovalTTL     = 7 * 24 * time.Hour
)

// ApprovalParams are the parameters of the held operation: Export for object.export, Group
// for group.update; object.destroy and group.delete take none.
type ApprovalParams struct {
	Export *ExportRequest `json:"export,omitempty"`
	Group  *GroupPatch    `json:"group,omitempty"`
}

// NewApproval asks for approval of one operation.
type NewApproval struct {
	Action keyward.Action
	Target string // the object's or the group's id or name
	Params ApprovalParams
	Reason string
	TTL    time.Duration // 0 for DefaultApprovalTTL
}

// approvalKey carries, in a context, the approved request being executed.
type approvalKey struct{}

// quorumGate lets action on target in group g proceed: when the context carries the
// approved request for exactly this operation, it consumes it (in tx, so the operation and
// the approval's use commit together); otherwise it refuses what the group's quorum holds.
func (s *Service) quorumGate(ctx context.Context, tx keyward.Tx, g *keyward.Group, action keyward.Action, target string) error {
	q := g.Policy.Quorum
	if a, ok := ctx.Value(approvalKey{}).(*keyward.Approval); ok && a.Action == action && a.Target == target && a.GroupID == g.ID {
		// The quorum may have changed since the votes: only today's approvers count, against
		// today's M, so that removing an approver or raising M takes effect at once.
		if n := currentApprovals(a, q); q.Covers(action) && n < q.Required {
			return keyward.Errorf(keyward.EAPPROVAL, "group %q's quorum changed since this request was approved: %d of its current approvers approved it, and it needs %d; ask again",
				g.Name, n, q.Required)
		}
		a.Status, a.UpdatedAt = keyward.ApprovalExecuted, s.clock.Now()
		return tx.UpdateApproval(a)
	}
	if !q.Covers(action) {
		return nil
	}
	_, ref, _ := strings.Cut(target, ":")
	return keyward.Errorf(keyward.EAPPROVAL, "group %q holds %s for approval by %d of its %d approvers: ask for it with `keyward approval request %s %s` (POST /v1/approvals), and execute it once approved",
		g.Name, action, q.Required, len(q.Approvers), action, ref)
}

// currentApprovals counts the approvals given by users who are approvers of q.
func currentApprovals(a *keyward.Approval, q keyward.QuorumPolicy) int {
	n := 0
	for _, v := range a.Votes {
		if v.Approve && q.IsApprover(v.UserID) {
			n++
		}
	}
	return n
}

// refuseAzureDestroyUnderQuorum refuses to delete or purge virtual key o in Azure when its
// group holds destroys for approval: an approved request runs Keyward's destroy, which a key
// whose material is in Azure does not have, so these are refused outright.
func refuseAzureDestroyUnderQuorum(tx keyward.Tx, o *keyward.Object) error {
	g, err := tx.GetGroup(o.AccountID, o.GroupID)
	if err == nil && g.Policy.Quorum.Covers(ActObjectDestroy) {
		return keyward.Errorf(keyward.EFORBIDDEN, "group %q holds destroys for approval: deleting or purging its keys in Azure is refused while it does (change the group's quorum policy first, which needs approval when it holds group.update)", g.Name)
	}
	return err
}

// refuseRemovingAnApprover keeps in the account a user whom a group's quorum names: without
// them the quorum might never be met again, and a quorum that holds its own changes could
// then never be changed.
func refuseRemovingAnApprover(tx keyward.Tx, accountID, userID string) error {
	page := keyward.Page{Limit: keyward.MaxPageLimit}
	for {
		gs, err := tx.ListGroups(accountID, page)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if g.Policy.Quorum.IsApprover(userID) {
				return keyward.Errorf(keyward.EPRECONDITION, "the user is an approver of group %q's quorum: take them out of its policy first (keyward group policy set)", g.Name)
			}
		}
		if len(gs) < page.N() {
			return nil
		}
		page.After = gs[len(gs)-1].Name
	}
}

// underApproval is what an audit record's detail adds when the operation runs because a
// quorum approved it.
func underApproval(ctx context.Context) string {
	if a, ok := ctx.Value(approvalKey{}).(*keyward.Approval); ok {
		return fmt.Sprintf(" (approved request %s, %d approvals)", a.ID, a.Approvals())
	}
	return ""
}

// objectGroupGate is quorumGate for an action on object o.
func (s *Service) objectGroupGate(ctx context.Context, tx keyward.Tx, o *keyward.Object, action keyward.Action) error {
	g, err := tx.GetGroup(o.AccountID, o.GroupID)
	if err != nil {
		return err
	}
	return s.quorumGate(ctx, tx, g, action, "object:"+o.ID)
}

// refuseCopyUnderQuorum refuses to copy o's material out of its group when the group holds
// exports for approval: a copy would be an export that nobody approved.
func refuseCopyUnderQuorum(tx keyward.Tx, o *keyward.Object) error {
	g, err := tx.GetGroup(o.AccountID, o.GroupID)
	if err == nil && g.Policy.Quorum.Covers(ActObjectExport) {
		return keyward.Errorf(keyward.EFORBIDDEN, "group %q holds exports for approval, and a copy takes %q's material out of the group: copies are refused; export it under approval instead (keyward approval request object.export %s)",
			g.Name, o.Name, o.ID)
	}
	return err
}

// RequestApproval records a request for a held operation. The requester must be allowed the
// operation itself, apart from the quorum; its parameters are checked now, so that an
// approved request does not fail on them later.
func (s *Service) RequestApproval(ctx context.Context, p keyward.Principal, in NewApproval) (*keyward.Approval, error) {
	ttl := in.TTL
	if ttl == 0 {
		ttl = DefaultApprovalTTL
	}
	if ttl < time.Minute || ttl > MaxApprovalTTL {
		return nil, keyward.Invalid("expires_in", "must be between 1m and %s, not %s", MaxApprovalTTL, ttl)
	}
	if err := keyward.ValidateDescription("reason", in.Reason); err != nil {
		return nil, err
	}
	if err := checkApprovalParams(in); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	a := &keyward.Approval{ID: newID(), AccountID: p.AccountID, Action: in.Action, Reason: in.Reason,
		RequestedBy: p.Actor(), RequesterName: p.Name, Status: keyward.ApprovalPending, CreatedAt: now, ExpiresAt: now.Add(ttl), UpdatedAt: now}
	err := s.change(ctx, p, ActApprovalRequest, in.Target, func(tx keyward.Tx, op *op) error {
		if !p.IsUser() {
			// People ask and people answer: an application's key is held by someone who
			// could otherwise ask as the application and approve as themselves.
			return keyward.Errorf(keyward.EFORBIDDEN, "only users ask for approvals: an application cannot")
		}
		g, err := s.approvalTarget(tx, p, a, in.Target)
		if err != nil {
			return err
		}
		if e := in.Params.Export; e != nil && e.KEK != "" {
			// Approvers approve a wrapping key, not a name that could later be given to
			// another key: hold it by id.
			kek, err := loadObject(tx, p, e.KEK, ActObjectRead)
			if err != nil {
				return keyward.Invalid("params.export.kek", "no key %q that you may use", e.KEK)
			}
			e.KEK = kek.ID
		}
		if a.Params, err = json.Marshal(in.Params); err != nil {
			return err
		}
		q := g.Policy.Quorum
		if !q.Covers(a.Action) {
			return keyward.Errorf(keyward.EPRECONDITION, "group %q does not hold %s for approval: just do it", g.Name, a.Action)
		}
		if gp := in.Params.Group; gp != nil && gp.Policy != nil {
			if err := checkApprovers(tx, p.AccountID, gp.Policy.Quorum.Approvers); err != nil {
				return err
			}
		}
		a.GroupID, a.Required = g.ID, q.Required
		op.target = "approval:" + a.ID
		op.detail = fmt.Sprintf("asked for %s of %s (%d approvals of %d needed)", a.Action, a.Target, q.Required, len(q.Approvers))
		return tx.InsertApproval(a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func checkApprovalParams(in NewApproval) error {
	switch in.Action {
	case ActObjectExport:
		if in.Params.Group != nil {
			return keyward.Invalid("params", "object.export takes export parameters only")
		}
		e := in.Params.Export
		if e == nil {
			return nil
		}
		if e.KEK != "" {
			_, err := parseWrapAlg("params.wrap_algorithm", e.WrapAlgorithm)
			return err
		}
		_, err := ParseFormat("params.format", e.Format)
		return err
	case keyward.ActGroupUpdate:
		if in.Params.Export != nil || in.Params.Group == nil {
			return keyward.Invalid("params", "group.update takes the group's new name, description or policy")
		}
		if g := in.Params.Group; g.Policy != nil {
			return g.Policy.Validate()
		}
		return nil
	case ActObjectDestroy, keyward.ActGroupDelete:
		if in.Params != (ApprovalParams{}) {
			return keyward.Invalid("params", "%s takes no parameters", in.Action)
		}
		return nil
	}
	return keyward.Invalid("action", "%q cannot be held for approval (one of %v)", in.Action, keyward.QuorumActions)
}

// approvalTarget resolves the request's target with the requester's own rights for the
// action, so that nobody can ask for what they could not do, and fills in a.Target.
func (s *Service) approvalTarget(tx keyward.Tx, p keyward.Principal, a *keyward.Approval, ref string) (*keyward.Group, error) {
	switch a.Action {
	case ActObjectExport, ActObjectDestroy:
		o, err := loadObject(tx, p, ref, a.Action)
		if err != nil {
			return nil, err
		}
		if a.Action == ActObjectDestroy && o.Cloud != nil {
			return nil, keyward.Errorf(keyward.EPRECONDITION, "%q is a virtual key: its material is in Azure, and Keyward cannot destroy it", o.Name)
		}
		a.Target = "object:" + o.ID
		return tx.GetGroup(p.AccountID, o.GroupID)
	default:
		v, err := loadGroup(tx, p, ref, a.Action)
		if err != nil {
			return nil, err
		}
		a.Target = "group:" + v.Group.ID
		return &v.Group, nil
	}
}

// loadApproval reads a request the caller may see: its requester, the approvers of its
// group, and whoever may read the group.
func (s *Service) loadApproval(tx keyward.Tx, p keyward.Principal, id string) (*keyward.Approval, *keyward.Group, error) {
	a, err := tx.GetApproval(p.AccountID, id)
	if err != nil {
		return nil, nil, err
	}
	g, err := approvalVisible(tx, p, a)
	if err != nil {
		return nil, nil, err
	}
	return a, g, nil
}

// approvalVisible returns a's group when p may see a (see loadApproval).
func approvalVisible(tx keyward.Tx, p keyward.Principal, a *keyward.Approval) (*keyward.Group, error) {
	g, err := tx.GetGroup(p.AccountID, a.GroupID)
	if err != nil && !keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, err
	}
	if g == nil || err != nil {
		g = &keyward.Group{ID: a.GroupID, AccountID: a.AccountID} // deleted since (perhaps by this request)
	}
	if a.RequestedBy == p.Actor() || (p.IsUser() && g.Policy.Quorum.IsApprover(p.ID)) || seesAll(p) {
		return g, nil
	}
	if _, err := loadGroup(tx, p, g.ID, keyward.ActGroupRead); err == nil {
		return g, nil
	}
	return nil, keyward.Hidden("approval request")
}

// GetApproval returns one request, with its status at now.
func (s *Service) GetApproval(ctx context.Context, p keyward.Principal, id string) (*keyward.Approval, error) {
	var a *keyward.Approval
	err := s.read(ctx, p, ActApprovalRead, "approval:"+id, func(tx keyward.Tx) error {
		var err error
		a, _, err = s.loadApproval(tx, p, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.Status = a.Effective(s.clock.Now())
	return a, nil
}

// ListApprovals lists the requests the caller may see, newest first; status may be
// "expired" as well as a stored status.
func (s *Service) ListApprovals(ctx context.Context, p keyward.Principal, status keyward.ApprovalStatus, page keyward.Page) ([]keyward.Approval, error) {
	f := keyward.ApprovalFilter{Status: status, Page: page}
	switch status {
	case "", keyward.ApprovalDenied, keyward.ApprovalExecuted, keyward.ApprovalCancelled:
	case keyward.ApprovalPending, keyward.ApprovalApproved:
		// stored so, and not yet expired (filtered below)
	case keyward.ApprovalExpired:
		f.Status = "" // stored as pending or approved; decided by the time below
	default:
		return nil, keyward.Invalid("status", "one of pending, approved, denied, executed, cancelled, expired; not %q", status)
	}
	now := s.clock.Now()
	var out []keyward.Approval
	err := s.read(ctx, p, ActApprovalRead, "approvals", func(tx keyward.Tx) error {
		// Page through the account's requests until a page of visible ones is full.
		for {
			batch, err := tx.ListApprovals(p.AccountID, f)
			if err != nil {
				return err
			}
			for _, a := range batch {
				if _, err := approvalVisible(tx, p, &a); err != nil {
					continue
				}
				a.Status = a.Effective(now)
				if status == "" || a.Status == status {
					out = append(out, a)
				}
				if len(out) == page.N() {
					return nil
				}
			}
			if len(batch) < f.Page.N() {
				return nil
			}
			f.Page.After = batch[len(batch)-1].ID
		}
	})
	return out, err
}

// VoteApproval records an approver's answer. Enough approvals make the request approved;
// one denial denies it.
func (s *Service) VoteApproval(ctx context.Context, p keyward.Principal, id string, approve bool, comment string) (*keyward.Approval, error) {
	if err := keyward.ValidateDescription("comment", comment); err != nil {
		return nil, err
	}
	act := ActApprovalApprove
	if !approve {
		act = ActApprovalDeny
	}
	var a *keyward.Approval
	err := s.change(ctx, p, act, "approval:"+id, func(tx keyward.Tx, op *op) error {
		var g *keyward.Group
		var err error
		if a, g, err = s.loadApproval(tx, p, id); err != nil {
			return err
		}
		now := s.clock.Now()
		switch {
		case !p.IsUser() || !g.Policy.Quorum.IsApprover(p.ID):
			return keyward.Errorf(keyward.EFORBIDDEN, "you are not an approver of group %q", g.Name)
		case a.RequestedBy == p.Actor():
			return keyward.Errorf(keyward.EFORBIDDEN, "you asked for this: another approver must answer it")
		case a.Effective(now) != keyward.ApprovalPending:
			return keyward.Errorf(keyward.EPRECONDITION, "the request is %s: it takes no more answers", a.Effective(now))
		case a.Voted(p.ID):
			return keyward.Errorf(keyward.ECONFLICT, "you have answered this request already")
		}
		a.Votes = append(a.Votes, keyward.ApprovalVote{UserID: p.ID, Name: p.Name, Approve: approve, Comment: comment, At: now})
		a.UpdatedAt = now
		q := g.Policy.Quorum
		if q.Required > 0 {
			a.Required = q.Required // the quorum of today, should it have changed since the request
		}
		switch {
		case !approve:
			a.Status, a.Note = keyward.ApprovalDenied, fmt.Sprintf("denied by %s: %s", p.Name, comment)
		case currentApprovals(a, q) >= a.Required:
			a.Status = keyward.ApprovalApproved
		}
		op.detail = fmt.Sprintf("%s of %s: %d of %d approvals, now %s", a.Action, a.Target, a.Approvals(), a.Required, a.Status)
		return tx.UpdateApproval(a)
	})
	return a, err
}

// CancelApproval withdraws a request that has not run; only its requester may.
func (s *Service) CancelApproval(ctx context.Context, p keyward.Principal, id string) (*keyward.Approval, error) {
	var a *keyward.Approval
	err := s.change(ctx, p, ActApprovalCancel, "approval:"+id, func(tx keyward.Tx, op *op) error {
		var err error
		if a, _, err = s.loadApproval(tx, p, id); err != nil {
			return err
		}
		if a.RequestedBy != p.Actor() {
			return keyward.Errorf(keyward.EFORBIDDEN, "only the requester may withdraw a request")
		}
		if st := a.Effective(s.clock.Now()); st != keyward.ApprovalPending && st != keyward.ApprovalApproved {
			return keyward.Errorf(keyward.EPRECONDITION, "the request is %s already", st)
		}
		a.Status, a.UpdatedAt, a.Note = keyward.ApprovalCancelled, s.clock.Now(), "withdrawn by the requester"
		return tx.UpdateApproval(a)
	})
	return a, err
}

// ApprovalResult is what executing a request did: the operation's own result.
type ApprovalResult struct {
	Approval *keyward.Approval
	Exported *Exported       // object.export
	Object   *keyward.Object // object.destroy
	Group    *GroupView      // group.update
}

// ExecuteApproval runs an approved request's operation, as its requester, once.
func (s *Service) ExecuteApproval(ctx context.Context, p keyward.Principal, id string) (*ApprovalResult, error) {
	var a *keyward.Approval
	err := s.read(ctx, p, ActApprovalExecute, "approval:"+id, func(tx keyward.Tx) error {
		var err error
		a, _, err = s.loadApproval(tx, p, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if a.RequestedBy != p.Actor() {
		return nil, keyward.Errorf(keyward.EFORBIDDEN, "only the requester (%s) may execute this request", a.RequesterName)
	}
	switch st := a.Effective(s.clock.Now()); st {
	case keyward.ApprovalApproved:
	case keyward.ApprovalPending:
		return nil, keyward.Errorf(keyward.EPRECONDITION, "the request has %d of the %d approvals it needs", a.Approvals(), a.Required)
	default:
		return nil, keyward.Errorf(keyward.EPRECONDITION, "the request is %s", st)
	}
	var params ApprovalParams
	if err := json.Unmarshal(a.Params, &params); err != nil {
		return nil, fmt.Errorf("approval %s: its parameters do not parse: %w", a.ID, err)
	}
	ctx = context.WithValue(ctx, approvalKey{}, a)
	res := &ApprovalResult{Approval: a}
	_, ref, _ := strings.Cut(a.Target, ":") // "object:ID" or "group:ID"
	switch a.Action {
	case ActObjectExport:
		in := ExportRequest{}
		if params.Export != nil {
			in = *params.Export
		}
		res.Exported, err = s.ExportObject(ctx, p, ref, in)
	case ActObjectDestroy:
		res.Object, err = s.DestroyObject(ctx, p, ref)
	case keyward.ActGroupUpdate:
		res.Group, err = s.UpdateGroup(ctx, p, ref, *params.Group)
	case keyward.ActGroupDelete:
		err = s.DeleteGroup(ctx, p, ref)
	default:
		err = keyward.Errorf(keyward.EINTERNAL, "approval %s holds unknown action %q", a.ID, a.Action)
	}
	if err != nil {
		return nil, err
	}
	if a.Status != keyward.ApprovalExecuted {
		return nil, keyward.Errorf(keyward.EINTERNAL, "approval %s: the operation ran but did not consume the approval", a.ID)
	}
	return res, nil
}
