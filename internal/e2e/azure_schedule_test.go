package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app/apptest"
)

// A sync schedule runs syncs on its own: the first run at its start, as an ordinary sync
// job that finds the vault's keys; it can be shown, replaced and cleared.
func TestAzureSyncSchedule(t *testing.T) {
	w := newAzureWorld(t)
	apptest.Check(t, w.emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: 5, Prefix: "sched", Kty: "EC"}))
	env := apptest.StartWith(t, t.TempDir(), w.appOptions())
	g := linkAzureGroup(t, env, "standard", "kw-standard")

	_, err := g.admin.SyncSchedule(ctx, g.group)
	if client.ErrorCode(err) != api.CodeNotFound {
		t.Fatalf("a group without a schedule: %v", err)
	}
	_, err = g.admin.SetSyncSchedule(ctx, g.group, api.SyncScheduleInput{Rule: "every 5s"})
	if ae, ok := err.(*api.Error); !ok || ae.Field != "rule" {
		t.Fatalf("an interval under a minute: %v", err)
	}
	plain, err := g.admin.CreateGroup(ctx, api.GroupCreate{Name: "plain"})
	apptest.Check(t, err)
	if _, err := g.admin.SetSyncSchedule(ctx, plain.ID, api.SyncScheduleInput{Rule: "every 1h"}); err == nil {
		t.Fatal("a group with no vault got a sync schedule")
	}

	sc, err := g.admin.SetSyncSchedule(ctx, "kw-standard", api.SyncScheduleInput{Rule: "every 6h"}) // by name
	apptest.Check(t, err)
	if sc.Rule != "every 6h" || !sc.Enabled || time.Until(sc.NextRunAt) > time.Second {
		t.Fatalf("schedule: %+v", sc)
	}
	// The scheduler takes the first run at once: an ordinary sync job of the group.
	var job *api.Job
	deadline := time.Now().Add(30 * time.Second)
	for job == nil && time.Now().Before(deadline) {
		l, err := g.admin.ListJobs(ctx, client.JobQuery{Group: g.group})
		apptest.Check(t, err)
		for i := range l.Items {
			if l.Items[i].ScheduleID != "" && l.Items[i].Kind == "azure.sync" {
				job = &l.Items[i]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if job == nil {
		t.Fatal("no scheduled sync ran within 30 s")
	}
	done, err := g.admin.WatchJob(ctx, job.ID, 50*time.Millisecond, func(*api.Job) {})
	apptest.Check(t, err)
	if done.State != "succeeded" {
		t.Fatalf("scheduled sync: %s %s", done.State, done.Error)
	}
	keys, err := g.admin.ListKeys(ctx, client.KeyQuery{Group: g.group})
	apptest.Check(t, err)
	if len(keys.Items) != 5 {
		t.Fatalf("after the scheduled sync the group holds %d keys, want 5", len(keys.Items))
	}
	sc, err = g.admin.SyncSchedule(ctx, g.group)
	apptest.Check(t, err)
	if sc.LastRunAt == nil || sc.LastJobID != job.ID || time.Until(sc.NextRunAt) < 5*time.Hour {
		t.Fatalf("after the first run: %+v", sc)
	}

	out, code := runCLI(t, env, g.admin.Token(), "azure", "sync-schedule", "set", "kw-standard", "daily 02:30")
	if code != 0 || !strings.Contains(out, "daily 02:30") || !strings.Contains(out, "NEXT RUN") {
		t.Fatalf("sync-schedule set (%d):\n%s", code, out)
	}
	out, code = runCLI(t, env, g.admin.Token(), "azure", "sync-schedule", "show", "kw-standard")
	if code != 0 || !strings.Contains(out, "daily 02:30") || !strings.Contains(out, "never") {
		t.Fatalf("sync-schedule show after replacing (%d):\n%s", code, out)
	}
	out, code = runCLI(t, env, g.admin.Token(), "azure", "sync-schedule", "clear", "kw-standard")
	if code != 0 || !strings.Contains(out, "only when asked") {
		t.Fatalf("sync-schedule clear (%d):\n%s", code, out)
	}
	if _, err := g.admin.SyncSchedule(ctx, g.group); client.ErrorCode(err) != api.CodeNotFound {
		t.Fatalf("after clear: %v", err)
	}
}
