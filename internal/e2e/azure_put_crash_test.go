package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

// byokChildEnv asks the test binary to be a Keyward server that links a group to the
// parent's emulator (its proxy address and CA in byokProxyEnv and DIR/emu-ca.pem) and
// starts a BYOK import into its Managed HSM, until it is killed.
const (
	byokChildEnv = "KEYWARD_E2E_BYOK_CHILD"
	byokProxyEnv = "KEYWARD_E2E_BYOK_PROXY"
	byokDSNEnv   = "KEYWARD_E2E_BYOK_DSN" // PostgreSQL, when set
)

func init() {
	if dir := os.Getenv(byokChildEnv); dir != "" {
		os.Exit(runBYOKChild(dir, os.Getenv(byokProxyEnv), os.Getenv(byokDSNEnv)))
	}
}

type byokChildInfo struct {
	Addr, CACert, Token, Group, Job string
}

func runBYOKChild(dir, proxy, dsn string) int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 1 }
	ca, err := os.ReadFile(filepath.Join(dir, "emu-ca.pem"))
	if err != nil {
		return fail(err)
	}
	cfg := apptest.Config(dir, fastJobs)
	if dsn != "" {
		cfg.Database.Driver, cfg.Database.DSN = "postgres", dsn
	}
	a, err := app.New(ctx, cfg, app.Options{FastPasswordHashing: true})
	if err != nil {
		return fail(err)
	}
	running := make(chan error, 1)
	go func() { running <- a.Run(ctx) }() // linking waits for its connection test, a job
	acct, _, err := a.Service.Bootstrap(ctx, "Acme", "admin@a.example", apptest.Password)
	if err != nil {
		return fail(err)
	}
	login, err := a.Service.Login(ctx, "admin@a.example", apptest.Password, acct.ID)
	if err != nil {
		return fail(err)
	}
	p := login.Principal
	if _, err := a.Service.CreateCredential(ctx, p, service.CredentialInput{Name: "azure", Cloud: keyward.CloudPublic,
		TenantID: e2eTenant, ClientID: e2eApp, SubscriptionID: e2eSub, ClientSecret: e2eSecret}); err != nil {
		return fail(err)
	}
	g, err := a.Service.CreateGroup(ctx, p, "hsm-keys", "")
	if err != nil {
		return fail(err)
	}
	if l, err := a.Service.LinkGroup(ctx, p, g.Group.ID, service.LinkInput{Credential: "azure", VaultKind: keyward.VaultManagedHSM,
		VaultName: "kw-hsm", TLS: keyward.TLSSettings{ProxyURL: proxy, CACertPEM: string(ca)}}); err != nil || l.Status != keyward.LinkConnected {
		return fail(fmt.Errorf("link: %+v %v", l, err))
	}
	material := make([]byte, 32)
	rand.Read(material)
	j, err := a.Service.ImportIntoAzure(ctx, p, service.AzureImport{ImportRequest: service.ImportRequest{Type: keyward.TypeAES, Format: "hex",
		Material: []byte(hex.EncodeToString(material))}, AzureKeyInput: service.AzureKeyInput{GroupID: g.Group.ID, AzureName: "escrow-aes"}})
	if err != nil {
		return fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(byokChildInfo{a.Addr(), a.CACertFile, login.Token, g.Group.ID, j.ID})
	return fail(<-running)
}

// A server is killed (SIGKILL) in the middle of a BYOK import: it has created the
// key-exchange key in the Managed HSM and is waiting for the import, which Azure holds.
// Started again on the same data, it takes the job over once the lease expires, deletes the
// key-exchange key the dead attempt recorded, imports with a fresh one, deletes that too,
// and records one virtual key. No key-exchange key is left, live or soft-deleted.
func TestBYOKImportSurvivesAKilledServer(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := ""
			opts := []apptest.Option{fastJobs}
			if db == "postgres" {
				dsn = apptest.PostgresDSN(t)
				opts = append(opts, func(c *configT) { c.Database.Driver, c.Database.DSN = "postgres", dsn })
			}
			byokKilled(t, dsn, opts)
		})
	}
}

func byokKilled(t *testing.T, dsn string, opts []apptest.Option) {
	w := startPutWorld(t)
	// Azure holds every import until the connection is given up: the child dies waiting.
	if err := w.emu.SetChaos(akvemu.ChaosConfig{Faults: []akvemu.FaultRule{{Operation: "ImportKey", Kind: "timeout", Rate: 1, Hang: akvemu.Duration(2 * time.Minute)}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	apptest.Check(t, os.WriteFile(filepath.Join(dir, "emu-ca.pem"), []byte(w.tls.CACertPEM), 0o600))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), byokChildEnv+"="+dir, byokProxyEnv+"="+w.tls.ProxyURL, byokDSNEnv+"="+dsn)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	apptest.Check(t, err)
	apptest.Check(t, cmd.Start())
	var once sync.Once
	kill := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(kill)
	var info byokChildInfo
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &info) != nil {
		kill()
		t.Fatalf("child server did not start: %v\n%s", err, stderr.String())
	}
	before, err := client.New(info.Addr, client.WithCACertFile(info.CACert), client.WithToken(info.Token))
	apptest.Check(t, err)
	waitFor(t, before, info.Job, 60*time.Second, func(j *api.Job) bool {
		return j.State == "running" && strings.HasPrefix(j.Progress.Message, "importing the BYOK transfer blob")
	})
	live, _ := w.keys(t, "kw-hsm")
	left := keks(live)
	if len(left) != 1 {
		t.Fatalf("before the kill the HSM holds %v, want one key-exchange key", live)
	}
	kill()
	apptest.Check(t, w.emu.SetChaos(akvemu.ChaosConfig{})) // Azure answers again

	env := apptest.StartIn(t, dir, opts...)
	admin := env.Client(info.Token)
	j := waitFor(t, admin, info.Job, 90*time.Second, func(j *api.Job) bool { return j.Ended() })
	res, err := client.AzureKeyPutResult(j)
	if err != nil {
		t.Fatalf("after the restart: %v (%+v)", err, j)
	}
	if j.Attempts != 2 || !res.BYOK || res.KEKsRemoved != 2 || res.AzureName != "escrow-aes" || res.KeyType != "oct-HSM" {
		t.Fatalf("after the restart: job %+v, result %+v", j, res)
	}
	k, err := admin.GetKey(ctx, res.Key)
	if err != nil || k.Azure == nil || k.Azure.KeyName != "escrow-aes" || k.Azure.Source != "keyward" || k.Name != "escrow-aes" {
		t.Fatalf("virtual key %+v %v", k, err)
	}
	live, deleted := w.keys(t, "kw-hsm")
	if len(keks(live)) != 0 || len(keks(deleted)) != 0 || strings.Join(live, ",") != "escrow-aes" {
		t.Fatalf("the HSM holds %v, soft-deleted %v; want only escrow-aes", live, deleted)
	}
	// The service log tells the story: the leftover exchange key deleted first.
	l, err := admin.ListServiceLog(ctx, info.Group, client.ServiceLogQuery{Job: info.Job, Oldest: true})
	apptest.Check(t, err)
	var msgs []string
	for _, e := range l.Items {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, "|")
	second, dropped, fresh := strings.Index(all, "started (attempt 2"), strings.Index(all, "Deleted the key-exchange key "+left[0]), strings.LastIndex(all, "Created the key-exchange key")
	if second < 0 || dropped < second || fresh < dropped {
		t.Fatalf("service log, want attempt 2 to delete %s before it makes its own: %q", left[0], msgs)
	}
}
