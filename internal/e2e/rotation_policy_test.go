package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
)

// waitJob waits for a job of kind in the group that the scheduler made, other than skip.
func waitScheduledJob(t *testing.T, c *client.Client, group, kind string, skip map[string]bool) *api.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		l, err := c.ListJobs(ctx, client.JobQuery{Group: group, Kind: kind})
		apptest.Check(t, err)
		for i := range l.Items {
			if j := l.Items[i]; j.ScheduleID != "" && !skip[j.ID] {
				done, err := c.WatchJob(ctx, j.ID, 50*time.Millisecond, func(*api.Job) {})
				apptest.Check(t, err)
				return done
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no scheduled %s job ran within 30 s", kind)
	return nil
}

// A rotation policy rotates the key on its own, keeps following it by name (through a
// rotation and a rename), and stops when cleared.
func TestRotationPolicy(t *testing.T) {
	k := newKeyEnv(t)
	key := k.create(t, "orders-aes", "AES", 256, "", "ENCRYPT", "DECRYPT")
	_, err := k.admin.SetRotationPolicy(ctx, "orders-aes", api.RotationPolicyInput{Rule: "every 10s"})
	if ae, ok := err.(*api.Error); !ok || ae.Field != "rule" {
		t.Fatalf("an interval under a minute: %v", err)
	}
	if _, err := k.other.SetRotationPolicy(ctx, "orders-aes", api.RotationPolicyInput{Rule: "every 1h"}); client.ErrorCode(err) != api.CodeNotFound {
		t.Fatalf("an application outside the group set a policy: %v", err)
	}
	rp, err := k.admin.SetRotationPolicy(ctx, "orders-aes", api.RotationPolicyInput{Rule: "every 1h", DeactivateOld: true})
	apptest.Check(t, err)
	if rp.Rule != "every 1h" || !rp.DeactivateOld || !strings.HasPrefix(rp.Owner, "user:") || time.Until(rp.NextRunAt) > time.Second {
		t.Fatalf("policy: %+v", rp)
	}
	// The first rotation is due at once.
	j := waitScheduledJob(t, k.admin, k.group, "key.rotate", nil)
	if j.State != "succeeded" {
		t.Fatalf("scheduled rotation: %s %s", j.State, j.Error)
	}
	now, err := k.admin.GetKey(ctx, "orders-aes")
	apptest.Check(t, err)
	old, err := k.admin.GetKey(ctx, key.ID)
	apptest.Check(t, err)
	if now.ID == key.ID || now.Origin != "rotated" || old.State != "deactivated" || old.Name == "orders-aes" {
		t.Fatalf("after the scheduled rotation: new %+v, old %+v", now, old)
	}
	// The policy stays with the name: the new key shows it, with its first run recorded.
	rp, err = k.admin.RotationPolicy(ctx, now.ID)
	apptest.Check(t, err)
	if rp.LastJobID != j.ID || time.Until(rp.NextRunAt) < 50*time.Minute {
		t.Fatalf("policy after the first run: %+v", rp)
	}
	// A rename takes the policy along.
	name := "orders-aes-2026"
	_, err = k.admin.UpdateKey(ctx, now.ID, api.KeyUpdate{Name: &name})
	apptest.Check(t, err)
	if _, err := k.admin.RotationPolicy(ctx, name); err != nil {
		t.Fatalf("the policy after a rename: %v", err)
	}
	out, code := runCLI(t, k.env, k.admin.Token(), "key", "rotation-policy", "show", name)
	if code != 0 || !strings.Contains(out, "every 1h") || !strings.Contains(out, "DEACTIVATE OLD") {
		t.Fatalf("rotation-policy show (%d):\n%s", code, out)
	}
	out, code = runCLI(t, k.env, k.admin.Token(), "key", "rotation-policy", "clear", name)
	if code != 0 || !strings.Contains(out, "only when asked") {
		t.Fatalf("rotation-policy clear (%d):\n%s", code, out)
	}
	if _, err := k.admin.RotationPolicy(ctx, name); client.ErrorCode(err) != api.CodeNotFound {
		t.Fatalf("after clear: %v", err)
	}
	recs, err := k.admin.ListAudit(ctx, client.AuditQuery{Action: "object.rotation_policy"})
	apptest.Check(t, err)
	if len(recs.Items) < 2 {
		t.Fatalf("policy changes audited: %d records", len(recs.Items))
	}
}

// A policy with Azure copies gives each live copy the new material as a new version of its
// Azure key, through the scheduled run.
func TestRotationPolicyWithAzureCopies(t *testing.T) {
	w := startPutWorld(t)
	env := apptest.Start(t, fastJobs)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	linkAll(t, admin, w)
	plain, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "plain"})
	apptest.Check(t, err)
	_, err = admin.CreateKey(ctx, api.KeyCreate{KeySpec: api.KeySpec{Name: "sig", Group: plain.ID, Ops: []string{"SIGN", "VERIFY", "EXPORT"}},
		Type: "RSA", Size: 2048})
	apptest.Check(t, err)
	j, err := admin.CopyAzureKey(ctx, "az-standard", api.AzureKeyCopy{Source: "sig"})
	apptest.Check(t, err)
	if j, err = admin.WatchJob(ctx, j.ID, 50*time.Millisecond, func(*api.Job) {}); err != nil || j.State != "succeeded" {
		t.Fatalf("copy into Azure: %+v %v", j, err)
	}
	_, err = admin.SetRotationPolicy(ctx, "sig", api.RotationPolicyInput{Rule: "every 1h", AzureCopies: true})
	apptest.Check(t, err)
	rot := waitScheduledJob(t, admin, plain.ID, "key.rotate", nil)
	if rot.State != "succeeded" {
		t.Fatalf("scheduled rotation: %s %s", rot.State, rot.Error)
	}
	var res struct {
		Jobs []string `json:"azure_copy_jobs"`
	}
	decodeResult(t, rot, &res)
	if len(res.Jobs) != 1 {
		t.Fatalf("rotation result %s: want one copy's job", rot.Result)
	}
	cj, err := admin.WatchJob(ctx, res.Jobs[0], 50*time.Millisecond, func(*api.Job) {})
	if err != nil || cj.State != "succeeded" {
		t.Fatalf("the copy's rotation: %+v %v", cj, err)
	}
	keys, err := admin.ListKeys(ctx, client.KeyQuery{Group: "az-standard"})
	apptest.Check(t, err)
	versions, current := 0, ""
	for _, k := range keys.Items {
		if k.Azure != nil && k.Azure.KeyName == "sig-copy1" {
			versions++
			if k.Azure.Current {
				current = k.KCV
			}
		}
	}
	now, err := admin.GetKey(ctx, "sig")
	apptest.Check(t, err)
	if versions != 2 || current == "" || current != now.KCV {
		t.Fatalf("the Azure copy has %d versions, its current one KCV %q; the rotated key's KCV is %q", versions, current, now.KCV)
	}
}
