package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/service"
)

// cryptoChildEnv asks the test binary to be a Keyward server whose audit spool never moves
// records to the database on its own: whatever reaches the database after a kill came
// from the spool.
const cryptoChildEnv = "KEYWARD_E2E_CRYPTO_CHILD"

func init() {
	if dir := os.Getenv(cryptoChildEnv); dir != "" {
		os.Exit(runCryptoChild(dir))
	}
}

type cryptoChildInfo struct {
	Addr, CACert, Admin, AppKey, Key, Account string
}

func runCryptoChild(dir string) int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 1 }
	a, err := app.New(ctx, apptest.Config(dir), app.Options{FastPasswordHashing: true, AuditSpoolEvery: time.Hour})
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
	g, err := a.Service.CreateGroup(ctx, login.Principal, "g", "")
	if err != nil {
		return fail(err)
	}
	_, appKey, err := a.Service.CreateApp(ctx, login.Principal, service.NewApp{Name: "svc", Groups: []string{g.Group.ID}})
	if err != nil {
		return fail(err)
	}
	k, err := a.Service.GenerateObject(ctx, login.Principal, service.ObjectSpec{GroupID: g.Group.ID, Name: "k"}, "AES", 256, "")
	if err != nil {
		return fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(cryptoChildInfo{a.Addr(), a.CACertFile, login.Token, appKey, k.ID, acct.ID})
	return fail(a.Run(ctx))
}

// A server is killed (SIGKILL) right after acknowledging cryptographic operations whose
// audit records were still only in its spool. Started again, it has every one of them in
// the hash chain: no acknowledged operation goes unaudited.
func TestCryptoAuditSurvivesAKilledServer(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cryptoChildEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	apptest.Check(t, err)
	apptest.Check(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadBytes('\n')
	var info cryptoChildInfo
	if err != nil || json.Unmarshal(line, &info) != nil {
		t.Fatalf("child server did not start: %v\n%s", err, stderr.String())
	}
	app, err := client.New(info.Addr, client.WithCACertFile(info.CACert), client.WithToken(info.AppKey))
	apptest.Check(t, err)
	const n = 200
	for i := range n {
		if _, err := app.Encrypt(ctx, info.Key, api.EncryptRequest{Alg: "AES-GCM", Plaintext: []byte(fmt.Sprint("message ", i))}); err != nil {
			t.Fatalf("encrypt %d: %v", i, err)
		}
	}
	cmd.Process.Kill() // SIGKILL: no shutdown, no flush
	cmd.Wait()

	env := apptest.StartIn(t, dir)
	admin := env.Client(info.Admin)
	var got int
	var after int64
	for {
		l, err := admin.ListAudit(ctx, client.AuditQuery{Action: "crypto.encrypt", Outcome: "success", Limit: 1000, AfterSeq: after})
		apptest.Check(t, err)
		got += len(l.Items)
		if l.Next == 0 {
			break
		}
		after = l.Next
	}
	if got != n {
		t.Fatalf("%d of %d acknowledged encryptions are in the audit trail after the kill", got, n)
	}
	v, err := admin.VerifyAudit(ctx)
	if err != nil || !v.OK {
		t.Fatalf("chain after replay: %+v %v", v, err)
	}
}
