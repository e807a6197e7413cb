package akvemu

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

func TestAdminAPI(t *testing.T) {
	e := newEnv(t)
	plain := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+e.addr+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if s, b := plain("GET", "/_emulator/health", ""); s != 200 || !strings.Contains(string(b), "ok") {
		t.Fatalf("health: %d %s", s, b)
	}
	if s, b := plain("GET", "/_emulator/ca.pem", ""); s != 200 || string(b) != string(e.emu.CACertPEM()) {
		t.Errorf("ca.pem: %d", s)
	}
	if s, _ := plain("GET", "/keys", ""); s != 400 {
		t.Errorf("plain HTTP outside the admin API: %d", s)
	}
	if s, b := plain("POST", "/_emulator/vaults", `{"name":"kw-added","subscription":"`+subID+`","sku":"premium"}`); s != 204 {
		t.Fatalf("add vault: %d %s", s, b)
	}
	if s, b := plain("POST", "/_emulator/vaults", `{"name":"kw-added","subscription":"`+subID+`"}`); s != 400 {
		t.Errorf("duplicate vault: %d %s", s, b)
	}
	if s, b := plain("POST", "/_emulator/vaults/kw-added/seed", `{"count":3,"kty":"RSA-HSM"}`); s != 204 {
		t.Fatalf("seed: %d %s", s, b)
	}
	newApp := "abababab-0000-4000-8000-000000000003"
	if s, b := plain("POST", "/_emulator/tenants/"+tenantID+"/apps", `{"clientId":"`+newApp+`","secret":"`+appSecret+`","subscriptions":["`+subID+`"]}`); s != 204 {
		t.Fatalf("add app: %d %s", s, b)
	}
	tok := e.tokenFor(tenantID, newApp, "https://vault.azure.net")
	r := e.do("GET", "https://kw-added.vault.azure.net/keys?api-version=7.5", tok, "")
	if r.status != 200 || strings.Count(string(r.body), `"kid"`) != 3 {
		t.Errorf("new vault through the new app: %d %s", r.status, r.body)
	}
	if s, b := plain("PUT", "/_emulator/chaos", `{"latency":"1ms","faults":[{"operation":"GetKeys","kind":"503","rate":1}]}`); s != 204 {
		t.Fatalf("chaos: %d %s", s, b)
	}
	if r := e.do("GET", "https://kw-added.vault.azure.net/keys?api-version=7.5", tok, ""); r.status != 503 {
		t.Errorf("fault set through the admin API: %d", r.status)
	}
	if s, b := plain("GET", "/_emulator/chaos", ""); s != 200 || !strings.Contains(string(b), `"latency":"1ms"`) {
		t.Errorf("get chaos: %s", b)
	}
	if s, _ := plain("PUT", "/_emulator/throttle", `{"window":"2s"}`); s != 204 || e.emu.Throttle().Window.D() != 2*time.Second {
		t.Errorf("throttle: %d", s)
	}
	if s, _ := plain("PUT", "/_emulator/timing", `{"deleteDelay":"1s","bogus":1}`); s != 400 {
		t.Errorf("unknown field accepted: %d", s)
	}
	// The admin host answers over TLS and through the proxy as well.
	pc := e.client("proxy")
	res, err := pc.Get("https://emulator.keyward.local/_emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	err = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if err != nil || st.Vaults["kw-added"].Operations["GetKeys"].Status["503"] != 1 || st.Faulted != 1 {
		t.Errorf("stats through the proxy: %v %+v", err, st.Vaults["kw-added"])
	}
	if s, _ := plain("POST", "/_emulator/stats/reset", ""); s != 204 || e.emu.Stats().Requests != 0 {
		t.Errorf("reset: %d", s)
	}
	var vaults []VaultInfo
	_, b := plain("GET", "/_emulator/vaults", "")
	if err := json.Unmarshal(b, &vaults); err != nil || len(vaults) != 5 {
		t.Errorf("vaults: %s", b)
	}
}

func TestStatePersistence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	e := newEnv(t, func(c *Config) { c.StatePath = path })
	ctx := context.Background()
	c := e.keys("direct", "kw-premium")
	k, err := c.CreateKey(ctx, "kept", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeECHSM), Curve: to.Ptr(azkeys.CurveNameP256K)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateKey(ctx, "trashed", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteKey(ctx, "trashed", nil); err != nil {
		t.Fatal(err)
	}
	bk, err := c.BackupKey(ctx, "kept", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Saved shortly after the change, without waiting for Close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), "trashed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("state file not written after a change")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, %v", fi.Mode(), err)
	}
	oldCA, oldToken := e.emu.CACertPEM(), e.token("https://vault.azure.net")
	if err := e.emu.Close(); err != nil {
		t.Fatal(err)
	}

	// A second emulator on the same state: same CA, same signing keys, same keys.
	e2 := newEnv(t, func(c *Config) { c.StatePath = path })
	if string(e2.emu.CACertPEM()) != string(oldCA) {
		t.Error("the CA changed across a restart")
	}
	r := e2.do("GET", "https://kw-premium.vault.azure.net/keys/kept?api-version=7.5", oldToken, "")
	if r.status != 200 || !strings.Contains(string(r.body), k.Key.KID.Version()) {
		t.Fatalf("key after restart: %d %s", r.status, r.body)
	}
	c2 := e2.keys("direct", "kw-premium")
	digest := make([]byte, 32)
	s, err := c2.Sign(ctx, "kept", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256K), Value: digest}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by the material created before the restart: the public key from then verifies.
	if v, err := c2.Verify(ctx, "kept", k.Key.KID.Version(), azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256K),
		Digest: digest, Signature: s.Result}, nil); err != nil || !*v.Value {
		t.Errorf("verify after restart: %v", err)
	}
	if _, err := c2.GetDeletedKey(ctx, "trashed", nil); err != nil {
		t.Errorf("deleted key lost across a restart: %v", err)
	}
	if _, err := c2.DeleteKey(ctx, "kept", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.PurgeDeletedKey(ctx, "kept", nil); statusOf(err) != 403 {
		t.Fatalf("purge protection: %v", err)
	}
	// The backup taken before the restart does not restore over the soft-deleted key...
	_, err = c2.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: bk.Value}, nil)
	wantStatus(t, err, 409, "Conflict")
	// ...but into the standard vault it may not go either: an HSM key needs Premium.
	_, err = e2.keys("direct", "kw-standard").RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: bk.Value}, nil)
	wantStatus(t, err, 403, "Forbidden")
}
