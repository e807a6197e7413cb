package service

import (
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/keyward"
)

// TestAzureRotateNative: Azure makes the new version; the name moves to it.
func TestAzureRotateNative(t *testing.T) {
	w := newAzWorld(t, []string{"kw-std"})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-std", "sig", "EC", 1)
	w.sync("kw-std")
	old := w.current("kw-std", "sig")
	j := w.ok(s.RotateAzureKey(ctx, p, old.Name, ""))
	vs := w.versions("kw-std", "sig")
	if len(vs) != 2 {
		t.Fatalf("%d versions after rotation, want 2", len(vs))
	}
	nw := w.current("kw-std", "sig")
	if nw.ID == old.ID || nw.Name != "sig" || nw.Cloud.Source != SourceAzure || nw.Cloud.State != keyward.CloudEnabled {
		t.Fatalf("new version: %s %q source %s state %s", nw.ID, nw.Name, nw.Cloud.Source, nw.Cloud.State)
	}
	if o, _ := s.GetObject(ctx, p, old.ID); o.Name != "sig ("+old.Cloud.Version[:8]+")" || o.Cloud.Current {
		t.Fatalf("old version renamed %q (current %t)", o.Name, o.Cloud.Current)
	}
	if ck, err := w.vault("kw-std").GetKey(ctx, "sig", ""); err != nil || ck.Version != nw.Cloud.Version {
		t.Fatalf("Azure's current version %v, %v; Keyward's %s", ck, err, nw.Cloud.Version)
	}
	if e, err := w.escrow("kw-std", "sig"); err != nil || e.Versions != 2 {
		t.Fatalf("escrow after rotation: %+v, %v", e, err)
	}
	if !strings.Contains(string(j.Result), nw.ID) {
		t.Fatalf("job result %s does not name the new virtual key", j.Result)
	}
	// A sync afterwards adds nothing: the rotation recorded what Azure made.
	if res := w.sync("kw-std"); res.VersionsAdded != 0 {
		t.Fatalf("sync after rotation added %d versions", res.VersionsAdded)
	}
}

// TestAzureRotateToKeyward: a native key rotated to a Keyward key's material becomes
// Keyward-owned; rotating that Keyward key rotates its linked copy; after a purge the copy
// is re-imported from its source. Software protection goes as a JWK.
func TestAzureRotateToKeyward(t *testing.T) {
	w := newAzWorld(t, []string{"kw-std"})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-std", "tls", "RSA", 1)
	w.sync("kw-std")
	native := w.current("kw-std", "tls")
	src := w.keywardKey("tls-source", keyward.TypeRSA, 2048, "")

	// Refusals at the edge: wrong type, no EXPORT, a virtual key as source, no such key.
	ec := w.keywardKey("ec-source", keyward.TypeEC, 0, "P-256")
	_, err := s.RotateAzureKey(ctx, p, native.ID, ec.ID)
	wantCode(t, err, keyward.EINVALID, "rotate RSA to an EC key")
	if !strings.Contains(err.Error(), "from") {
		t.Fatalf("the refusal does not name the field: %v", err)
	}
	noExport, err := s.GenerateObject(ctx, p, ObjectSpec{GroupID: w.plain, Name: "sealed-in", Ops: []keyward.Operation{keyward.OpSign}}, keyward.TypeRSA, 2048, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.RotateAzureKey(ctx, p, native.ID, noExport.ID)
	wantCode(t, err, keyward.EFORBIDDEN, "rotate to a key without EXPORT")
	_, err = s.RotateAzureKey(ctx, p, native.ID, native.ID)
	wantCode(t, err, keyward.EINVALID, "rotate to a virtual key")
	_, err = s.RotateAzureKey(ctx, p, native.ID, "no-such-key")
	wantCode(t, err, keyward.EINVALID, "rotate to a missing key")

	w.ok(s.RotateAzureKey(ctx, p, native.ID, "tls-source"))
	cp := w.current("kw-std", "tls")
	if cp.Cloud.Source != SourceKeyward || cp.Cloud.SourceObjectID != src.ID || cp.KCV != src.KCV || cp.Name != "tls" {
		t.Fatalf("after rotation to Keyward: source %s/%s kcv %s (want %s/%s %s) name %q",
			cp.Cloud.Source, cp.Cloud.SourceObjectID, cp.KCV, SourceKeyward, src.ID, src.KCV, cp.Name)
	}
	if cp.Cloud.Protection != "software" {
		t.Fatalf("protection %s", cp.Cloud.Protection)
	}

	// The Keyward key offers its linked copy; rotating it with the copy gives the copy
	// the new material as a new version of its Azure key.
	_, copies, err := s.AzureCopies(ctx, p, src.ID)
	if err != nil || len(copies) != 1 || copies[0].ID != cp.ID {
		t.Fatalf("AzureCopies = %d, %v", len(copies), err)
	}
	_, err = s.RotateObjectAndCopies(ctx, p, src.ID, false, []string{"not-a-copy"})
	wantCode(t, err, keyward.EINVALID, "rotate with an unknown copy")
	if o, _ := s.GetObject(ctx, p, src.ID); o.Name != "tls-source" {
		t.Fatalf("a refused rotation renamed the key to %q", o.Name)
	}
	r, err := s.RotateObjectAndCopies(ctx, p, src.ID, false, []string{AllAzureCopies})
	if err != nil || len(r.Jobs) != 1 {
		t.Fatalf("RotateObjectAndCopies = %+v, %v", r, err)
	}
	w.ok(&r.Jobs[0], nil)
	rc := w.current("kw-std", "tls")
	if rc.ID == cp.ID || rc.Cloud.SourceObjectID != r.New.ID || rc.KCV != r.New.KCV || rc.KCV == src.KCV {
		t.Fatalf("rotated copy: id %s source %s kcv %s; want source %s kcv %s", rc.ID, rc.Cloud.SourceObjectID, rc.KCV, r.New.ID, r.New.KCV)
	}
	if n := len(w.versions("kw-std", "tls")); n != 3 {
		t.Fatalf("%d versions, want 3", n)
	}
	// The old Keyward key has no live copy left; the new one has it.
	if _, c, _ := s.AzureCopies(ctx, p, src.ID); len(c) != 0 {
		t.Fatalf("the rotated-out key still offers %d copies", len(c))
	}

	// After a purge, the Keyward-owned key comes back from its source (a new version id).
	w.ok(s.DeleteAzureKey(ctx, p, rc.ID, true))
	w.ok(s.PurgeAzureKey(ctx, p, rc.ID, true))
	w.ok(s.ReimportAzureKey(ctx, p, rc.ID))
	back := w.current("kw-std", "tls")
	if back.ID == rc.ID || back.Cloud.State != keyward.CloudEnabled || back.KCV != r.New.KCV || back.Cloud.SourceObjectID != r.New.ID {
		t.Fatalf("re-imported: %s state %s kcv %s source %s", back.ID, back.Cloud.State, back.KCV, back.Cloud.SourceObjectID)
	}
	if ck, err := w.vault("kw-std").GetKey(ctx, "tls", ""); err != nil || ck.Version != back.Cloud.Version {
		t.Fatalf("Azure after re-import: %v, %v", ck, err)
	}
	// It lives again: neither a second re-import nor a restore of the purged versions may
	// go over it.
	_, err = s.ReimportAzureKey(ctx, p, rc.ID)
	wantCode(t, err, keyward.EPRECONDITION, "re-import over a live key")
	_, err = s.RestoreAzureKey(ctx, p, rc.ID)
	wantCode(t, err, keyward.EPRECONDITION, "restore over a live key")
	// The purged versions stay, marked purged, until removed; removing them keeps the
	// live key's escrow.
	res, err := s.RemoveAzureKey(ctx, p, rc.ID, true)
	if err != nil || len(res.Removed) != 3 || res.EscrowRemoved {
		t.Fatalf("remove the purged versions: %+v, %v", res, err)
	}
	if _, err := w.escrow("kw-std", "tls"); err != nil {
		t.Fatalf("the live key's escrow: %v", err)
	}
}

// TestAzureRotateHSMByBYOK: HSM-protected copies (Premium RSA-HSM, Managed HSM AES) get
// their new material by Azure's BYOK transfer, and the key-exchange key is cleaned up.
func TestAzureRotateHSMByBYOK(t *testing.T) {
	w := newAzWorld(t, []string{"kw-prem", "kw-hsm"})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-prem", "hsm-rsa", "RSA-HSM", 1)
	w.createInAzure("kw-hsm", "hsm-aes", "oct-HSM", 1)
	w.sync("kw-prem")
	w.sync("kw-hsm")

	rsaSrc := w.keywardKey("rsa-src", keyward.TypeRSA, 3072, "")
	w.ok(s.RotateAzureKey(ctx, p, "hsm-rsa", rsaSrc.ID))
	got := w.current("kw-prem", "hsm-rsa")
	if got.Cloud.KeyType != "RSA-HSM" || got.Cloud.Protection != "hsm" || got.KCV != rsaSrc.KCV || got.Cloud.Source != SourceKeyward {
		t.Fatalf("BYOK rotation on Premium: kty %s protection %s kcv %s (want %s)", got.Cloud.KeyType, got.Cloud.Protection, got.KCV, rsaSrc.KCV)
	}
	w.createInAzure("kw-prem", "hsm-ec", "EC-HSM", 1)
	w.sync("kw-prem")
	ecSrc := w.keywardKey("ec-src", keyward.TypeEC, 0, "P-256")
	w.ok(s.RotateAzureKey(ctx, p, "hsm-ec", ecSrc.ID))
	if e := w.current("kw-prem", "hsm-ec"); e.Cloud.KeyType != "EC-HSM" || e.KCV != ecSrc.KCV {
		t.Fatalf("BYOK rotation of an EC-HSM key: kty %s kcv %s (want %s)", e.Cloud.KeyType, e.KCV, ecSrc.KCV)
	}
	aesSrc := w.keywardKey("aes-src", keyward.TypeAES, 256, "")
	w.ok(s.RotateAzureKey(ctx, p, "hsm-aes", aesSrc.ID))
	a := w.current("kw-hsm", "hsm-aes")
	if a.Cloud.KeyType != "oct-HSM" || a.Cloud.Source != SourceKeyward || a.Cloud.SourceObjectID != aesSrc.ID {
		t.Fatalf("BYOK rotation on Managed HSM: %+v", a.Cloud)
	}
	// No key-exchange key is left, live or deleted.
	for _, vault := range []string{"kw-prem", "kw-hsm"} {
		v := w.vault(vault)
		err := v.ListKeys(ctx, func(it keyward.CloudKeyItem) error {
			if strings.HasPrefix(it.Name, "keyward-kek-") {
				t.Errorf("key-exchange key %s left in %s", it.Name, vault)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = v.ListDeletedKeys(ctx, func(d keyward.CloudDeletedKey) error {
			if strings.HasPrefix(d.Name, "keyward-kek-") {
				t.Errorf("deleted key-exchange key %s left in %s", d.Name, vault)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
