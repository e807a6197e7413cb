package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app/apptest"
)

// syncResult is the part of a sync job's result the tests read.
type syncResult struct {
	Keys          int `json:"keys"`
	Changed       int `json:"changed"`
	VersionsAdded int `json:"versions_added"`
	Escrowed      int `json:"escrowed"`
	SoftDeleted   int `json:"soft_deleted"`
	Purged        int `json:"purged"`
	Failed        int `json:"failed"`
}

// mustSync syncs and fails unless the job succeeded.
func (g *azureGroup) mustSync(t *testing.T) syncResult {
	t.Helper()
	j := syncWait(t, g.admin, g.group)
	if j.State != "succeeded" {
		t.Fatalf("sync: %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	var r syncResult
	decodeResult(t, j, &r)
	return r
}

func keyIDs(keys map[string]api.Key) []string {
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	return ids
}

// Sync against the emulator through the real SDK: the first sync finds every key and
// version; a repeat adds and duplicates nothing; each key's backup is escrowed, sealed and
// nowhere in clear in the database; changes made in Azure show after the next sync —
// disabled, soft-deleted with the purge date, purged, and new versions that take the name.
func TestAzureSyncStates(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var opts []apptest.Option
			if db == "postgres" {
				opts = append(opts, apptest.WithPostgres(t))
			}
			w := newAzureWorld(t)
			apptest.Check(t, w.emu.SeedKeys("kw-premium", akvemu.SeedSpec{Count: 6, Prefix: "k", Kty: "RSA-HSM", Size: 2048}))
			apptest.Check(t, w.emu.SeedKeys("kw-premium", akvemu.SeedSpec{Count: 1, Prefix: "multi", Kty: "EC", Versions: 3}))
			env := apptest.StartWith(t, t.TempDir(), w.appOptions(), opts...)
			g := linkAzureGroup(t, env, "premium", "kw-premium")
			kc := w.keys("kw-premium")
			names := []string{"k-00001", "k-00002", "k-00003", "k-00004", "k-00005", "k-00006", "multi-00001"}

			r := g.mustSync(t)
			if r.Keys != 7 || r.VersionsAdded != 9 || r.Escrowed != 7 {
				t.Fatalf("first sync: %+v, want 7 keys, 9 versions added, 7 escrowed", r)
			}
			first := g.checkHolds(t, versionsIn(t, kc), false)
			for _, k := range first {
				if k.Azure.Source != "azure" || k.Azure.State != "enabled" || k.Azure.KID == "" || k.PublicOnly == false && k.Type != "AES" {
					t.Fatalf("virtual key %s: %+v (public only %v)", k.Name, k.Azure, k.PublicOnly)
				}
			}
			if k := first["multi-00001/"+currentVersion(t, first, "multi-00001")]; k.Name != "multi-00001" || !k.Azure.Current {
				t.Fatalf("the current version of multi-00001 does not hold the name: %+v", k)
			}
			g.checkEscrows(t, w.backups, names)

			// Keys updated within seconds of the last sync are looked at again (Azure's
			// whole-second dates could hide a change), so "changed" may count them; nothing
			// may be added.
			r = g.mustSync(t)
			if r.VersionsAdded != 0 || r.SoftDeleted != 0 || r.Purged != 0 {
				t.Fatalf("repeat sync did work: %+v", r)
			}
			if again := g.checkHolds(t, versionsIn(t, kc), false); !slices.Equal(keyIDs(again), keyIDs(first)) {
				t.Fatalf("a repeat sync changed the virtual keys")
			}

			// Behind Keyward's back, in Azure.
			_, err := kc.UpdateKey(ctx, "k-00001", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}}, nil)
			apptest.Check(t, err)
			_, err = kc.DeleteKey(ctx, "k-00002", nil)
			apptest.Check(t, err)
			_, err = kc.DeleteKey(ctx, "k-00003", nil)
			apptest.Check(t, err)
			_, err = kc.PurgeDeletedKey(ctx, "k-00003", nil)
			apptest.Check(t, err)
			rotated, err := kc.CreateKey(ctx, "k-00004", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeySize: to.Ptr(int32(2048))}, nil)
			apptest.Check(t, err)

			r = g.mustSync(t)
			if r.VersionsAdded != 1 || r.SoftDeleted != 1 || r.Purged != 1 || r.Keys != 5 {
				t.Fatalf("sync after changes: %+v, want 1 version added, 1 soft-deleted, 1 purged, 5 keys", r)
			}
			after := g.checkHolds(t, versionsIn(t, kc), true)
			if len(after) != 10 {
				t.Fatalf("%d virtual keys after the changes, want 10 (9 + the new version)", len(after))
			}
			for v, k := range after {
				switch k.Azure.KeyName {
				case "k-00001":
					if k.Azure.State != "disabled" {
						t.Fatalf("disabled key shows %s", k.Azure.State)
					}
				case "k-00002":
					if k.Azure.State != "soft-deleted" || k.Azure.ScheduledPurge == nil || k.Azure.DeletedAt == nil ||
						k.Azure.ScheduledPurge.Sub(*k.Azure.DeletedAt).Hours() != 7*24 {
						t.Fatalf("soft-deleted key: state %s, deleted %v, purge %v", k.Azure.State, k.Azure.DeletedAt, k.Azure.ScheduledPurge)
					}
				case "k-00003":
					if k.Azure.State != "purged" || k.State != "destroyed" {
						t.Fatalf("purged key: azure state %s, state %s", k.Azure.State, k.State)
					}
				case "k-00004":
					isNew := k.Azure.Version == rotated.Key.KID.Version()
					if isNew != k.Azure.Current || isNew != (k.Name == "k-00004") {
						t.Fatalf("rotated key: version %s current %v named %s (new %v)", v, k.Azure.Current, k.Name, isNew)
					}
				default:
					if k.Azure.State != "enabled" {
						t.Fatalf("untouched key %s shows %s", v, k.Azure.State)
					}
				}
			}
			g.checkEscrows(t, w.backups, names) // kept for deleted and purged keys too

			r = g.mustSync(t)
			if r.VersionsAdded != 0 || r.SoftDeleted != 0 || r.Purged != 0 {
				t.Fatalf("repeat sync after changes did work: %+v", r)
			}
			if again := g.checkHolds(t, versionsIn(t, kc), true); !slices.Equal(keyIDs(again), keyIDs(after)) {
				t.Fatalf("a repeat sync changed the virtual keys")
			}

			// A soft-deleted key recovered in Azure comes back enabled, with its versions.
			_, err = kc.RecoverDeletedKey(ctx, "k-00002", nil)
			apptest.Check(t, err)
			r = g.mustSync(t)
			if r.VersionsAdded != 0 || r.Keys != 6 {
				t.Fatalf("sync after recover: %+v", r)
			}
			for _, k := range g.checkHolds(t, versionsIn(t, kc), true) {
				if k.Azure.KeyName == "k-00002" && (k.Azure.State != "enabled" || k.State != "active") {
					t.Fatalf("recovered key: azure state %s, state %s", k.Azure.State, k.State)
				}
			}

			// A purged name made again in Azure is a new key: its version takes the name,
			// the purged versions stay as they were.
			reborn, err := kc.CreateKey(ctx, "k-00003", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil)
			apptest.Check(t, err)
			r = g.mustSync(t)
			if r.VersionsAdded != 1 {
				t.Fatalf("sync after re-creating a purged key: %+v", r)
			}
			for _, k := range g.checkHolds(t, versionsIn(t, kc), true) {
				if k.Azure.KeyName != "k-00003" {
					continue
				}
				isNew := k.Azure.Version == reborn.Key.KID.Version()
				if isNew != (k.Azure.State == "enabled") || isNew != (k.State == "active") || isNew != k.Azure.Current || isNew != (k.Name == "k-00003") {
					t.Fatalf("k-00003 version %s (new %v): %s, azure %s, current %v", k.Azure.Version, isNew, k.Name, k.Azure.State, k.Azure.Current)
				}
			}
			g.checkEscrows(t, w.backups, []string{"k-00003"})

			// Nothing Azure handed out is in the database in clear, in any encoding.
			decoded, encoded := w.backups.all()
			if len(decoded) < 8 {
				t.Fatalf("%d backups seen", len(decoded))
			}
			if db == "sqlite" {
				g.env.Stop()
				var raw []byte
				for _, f := range []string{"keyward.db", "keyward.db-wal"} {
					b, err := os.ReadFile(filepath.Join(g.env.Dir, f))
					if err != nil && !os.IsNotExist(err) {
						t.Fatal(err)
					}
					raw = append(raw, b...)
				}
				for i := range decoded {
					if bytes.Contains(raw, decoded[i][:64]) || bytes.Contains(raw, []byte(encoded[i][:64])) {
						t.Fatalf("a backup blob is in the database file in clear")
					}
				}
			}
		})
	}
}

// currentVersion is the version of the named Azure key marked current.
func currentVersion(t *testing.T, keys map[string]api.Key, name string) string {
	t.Helper()
	for _, k := range keys {
		if k.Azure.KeyName == name && k.Azure.Current {
			return k.Azure.Version
		}
	}
	t.Fatalf("no current version of %s", name)
	return ""
}

// Syncs of one group started together (a user clicking twice, a schedule meeting a manual
// sync) hold each version once, and every one of them succeeds.
func TestAzureSyncConcurrentJobs(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var opts []apptest.Option
			if db == "postgres" {
				opts = append(opts, apptest.WithPostgres(t))
			}
			w := newAzureWorld(t)
			apptest.Check(t, w.emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: 40, Prefix: "k", Kty: "EC", Versions: 2}))
			env := apptest.StartWith(t, t.TempDir(), w.appOptions(), opts...)
			g := linkAzureGroup(t, env, "standard", "kw-standard")
			var jobs []*api.Job
			for range 3 {
				j, err := g.admin.SyncGroup(ctx, g.group)
				apptest.Check(t, err)
				jobs = append(jobs, j)
			}
			for _, j := range jobs {
				j, err := g.admin.WatchJob(ctx, j.ID, 20*time.Millisecond, func(*api.Job) {})
				apptest.Check(t, err)
				if j.State != "succeeded" || j.Attempts != 1 {
					t.Errorf("sync %s: %s after %d attempts: %s", j.ID, j.State, j.Attempts, j.Error)
				}
			}
			want := versionsIn(t, w.keys("kw-standard"))
			g.checkHolds(t, want, false)
			g.checkEscrows(t, w.backups, keyNames(want))
		})
	}
}
