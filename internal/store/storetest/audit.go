package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

func rec(acct string, i int, action keyward.Action) keyward.AuditRecord {
	return keyward.AuditRecord{AccountID: acct, Time: now.Add(time.Duration(i) * time.Minute), Actor: fmt.Sprintf("user:u%d", i%2),
		ActorName: "someone@example.com", Action: action, Target: fmt.Sprintf("group:g%d", i%3), Outcome: keyward.OutcomeSuccess, RequestID: fmt.Sprintf("req-%d", i)}
}

func testAudit(t *testing.T, s keyward.Store, _ Harness) {
	actions := []keyward.Action{keyward.ActGroupCreate, keyward.ActGroupUpdate, keyward.ActAppCreate, keyward.ActUserCreate}
	for i := range 12 {
		update(t, s, func(tx keyward.Tx) error {
			return audit.Append(tx, rec("A", i, actions[i%4]), rec("B", i, actions[i%4]))
		})
	}
	view(t, s, func(tx keyward.Tx) error {
		all, err := tx.ListAudit(keyward.AuditFilter{AccountID: "A", Limit: 1000})
		if err != nil || len(all) != 12 || all[0].Seq != 1 || all[11].Seq != 12 {
			t.Fatalf("ListAudit = %d records, %v", len(all), err)
		}
		for _, tc := range []struct {
			name string
			f    keyward.AuditFilter
			want int
		}{
			{"actor", keyward.AuditFilter{Actor: "user:u1"}, 6},
			{"action", keyward.AuditFilter{Action: keyward.ActGroupCreate}, 3},
			{"action prefix", keyward.AuditFilter{Action: "group."}, 6},
			{"target", keyward.AuditFilter{Target: "group:g0"}, 4},
			{"from", keyward.AuditFilter{From: now.Add(10 * time.Minute)}, 2},
			{"to", keyward.AuditFilter{To: now.Add(2 * time.Minute)}, 2},
			{"after seq", keyward.AuditFilter{AfterSeq: 10}, 2},
			{"limit", keyward.AuditFilter{Limit: 5}, 5},
			{"outcome", keyward.AuditFilter{Outcome: keyward.OutcomeDenied}, 0},
		} {
			tc.f.AccountID = "A"
			got, err := tx.ListAudit(tc.f)
			if err != nil || len(got) != tc.want {
				t.Errorf("%s: %d records, %v; want %d", tc.name, len(got), err, tc.want)
			}
		}
		r := all[3]
		if r.Actor != "user:u1" || r.RequestID != "req-3" || !r.Time.Equal(now.Add(3*time.Minute)) || len(r.Hash) != 32 {
			t.Fatalf("record fields: %+v", r)
		}
		for _, acct := range []string{"A", "B"} {
			rep, err := audit.Verify(tx, acct)
			if err != nil || !rep.OK || rep.Checked != 12 {
				t.Fatalf("Verify(%s) = %+v, %v", acct, rep, err)
			}
		}
		chains, _ := tx.AuditChains()
		if fmt.Sprint(chains) != "[A B]" {
			t.Fatalf("AuditChains = %v", chains)
		}
		return nil
	})
}

// Appenders racing on one chain must queue, never fork it.
func testAuditConcurrent(t *testing.T, s keyward.Store, _ Harness) {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				err := s.Update(ctx, func(tx keyward.Tx) error {
					return audit.Append(tx, rec("C", w*100+i, keyward.ActGroupUpdate))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	view(t, s, func(tx keyward.Tx) error {
		rep, err := audit.Verify(tx, "C")
		if err != nil || !rep.OK || rep.Checked != 60 {
			t.Fatalf("Verify after concurrent appends = %+v, %v", rep, err)
		}
		return nil
	})
}

// An attacker with write access to the database edits, deletes or truncates records;
// Verify names the first bad one.
func testAuditTamper(t *testing.T, s keyward.Store, h Harness) {
	for i := range 8 {
		update(t, s, func(tx keyward.Tx) error { return audit.Append(tx, rec("T", i, keyward.ActGroupUpdate)) })
	}
	check := func(wantSeq int64, wantReason string) {
		t.Helper()
		view(t, s, func(tx keyward.Tx) error {
			rep, err := audit.Verify(tx, "T")
			if err != nil || rep.OK || rep.FirstBad != wantSeq || !strings.Contains(rep.Reason, wantReason) {
				t.Fatalf("Verify = %+v, %v; want first bad %d (%s)", rep, err, wantSeq, wantReason)
			}
			return nil
		})
	}
	h.Exec(t, s, `UPDATE audit_records SET outcome = 'denied' WHERE account_id = 'T' AND seq = 5`)
	check(5, "altered")
	h.Exec(t, s, `UPDATE audit_records SET outcome = 'success' WHERE account_id = 'T' AND seq = 5`)
	h.Exec(t, s, `DELETE FROM audit_records WHERE account_id = 'T' AND seq = 3`)
	check(3, "missing")
	// Removing the tail is caught by the head.
	update(t, s, func(tx keyward.Tx) error { return nil })
	h.Exec(t, s, `DELETE FROM audit_records WHERE account_id = 'T'`)
	for i := range 8 {
		update(t, s, func(tx keyward.Tx) error { return audit.Append(tx, rec("T2", i, keyward.ActGroupUpdate)) })
	}
	h.Exec(t, s, `DELETE FROM audit_records WHERE account_id = 'T2' AND seq = 8`)
	view(t, s, func(tx keyward.Tx) error {
		rep, _ := audit.Verify(tx, "T2")
		if rep.OK || rep.FirstBad != 8 || !strings.Contains(rep.Reason, "removed from the end") {
			t.Fatalf("truncated tail: %+v", rep)
		}
		return nil
	})
}

func testRewrap(t *testing.T, s keyward.Store, _ Harness) {
	kr, _ := seal.NewKeyring(now)
	sl, _ := seal.New(kr)
	secret := []byte("seal-check-sentinel")
	blob, _ := sl.Seal(secret, seal.Bind("meta", "sealed.check"))
	sd := seed(t, s, "rw")
	objBlob, _ := sl.Seal([]byte("object material"), seal.Bind("object", "rw-obj"))
	update(t, s, func(tx keyward.Tx) error {
		return errors.Join(tx.PutMeta("sealed.check", blob), tx.PutMeta("plain", []byte("not sealed")),
			tx.CreateObject(newObject(sd, "rw-obj", "rw", keyward.TypeAES, keyward.StateActive), objBlob),
			tx.CreateObject(newObject(sd, "rw-none", "rw-none", keyward.TypeAES, keyward.StateDestroyed), nil))
	})
	old := kr.Active
	kr.Rotate(now)
	sl.Load(kr)
	var seen []string
	update(t, s, func(tx keyward.Tx) error {
		n, err := tx.RewrapSealed(func(kind, id string, b []byte) ([]byte, error) {
			seen = append(seen, kind+"/"+id)
			return sl.Rewrap(b, seal.Bind(kind, id))
		})
		if err != nil || n != 2 {
			t.Fatalf("RewrapSealed = %d, %v; want 2 (the sentinel and one object)", n, err)
		}
		return nil
	})
	if fmt.Sprint(seen) != "[meta/sealed.check object/rw-obj]" {
		t.Fatalf("rewrapped %v", seen)
	}
	view(t, s, func(tx keyward.Tx) error {
		b, _ := tx.GetMeta("sealed.check")
		if id, _ := seal.KeyID(b); id == old || id != kr.Active {
			t.Fatalf("still under %s", id)
		}
		pt, err := sl.Open(b, seal.Bind("meta", "sealed.check"))
		if err != nil || string(pt) != string(secret) {
			t.Fatalf("open after rewrap: %q %v", pt, err)
		}
		ob, _ := tx.ObjectMaterial(sd.acct.ID, "rw-obj")
		if id, _ := seal.KeyID(ob); id != kr.Active {
			t.Fatalf("object material still under %s", id)
		}
		if pt, err := sl.Open(ob, seal.Bind("object", "rw-obj")); err != nil || string(pt) != "object material" {
			t.Fatalf("object material after rewrap: %q %v", pt, err)
		}
		return nil
	})
}
