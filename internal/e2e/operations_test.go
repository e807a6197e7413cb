package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/cli"
	"github.com/keyward/keyward/internal/seal"
)

// keyward dev sets up once, and a restart on the same data dir finds everything intact.
func TestDevSetUpAndRestart(t *testing.T) {
	dir := t.TempDir()
	env := apptest.StartIn(t, dir)
	st, denv, err := env.App.SetUpDev(ctx, nil)
	apptest.Check(t, err)
	envFile, err := os.ReadFile(filepath.Join(dir, "dev.env"))
	apptest.Check(t, err)
	for _, want := range []string{"export KEYWARD_ADDR='" + env.Addr + "'", "export KEYWARD_CACERT='" + env.CACert + "'",
		"export KEYWARD_TOKEN='kws_", "export KEYWARD_APP_KEY='kwk_"} {
		if !strings.Contains(string(envFile), want) {
			t.Fatalf("dev.env lacks %q:\n%s", want, envFile)
		}
	}
	admin := env.Client(denv.Token)
	if s, err := admin.Session(ctx); err != nil || s.Role != "admin" || s.AccountID != st.AccountID {
		t.Fatalf("dev admin session: %+v %v", s, err)
	}
	if s, err := env.Client(denv.AppKey).Session(ctx); err != nil || s.Kind != "app" || s.ID != st.AppID {
		t.Fatalf("dev app session: %+v %v", s, err)
	}
	_, err = admin.CreateGroup(ctx, api.GroupCreate{Name: "made-before-restart"})
	apptest.Check(t, err)
	env.Stop()

	env2 := apptest.StartIn(t, dir)
	st2, denv2, err := env2.App.SetUpDev(ctx, nil)
	apptest.Check(t, err)
	if st2.AccountID != st.AccountID || st2.AppKey != st.AppKey || denv2.Token == denv.Token {
		t.Fatalf("restart: state %+v vs %+v; token reused=%v", st2, st, denv2.Token == denv.Token)
	}
	gs, err := env2.Client(denv2.Token).ListGroups(ctx, "", 0)
	apptest.Check(t, err)
	if len(gs.Items) != 2 {
		t.Fatalf("groups after restart: %+v", gs.Items)
	}
	if _, err := env2.Client(st.AppKey).Session(ctx); err != nil {
		t.Fatalf("app key after restart: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "dev.json")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev.json mode %v", fi.Mode().Perm())
	}
}

// rotate-root-key re-seals everything under a new key, with and without a passphrase.
func TestRotateRootKey(t *testing.T) {
	for _, pass := range []string{"", "an operator passphrase"} {
		name := map[bool]string{true: "passphrase", false: "key file"}[pass != ""]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "keyward.yaml")
			cfg := "data_dir: " + dir + "\nlisten: 127.0.0.1:0\n"
			if pass != "" {
				t.Setenv("KW_TEST_PASSPHRASE", pass)
				cfg += "seal:\n  passphrase_env: KW_TEST_PASSPHRASE\n"
			}
			apptest.Check(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
			opt := func(c *configT) { c.Seal.PassphraseEnv = map[bool]string{true: "KW_TEST_PASSPHRASE"}[pass != ""] }
			env := apptest.StartIn(t, dir, opt)
			acct, _ := env.Bootstrap("Acme", "admin@a.example")
			env.Stop()
			keyFile := filepath.Join(dir, "root.key")
			before, err := seal.LoadKeyFile(keyFile, []byte(pass))
			apptest.Check(t, err)

			var out strings.Builder
			code := cli.Main(context.Background(), []string{"operator", "rotate-root-key", "--config", cfgPath}, cli.IO{In: strings.NewReader(""), Out: &out, Err: &out})
			if code != 0 || !strings.Contains(out.String(), "Root key rotated: "+before.Active) {
				t.Fatalf("rotate-root-key: exit %d\n%s", code, out.String())
			}
			after, err := seal.LoadKeyFile(keyFile, []byte(pass))
			apptest.Check(t, err)
			if len(after.Keys) != 1 || after.Active == before.Active {
				t.Fatalf("key file after rotation: active %s, %d keys", after.Active, len(after.Keys))
			}
			raw, _ := os.ReadFile(keyFile)
			if (pass != "") != seal.Protected(raw) {
				t.Fatalf("passphrase protection changed by rotation")
			}
			// The server starts on the rotated key (its seal check opens) and works.
			env2 := apptest.StartIn(t, dir, opt)
			admin := env2.Login("admin@a.example", acct)
			l, err := admin.ListAudit(ctx, client.AuditQuery{})
			apptest.Check(t, err)
			if len(l.Items) < 2 {
				t.Fatalf("audit after rotation: %d records", len(l.Items))
			}
			reps, err := env2.App.Service.VerifyAllAudit(ctx)
			apptest.Check(t, err)
			found := false
			for _, r := range reps {
				if !r.OK {
					t.Fatalf("chain %q broken after rotation: %+v", r.AccountID, r)
				}
				found = found || r.AccountID == ""
			}
			if !found {
				t.Fatal("the rotation was not recorded in the server's audit chain")
			}
		})
	}
}

// An app authenticates with a registered TLS client certificate; an unregistered one fails.
func TestClientCertificateAuthentication(t *testing.T) {
	env := apptest.Start(t)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	certPEM, pair := selfSigned(t, "billing-service")
	created, err := admin.CreateApp(ctx, api.AppCreate{Name: "billing", Certificates: []string{certPEM}, NoAPIKey: true})
	apptest.Check(t, err)
	if created.APIKey != "" || created.App.HasAPIKey || len(created.App.CertFingerprints) != 1 {
		t.Fatalf("certificate-only app: %+v", created)
	}
	c, err := client.New(env.Addr, client.WithCACertFile(env.CACert), client.WithClientCertificate(pair))
	apptest.Check(t, err)
	s, err := c.Session(ctx)
	if err != nil || s.Kind != "app" || s.ID != created.App.ID {
		t.Fatalf("session with certificate: %+v %v", s, err)
	}
	_, stranger := selfSigned(t, "stranger")
	c2, err := client.New(env.Addr, client.WithCACertFile(env.CACert), client.WithClientCertificate(stranger))
	apptest.Check(t, err)
	if _, err := c2.Session(ctx); client.ErrorCode(err) != api.CodeUnauthenticated {
		t.Fatalf("unregistered certificate: %v", err)
	}
}

func selfSigned(t *testing.T, cn string) (string, tls.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	apptest.Check(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	apptest.Check(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// The CLI prints tables for people and JSON for scripts, and exits non-zero with a message
// that says what to do.
func TestCLI(t *testing.T) {
	env := apptest.Start(t)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	tok := admin.Token()

	out, code := runCLI(t, env, tok, "group", "create", "payments", "--description", "card keys")
	if code != 0 || !strings.Contains(out, `Created group "payments"`) {
		t.Fatalf("group create: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "group", "list")
	if code != 0 || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "payments") || !strings.Contains(out, "administrator") {
		t.Fatalf("group list table: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "-o", "json", "group", "list")
	var gl api.GroupList
	if code != 0 || json.Unmarshal([]byte(out), &gl) != nil || len(gl.Items) != 1 || gl.Items[0].Description != "card keys" {
		t.Fatalf("group list json: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "-o", "json", "app", "create", "svc", "--group", gl.Items[0].ID)
	var ac api.AppCreated
	if code != 0 || json.Unmarshal([]byte(out), &ac) != nil || !strings.HasPrefix(ac.APIKey, "kwk_") {
		t.Fatalf("app create json: %d\n%s", code, out)
	}
	out, code = runCLIIn(t, env, tok, apptest.Password+"\n", "user", "add", "eve@a.example", "--role", "auditor", "--password-stdin")
	if code != 0 || !strings.Contains(out, "as auditor") {
		t.Fatalf("user add: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, ac.APIKey, "user", "list")
	if code != 1 || !strings.Contains(out, "permission_denied") {
		t.Fatalf("app listing users: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, "", "group", "list")
	if code != 1 || !strings.Contains(out, "keyward login") {
		t.Fatalf("no token: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "group", "create")
	if code != 2 || !strings.Contains(out, "--help") {
		t.Fatalf("missing argument: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "audit", "export", "--format", "csv")
	if code != 0 || !strings.HasPrefix(out, "seq,time,account_id,actor") || strings.Count(out, "\n") < 4 {
		t.Fatalf("audit export csv: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "audit", "list", "--action", "group.")
	if code != 0 || !strings.Contains(out, "group.create") || strings.Contains(out, "app.create") {
		t.Fatalf("audit list filtered: %d\n%s", code, out)
	}
	// Keys and crypto: an admin creates a key; the application encrypts and decrypts
	// through files, signs and verifies; a tampered message does not verify (exit 1).
	out, code = runCLI(t, env, tok, "key", "create", "cli-aes", "--group", gl.Items[0].ID, "--type", "AES", "--size", "256", "--tag", "env=test")
	if code != 0 || !strings.Contains(out, "cli-aes") || !strings.Contains(out, "env=test") {
		t.Fatalf("key create: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "key", "create", "cli-ec", "--group", gl.Items[0].ID, "--type", "EC", "--curve", "P-256")
	if code != 0 {
		t.Fatalf("key create EC: %d\n%s", code, out)
	}
	dir0 := t.TempDir()
	env1 := filepath.Join(dir0, "msg.json")
	out, code = runCLIIn(t, env, ac.APIKey, "attack at dawn", "crypto", "encrypt", "--key", "cli-aes", "--out", env1)
	if code != 0 {
		t.Fatalf("crypto encrypt: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, ac.APIKey, "crypto", "decrypt", "--in", env1)
	if code != 0 || out != "attack at dawn" {
		t.Fatalf("crypto decrypt: %d %q", code, out)
	}
	msg := filepath.Join(dir0, "m.txt")
	os.WriteFile(msg, []byte("contract"), 0o600)
	sig, code := runCLI(t, env, ac.APIKey, "crypto", "sign", "--key", "cli-ec", "--alg", "ECDSA-SHA256", "--in", msg)
	if code != 0 {
		t.Fatalf("crypto sign: %d\n%s", code, sig)
	}
	sigFile := filepath.Join(dir0, "m.sig")
	os.WriteFile(sigFile, []byte(sig), 0o600)
	if out, code = runCLI(t, env, ac.APIKey, "crypto", "verify", "--key", "cli-ec", "--alg", "ECDSA-SHA256", "--in", msg, "--signature-file", sigFile); code != 0 || !strings.Contains(out, "valid signature") {
		t.Fatalf("crypto verify: %d\n%s", code, out)
	}
	os.WriteFile(msg, []byte("contracT"), 0o600)
	if out, code = runCLI(t, env, ac.APIKey, "crypto", "verify", "--key", "cli-ec", "--alg", "ECDSA-SHA256", "--in", msg, "--signature-file", sigFile); code != 1 || !strings.Contains(out, "does NOT verify") {
		t.Fatalf("crypto verify of a tampered message: %d\n%s", code, out)
	}
	if out, code = runCLI(t, env, tok, "crypto", "random", "--count", "8"); code != 1 || !strings.Contains(out, "permission_denied") {
		t.Fatalf("a user asking for random bytes: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, tok, "-o", "json", "key", "list", "--tag", "env=test")
	var kl api.KeyList
	if code != 0 || json.Unmarshal([]byte(out), &kl) != nil || len(kl.Items) != 1 || kl.Items[0].Name != "cli-aes" {
		t.Fatalf("key list --tag: %d\n%s", code, out)
	}
	if out, code = runCLI(t, env, tok, "key", "destroy", "cli-aes"); code != 2 || !strings.Contains(out, "--yes") {
		t.Fatalf("destroy without --yes: %d\n%s", code, out)
	}

	// login saves the session for later commands, which then need no token.
	dir := t.TempDir()
	t.Setenv("KEYWARD_CONFIG_DIR", dir)
	var buf strings.Builder
	code = cli.Main(ctx, []string{"--addr", env.Addr, "--cacert", env.CACert, "login", "--email", "eve@a.example", "--password-stdin"},
		cli.IO{In: strings.NewReader(apptest.Password + "\n"), Out: &buf, Err: &buf})
	if code != 0 || !strings.Contains(buf.String(), "Logged in as eve@a.example (auditor)") {
		t.Fatalf("login: %d\n%s", code, buf.String())
	}
	buf.Reset()
	code = cli.Main(ctx, []string{"whoami"}, cli.IO{In: strings.NewReader(""), Out: &buf, Err: &buf})
	if code != 0 || !strings.Contains(buf.String(), "eve@a.example") {
		t.Fatalf("whoami after login: %d\n%s", code, buf.String())
	}
}
