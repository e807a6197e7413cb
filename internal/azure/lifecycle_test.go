package azure

import (
	"slices"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/keyward"
)

// TestLifecycleAzureTiming deletes, recovers, purges and restores with Azure's
// asynchronous timing: every change shows by the time the method returns.
func TestLifecycleAzureTiming(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := w.emu.SetTiming(akvemu.AzureLikeTiming()); err != nil {
		t.Fatal(err)
	}
	for _, vault := range []string{"kw-standard", "kw-hsm"} {
		t.Run(vault, func(t *testing.T) {
			t.Parallel()
			lifecycle(t, w, vault)
		})
	}
}

func lifecycle(t *testing.T, w *world, vault string) {
	ctx := ctxT(t)
	v := w.open(w.connector(), vault)
	kty := "EC-HSM"
	if vault == "kw-standard" {
		kty = "EC"
	}
	k, err := v.CreateKey(ctx, "cycle", keyward.CloudKeySpec{KeyType: kty, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := v.RotateKey(ctx, "cycle")
	if err != nil {
		t.Fatal(err)
	}
	backup, err := v.BackupKey(ctx, "cycle")
	if err != nil || len(backup) == 0 {
		t.Fatalf("BackupKey: %d bytes, %v", len(backup), err)
	}

	start := time.Now()
	d, err := v.DeleteKey(ctx, "cycle")
	if err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if time.Since(start) < time.Second || v.Calls()["GetDeletedKey"] < 2 {
		t.Errorf("DeleteKey returned after %v with calls %v: it did not wait for the delete", time.Since(start), v.Calls())
	}
	info := w.info(vault)
	if d.Name != "cycle" || d.RecoveryID != info.URI+"deletedkeys/cycle" || d.Current == nil || d.Current.Version != k2.Version ||
		!d.ScheduledPurge.Equal(d.DeletedAt.AddDate(0, 0, info.RetentionDays)) {
		t.Errorf("deleted key %+v", d)
	}
	// Consistent at once: the deleted key reads and lists, the name is taken.
	if got, err := v.GetDeletedKey(ctx, "cycle"); err != nil || got.RecoveryID != d.RecoveryID {
		t.Errorf("GetDeletedKey = %+v, %v", got, err)
	}
	var listed []string
	if err := v.ListDeletedKeys(ctx, func(dk keyward.CloudDeletedKey) error {
		if dk.DeletedAt.IsZero() || dk.Current == nil || dk.Current.Created.IsZero() {
			t.Errorf("deleted item %+v", dk)
		}
		listed = append(listed, dk.Name)
		return nil
	}); err != nil || !slices.Equal(listed, []string{"cycle"}) {
		t.Errorf("ListDeletedKeys = %v, %v", listed, err)
	}
	_, err = v.CreateKey(ctx, "cycle", keyward.CloudKeySpec{KeyType: kty, Enabled: true})
	wantCode(t, err, keyward.ECONFLICT, "Azure: Conflict: Key cycle is currently in a deleted but recoverable state")
	// Deleting again converges on the deleted key.
	if again, err := v.DeleteKey(ctx, "cycle"); err != nil || again.RecoveryID != d.RecoveryID {
		t.Errorf("second DeleteKey = %+v, %v", again, err)
	}

	r, err := v.RecoverKey(ctx, "cycle")
	if err != nil || r.Version != k2.Version {
		t.Fatalf("RecoverKey = %+v, %v", r, err)
	}
	versions := 0
	if err := v.ListVersions(ctx, "cycle", func(keyward.CloudKey) error { versions++; return nil }); err != nil || versions != 2 {
		t.Errorf("after recover: %d versions, %v", versions, err)
	}
	if _, err := v.GetKey(ctx, "cycle", k.Version); err != nil {
		t.Errorf("older version after recover: %v", err)
	}

	if _, err := v.DeleteKey(ctx, "cycle"); err != nil {
		t.Fatal(err)
	}
	if err := v.PurgeKey(ctx, "cycle"); err != nil {
		t.Fatalf("PurgeKey: %v", err)
	}
	_, err = v.GetDeletedKey(ctx, "cycle")
	wantCode(t, err, keyward.ENOTFOUND, "Azure: KeyNotFound: ")
	// A purged name stays reserved a while: restore is a conflict, then works.
	_, err = v.RestoreKey(ctx, backup)
	wantCode(t, err, keyward.ECONFLICT, "Azure: Conflict: ")
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := v.RestoreKey(ctx, backup)
		if err == nil {
			if got.Name != "cycle" || got.Version != k2.Version {
				t.Errorf("restored %+v", got)
			}
			break
		}
		if !keyward.IsCode(err, keyward.ECONFLICT) || time.Now().After(deadline) {
			t.Fatalf("RestoreKey: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if _, err := v.GetKey(ctx, "cycle", k.Version); err != nil {
		t.Errorf("restored older version: %v", err)
	}
}

// TestSoftDeleteRules: a vault without soft delete has no deleted keys, and one with
// purge protection never purges; neither call is made.
func TestSoftDeleteRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := ctxT(t)
	c := w.connector()
	legacy := w.open(c, "kw-legacy")
	if _, err := legacy.CreateKey(ctx, "gone", keyward.CloudKeySpec{KeyType: "RSA", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	d, err := legacy.DeleteKey(ctx, "gone")
	if err != nil || d.Name != "gone" || d.RecoveryID != "" {
		t.Fatalf("DeleteKey on a legacy vault = %+v, %v", d, err)
	}
	_, err = legacy.GetKey(ctx, "gone", "")
	wantCode(t, err, keyward.ENOTFOUND, "")
	before := legacy.Calls()
	_, err = legacy.GetDeletedKey(ctx, "gone")
	wantCode(t, err, keyward.ENOTSUPPORTED, "")
	wantCode(t, legacy.ListDeletedKeys(ctx, func(keyward.CloudDeletedKey) error { return nil }), keyward.ENOTSUPPORTED, "")
	_, err = legacy.RecoverKey(ctx, "gone")
	wantCode(t, err, keyward.ENOTSUPPORTED, "")
	wantCode(t, legacy.PurgeKey(ctx, "gone"), keyward.ENOTSUPPORTED, "")
	if after := legacy.Calls(); !mapsEqual(before, after) {
		t.Errorf("calls went out: %v then %v", before, after)
	}

	guarded := w.open(c, "kw-guarded")
	if _, err := guarded.CreateKey(ctx, "kept", keyward.CloudKeySpec{KeyType: "RSA-HSM", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := guarded.DeleteKey(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, guarded.PurgeKey(ctx, "kept"), keyward.EFORBIDDEN, "")
	if guarded.Calls()["PurgeDeletedKey"] != 0 {
		t.Error("PurgeKey called Azure under purge protection")
	}
	// Azure's own refusal, when the link does not know of the protection yet.
	stale := w.info("kw-guarded")
	stale.PurgeProtection = false
	v, err := c.Open(secretCred(), secret(), &keyward.AzureLink{Vault: stale, TLS: w.tls}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, v.PurgeKey(ctx, "kept"), keyward.EFORBIDDEN, `Azure: Forbidden: Operation "purge" is not allowed because purge protection is enabled`)
	_, err = v.RecoverKey(ctx, "never-was")
	wantCode(t, err, keyward.ENOTFOUND, "Azure: KeyNotFound: Deleted Key not found: never-was")
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
