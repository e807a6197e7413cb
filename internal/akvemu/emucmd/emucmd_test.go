package emucmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCommandServesTheDevWorld(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	var out syncBuffer
	cmd := New(&out, io.Discard)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--ca-out", ca, "--state", filepath.Join(dir, "state.json"),
		"--fault", "GetKeys:503:1:kw-hsm", "--delete-delay", "0s", "--latency", "1ms"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var addr string
	re := regexp.MustCompile(`Azure emulator on (\S+):`)
	for deadline := time.Now().Add(20 * time.Second); addr == ""; {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no banner: %s", out.String())
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.Contains(out.String(), akvemu.DevClientID) || !strings.Contains(out.String(), "https://kw-hsm.managedhsm.azure.net/") {
		t.Errorf("banner: %s", out.String())
	}
	pemBytes, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	proxy, _ := url.Parse("http://" + addr)
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := c.Get("https://login.microsoftonline.com/" + akvemu.DevTenantID + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("openid configuration: %d", res.StatusCode)
	}
	res, err = http.Get("http://" + addr + "/_emulator/chaos")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `"kind":"503"`) || !strings.Contains(string(b), `"latency":"1ms"`) {
		t.Errorf("chaos from flags: %s", b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("command: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Errorf("state not written on exit: %v", err)
	}
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "emu.yaml")
	t.Setenv("EMU_SECRET", "from-env")
	yaml := `tenants:
  - id: 11111111-1111-4111-8111-111111111111
    cloud: usgov
    apps:
      - clientId: 22222222-2222-4222-8222-222222222222
        secret: ${EMU_SECRET}
        subscriptions: [33333333-3333-4333-8333-333333333333]
subscriptions:
  - id: 33333333-3333-4333-8333-333333333333
    tenantId: 11111111-1111-4111-8111-111111111111
vaults:
  - name: gov-vault
    subscription: 33333333-3333-4333-8333-333333333333
    sku: premium
    purgeProtection: true
timing:
  deleteDelay: 3s
`
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	d := time.Duration(0)
	cfg, dev, err := Options{ConfigPath: cfgPath, Faults: []string{"*:reset:0.5:gov-vault"}, RecoverDelay: &d, NoThrottle: true}.config()
	if err != nil {
		t.Fatal(err)
	}
	if dev || cfg.Tenants[0].Apps[0].Secret != "from-env" || cfg.Timing.DeleteDelay.D() != 3*time.Second ||
		!cfg.Throttle.Disabled || len(cfg.Chaos.Faults) != 1 || cfg.Chaos.Faults[0].Vault != "gov-vault" {
		t.Errorf("config = %+v", cfg)
	}
	emu, err := akvemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	if u, _ := emu.VaultURL("gov-vault"); u != "https://gov-vault.vault.usgovcloudapi.net/" {
		t.Errorf("US Government vault URI = %s", u)
	}
	for _, bad := range []string{"GetKey:503", "GetKey:503:x", ":503:0.1", "GetKey:nope:0.1"} {
		if _, _, err := (Options{Faults: []string{bad}}).config(); err == nil {
			t.Errorf("fault %q accepted", bad)
		}
	}
	if err := os.WriteFile(cfgPath, []byte("tenants:\n  - id: x\n    unknown: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (Options{ConfigPath: cfgPath}).config(); err == nil {
		t.Error("unknown field accepted")
	}
}
