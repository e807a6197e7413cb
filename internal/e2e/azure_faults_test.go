package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app/apptest"
)

// Syncs while the emulator throttles at random (with and without Retry-After), fails
// with 500 and 503, holds requests past Keyward's timeout and resets connections: each
// sync job succeeds or fails with a reason; an attempt that failed says why in the
// group's service log; no virtual key is lost or held twice, and no escrow is lost —
// whatever a faulty sync left, the next one completes.
func TestAzureSyncFaults(t *testing.T) {
	w := newAzureWorld(t)
	apptest.Check(t, w.emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: 16, Prefix: "base", Kty: "EC", Versions: 2}))
	w.attemptTimeout = 400 * time.Millisecond
	env := apptest.StartWith(t, t.TempDir(), w.appOptions())
	g := linkAzureGroup(t, env, "standard", "kw-standard")
	kc := w.keys("kw-standard")
	const vault = "kw-standard"
	// Each case fails the first matching requests for sure (the listing's first page, so
	// a run always has faults to survive), then a share of the rest at random.
	certain := func(kind string, max int) akvemu.FaultRule {
		return akvemu.FaultRule{Operation: "*", Vault: vault, Kind: kind, Rate: 1, Max: max, Hang: akvemu.Duration(time.Second)}
	}
	random := func(kind string, rate float64) akvemu.FaultRule {
		return akvemu.FaultRule{Operation: "*", Vault: vault, Kind: kind, Rate: rate, Hang: akvemu.Duration(time.Second)}
	}
	withRetryAfter := certain("429", 1)
	withRetryAfter.RetryAfter = akvemu.Duration(time.Second)
	cases := []struct {
		name  string
		rules []akvemu.FaultRule
	}{
		{"429 with Retry-After", []akvemu.FaultRule{withRetryAfter}},
		{"429 without Retry-After", []akvemu.FaultRule{certain("429", 2), random("429", 0.15)}},
		{"500", []akvemu.FaultRule{certain("500", 2), random("500", 0.15)}},
		{"503", []akvemu.FaultRule{certain("503", 2), random("503", 0.15)}},
		// Held for a second, longer than Keyward's attempt timeout (400ms here).
		{"timeout", []akvemu.FaultRule{certain("timeout", 2), random("timeout", 0.03)}},
		{"reset", []akvemu.FaultRule{certain("reset", 2), random("reset", 0.15)}},
		{"all at once", []akvemu.FaultRule{certain("reset", 1), certain("503", 1), certain("429", 1),
			random("reset", 0.05), random("503", 0.05), random("429", 0.05), random("500", 0.05)}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Work for the sync: new keys, and a new version of an existing one.
			apptest.Check(t, w.emu.SeedKeys(vault, akvemu.SeedSpec{Count: 3, Prefix: fmt.Sprintf("new%d", i), Kty: "EC"}))
			apptest.Check(t, w.emu.SeedKeys(vault, akvemu.SeedSpec{Count: 1 + i, Prefix: "base", Kty: "EC"}))
			before := w.emu.Stats().Faulted
			apptest.Check(t, w.emu.SetChaos(akvemu.ChaosConfig{Seed: uint64(i + 1), Faults: tc.rules}))
			j := syncWait(t, g.admin, g.group)
			apptest.Check(t, w.emu.SetChaos(akvemu.ChaosConfig{}))
			faulted := w.emu.Stats().Faulted - before
			certainFaults := 0
			for _, r := range tc.rules {
				certainFaults += r.Max
			}
			if faulted < int64(certainFaults) {
				t.Fatalf("the emulator injected %d faults, fewer than the %d certain ones", faulted, certainFaults)
			}
			t.Logf("%d faults injected; job %s after %d attempts %s", faulted, j.State, j.Attempts, j.Error)
			want := versionsIn(t, kc)
			switch j.State {
			case "succeeded":
				g.checkHolds(t, want, false)
			case "failed":
				if j.Error == "" || strings.Contains(j.Error, "internal error") {
					t.Fatalf("sync failed without a clear reason: %q", j.Error)
				}
				held := g.virtualVersions(t) // fails on a version held twice
				for v := range held {
					if !want[v] {
						t.Fatalf("virtual key %s is not in the vault", v)
					}
				}
			default:
				t.Fatalf("sync ended %s", j.State)
			}
			// Whatever the faults left undone, every key held has its escrow.
			held := map[string]bool{}
			for v := range g.virtualVersions(t) {
				held[v] = true
			}
			g.checkEscrows(t, w.backups, keyNames(held))
			if j.Attempts > 1 {
				checkFailureLogged(t, g.admin, g.group, j.ID)
			}
			// Whatever the faulty sync left, a sync without faults completes it.
			r := g.mustSync(t)
			if j.State == "succeeded" && r.VersionsAdded != 0 {
				t.Fatalf("a successful sync under faults left %d versions for the next", r.VersionsAdded)
			}
			g.checkHolds(t, want, false)
			g.checkEscrows(t, w.backups, keyNames(want))
		})
	}

	// An attempt that cannot finish fails with Azure's reason, in the job and in the
	// service log, and the job's next attempt completes the sync once Azure is back.
	t.Run("failed attempt, then retry", func(t *testing.T) {
		apptest.Check(t, w.emu.SeedKeys(vault, akvemu.SeedSpec{Count: 3, Prefix: "late", Kty: "EC"}))
		apptest.Check(t, w.emu.SetChaos(akvemu.ChaosConfig{Faults: []akvemu.FaultRule{{Operation: "BackupKey", Vault: vault, Kind: "503", Rate: 1}}}))
		j, err := g.admin.SyncGroup(ctx, g.group)
		apptest.Check(t, err)
		deadline := time.Now().Add(30 * time.Second)
		for j.Error == "" && !j.Ended() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			j, err = g.admin.GetJob(ctx, j.ID)
			apptest.Check(t, err)
		}
		if j.Ended() || !strings.Contains(j.Error, "ServiceUnavailable") || !strings.Contains(j.Error, "keys could not be synced (") {
			t.Fatalf("after a failed attempt the job is %s: %q, want it waiting to retry with Azure's reason and the keys", j.State, j.Error)
		}
		checkFailureLogged(t, g.admin, g.group, j.ID)
		apptest.Check(t, w.emu.SetChaos(akvemu.ChaosConfig{}))
		j, err = g.admin.WatchJob(ctx, j.ID, 20*time.Millisecond, func(*api.Job) {})
		apptest.Check(t, err)
		if j.State != "succeeded" || j.Attempts != 2 {
			t.Fatalf("retry: %s after %d attempts: %s", j.State, j.Attempts, j.Error)
		}
		want := versionsIn(t, kc)
		g.checkHolds(t, want, false)
		g.checkEscrows(t, w.backups, keyNames(want))
	})
}

// checkFailureLogged fails unless a failed attempt of the job left an ERROR or WARN in
// the group's service log that says what Azure did.
func checkFailureLogged(t *testing.T, c *client.Client, group, job string) {
	t.Helper()
	l, err := c.ListServiceLog(ctx, group, client.ServiceLogQuery{Job: job, Levels: []string{"ERROR", "WARN"}})
	apptest.Check(t, err)
	for _, e := range l.Items {
		if e.Detail != "" && !strings.Contains(e.Detail, "internal error") {
			return
		}
	}
	t.Fatalf("job %s was retried but its service log says nothing useful: %+v", job, l.Items)
}

func keyNames(versions map[string]bool) []string {
	seen := map[string]bool{}
	var out []string
	for v := range versions {
		name, _, _ := strings.Cut(v, "/")
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}
