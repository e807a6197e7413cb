package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/cli"
)

// startDevAzure starts keyward dev's emulator on dir, with deletes and recovers that take
// effect at once (the dev world's Azure-like delays only slow tests down).
func startDevAzure(t *testing.T, dir string) *app.DevAzure {
	t.Helper()
	az, err := app.StartDevAzure(dir, func(c *akvemu.Config) { c.Timing = akvemu.TimingConfig{} })
	apptest.Check(t, err)
	t.Cleanup(func() { az.Close() })
	return az
}

// syncWait syncs a group and waits for the job to end.
func syncWait(t *testing.T, c *client.Client, group string) *api.Job {
	t.Helper()
	j, err := c.SyncGroup(ctx, group)
	apptest.Check(t, err)
	j, err = c.WatchJob(ctx, j.ID, 20*time.Millisecond, func(*api.Job) {})
	apptest.Check(t, err)
	return j
}

// groupKeys lists a group's keys by name.
func groupKeys(t *testing.T, c *client.Client, group string) map[string]api.Key {
	t.Helper()
	out := map[string]api.Key{}
	after := ""
	for {
		l, err := c.ListKeys(ctx, client.KeyQuery{Group: group, After: after, Limit: 1000})
		apptest.Check(t, err)
		for _, k := range l.Items {
			if _, dup := out[k.Name]; dup {
				t.Fatalf("group %s: two keys named %q", group, k.Name)
			}
			out[k.Name] = k
		}
		if l.Next == "" {
			return out
		}
		after = l.Next
	}
}

// azureVersions counts the distinct Azure key versions among virtual keys.
func azureVersions(t *testing.T, keys map[string]api.Key) map[string]int {
	t.Helper()
	seen := map[string]bool{}
	perKey := map[string]int{}
	for _, k := range keys {
		if k.Azure == nil {
			t.Fatalf("key %s in an Azure group is not a virtual key", k.Name)
		}
		v := k.Azure.KeyName + "/" + k.Azure.Version
		if seen[v] {
			t.Fatalf("Azure key version %s is held twice", v)
		}
		seen[v] = true
		perKey[k.Azure.KeyName]++
	}
	return perKey
}

// keyward dev starts the Azure emulator in-process and wires it up: one cloud credential,
// three connected Azure groups (Standard, Premium, Managed HSM) whose vaults already hold
// keys; a sync finds them; a restart on the same data dir reuses everything, the
// emulator's keys included, and duplicates nothing.
func TestDevAzureSetUpSyncAndRestart(t *testing.T) {
	dir := t.TempDir()
	az := startDevAzure(t, dir)
	env := apptest.StartWith(t, dir, app.Options{AzureTLS: &az.TLS})
	st, denv, err := env.App.SetUpDev(ctx, az)
	apptest.Check(t, err)

	wantGroups := map[string]string{"kw-standard": "standard", "kw-premium": "premium", "kw-hsm": "managed-hsm"}
	// Keys and versions the dev world seeds, by group.
	wantVersions := map[string]map[string]int{
		"kw-standard": {"app-ec-00001": 2, "app-ec-00002": 2, "app-rsa-00001": 1},
		"kw-premium":  {"payments-rsa-00001": 1, "payments-rsa-00002": 1, "payments-ec-00001": 1},
		"kw-hsm":      {"db-aes-00001": 1, "db-aes-00002": 1, "signing-rsa-00001": 1},
	}
	admin := env.Client(denv.Token)
	checkGroups := func(c *client.Client) map[string]string {
		t.Helper()
		gs, err := c.ListGroups(ctx, "", 0)
		apptest.Check(t, err)
		ids := map[string]string{}
		for _, g := range gs.Items {
			if _, dup := ids[g.Name]; dup {
				t.Fatalf("two groups named %s", g.Name)
			}
			ids[g.Name] = g.ID
			kind, azure := wantGroups[g.Name]
			switch {
			case !azure && g.Azure != nil:
				t.Fatalf("group %s is linked to Azure: %+v", g.Name, g.Azure)
			case azure && (g.Azure == nil || g.Azure.VaultKind != kind || g.Azure.Vault != g.Name || g.Azure.Status != "connected"):
				t.Fatalf("group %s: azure = %+v, want a connected %s link to vault %s", g.Name, g.Azure, kind, g.Name)
			}
		}
		if len(gs.Items) != 4 {
			t.Fatalf("groups: %d, want default and three Azure groups", len(gs.Items))
		}
		return ids
	}
	ids := checkGroups(admin)
	if len(st.AzureGroups) != 3 {
		t.Fatalf("dev state: %+v", st.AzureGroups)
	}
	for _, g := range st.AzureGroups {
		if ids[g.Name] != g.ID {
			t.Fatalf("dev state names group %s as %s, the server as %s", g.Name, g.ID, ids[g.Name])
		}
	}
	creds, err := admin.ListCloudCredentials(ctx, "", 0)
	apptest.Check(t, err)
	if len(creds.Items) != 1 || creds.Items[0].TenantID != akvemu.DevTenantID || creds.Items[0].ClientID != akvemu.DevClientID ||
		creds.Items[0].SubscriptionID != akvemu.DevSubscriptionID {
		t.Fatalf("cloud credentials: %+v", creds.Items)
	}
	envFile, err := os.ReadFile(filepath.Join(dir, "dev.env"))
	apptest.Check(t, err)
	if !strings.Contains(string(envFile), "export KEYWARD_AZURE_EMULATOR='"+az.Addr+"'") ||
		!strings.Contains(string(envFile), "keyward azure sync GROUP --wait") {
		t.Fatalf("dev.env does not tell of the emulator:\n%s", envFile)
	}
	var banner bytes.Buffer
	app.PrintDevBanner(&banner, env.App, st, denv)
	for _, want := range []string{"kw-standard", "kw-premium", "kw-hsm", "keyward azure sync kw-standard --wait", az.Addr} {
		if !strings.Contains(banner.String(), want) {
			t.Fatalf("banner lacks %q:\n%s", want, banner.String())
		}
	}

	// The first sync of each group finds the keys seeded in the emulator.
	for group, want := range wantVersions {
		j := syncWait(t, admin, group) // by name, as the banner says
		if j.State != "succeeded" {
			t.Fatalf("sync %s: %s %s", group, j.State, j.Error)
		}
		if got := azureVersions(t, groupKeys(t, admin, group)); !mapsEqual(got, want) {
			t.Fatalf("virtual keys of %s by Azure key: %v, want %v", group, got, want)
		}
		// Jobs and the service log, asked for by group name as the docs do.
		jl, err := admin.ListJobs(ctx, client.JobQuery{Group: group, Kind: "azure.sync"})
		apptest.Check(t, err)
		if len(jl.Items) != 1 || jl.Items[0].ID != j.ID {
			t.Fatalf("sync jobs of %s: %+v", group, jl.Items)
		}
		sl, err := admin.ListServiceLog(ctx, group, client.ServiceLogQuery{Job: j.ID, Contains: "Sync done"})
		apptest.Check(t, err)
		if len(sl.Items) != 1 || sl.Items[0].Level != "INFO" {
			t.Fatalf("service log of %s: %+v", group, sl.Items)
		}
	}
	env.Stop()
	apptest.Check(t, az.Close())
	if _, err := os.Stat(filepath.Join(dir, app.DevAzureStateFile)); err != nil {
		t.Fatalf("emulator state: %v", err)
	}

	// Restart: the emulator comes back with its keys (on another port), Keyward reuses
	// its credential and groups, and a sync adds nothing.
	az2 := startDevAzure(t, dir)
	for _, v := range az2.Emulator.Vaults() {
		if want := len(wantVersions[v.Name]); v.Keys != want {
			t.Fatalf("after restart the emulator's %s holds %d keys, want %d", v.Name, v.Keys, want)
		}
	}
	env2 := apptest.StartWith(t, dir, app.Options{AzureTLS: &az2.TLS})
	st2, denv2, err := env2.App.SetUpDev(ctx, az2)
	apptest.Check(t, err)
	admin2 := env2.Client(denv2.Token)
	if ids2 := checkGroups(admin2); !mapsEqual(ids2, ids) {
		t.Fatalf("groups after restart %v, before %v", ids2, ids)
	}
	if !slices.Equal(st2.AzureGroups, st.AzureGroups) {
		t.Fatalf("dev state after restart %+v, before %+v", st2.AzureGroups, st.AzureGroups)
	}
	creds, err = admin2.ListCloudCredentials(ctx, "", 0)
	apptest.Check(t, err)
	if len(creds.Items) != 1 {
		t.Fatalf("cloud credentials after restart: %+v", creds.Items)
	}
	for group, want := range wantVersions {
		j := syncWait(t, admin2, group)
		var res struct {
			VersionsAdded int `json:"versions_added"`
		}
		decodeResult(t, j, &res)
		if j.State != "succeeded" || res.VersionsAdded != 0 {
			t.Fatalf("sync %s after restart: %s %s, %d versions added", group, j.State, j.Error, res.VersionsAdded)
		}
		if got := azureVersions(t, groupKeys(t, admin2, group)); !mapsEqual(got, want) {
			t.Fatalf("virtual keys of %s after restart: %v, want %v", group, got, want)
		}
	}
}

func mapsEqual[K, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// decodeResult reads a job's result into v.
func decodeResult(t *testing.T, j *api.Job, v any) {
	t.Helper()
	b, err := json.Marshal(j.Result)
	apptest.Check(t, err)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("job %s result %s: %v", j.ID, b, err)
	}
}

// safeBuffer is a bytes.Buffer a command may write while the test reads it.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The `keyward dev` command itself: it starts the emulator and the server, sets the Azure
// groups up while serving, prints the banner, and the CLI syncs a group by name through
// the environment dev.env gives. Ctrl-C (the context) stops it cleanly.
func TestDevCommand(t *testing.T) {
	dir := t.TempDir()
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var out safeBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(dctx, []string{"dev", "--data-dir", dir, "--listen", "127.0.0.1:0"}, cli.IO{In: strings.NewReader(""), Out: &out, Err: &out})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C to stop.") {
		select {
		case code := <-done:
			t.Fatalf("keyward dev exited %d:\n%s", code, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyward dev not ready in 60s:\n%s", out.String())
		}
	}
	for _, want := range []string{"kw-standard  standard", "kw-premium   premium", "kw-hsm       managed-hsm", "keyward azure sync kw-standard --wait"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("banner lacks %q:\n%s", want, out.String())
		}
	}
	envFile, err := os.ReadFile(filepath.Join(dir, "dev.env"))
	apptest.Check(t, err)
	vars := map[string]string{}
	for _, line := range strings.Split(string(envFile), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && !strings.HasPrefix(line, "#") {
			vars[k] = strings.Trim(v, "'")
		}
	}
	var cliOut bytes.Buffer
	args := []string{"--addr", vars["KEYWARD_ADDR"], "--cacert", vars["KEYWARD_CACERT"], "--token", vars["KEYWARD_TOKEN"], "azure", "sync", "kw-hsm", "--wait"}
	t.Setenv("KEYWARD_CONFIG_DIR", t.TempDir())
	if code := cli.Main(ctx, args, cli.IO{In: strings.NewReader(""), Out: &cliOut, Err: &cliOut}); code != 0 || !strings.Contains(cliOut.String(), "succeeded") {
		t.Fatalf("keyward azure sync kw-hsm --wait: exit %d\n%s", code, cliOut.String())
	}
	cliOut.Reset()
	args = []string{"--addr", vars["KEYWARD_ADDR"], "--cacert", vars["KEYWARD_CACERT"], "--token", vars["KEYWARD_TOKEN"], "key", "list", "--group", "kw-hsm"}
	if code := cli.Main(ctx, args, cli.IO{In: strings.NewReader(""), Out: &cliOut, Err: &cliOut}); code != 0 ||
		!strings.Contains(cliOut.String(), "db-aes-00001") || !strings.Contains(cliOut.String(), "signing-rsa-00001") {
		t.Fatalf("keyward key list --group kw-hsm: exit %d\n%s", code, cliOut.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("keyward dev exited %d after Ctrl-C:\n%s", code, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("keyward dev did not stop within 20s of Ctrl-C")
	}
	if _, err := os.Stat(filepath.Join(dir, app.DevAzureStateFile)); err != nil {
		t.Fatalf("emulator state after stop: %v", err)
	}
}
