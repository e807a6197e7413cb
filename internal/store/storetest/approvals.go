package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// testApprovals: approval requests are stored whole, read only in their account, listed
// newest first by status and page, and an update made from a stale read is refused, so
// that two approvers voting at once cannot lose a vote.
func testApprovals(t *testing.T, s keyward.Store, _ Harness) {
	a, b := seed(t, s, "pa"), seed(t, s, "pb")
	mk := func(id string, st keyward.ApprovalStatus) *keyward.Approval {
		return &keyward.Approval{ID: id, AccountID: a.acct.ID, GroupID: a.group.ID, Action: "object.export", Target: "object:o1",
			Params: json.RawMessage(`{"format":"PEM"}`), Reason: "audit asked", RequestedBy: "user:" + a.user.ID, RequesterName: "a",
			Required: 2, Status: st, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour), UpdatedAt: now}
	}
	update(t, s, func(tx keyward.Tx) error {
		for i, st := range []keyward.ApprovalStatus{keyward.ApprovalPending, keyward.ApprovalDenied, keyward.ApprovalPending} {
			if err := tx.InsertApproval(mk(fmt.Sprintf("ap-%d", i+1), st)); err != nil {
				return err
			}
		}
		return nil
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error { return tx.InsertApproval(mk("ap-1", keyward.ApprovalPending)) })
	wantTxCode(t, s, keyward.ENOTFOUND, func(tx keyward.Tx) error { _, err := tx.GetApproval(b.acct.ID, "ap-1"); return err })

	var got *keyward.Approval
	view(t, s, func(tx keyward.Tx) error {
		var err error
		got, err = tx.GetApproval(a.acct.ID, "ap-1")
		return err
	})
	if want := mk("ap-1", keyward.ApprovalPending); got.Reason != want.Reason || string(got.Params) != string(want.Params) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || got.Required != 2 || got.Version != 1 {
		t.Fatalf("GetApproval = %+v", got)
	}

	// Two approvers read version 1; the first vote lands, the second is refused.
	first, second := *got, *got
	first.Votes = append(first.Votes, keyward.ApprovalVote{UserID: "u1", Approve: true, At: now})
	second.Votes = append(second.Votes, keyward.ApprovalVote{UserID: "u2", Approve: true, At: now})
	update(t, s, func(tx keyward.Tx) error { return tx.UpdateApproval(&first) })
	if first.Version != 2 {
		t.Fatalf("version after update = %d, want 2", first.Version)
	}
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error { return tx.UpdateApproval(&second) })
	first.Status = keyward.ApprovalApproved
	update(t, s, func(tx keyward.Tx) error { return tx.UpdateApproval(&first) })

	list := func(f keyward.ApprovalFilter) (ids []string) {
		view(t, s, func(tx keyward.Tx) error {
			l, err := tx.ListApprovals(a.acct.ID, f)
			for _, x := range l {
				ids = append(ids, x.ID)
			}
			return err
		})
		return ids
	}
	if got := fmt.Sprint(list(keyward.ApprovalFilter{})); got != "[ap-3 ap-2 ap-1]" {
		t.Fatalf("list all = %s", got)
	}
	if got := fmt.Sprint(list(keyward.ApprovalFilter{Status: keyward.ApprovalPending})); got != "[ap-3]" {
		t.Fatalf("list pending = %s", got)
	}
	if got := fmt.Sprint(list(keyward.ApprovalFilter{Page: keyward.Page{After: "ap-3", Limit: 1}})); got != "[ap-2]" {
		t.Fatalf("second page = %s", got)
	}
	view(t, s, func(tx keyward.Tx) error {
		got, err := tx.GetApproval(a.acct.ID, "ap-1")
		if err == nil && (got.Status != keyward.ApprovalApproved || len(got.Votes) != 1 || got.Votes[0].UserID != "u1" || got.Version != 3) {
			t.Errorf("after the updates: %+v", got)
		}
		return err
	})
	if l, err := listIn(s, b.acct.ID); err != nil || len(l) != 0 {
		t.Fatalf("another account lists %d approvals (%v)", len(l), err)
	}
}

func listIn(s keyward.Store, acct string) (out []keyward.Approval, err error) {
	err = s.View(ctx, func(tx keyward.Tx) error {
		out, err = tx.ListApprovals(acct, keyward.ApprovalFilter{})
		return err
	})
	return out, err
}
