package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/azure"
	"github.com/keyward/keyward/internal/keyward"
)

// syncChildEnv asks the test binary to be a Keyward server reaching the emulator of the
// parent test, whose address and CA are in DIR/azure.json.
const syncChildEnv = "KEYWARD_E2E_SYNC_CHILD"

func init() {
	if dir := os.Getenv(syncChildEnv); dir != "" {
		os.Exit(runSyncChild(dir))
	}
}

type syncChildInfo struct {
	Addr, CACert, Admin, Account string
}

// quickLease lets a restarted server take over the job of a killed one in seconds.
func quickLease(c *configT) { c.Jobs.Lease, c.Jobs.Poll = 3*time.Second, 100*time.Millisecond }

func runSyncChild(dir string) int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 1 }
	var tls keyward.TLSSettings
	b, err := os.ReadFile(filepath.Join(dir, "azure.json"))
	if err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(b, &tls); err != nil {
		return fail(err)
	}
	cfg := apptest.Config(dir, quickLease)
	a, err := app.New(ctx, cfg, app.Options{FastPasswordHashing: true, AzureTLS: &tls,
		Cloud: azure.New(azure.Options{Retry: azure.RetryOptions{TransientBackoff: 5 * time.Millisecond}})})
	if err != nil {
		return fail(err)
	}
	acct, _, err := a.Service.Bootstrap(ctx, "Acme", "admin@a.example", apptest.Password)
	if err != nil {
		return fail(err)
	}
	login, err := a.Service.Login(ctx, "admin@a.example", apptest.Password, acct.ID)
	if err != nil {
		return fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(syncChildInfo{a.Addr(), a.CACertFile, login.Token, acct.ID})
	return fail(a.Run(ctx))
}

// A server is killed (SIGKILL) in the middle of a sync made slow by the emulator's latency.
// Started again, it takes the job over once its lease runs out and finishes it: every
// version of every key is a virtual key exactly once, and every key's backup is escrowed.
func TestAzureSyncResumesAfterKill(t *testing.T) {
	const keys = 160
	w := newAzureWorld(t)
	apptest.Check(t, w.emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: keys, Prefix: "k", Kty: "EC"}))
	dir := t.TempDir()
	tlsJSON, _ := json.Marshal(w.tls)
	apptest.Check(t, os.WriteFile(filepath.Join(dir, "azure.json"), tlsJSON, 0o600))

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), syncChildEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	apptest.Check(t, err)
	apptest.Check(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadBytes('\n')
	var info syncChildInfo
	if err != nil || json.Unmarshal(line, &info) != nil {
		t.Fatalf("child server did not start: %v\n%s", err, stderr.String())
	}
	child, err := client.New(info.Addr, client.WithCACertFile(info.CACert), client.WithToken(info.Admin))
	apptest.Check(t, err)
	_, err = child.CreateCloudCredential(ctx, api.CloudCredentialInput{Name: "emulator", TenantID: akvemu.DevTenantID,
		ClientID: akvemu.DevClientID, SubscriptionID: akvemu.DevSubscriptionID, ClientSecret: akvemu.DevClientSecret})
	apptest.Check(t, err)
	grp, err := child.CreateGroup(ctx, api.GroupCreate{Name: "kw-standard"})
	apptest.Check(t, err)
	if l, err := child.LinkGroup(ctx, grp.ID, api.AzureLinkInput{Credential: "emulator", VaultKind: "standard", Vault: "kw-standard"}); err != nil || l.Status != "connected" {
		t.Fatalf("link: %+v %v\n%s", l, err, stderr.String())
	}

	// Slow Azure down, start the sync, and kill the server once it has recorded a few keys.
	apptest.Check(t, w.emu.SetChaos(akvemu.ChaosConfig{Latency: akvemu.Duration(150 * time.Millisecond)}))
	job, err := child.SyncGroup(ctx, grp.ID)
	apptest.Check(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := child.ListKeys(ctx, client.KeyQuery{Group: grp.ID, Limit: 1})
		apptest.Check(t, err)
		if len(l.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync recorded no key in 30s\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill() // SIGKILL: no shutdown, the job's lease is left to run out
	cmd.Wait()
	apptest.Check(t, w.emu.SetChaos(akvemu.ChaosConfig{}))

	// The kill came in the middle: some keys recorded, not all; the job still "running".
	env := apptest.StartWith(t, dir, w.appOptions(), func(c *configT) { c.Jobs.Disable = true })
	g := &azureGroup{env: env, admin: env.Client(info.Admin), account: info.Account, group: grp.ID, vault: "kw-standard"}
	partial := len(g.virtualVersions(t))
	j, err := g.admin.GetJob(ctx, job.ID)
	apptest.Check(t, err)
	if partial == 0 || partial >= keys || j.State != "running" {
		t.Fatalf("after the kill: %d of %d keys recorded, job %s: the kill did not come mid-sync", partial, keys, j.State)
	}
	env.Stop()

	env = apptest.StartWith(t, dir, w.appOptions(), quickLease)
	g.env, g.admin = env, env.Client(info.Admin)
	j, err = g.admin.WatchJob(ctx, job.ID, 50*time.Millisecond, func(*api.Job) {})
	apptest.Check(t, err)
	if j.State != "succeeded" || j.Attempts != 2 {
		t.Fatalf("resumed sync: %s after %d attempts: %s", j.State, j.Attempts, j.Error)
	}
	want := versionsIn(t, w.keys("kw-standard"))
	if len(want) != keys {
		t.Fatalf("the vault holds %d versions", len(want))
	}
	g.checkHolds(t, want, false)
	g.checkEscrows(t, nil, keyNames(want)) // the child's backups were not tapped
	t.Logf("killed with %d of %d keys recorded; the resumed job finished them", partial, keys)
}
