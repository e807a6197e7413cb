package service

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// TestAzureLifecycleNativeKey walks a key born in Azure through every lifecycle step and
// checks Keyward's view and Azure's after each one.
func TestAzureLifecycleNativeKey(t *testing.T) {
	w := newAzWorld(t, []string{"kw-std"})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-std", "pay", "RSA", 2)
	w.sync("kw-std")
	vs := w.versions("kw-std", "pay")
	if len(vs) != 2 {
		t.Fatalf("synced %d versions, want 2", len(vs))
	}
	cur := w.current("kw-std", "pay")
	var old keyward.Object
	for _, o := range vs {
		if !o.Cloud.Current {
			old = o
		}
	}
	v := w.vault("kw-std")

	// Tags are written to Azure (per version) and shown on the virtual key.
	w.ok(s.TagAzureKey(ctx, p, cur.Name, map[string]string{"team": "payments", "env": "prod"}))
	if ck, err := v.GetKey(ctx, "pay", cur.Cloud.Version); err != nil || ck.Tags["team"] != "payments" || len(ck.Tags) != 2 {
		t.Fatalf("Azure tags = %v, %v", ck.Tags, err)
	}
	if got := w.current("kw-std", "pay"); got.Tags["env"] != "prod" {
		t.Fatalf("virtual key tags = %v", got.Tags)
	}
	tooMany := map[string]string{}
	for i := range 16 {
		tooMany[fmt.Sprint("t", i)] = "x"
	}
	_, err := s.TagAzureKey(ctx, p, cur.ID, tooMany)
	wantCode(t, err, keyward.EINVALID, "16 tags")
	if !strings.Contains(err.Error(), "tags") {
		t.Fatalf("the error does not name the field: %v", err)
	}

	// Deactivate disables that version in Azure; the virtual key shows it.
	w.ok(s.SetAzureKeyEnabled(ctx, p, old.ID, false))
	if ck, _ := v.GetKey(ctx, "pay", old.Cloud.Version); ck == nil || ck.Enabled {
		t.Fatalf("old version still enabled in Azure: %+v", ck)
	}
	if o, _ := s.GetObject(ctx, p, old.ID); o.Cloud.State != keyward.CloudDisabled || o.State != keyward.StateDeactivated {
		t.Fatalf("deactivated version: cloud %s, state %s", o.Cloud.State, o.State)
	}

	// Refusals before anything is deleted.
	_, err = s.RemoveAzureKey(ctx, p, cur.ID, true)
	wantCode(t, err, keyward.EPRECONDITION, "remove a live key")
	_, err = s.PurgeAzureKey(ctx, p, cur.ID, true)
	wantCode(t, err, keyward.EPRECONDITION, "purge a live key")
	_, err = s.RecoverAzureKey(ctx, p, cur.ID)
	wantCode(t, err, keyward.EPRECONDITION, "recover a live key")
	_, err = s.RestoreAzureKey(ctx, p, cur.ID)
	wantCode(t, err, keyward.EPRECONDITION, "restore a live key")
	_, err = s.DeleteAzureKey(ctx, p, cur.ID, false)
	wantCode(t, err, keyward.EINVALID, "delete without confirmation")
	if !strings.Contains(err.Error(), "confirm") {
		t.Fatalf("the refusal does not name confirm: %v", err)
	}
	if _, err := v.GetKey(ctx, "pay", ""); err != nil {
		t.Fatalf("an unconfirmed delete reached Azure: %v", err)
	}

	// Soft delete: every version shows soft-deleted with the purge date; a fresh backup
	// with both versions is escrowed first.
	before := time.Now()
	w.ok(s.DeleteAzureKey(ctx, p, cur.ID, true))
	for _, o := range w.versions("kw-std", "pay") {
		c := o.Cloud
		if c.State != keyward.CloudSoftDeleted || c.ScheduledPurge.Before(before.Add(6*24*time.Hour)) || c.DeletedAt.IsZero() {
			t.Fatalf("after delete %s: state %s, deleted %s, purge %s", o.Name, c.State, c.DeletedAt, c.ScheduledPurge)
		}
	}
	if d, err := v.GetDeletedKey(ctx, "pay"); err != nil || d.ScheduledPurge.IsZero() {
		t.Fatalf("Azure deleted key = %+v, %v", d, err)
	}
	if e, err := w.escrow("kw-std", "pay"); err != nil || e.Versions != 2 || len(e.Blob) == 0 {
		t.Fatalf("escrow = %+v, %v", e, err)
	}
	_, err = s.TagAzureKey(ctx, p, cur.ID, map[string]string{"a": "b"})
	wantCode(t, err, keyward.EPRECONDITION, "tag a soft-deleted key")
	_, err = s.DeleteAzureKey(ctx, p, cur.ID, true)
	wantCode(t, err, keyward.EPRECONDITION, "delete twice")
	_, err = s.RemoveAzureKey(ctx, p, cur.ID, true)
	wantCode(t, err, keyward.EPRECONDITION, "remove a soft-deleted key")

	// Recover: both versions are back, states refreshed from Azure (the disabled one stays
	// disabled).
	w.ok(s.RecoverAzureKey(ctx, p, cur.ID))
	for _, o := range w.versions("kw-std", "pay") {
		want := keyward.CloudEnabled
		if o.ID == old.ID {
			want = keyward.CloudDisabled
		}
		if o.Cloud.State != want || !o.Cloud.ScheduledPurge.IsZero() {
			t.Fatalf("after recover %s: %s (purge %s), want %s", o.Name, o.Cloud.State, o.Cloud.ScheduledPurge, want)
		}
	}
	if ck, err := v.GetKey(ctx, "pay", ""); err != nil || ck.Version != cur.Cloud.Version {
		t.Fatalf("Azure after recover: %+v, %v", ck, err)
	}

	// Purge needs its own confirmation, then the key is gone from Azure for good.
	w.ok(s.DeleteAzureKey(ctx, p, cur.ID, true))
	_, err = s.PurgeAzureKey(ctx, p, cur.ID, false)
	wantCode(t, err, keyward.EINVALID, "purge without confirmation")
	w.ok(s.PurgeAzureKey(ctx, p, cur.ID, true))
	for _, o := range w.versions("kw-std", "pay") {
		if o.Cloud.State != keyward.CloudPurged || o.State != keyward.StateDestroyed {
			t.Fatalf("after purge %s: %s/%s", o.Name, o.Cloud.State, o.State)
		}
	}
	if _, err := v.GetDeletedKey(ctx, "pay"); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Fatalf("purged key still deleted in Azure: %v", err)
	}
	_, err = s.ReimportAzureKey(ctx, p, cur.ID)
	wantCode(t, err, keyward.EPRECONDITION, "re-import a native key")

	// Restore from the escrowed backup: the same versions, with their ids, live again.
	w.ok(s.RestoreAzureKey(ctx, p, cur.ID))
	got := w.versions("kw-std", "pay")
	if len(got) != 2 {
		t.Fatalf("after restore %d virtual keys, want 2", len(got))
	}
	for _, o := range got {
		if o.Cloud.State == keyward.CloudPurged || o.State == keyward.StateDestroyed {
			t.Fatalf("after restore %s: %s/%s", o.Name, o.Cloud.State, o.State)
		}
		if _, err := v.GetKey(ctx, "pay", o.Cloud.Version); err != nil {
			t.Fatalf("version %s not back in Azure: %v", o.Cloud.Version, err)
		}
	}
	if w.current("kw-std", "pay").ID != cur.ID {
		t.Fatal("the restored key's current version changed")
	}

	// Remove: only once purged, with confirmation; the escrow goes with it.
	w.ok(s.DeleteAzureKey(ctx, p, cur.ID, true))
	w.ok(s.PurgeAzureKey(ctx, p, cur.ID, true))
	_, err = s.RemoveAzureKey(ctx, p, cur.ID, false)
	wantCode(t, err, keyward.EINVALID, "remove without confirmation")
	res, err := s.RemoveAzureKey(ctx, p, cur.ID, true)
	if err != nil || len(res.Removed) != 2 || !res.EscrowRemoved {
		t.Fatalf("remove = %+v, %v", res, err)
	}
	if n := len(w.versions("kw-std", "pay")); n != 0 {
		t.Fatalf("%d virtual keys left after remove", n)
	}
	if _, err := w.escrow("kw-std", "pay"); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Fatalf("escrow after remove: %v", err)
	}
	// A sync does not bring it back: Azure has no such key.
	w.sync("kw-std")
	if n := len(w.versions("kw-std", "pay")); n != 0 {
		t.Fatalf("sync brought back %d removed virtual keys", n)
	}

	// Every request and every change made in Azure is audited.
	recs, err := s.ListAudit(ctx, p, keyward.AuditFilter{Action: "azure.key.", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	done := 0
	for _, r := range recs {
		seen[string(r.Action)+"/"+r.Outcome]++
		if strings.HasPrefix(r.Detail, "done in Azure") {
			done++
		}
	}
	for _, a := range []string{"azure.key.update", "azure.key.delete", "azure.key.recover", "azure.key.purge", "azure.key.restore", "azure.key.remove"} {
		if seen[a+"/"+keyward.OutcomeSuccess] == 0 {
			t.Errorf("no audit record of %s (seen %v)", a, seen)
		}
	}
	if done < 8 {
		t.Errorf("%d audit records of changes done in Azure, want at least 8", done)
	}
	logs, err := s.ListServiceLog(ctx, p, w.group["kw-std"], keyward.ServiceLogFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range logs {
		msgs = append(msgs, string(e.Level)+" "+e.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"Azure key pay deleted", "Azure key pay recovered", "Azure key pay purged", "restored from escrow", "Removed purged Azure key"} {
		if !strings.Contains(all, want) {
			t.Errorf("service log lacks %q:\n%s", want, all)
		}
	}
}

// TestAzureVaultRules: what a vault does not support is refused before Azure is called.
func TestAzureVaultRules(t *testing.T) {
	w := newAzWorld(t, []string{"kw-guard", "kw-legacy", "kw-hsm"})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-guard", "guarded", "RSA-HSM", 1)
	w.createInAzure("kw-legacy", "old", "RSA", 1)
	w.createInAzure("kw-hsm", "aes", "oct-HSM", 1)
	for _, v := range []string{"kw-guard", "kw-legacy", "kw-hsm"} {
		w.sync(v)
	}

	// Purge protection: the delete works, the purge is refused without a call to Azure.
	g := w.current("kw-guard", "guarded")
	w.ok(s.DeleteAzureKey(ctx, p, g.ID, true))
	w.emu.ResetStats()
	_, err := s.PurgeAzureKey(ctx, p, g.ID, true)
	wantCode(t, err, keyward.EPRECONDITION, "purge under purge protection")
	if !strings.Contains(err.Error(), "purge protection") {
		t.Fatalf("the refusal does not say why: %v", err)
	}
	if n := w.emu.Stats().Operations["PurgeDeletedKey"].Requests; n != 0 {
		t.Fatalf("%d purge requests reached Azure", n)
	}
	_, err = s.RemoveAzureKey(ctx, p, g.ID, true)
	wantCode(t, err, keyward.EPRECONDITION, "remove a key Azure has not purged")
	w.ok(s.RecoverAzureKey(ctx, p, g.ID))

	// No soft delete: the delete is final (purged at once); recover and purge are not
	// supported; the escrowed backup still brings the key back.
	o := w.current("kw-legacy", "old")
	_, err = s.DeleteAzureKey(ctx, p, o.ID, false)
	if !keyward.IsCode(err, keyward.EINVALID) || !strings.Contains(err.Error(), "for good") {
		t.Fatalf("unconfirmed delete on a vault without soft delete: %v", err)
	}
	w.ok(s.DeleteAzureKey(ctx, p, o.ID, true))
	if got := w.current("kw-legacy", "old"); got.Cloud.State != keyward.CloudPurged {
		t.Fatalf("deleted without soft delete: %s", got.Cloud.State)
	}
	_, err = s.RecoverAzureKey(ctx, p, o.ID)
	wantCode(t, err, keyward.ENOTSUPPORTED, "recover without soft delete")
	_, err = s.PurgeAzureKey(ctx, p, o.ID, true)
	wantCode(t, err, keyward.ENOTSUPPORTED, "purge without soft delete")
	w.ok(s.RestoreAzureKey(ctx, p, o.ID))
	if got := w.current("kw-legacy", "old"); got.Cloud.State != keyward.CloudEnabled {
		t.Fatalf("restored on a legacy vault: %s", got.Cloud.State)
	}

	// Managed HSM: Azure cannot rotate an AES key by itself; Keyward says so up front.
	a := w.current("kw-hsm", "aes")
	_, err = s.RotateAzureKey(ctx, p, a.ID, "")
	wantCode(t, err, keyward.ENOTSUPPORTED, "rotate AES on a managed HSM")

	// A plain Keyward key is not a virtual key; a virtual key is not rotated as one.
	k := w.keywardKey("plain-key", keyward.TypeRSA, 2048, "")
	_, err = s.DeleteAzureKey(ctx, p, k.ID, true)
	wantCode(t, err, keyward.EPRECONDITION, "azure delete of a plain key")
	_, err = s.RotateObject(ctx, p, a.ID, false)
	wantCode(t, err, keyward.EPRECONDITION, "Keyward rotation of a virtual key")
	// Nor are Azure's attributes changed in Keyward alone: the next sync would undo it.
	tags := map[string]string{"x": "y"}
	_, err = s.UpdateObject(ctx, p, a.ID, ObjectPatch{Tags: &tags})
	wantCode(t, err, keyward.EINVALID, "Keyward-only tags on a virtual key")
	_, err = s.ChangeState(ctx, p, a.ID, Deactivate)
	wantCode(t, err, keyward.EPRECONDITION, "Keyward-only deactivation of a virtual key")
	_, err = s.DestroyObject(ctx, p, a.ID)
	wantCode(t, err, keyward.EPRECONDITION, "destroying a virtual key")
	desc := "the HSM's AES key"
	if _, err := s.UpdateObject(ctx, p, a.ID, ObjectPatch{Description: &desc}); err != nil {
		t.Fatalf("a virtual key's description is Keyward's: %v", err)
	}

	// One change of a key at a time.
	w.emu.SetChaos(akvemuLatency(300 * time.Millisecond))
	j, err := s.TagAzureKey(ctx, p, a.ID, map[string]string{"x": "1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SetAzureKeyEnabled(ctx, p, a.ID, false)
	wantCode(t, err, keyward.ECONFLICT, "a second change while one is queued")
	w.emu.SetChaos(akvemuLatency(0))
	w.ok(j, nil)
}

// TestAzureKeyAccess: only the group's administrators change keys in Azure; its auditors
// are refused (and the refusal audited); others do not see the key at all.
func TestAzureKeyAccess(t *testing.T) {
	w := newAzWorld(t, []string{"kw-std"})
	ctx, s := w.ctx, w.s
	w.createInAzure("kw-std", "acl", "EC", 1)
	w.sync("kw-std")
	user := func(email string) keyward.Principal {
		au, err := s.AddUser(ctx, w.admin, NewUser{Email: email, Password: "long enough password", Role: keyward.RoleMember})
		if err != nil {
			t.Fatal(err)
		}
		return keyward.Principal{Kind: keyward.KindUser, ID: au.User.ID, Name: email, AccountID: w.admin.AccountID, Role: keyward.RoleMember}
	}
	gadmin, gaud, outsider := user("gadmin@a.example"), user("gaud@a.example"), user("out@a.example")
	for p, role := range map[keyward.Principal]keyward.GroupRole{gadmin: keyward.GroupAdministrator, gaud: keyward.GroupAuditor} {
		if _, err := s.SetGroupMember(ctx, w.admin, w.group["kw-std"], keyward.KindUser, p.ID, role); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.DeleteAzureKey(ctx, gaud, "acl", true)
	wantCode(t, err, keyward.EFORBIDDEN, "a group auditor deletes")
	_, err = s.RotateAzureKey(ctx, outsider, "acl", "")
	wantCode(t, err, keyward.ENOTFOUND, "an outsider rotates")
	_, err = s.RemoveAzureKey(ctx, outsider, "acl", true)
	wantCode(t, err, keyward.ENOTFOUND, "an outsider removes")
	w.ok(s.TagAzureKey(ctx, gadmin, "acl", map[string]string{"by": "group admin"}))
	recs, err := s.ListAudit(ctx, w.admin, keyward.AuditFilter{Action: ActAzureKeyDelete, Outcome: keyward.OutcomeDenied})
	if err != nil || len(recs) != 1 || recs[0].Actor != gaud.Actor() {
		t.Fatalf("denied delete audited: %d records, %v", len(recs), err)
	}
}
