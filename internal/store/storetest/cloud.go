package storetest

import (
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

func newCred(sd seeded, id, name string) *keyward.CloudCredential {
	return &keyward.CloudCredential{ID: id, AccountID: sd.acct.ID, Name: name, Cloud: keyward.CloudPublic,
		Endpoints: keyward.KnownClouds[keyward.CloudPublic], TenantID: "t", ClientID: "c", SubscriptionID: "s",
		AuthMethod: "secret", CreatedAt: now, CreatedBy: "user:u", UpdatedAt: now}
}

func testCloudCredentials(t *testing.T, s keyward.Store, _ Harness) {
	sd, other := seed(t, s, "cc"), seed(t, s, "cc2")
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.CreateCloudCredential(newCred(sd, "cred-1", "prod"), []byte("sealed-1")))
		got, err := tx.GetCloudCredential(sd.acct.ID, "cred-1")
		if err != nil || got.Name != "prod" || got.Endpoints.VaultSuffix != ".vault.azure.net" || !got.CreatedAt.Equal(now) {
			t.Fatalf("GetCloudCredential = %+v, %v", got, err)
		}
		sec, _ := tx.CloudCredentialSecret(sd.acct.ID, "cred-1")
		if string(sec) != "sealed-1" {
			t.Fatalf("secret = %q", sec)
		}
		got.TenantID = "t2"
		must(t, tx.UpdateCloudCredential(got, nil))
		sec, _ = tx.CloudCredentialSecret(sd.acct.ID, "cred-1")
		if string(sec) != "sealed-1" {
			t.Fatalf("a nil secret must keep the old one: %q", sec)
		}
		must(t, tx.UpdateCloudCredential(got, []byte("sealed-2")))
		sec, _ = tx.CloudCredentialSecret(sd.acct.ID, "cred-1")
		again, _ := tx.GetCloudCredential(sd.acct.ID, "cred-1")
		if string(sec) != "sealed-2" || again.TenantID != "t2" {
			t.Fatalf("after update: %q %+v", sec, again)
		}
		_, err = tx.GetCloudCredential(other.acct.ID, "cred-1")
		wantCode(t, err, keyward.ENOTFOUND)
		_, err = tx.CloudCredentialSecret(other.acct.ID, "cred-1")
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		return tx.CreateCloudCredential(newCred(sd, "cred-2", "prod"), []byte("x"))
	})
	view(t, s, func(tx keyward.Tx) error {
		l, err := tx.ListCloudCredentials(sd.acct.ID, keyward.Page{})
		if err != nil || len(l) != 1 {
			t.Fatalf("ListCloudCredentials = %+v, %v", l, err)
		}
		return nil
	})
}

func testAzureLinks(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "al")
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.CreateCloudCredential(newCred(sd, "cred-al", "c"), []byte("x")))
		l := &keyward.AzureLink{GroupID: sd.group.ID, AccountID: sd.acct.ID, CredentialID: "cred-al",
			Vault: keyward.VaultInfo{Kind: keyward.VaultPremium, Name: "kv1", URI: "https://kv1.vault.azure.net/", SoftDelete: true, RetentionDays: 7},
			TLS:   keyward.TLSSettings{ProxyURL: "http://127.0.0.1:8444"}, Status: keyward.LinkNotConnected, Reason: "timeout",
			CreatedAt: now, CreatedBy: "user:u", UpdatedAt: now}
		must(t, tx.PutAzureLink(l, nil))
		_, err := tx.AzureLinkTLSKey(sd.acct.ID, sd.group.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		l.Status, l.Reason, l.CheckedAt = keyward.LinkConnected, "", now
		must(t, tx.PutAzureLink(l, []byte("sealed-tls-key")))
		got, err := tx.GetAzureLink(sd.acct.ID, sd.group.ID)
		if err != nil || got.Status != keyward.LinkConnected || got.Vault.Name != "kv1" || got.Vault.RetentionDays != 7 ||
			got.TLS.ProxyURL == "" || !got.CheckedAt.Equal(now) {
			t.Fatalf("GetAzureLink = %+v, %v", got, err)
		}
		k, _ := tx.AzureLinkTLSKey(sd.acct.ID, sd.group.ID)
		must(t, tx.PutAzureLink(got, nil))
		k2, _ := tx.AzureLinkTLSKey(sd.acct.ID, sd.group.ID)
		if string(k) != "sealed-tls-key" || string(k2) != string(k) {
			t.Fatalf("TLS key: %q then %q", k, k2)
		}
		if n, _ := tx.CountCredentialLinks(sd.acct.ID, "cred-al"); n != 1 {
			t.Fatalf("CountCredentialLinks = %d", n)
		}
		ls, _ := tx.ListAzureLinks(sd.acct.ID)
		if len(ls) != 1 {
			t.Fatalf("ListAzureLinks = %+v", ls)
		}
		must(t, tx.DeleteAzureLink(sd.acct.ID, sd.group.ID))
		_, err = tx.GetAzureLink(sd.acct.ID, sd.group.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
}

func virtualKey(sd seeded, id, keyName, version string, current bool) *keyward.Object {
	o := newObject(sd, id, keyName+"-"+version, keyward.TypeRSA, keyward.StateActive)
	o.Origin, o.PublicOnly, o.Ops = "azure", true, []keyward.Operation{}
	o.Cloud = &keyward.CloudRef{Vault: "kv1", KeyName: keyName, Version: version, KID: "https://kv1.vault.azure.net/keys/" + keyName + "/" + version,
		Protection: "hsm", Source: "azure", KeyType: "RSA-HSM", State: keyward.CloudEnabled, Current: current, Created: now}
	return o
}

func testVirtualKeysAndEscrow(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "vk")
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.CreateObject(virtualKey(sd, "v1", "payments", "aaaa", false), nil))
		must(t, tx.CreateObject(virtualKey(sd, "v2", "payments", "bbbb", true), nil))
		must(t, tx.CreateObject(virtualKey(sd, "v3", "orders", "cccc", true), nil))
		got, err := tx.GetCloudObject(sd.acct.ID, sd.group.ID, "payments", "bbbb")
		if err != nil || got.ID != "v2" || got.Cloud == nil || !got.Cloud.Current || got.Cloud.KeyType != "RSA-HSM" {
			t.Fatalf("GetCloudObject = %+v, %v", got, err)
		}
		got.Cloud.State, got.Cloud.ScheduledPurge = keyward.CloudSoftDeleted, now.Add(7*24*time.Hour)
		must(t, tx.UpdateObject(got))
		again, _ := tx.GetObject(sd.acct.ID, "v2")
		if again.Cloud.State != keyward.CloudSoftDeleted || !again.Cloud.ScheduledPurge.Equal(now.Add(7*24*time.Hour)) {
			t.Fatalf("cloud state not updated: %+v", again.Cloud)
		}
		ps, _ := tx.ListCloudObjects(sd.acct.ID, sd.group.ID, "payments")
		all, _ := tx.ListCloudObjects(sd.acct.ID, sd.group.ID, "")
		if len(ps) != 2 || len(all) != 3 || all[0].Cloud.KeyName != "orders" {
			t.Fatalf("ListCloudObjects: %d and %d", len(ps), len(all))
		}
		// A plain key is not a virtual key.
		must(t, tx.CreateObject(newObject(sd, "plain", "plain", keyward.TypeAES, keyward.StateActive), nil))
		if all, _ := tx.ListCloudObjects(sd.acct.ID, sd.group.ID, ""); len(all) != 3 {
			t.Fatalf("a plain object listed as virtual")
		}

		must(t, tx.PutEscrow(&keyward.Escrow{AccountID: sd.acct.ID, GroupID: sd.group.ID, KeyName: "payments", Blob: []byte("sealed-backup-1"), Versions: 1, TakenAt: now}))
		must(t, tx.PutEscrow(&keyward.Escrow{AccountID: sd.acct.ID, GroupID: sd.group.ID, KeyName: "payments", Blob: []byte("sealed-backup-2"), Versions: 2, TakenAt: now}))
		e, err := tx.GetEscrow(sd.acct.ID, sd.group.ID, "payments")
		if err != nil || string(e.Blob) != "sealed-backup-2" || e.Versions != 2 {
			t.Fatalf("GetEscrow = %+v, %v", e, err)
		}
		must(t, tx.DeleteEscrow(sd.acct.ID, sd.group.ID, "payments"))
		_, err = tx.GetEscrow(sd.acct.ID, sd.group.ID, "payments")
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
	// The same Azure key version twice in one group is refused, even under another name:
	// a repeated or concurrent sync cannot duplicate it.
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		o := virtualKey(sd, "v4", "payments", "aaaa", false)
		o.Name = "another name"
		return tx.CreateObject(o, nil)
	})
}

func testCloudRewrap(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "cr")
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.CreateCloudCredential(newCred(sd, "cred-cr", "c"), []byte("secret-blob")))
		must(t, tx.PutAzureLink(&keyward.AzureLink{GroupID: sd.group.ID, AccountID: sd.acct.ID, CredentialID: "cred-cr",
			Status: keyward.LinkConnected, CreatedAt: now, UpdatedAt: now}, []byte("tls-blob")))
		return tx.PutEscrow(&keyward.Escrow{AccountID: sd.acct.ID, GroupID: sd.group.ID, KeyName: "k", Blob: []byte("escrow-blob"), Versions: 1, TakenAt: now})
	})
	seen := map[string]string{}
	update(t, s, func(tx keyward.Tx) error {
		_, err := tx.RewrapSealed(func(kind, id string, b []byte) ([]byte, error) {
			seen[kind] = id + "=" + string(b)
			return append([]byte("re:"), b...), nil
		})
		return err
	})
	want := map[string]string{"cloud-credential": "cred-cr=secret-blob", "azure-tls-key": sd.group.ID + "=tls-blob",
		"escrow": sd.group.ID + "/k=escrow-blob"}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("rewrap of %s: %q, want %q", k, seen[k], v)
		}
	}
	view(t, s, func(tx keyward.Tx) error {
		sec, _ := tx.CloudCredentialSecret(sd.acct.ID, "cred-cr")
		e, _ := tx.GetEscrow(sd.acct.ID, sd.group.ID, "k")
		k, _ := tx.AzureLinkTLSKey(sd.acct.ID, sd.group.ID)
		if string(sec) != "re:secret-blob" || string(e.Blob) != "re:escrow-blob" || string(k) != "re:tls-blob" {
			t.Fatalf("after rewrap: %q %q %q", sec, e.Blob, k)
		}
		return nil
	})
}
