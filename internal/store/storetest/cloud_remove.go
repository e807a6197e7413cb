package storetest

import (
	"testing"

	"github.com/keyward/keyward/internal/keyward"
)

// testDeleteVirtualKeys: a virtual key is removed with its tags, by its Azure key name and
// version, in its own account and group only; plain objects are never removed this way.
func testDeleteVirtualKeys(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "dv")
	other := seed(t, s, "dv2")
	update(t, s, func(tx keyward.Tx) error {
		o := virtualKey(sd, "dv-1", "payments", "aaaa", false)
		o.Tags = map[string]string{"team": "pay"}
		must(t, tx.CreateObject(o, nil))
		must(t, tx.CreateObject(virtualKey(sd, "dv-2", "payments", "bbbb", true), nil))
		must(t, tx.CreateObject(virtualKey(other, "dv-3", "payments", "aaaa", true), nil))
		must(t, tx.CreateObject(newObject(sd, "dv-plain", "plain", keyward.TypeAES, keyward.StateActive), nil))
		return nil
	})
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.DeleteCloudObject(sd.acct.ID, sd.group.ID, "payments", "aaaa"))
		_, err := tx.GetObject(sd.acct.ID, "dv-1")
		wantCode(t, err, keyward.ENOTFOUND)
		if vs, _ := tx.ListCloudObjects(sd.acct.ID, sd.group.ID, "payments"); len(vs) != 1 || vs[0].ID != "dv-2" {
			t.Fatalf("after delete: %d versions left, want dv-2 only", len(vs))
		}
		// The other account's version of the same name and version is untouched.
		if _, err := tx.GetObject(other.acct.ID, "dv-3"); err != nil {
			t.Fatalf("another account's virtual key: %v", err)
		}
		if got, err := tx.ListObjects(keyward.ObjectFilter{AccountID: sd.acct.ID, Tag: "team=pay"}); err != nil || len(got) != 0 {
			t.Fatalf("tags of a removed virtual key still match: %d, %v", len(got), err)
		}
		return nil
	})
	wantTxCode(t, s, keyward.ENOTFOUND, func(tx keyward.Tx) error {
		return tx.DeleteCloudObject(sd.acct.ID, sd.group.ID, "payments", "aaaa")
	})
	wantTxCode(t, s, keyward.ENOTFOUND, func(tx keyward.Tx) error {
		return tx.DeleteCloudObject(sd.acct.ID, other.group.ID, "payments", "bbbb")
	})
	wantTxCode(t, s, keyward.ENOTFOUND, func(tx keyward.Tx) error {
		return tx.DeleteCloudObject(sd.acct.ID, sd.group.ID, "", "") // a plain object has no version
	})
}
