package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/keyward"
)

// startAzureEnv runs the Azure emulator (the development world, with immediate deletes)
// and a Keyward server that reaches it over HTTPS through its proxy; it returns the
// server, the admin's client and token, and the id of a group linked to vault.
func startAzureEnv(t *testing.T, vault, kind string, opts ...apptest.Option) (*akvemu.Emulator, *apptest.Env, *client.Client, string) {
	t.Helper()
	cfg := akvemu.DevConfig()
	cfg.Timing = akvemu.TimingConfig{PurgeDelay: akvemu.Duration(100 * time.Millisecond)}
	emu, err := akvemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ectx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- emu.Serve(ectx, ln) }()
	env := apptest.StartWithAzure(t, keyward.TLSSettings{ProxyURL: "http://" + ln.Addr().String(), CACertPEM: string(emu.CACertPEM())}, opts...)
	t.Cleanup(func() { env.Stop(); cancel(); <-served; emu.Close() })
	_, admin := env.Bootstrap("Contoso", "admin@contoso.example")
	_, err = admin.CreateCloudCredential(ctx, api.CloudCredentialInput{Name: "dev", TenantID: akvemu.DevTenantID, ClientID: akvemu.DevClientID,
		SubscriptionID: akvemu.DevSubscriptionID, ClientSecret: akvemu.DevClientSecret})
	apptest.Check(t, err)
	g, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "payments"})
	apptest.Check(t, err)
	l, err := admin.LinkGroup(ctx, g.ID, api.AzureLinkInput{Credential: "dev", VaultKind: kind, Vault: vault})
	if err != nil || l.Status != "connected" {
		t.Fatalf("link: %+v %v", l, err)
	}
	return emu, env, admin, g.ID
}

// watchOK returns a function that follows a job just started to its end, which must be
// success: watchOK(t, c)(c.StartSomething(...)).
func watchOK(t *testing.T, c *client.Client) func(*api.Job, error) *api.Job {
	return func(j *api.Job, err error) *api.Job {
		t.Helper()
		return watchJobOK(t, c, j, err)
	}
}

func watchJobOK(t *testing.T, c *client.Client, j *api.Job, err error) *api.Job {
	t.Helper()
	if err != nil {
		t.Fatalf("start job: %v", err)
	}
	got, err := c.WatchJob(ctx, j.ID, 50*time.Millisecond, func(*api.Job) {})
	if err != nil || got.State != "succeeded" {
		t.Fatalf("job %s (%s): %+v %v", j.ID, j.Title, got, err)
	}
	return got
}

// TestAzureKeyLifecycleCLI drives the lifecycle and rotation of an Azure key through the
// REST API, the Go client and the keyward command, against the emulator.
func TestAzureKeyLifecycleCLI(t *testing.T) { testAzureKeyLifecycleCLI(t) }

// TestAzureKeyLifecycleCLIPostgres is the same on PostgreSQL (skipped without
// KEYWARD_TEST_POSTGRES).
func TestAzureKeyLifecycleCLIPostgres(t *testing.T) {
	testAzureKeyLifecycleCLI(t, apptest.WithPostgres(t))
}

func testAzureKeyLifecycleCLI(t *testing.T, opts ...apptest.Option) {
	emu, env, admin, group := startAzureEnv(t, "kw-standard", "standard", opts...)
	if err := emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: 1, Prefix: "web", Kty: "RSA"}); err != nil {
		t.Fatal(err)
	}
	watchOK(t, admin)(admin.SyncGroup(ctx, group))
	tok := admin.Token()
	const key = "web-00001"

	out, code := runCLI(t, env, tok, "azure", "key", "list", "payments")
	if code != 0 || !strings.Contains(out, key) || !strings.Contains(out, "enabled") || !strings.Contains(out, "STATE IN AZURE") {
		t.Fatalf("azure key list (%d):\n%s", code, out)
	}

	// Tags, then deactivation, each watched to the end.
	out, code = runCLI(t, env, tok, "azure", "key", "tag", key, "--tag", "team=web", "--wait")
	if code != 0 {
		t.Fatalf("tag (%d):\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "deactivate", key, "--wait")
	if code != 0 {
		t.Fatalf("deactivate (%d):\n%s", code, out)
	}
	k, err := admin.GetKey(ctx, key)
	apptest.Check(t, err)
	if k.Azure.State != "disabled" || k.Tags["team"] != "web" || k.State != "deactivated" {
		t.Fatalf("after tag and deactivate: azure %s tags %v state %s", k.Azure.State, k.Tags, k.State)
	}
	watchOK(t, admin)(admin.ActivateAzureKey(ctx, key))

	// A delete without confirmation is refused at the CLI and at the API, naming the field.
	out, code = runCLI(t, env, tok, "azure", "key", "delete", key)
	if code == 0 || !strings.Contains(out, "--yes") {
		t.Fatalf("delete without --yes (%d):\n%s", code, out)
	}
	_, err = admin.DeleteAzureKey(ctx, key, false)
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeInvalidArgument || ae.Field != "confirm" {
		t.Fatalf("API delete without confirm: %v", err)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "delete", key, "--yes", "--wait")
	if code != 0 {
		t.Fatalf("delete (%d):\n%s", code, out)
	}
	out, _ = runCLI(t, env, tok, "azure", "key", "list", "payments")
	if !strings.Contains(out, "soft-deleted in Azure") || !strings.Contains(out, time.Now().Add(7 * 24 * time.Hour).Format("2006-01-02")[:4]) {
		t.Fatalf("list after delete:\n%s", out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "show", key)
	if code != 0 || !strings.Contains(out, "soft-deleted in Azure") || !strings.Contains(out, "PURGE DATE") || !strings.Contains(out, "https://kw-standard.vault.azure.net/keys/"+key+"/") {
		t.Fatalf("show after delete (%d):\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "remove", key, "--yes")
	if code == 0 || !strings.Contains(out, "purged") {
		t.Fatalf("remove before purge (%d):\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "-o", "json", "azure", "key", "recover", key, "--wait")
	var j api.Job
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.State != "succeeded" {
		t.Fatalf("recover -o json (%d):\n%s", code, out)
	}

	// Native rotation: the name moves to the new version.
	out, code = runCLI(t, env, tok, "azure", "key", "rotate", key, "--wait")
	if code != 0 {
		t.Fatalf("rotate (%d):\n%s", code, out)
	}
	l, err := admin.ListKeys(ctx, client.KeyQuery{Group: group})
	apptest.Check(t, err)
	if len(l.Items) != 2 {
		t.Fatalf("%d virtual keys after rotation", len(l.Items))
	}

	// Rotation to a Keyward key, then the Keyward key's rotation with its copy.
	plain, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "keyward-keys"})
	apptest.Check(t, err)
	src, err := admin.CreateKey(ctx, api.KeyCreate{KeySpec: api.KeySpec{Name: "web-src", Group: plain.ID, Ops: []string{"SIGN", "VERIFY", "EXPORT"}}, Type: "RSA", Size: 2048})
	apptest.Check(t, err)
	out, code = runCLI(t, env, tok, "azure", "key", "rotate", key, "--from", "web-src", "--wait")
	if code != 0 {
		t.Fatalf("rotate --from (%d):\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "copies", "web-src")
	if code != 0 || !strings.Contains(out, key) || !strings.Contains(out, "keyward ("+src.ID+")") {
		t.Fatalf("copies (%d):\n%s", code, out)
	}
	r, err := admin.RotateKey(ctx, "web-src", api.KeyRotate{AzureCopies: []string{"all"}})
	if err != nil || len(r.Jobs) != 1 {
		t.Fatalf("rotate with copies: %+v %v", r, err)
	}
	watchJobOK(t, admin, &r.Jobs[0], nil)
	k, err = admin.GetKey(ctx, key)
	apptest.Check(t, err)
	if k.Azure.SourceKey != r.New.ID || k.KCV != r.New.KCV {
		t.Fatalf("copy after source rotation: source %s kcv %s, want %s %s", k.Azure.SourceKey, k.KCV, r.New.ID, r.New.KCV)
	}

	// Purge, re-import from the source, purge again and remove.
	watchOK(t, admin)(admin.DeleteAzureKey(ctx, key, true))
	out, code = runCLI(t, env, tok, "azure", "key", "purge", key, "--yes", "--wait")
	if code != 0 {
		t.Fatalf("purge (%d):\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "azure", "key", "reimport", key, "--wait")
	if code != 0 {
		t.Fatalf("reimport (%d):\n%s", code, out)
	}
	k, err = admin.GetKey(ctx, key)
	apptest.Check(t, err)
	if k.Azure.State != "enabled" || k.KCV != r.New.KCV {
		t.Fatalf("re-imported: %s kcv %s", k.Azure.State, k.KCV)
	}
	watchOK(t, admin)(admin.DeleteAzureKey(ctx, key, true))
	watchOK(t, admin)(admin.PurgeAzureKey(ctx, key, true))
	rm, err := admin.RemoveAzureKey(ctx, key, true)
	if err != nil || len(rm.Removed) != 5 || !rm.EscrowRemoved {
		t.Fatalf("remove: %+v %v", rm, err)
	}
	if l, _ := admin.ListKeys(ctx, client.KeyQuery{Group: group}); len(l.Items) != 0 {
		t.Fatalf("%d virtual keys left", len(l.Items))
	}

	// The group's service log tells the story.
	logs, err := admin.ListServiceLog(ctx, group, client.ServiceLogQuery{Limit: 1000})
	apptest.Check(t, err)
	var msgs []string
	for _, e := range logs.Items {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"deleted", "recovered", "purged", "new version", "Removed purged Azure key"} {
		if !strings.Contains(all, want) {
			t.Errorf("service log lacks %q:\n%s", want, all)
		}
	}
}
