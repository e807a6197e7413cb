package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// testJobSecrets: a job's sealed secret is stored once, read only in its account, rewrapped
// with the other sealed values, and gone once the job ends (run end, or a cancel that ends
// a queued job) or its account is deleted.
func testJobSecrets(t *testing.T, s keyward.Store, _ Harness) {
	a, b := seed(t, s, "sa"), seed(t, s, "sb")
	update(t, s, func(tx keyward.Tx) error {
		for _, id := range []string{"js-1", "js-2", "js-3"} {
			must(t, tx.CreateJob(newJob(a, id, "test.a", now)))
			must(t, tx.PutJobSecret(a.acct.ID, id, []byte("sealed-"+id)))
		}
		return tx.CreateJob(newJob(b, "js-b", "test.a", now))
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error { return tx.PutJobSecret(a.acct.ID, "js-1", []byte("again")) })
	secret := func(acct, id string) (string, error) {
		var out []byte
		err := s.View(ctx, func(tx keyward.Tx) error {
			var err error
			out, err = tx.JobSecret(acct, id)
			return err
		})
		return string(out), err
	}
	if got, err := secret(a.acct.ID, "js-1"); err != nil || got != "sealed-js-1" {
		t.Fatalf("JobSecret = %q, %v", got, err)
	}
	if _, err := secret(b.acct.ID, "js-1"); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Fatalf("another account read a job secret: %v", err)
	}
	seen := map[string]string{}
	update(t, s, func(tx keyward.Tx) error {
		_, err := tx.RewrapSealed(func(kind, id string, blob []byte) ([]byte, error) {
			if kind == "job-secret" {
				seen[id] = string(blob)
			}
			return append([]byte("re:"), blob...), nil
		})
		return err
	})
	if len(seen) != 3 || seen["js-2"] != "sealed-js-2" {
		t.Fatalf("rewrap saw %v", seen)
	}
	if got, _ := secret(a.acct.ID, "js-2"); got != "re:sealed-js-2" {
		t.Fatalf("after rewrap: %q", got)
	}

	// js-1 runs and fails for a retry: its secret stays; then it succeeds: gone.
	at := now.Add(time.Minute)
	claim(t, s, "L", at, 5)
	update(t, s, func(tx keyward.Tx) error {
		return tx.EndJobRun(keyward.JobRunEnd{ID: "js-1", Lease: "L", Now: at, State: keyward.JobQueued, NextRunAt: at, Error: "try again"})
	})
	if _, err := secret(a.acct.ID, "js-1"); err != nil {
		t.Fatalf("a job queued for retry lost its secret: %v", err)
	}
	update(t, s, func(tx keyward.Tx) error {
		return tx.EndJobRun(keyward.JobRunEnd{ID: "js-2", Lease: "L", Now: at, State: keyward.JobFailed, Error: "refused"})
	})
	if _, err := secret(a.acct.ID, "js-2"); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Fatalf("a failed job kept its secret: %v", err)
	}
	// js-3 is claimed too (L took every due job); release it, then cancel it while queued.
	update(t, s, func(tx keyward.Tx) error {
		return tx.EndJobRun(keyward.JobRunEnd{ID: "js-3", Lease: "L", Now: at, State: keyward.JobQueued, NextRunAt: at, Release: true})
	})
	update(t, s, func(tx keyward.Tx) error {
		_, err := tx.CancelJob(a.acct.ID, "js-3", at)
		return err
	})
	if _, err := secret(a.acct.ID, "js-3"); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Fatalf("a cancelled job kept its secret: %v", err)
	}
	update(t, s, func(tx keyward.Tx) error { return tx.DeleteJobSecret(a.acct.ID, "js-1") })
	update(t, s, func(tx keyward.Tx) error { return tx.DeleteJobSecret(a.acct.ID, "js-1") }) // gone already: fine
	if _, err := secret(a.acct.ID, "js-1"); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Fatalf("DeleteJobSecret left it: %v", err)
	}
}
