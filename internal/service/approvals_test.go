package service

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// approvers adds two admins, who will approve, and returns their principals.
func (f *fx) approvers(t *testing.T) (keyward.Principal, keyward.Principal) {
	t.Helper()
	ctx := context.Background()
	var out []keyward.Principal
	for _, email := range []string{"ann@a.example", "bob@a.example"} {
		if _, err := f.s.AddUser(ctx, f.admin, NewUser{Email: email, Password: "long enough password", Role: keyward.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		res, err := f.s.Login(ctx, email, "long enough password", f.admin.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res.Principal)
	}
	return out[0], out[1]
}

func (f *fx) setQuorum(t *testing.T, q keyward.QuorumPolicy) {
	t.Helper()
	if _, err := f.s.UpdateGroup(context.Background(), f.admin, f.group, GroupPatch{Policy: &keyward.GroupPolicy{Quorum: q}}); err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err error, code, contains string) {
	t.Helper()
	if !keyward.IsCode(err, code) || !strings.Contains(keyward.ErrorMessage(err), contains) {
		t.Fatalf("got %v, want %s containing %q", err, code, contains)
	}
}

// Two of two approvers must agree before a key leaves its group; the approval is used once,
// by its requester, and the export happens only then.
func TestQuorumHoldsExportUntilApproved(t *testing.T) {
	ctx := context.Background()
	f := newFx(t)
	ann, bob := f.approvers(t)
	key := f.gen(t, "k", keyward.TypeAES, 256, "", keyward.OpEncrypt, keyward.OpExport)
	f.setQuorum(t, keyward.QuorumPolicy{Required: 2, Approvers: []string{ann.ID, bob.ID}, Actions: []keyward.Action{ActObjectExport, keyward.ActGroupUpdate}})

	_, err := f.s.ExportObject(ctx, f.admin, "k", ExportRequest{Format: "raw"})
	wantErr(t, err, keyward.EAPPROVAL, "keyward approval request object.export")
	_, err = f.s.CopyObject(ctx, f.admin, "k", CopyRequest{GroupID: f.group, Name: "k2"})
	wantErr(t, err, keyward.EFORBIDDEN, "a copy takes")

	_, err = f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectDestroy, Target: "k"})
	wantErr(t, err, keyward.EPRECONDITION, "does not hold object.destroy")
	_, err = f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectExport, Target: "k", Params: ApprovalParams{Export: &ExportRequest{Format: "nope"}}})
	wantErr(t, err, keyward.EINVALID, "")

	a, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectExport, Target: "k", Reason: "escrow",
		Params: ApprovalParams{Export: &ExportRequest{Format: "raw"}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != keyward.ApprovalPending || a.Target != "object:"+key.ID || a.Required != 2 {
		t.Fatalf("request = %+v", a)
	}
	_, err = f.s.ExecuteApproval(ctx, f.admin, a.ID)
	wantErr(t, err, keyward.EPRECONDITION, "0 of the 2 approvals")
	_, err = f.s.VoteApproval(ctx, f.admin, a.ID, true, "")
	wantErr(t, err, keyward.EFORBIDDEN, "not an approver")
	if a, err = f.s.VoteApproval(ctx, ann, a.ID, true, "ok"); err != nil || a.Status != keyward.ApprovalPending {
		t.Fatalf("first approval: %+v, %v", a, err)
	}
	_, err = f.s.VoteApproval(ctx, ann, a.ID, true, "again")
	wantErr(t, err, keyward.ECONFLICT, "answered")
	if a, err = f.s.VoteApproval(ctx, bob, a.ID, true, ""); err != nil || a.Status != keyward.ApprovalApproved {
		t.Fatalf("second approval: %+v, %v", a, err)
	}
	_, err = f.s.ExecuteApproval(ctx, ann, a.ID)
	wantErr(t, err, keyward.EFORBIDDEN, "only the requester")

	res, err := f.s.ExecuteApproval(ctx, f.admin, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Exported.Material) != 32 || res.Approval.Status != keyward.ApprovalExecuted {
		t.Fatalf("executed: %d bytes, %s", len(res.Exported.Material), res.Approval.Status)
	}
	_, err = f.s.ExecuteApproval(ctx, f.admin, a.ID)
	wantErr(t, err, keyward.EPRECONDITION, "executed")
	if got, err := f.s.GetApproval(ctx, bob, a.ID); err != nil || got.Status != keyward.ApprovalExecuted || len(got.Votes) != 2 {
		t.Fatalf("after execution: %+v, %v", got, err)
	}
	// The export itself is audited as the requester's, beside the approval's records.
	recs, err := f.s.ListAudit(ctx, f.admin, keyward.AuditFilter{Target: "object:" + key.ID, Action: ActObjectExport})
	if err != nil || len(recs) == 0 || recs[len(recs)-1].Outcome != keyward.OutcomeSuccess || recs[len(recs)-1].Actor != f.admin.Actor() {
		t.Fatalf("audit of the export: %+v, %v", recs, err)
	}
}

// One denial ends a request; an approved request expires; the requester may withdraw one.
func TestQuorumDenialExpiryAndCancel(t *testing.T) {
	ctx := context.Background()
	f := newFx(t)
	ann, bob := f.approvers(t)
	f.gen(t, "k", keyward.TypeAES, 256, "", keyward.OpEncrypt)
	f.setQuorum(t, keyward.QuorumPolicy{Required: 1, Approvers: []string{ann.ID, bob.ID}, Actions: []keyward.Action{ActObjectDestroy, keyward.ActGroupUpdate}})

	a, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectDestroy, Target: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if a, err = f.s.VoteApproval(ctx, bob, a.ID, false, "not this quarter"); err != nil || a.Status != keyward.ApprovalDenied {
		t.Fatalf("denial: %+v, %v", a, err)
	}
	_, err = f.s.ExecuteApproval(ctx, f.admin, a.ID)
	wantErr(t, err, keyward.EPRECONDITION, "denied")

	b, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectDestroy, Target: "k", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.VoteApproval(ctx, ann, b.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	f.clock.add(2 * time.Hour)
	_, err = f.s.ExecuteApproval(ctx, f.admin, b.ID)
	wantErr(t, err, keyward.EPRECONDITION, "expired")
	if l, err := f.s.ListApprovals(ctx, ann, keyward.ApprovalExpired, keyward.Page{}); err != nil || len(l) != 1 || l[0].ID != b.ID {
		t.Fatalf("expired list: %+v, %v", l, err)
	}

	c, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectDestroy, Target: "k"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.CancelApproval(ctx, ann, c.ID)
	wantErr(t, err, keyward.EFORBIDDEN, "only the requester")
	if c, err = f.s.CancelApproval(ctx, f.admin, c.ID); err != nil || c.Status != keyward.ApprovalCancelled {
		t.Fatalf("cancel: %+v, %v", c, err)
	}
	// Destroying without approval is still refused, and the key still has its material.
	_, err = f.s.DestroyObject(ctx, f.admin, "k")
	wantErr(t, err, keyward.EAPPROVAL, "holds object.destroy")
	if l, _ := f.s.ListApprovals(ctx, bob, "", keyward.Page{}); len(l) != 3 {
		t.Fatalf("bob sees %d requests, want 3", len(l))
	}
}

// Changing the group — the quorum itself included — needs the quorum: removing it is an
// approved change like any other, and afterwards exports are direct again.
func TestQuorumHoldsItsOwnRemoval(t *testing.T) {
	ctx := context.Background()
	f := newFx(t)
	ann, bob := f.approvers(t)
	f.gen(t, "k", keyward.TypeAES, 256, "", keyward.OpExport)
	f.setQuorum(t, keyward.QuorumPolicy{Required: 1, Approvers: []string{ann.ID, bob.ID},
		Actions: []keyward.Action{ActObjectExport, keyward.ActGroupUpdate, keyward.ActGroupDelete}})

	none := &keyward.GroupPolicy{}
	_, err := f.s.UpdateGroup(ctx, f.admin, f.group, GroupPatch{Policy: none})
	wantErr(t, err, keyward.EAPPROVAL, "holds group.update")
	_, err = f.s.RequestApproval(ctx, f.admin, NewApproval{Action: keyward.ActGroupUpdate, Target: "g",
		Params: ApprovalParams{Group: &GroupPatch{Policy: &keyward.GroupPolicy{Quorum: keyward.QuorumPolicy{Required: 3, Approvers: []string{ann.ID}}}}}})
	wantErr(t, err, keyward.EINVALID, "policy.quorum")

	a, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: keyward.ActGroupUpdate, Target: "g", Params: ApprovalParams{Group: &GroupPatch{Policy: none}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.VoteApproval(ctx, bob, a.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	res, err := f.s.ExecuteApproval(ctx, f.admin, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Group.Group.Policy.IsZero() {
		t.Fatalf("policy after the approved change: %+v", res.Group.Group.Policy)
	}
	if _, err := f.s.ExportObject(ctx, f.admin, "k", ExportRequest{Format: "raw"}); err != nil {
		t.Fatalf("export once the quorum is gone: %v", err)
	}
}

func TestQuorumPolicyValidates(t *testing.T) {
	for _, c := range []struct {
		q     keyward.QuorumPolicy
		field string
	}{
		{keyward.QuorumPolicy{Approvers: []string{"u"}}, "policy.quorum.required"},
		{keyward.QuorumPolicy{Required: 2, Approvers: []string{"u"}, Actions: []keyward.Action{"object.export"}}, "policy.quorum.approvers"},
		{keyward.QuorumPolicy{Required: 1, Approvers: []string{"u", "u"}, Actions: []keyward.Action{"object.export"}}, "policy.quorum.approvers[1]"},
		{keyward.QuorumPolicy{Required: 1, Approvers: []string{"u"}}, "policy.quorum.actions"},
		{keyward.QuorumPolicy{Required: 1, Approvers: []string{"u"}, Actions: []keyward.Action{"key.encrypt"}}, "policy.quorum.actions[0]"},
		{keyward.QuorumPolicy{Required: 1, Approvers: []string{"u"}, Actions: []keyward.Action{"object.export"}}, "policy.quorum.actions"},
	} {
		p := keyward.GroupPolicy{Quorum: c.q}
		err := p.Validate()
		var ke *keyward.Error
		if !errors.As(err, &ke) || ke.Field != c.field {
			t.Errorf("%+v: %v, want an error on %s", c.q, err, c.field)
		}
	}
}

// A quorum of people who are not users of the account could never be met: refused.
func TestQuorumApproversMustBeUsers(t *testing.T) {
	f := newFx(t)
	ann, _ := f.approvers(t)
	_, err := f.s.UpdateGroup(context.Background(), f.admin, f.group, GroupPatch{Policy: &keyward.GroupPolicy{Quorum: keyward.QuorumPolicy{
		Required: 1, Approvers: []string{ann.ID, "no-such-user"}, Actions: []keyward.Action{ActObjectExport, keyward.ActGroupUpdate}}}})
	var ke *keyward.Error
	if !errors.As(err, &ke) || ke.Field != "policy.quorum.approvers[1]" {
		t.Fatalf("got %v, want an error on policy.quorum.approvers[1]", err)
	}
}

// What the review of the first version found, each closed: a wrapping key is held by id,
// not by a name that could be given to another key; a change of the quorum counts against
// approvals already given; applications do not ask; approvers stay in the account.
func TestQuorumHoldsWhatWasApproved(t *testing.T) {
	ctx := context.Background()
	f := newFx(t)
	ann, bob := f.approvers(t)
	f.gen(t, "k", keyward.TypeAES, 256, "", keyward.OpExport)
	kek := f.gen(t, "kek", keyward.TypeAES, 256, "", keyward.OpWrapKey, keyward.OpUnwrapKey)
	f.setQuorum(t, keyward.QuorumPolicy{Required: 1, Approvers: []string{ann.ID, bob.ID}, Actions: []keyward.Action{ActObjectExport, keyward.ActGroupUpdate}})

	// The KEK is held by id: renaming it and giving its name to another key changes nothing.
	a, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectExport, Target: "k",
		Params: ApprovalParams{Export: &ExportRequest{KEK: "kek", WrapAlgorithm: "AES-KWP"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.VoteApproval(ctx, ann, a.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	other := "kek-old"
	if _, err := f.s.UpdateObject(ctx, f.admin, "kek", ObjectPatch{Name: &other}); err != nil {
		t.Fatal(err)
	}
	impostor := f.gen(t, "kek", keyward.TypeAES, 256, "", keyward.OpWrapKey, keyward.OpUnwrapKey)
	res, err := f.s.ExecuteApproval(ctx, f.admin, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Unwrap(ctx, f.app, kek.ID, "AES-KWP", res.Exported.Material); err != nil {
		t.Fatalf("the export is not wrapped by the approved key: %v", err)
	}
	if _, err := f.s.Unwrap(ctx, f.app, impostor.ID, "AES-KWP", res.Exported.Material); err == nil {
		t.Fatal("the export is wrapped by the key that took the approved key's name")
	}

	// Ann approves; then the quorum drops her: her approval no longer counts.
	b, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: ActObjectExport, Target: "k", Params: ApprovalParams{Export: &ExportRequest{Format: "raw"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.VoteApproval(ctx, ann, b.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	change, err := f.s.RequestApproval(ctx, f.admin, NewApproval{Action: keyward.ActGroupUpdate, Target: f.group, Params: ApprovalParams{Group: &GroupPatch{
		Policy: &keyward.GroupPolicy{Quorum: keyward.QuorumPolicy{Required: 1, Approvers: []string{bob.ID}, Actions: []keyward.Action{ActObjectExport, keyward.ActGroupUpdate}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.VoteApproval(ctx, bob, change.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ExecuteApproval(ctx, f.admin, change.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.ExecuteApproval(ctx, f.admin, b.ID)
	wantErr(t, err, keyward.EAPPROVAL, "quorum changed")

	_, err = f.s.RequestApproval(ctx, f.app, NewApproval{Action: ActObjectExport, Target: "k"})
	wantErr(t, err, keyward.EFORBIDDEN, "only users ask")
	err = f.s.RemoveUser(ctx, f.admin, bob.ID)
	wantErr(t, err, keyward.EPRECONDITION, "approver of group")
	if err := f.s.RemoveUser(ctx, f.admin, ann.ID); err != nil {
		t.Fatalf("removing a user the quorum no longer names: %v", err)
	}
}

// Material does not reach Azure around a quorum that holds exports — not by rotating a key
// together with its Azure copies — and keys of a group that holds destroys are not deleted
// or purged in Azure behind it.
func TestQuorumHoldsAzurePaths(t *testing.T) {
	w := newAzWorld(t, []string{"kw-std"})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-std", "tls", "RSA", 1)
	w.sync("kw-std")
	native := w.current("kw-std", "tls")
	src := w.keywardKey("tls-source", keyward.TypeRSA, 2048, "")
	w.ok(s.RotateAzureKey(ctx, p, native.ID, "tls-source"))
	cp := w.current("kw-std", "tls")

	if _, err := s.AddUser(ctx, p, NewUser{Email: "ann@a.example", Password: "long enough password", Role: keyward.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	ann, err := s.Login(ctx, "ann@a.example", "long enough password", p.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	hold := func(group string, actions ...keyward.Action) {
		q := keyward.QuorumPolicy{Required: 1, Approvers: []string{ann.Principal.ID}, Actions: append(actions, keyward.ActGroupUpdate)}
		if _, err := s.UpdateGroup(ctx, p, group, GroupPatch{Policy: &keyward.GroupPolicy{Quorum: q}}); err != nil {
			t.Fatal(err)
		}
	}
	hold(w.plain, ActObjectExport)
	_, err = s.RotateObjectAndCopies(ctx, p, src.ID, false, []string{AllAzureCopies})
	wantErr(t, err, keyward.EFORBIDDEN, "a copy takes")
	if rc := w.current("kw-std", "tls"); rc.ID != cp.ID {
		t.Fatalf("the Azure copy was rotated behind the quorum: %s", rc.ID)
	}

	hold(w.group["kw-std"], ActObjectDestroy)
	_, err = s.DeleteAzureKey(ctx, p, cp.ID, true)
	wantErr(t, err, keyward.EFORBIDDEN, "holds destroys")
	_, err = s.RequestApproval(ctx, p, NewApproval{Action: ActObjectDestroy, Target: cp.ID})
	wantErr(t, err, keyward.EPRECONDITION, "virtual key")
}
