package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

func newObject(sd seeded, id, name string, typ keyward.ObjectType, state keyward.State) *keyward.Object {
	return &keyward.Object{ID: id, AccountID: sd.acct.ID, GroupID: sd.group.ID, Name: name, Type: typ, Size: 256,
		Ops: []keyward.Operation{keyward.OpEncrypt, keyward.OpDecrypt}, State: state, Origin: "generated", KCV: "abc123",
		Tags: map[string]string{"env": "prod"}, CreatedAt: now, CreatedBy: "app:x", UpdatedAt: now}
}

func testObjects(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "o")
	update(t, s, func(tx keyward.Tx) error {
		o := newObject(sd, "obj-1", "payments-key", keyward.TypeAES, keyward.StateActive)
		o.Cert = &keyward.CertInfo{Subject: "CN=x", NotAfter: now.Add(time.Hour)}
		must(t, tx.CreateObject(o, []byte("sealed-bytes")))
		got, err := tx.GetObject(sd.acct.ID, "obj-1")
		if err != nil || got.Name != "payments-key" || got.Size != 256 || got.Tags["env"] != "prod" || len(got.Ops) != 2 ||
			got.Cert == nil || got.Cert.Subject != "CN=x" || !got.CreatedAt.Equal(now) || got.State != keyward.StateActive {
			t.Fatalf("GetObject = %+v, %v", got, err)
		}
		byName, err := tx.GetObjectByName(sd.acct.ID, "payments-key")
		if err != nil || byName.ID != "obj-1" {
			t.Fatalf("GetObjectByName = %+v, %v", byName, err)
		}
		m, err := tx.ObjectMaterial(sd.acct.ID, "obj-1")
		if err != nil || string(m) != "sealed-bytes" {
			t.Fatalf("ObjectMaterial = %q, %v", m, err)
		}
		got.Name, got.Tags, got.State = "renamed", map[string]string{"team": "a"}, keyward.StateDeactivated
		got.Ops = []keyward.Operation{keyward.OpDecrypt}
		must(t, tx.UpdateObject(got))
		again, _ := tx.GetObject(sd.acct.ID, "obj-1")
		if again.Name != "renamed" || again.Tags["team"] != "a" || again.Tags["env"] != "" || again.State != keyward.StateDeactivated || len(again.Ops) != 1 {
			t.Fatalf("after update: %+v", again)
		}
		must(t, tx.DestroyMaterial(sd.acct.ID, "obj-1"))
		_, err = tx.ObjectMaterial(sd.acct.ID, "obj-1")
		wantCode(t, err, keyward.ENOTFOUND)
		if n, _ := tx.CountGroupObjects(sd.acct.ID, sd.group.ID); n != 1 {
			t.Fatalf("CountGroupObjects = %d", n)
		}
		return nil
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		return tx.CreateObject(newObject(sd, "obj-2", "renamed", keyward.TypeAES, keyward.StateActive), nil)
	})
	other := seed(t, s, "o2")
	update(t, s, func(tx keyward.Tx) error {
		// The same name in another account is fine; nothing crosses accounts.
		must(t, tx.CreateObject(newObject(other, "obj-3", "renamed", keyward.TypeAES, keyward.StateActive), nil))
		_, err := tx.GetObject(other.acct.ID, "obj-1")
		wantCode(t, err, keyward.ENOTFOUND)
		_, err = tx.ObjectMaterial(other.acct.ID, "obj-1")
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
}

func testListObjects(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "l")
	var g2 *keyward.Group
	update(t, s, func(tx keyward.Tx) error {
		g2 = &keyward.Group{ID: "group-l2", AccountID: sd.acct.ID, Name: "second", CreatedAt: now}
		must(t, tx.CreateGroup(g2))
		add := func(id, name string, typ keyward.ObjectType, state keyward.State, group string, edit func(o *keyward.Object)) {
			o := newObject(sd, id, name, typ, state)
			o.GroupID = group
			if edit != nil {
				edit(o)
			}
			must(t, tx.CreateObject(o, nil))
		}
		add("a", "alpha", keyward.TypeAES, keyward.StateActive, sd.group.ID, nil)
		add("b", "beta", keyward.TypeRSA, keyward.StateActive, sd.group.ID, func(o *keyward.Object) { o.Tags = map[string]string{"env": "dev"} })
		add("c", "gamma", keyward.TypeEC, keyward.StatePreActive, g2.ID, func(o *keyward.Object) { o.ActivationDate = now.Add(time.Hour) })
		add("d", "delta", keyward.TypeAES, keyward.StatePreActive, g2.ID, func(o *keyward.Object) { o.ActivationDate = now.Add(-time.Hour) })
		add("e", "epsilon", keyward.TypeAES, keyward.StateActive, g2.ID, func(o *keyward.Object) { o.DeactivationDate = now.Add(-time.Minute) })
		add("f", "alpha-2", keyward.TypeHMAC, keyward.StateCompromised, sd.group.ID, func(o *keyward.Object) { o.Tags = nil })
		return nil
	})
	cases := []struct {
		name string
		f    keyward.ObjectFilter
		want string
	}{
		{"all", keyward.ObjectFilter{}, "[alpha alpha-2 beta delta epsilon gamma]"},
		{"group", keyward.ObjectFilter{GroupIDs: []string{g2.ID}}, "[delta epsilon gamma]"},
		{"no groups", keyward.ObjectFilter{GroupIDs: []string{}}, "[]"},
		{"type", keyward.ObjectFilter{Type: keyward.TypeAES}, "[alpha delta epsilon]"},
		{"active by date", keyward.ObjectFilter{State: keyward.StateActive}, "[alpha beta delta]"},
		{"pre-active", keyward.ObjectFilter{State: keyward.StatePreActive}, "[gamma]"},
		{"deactivated by date", keyward.ObjectFilter{State: keyward.StateDeactivated}, "[epsilon]"},
		{"compromised", keyward.ObjectFilter{State: keyward.StateCompromised}, "[alpha-2]"},
		{"tag key", keyward.ObjectFilter{Tag: "env"}, "[alpha beta delta epsilon gamma]"},
		{"tag value", keyward.ObjectFilter{Tag: "env=dev"}, "[beta]"},
		{"prefix", keyward.ObjectFilter{NamePrefix: "alp"}, "[alpha alpha-2]"},
		{"exact name", keyward.ObjectFilter{Name: "beta"}, "[beta]"},
		{"page", keyward.ObjectFilter{Page: keyward.Page{After: "beta", Limit: 2}}, "[delta epsilon]"},
	}
	view(t, s, func(tx keyward.Tx) error {
		for _, c := range cases {
			c.f.AccountID, c.f.Now = sd.acct.ID, now
			got, err := tx.ListObjects(c.f)
			names := []string{}
			for _, o := range got {
				names = append(names, o.Name)
				if o.Name == "beta" && o.Tags["env"] != "dev" {
					t.Errorf("%s: tags not loaded: %+v", c.name, o.Tags)
				}
			}
			if err != nil || fmt.Sprint(names) != c.want {
				t.Errorf("%s: %v, %v; want %s", c.name, names, err, c.want)
			}
			// The SQL state filter and the domain rule must agree on every object.
			for _, o := range got {
				if c.f.State != "" && o.EffectiveState(now) != c.f.State {
					t.Errorf("%s: %s has effective state %s", c.name, o.Name, o.EffectiveState(now))
				}
			}
		}
		names, _ := tx.ObjectNamesWithPrefix(sd.acct.ID, "alpha")
		if fmt.Sprint(names) != "[alpha alpha-2]" {
			t.Errorf("ObjectNamesWithPrefix = %v", names)
		}
		return nil
	})
}

func testLinks(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "k")
	update(t, s, func(tx keyward.Tx) error {
		for _, id := range []string{"k1", "k2", "k3"} {
			must(t, tx.CreateObject(newObject(sd, id, "name-"+id, keyward.TypeAES, keyward.StateActive), nil))
		}
		must(t, tx.CreateLink(&keyward.Link{ID: "l1", AccountID: sd.acct.ID, Kind: keyward.LinkCopy, SourceID: "k1", TargetID: "k2", TargetGroup: sd.group.ID, CreatedAt: now, CreatedBy: "user:u"}))
		must(t, tx.CreateLink(&keyward.Link{ID: "l2", AccountID: sd.acct.ID, Kind: keyward.LinkRotation, SourceID: "k2", TargetID: "k3", TargetGroup: sd.group.ID, CreatedAt: now.Add(time.Second), CreatedBy: "user:u"}))
		for id, want := range map[string]string{"k1": "[l1]", "k2": "[l1 l2]", "k3": "[l2]"} {
			ls, err := tx.ObjectLinks(sd.acct.ID, id)
			ids := []string{}
			for _, l := range ls {
				ids = append(ids, l.ID)
			}
			if err != nil || fmt.Sprint(ids) != want {
				t.Errorf("links of %s = %v, %v; want %s", id, ids, err, want)
			}
		}
		return nil
	})
}
