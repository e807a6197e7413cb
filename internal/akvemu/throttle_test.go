package akvemu

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// rsa4096 is a fixed test key: generating 4096-bit keys in tests is too slow under -race.
func rsa4096(t testing.TB) *rsa.PrivateKey {
	b, err := os.ReadFile("testdata/rsa4096.pem")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// rsaJWKImport is an import body for an RSA key, HSM-protected when hsm is set.
func rsaJWKImport(k *rsa.PrivateKey, hsm bool) string {
	enc := func(i *big.Int) string { return b64url(i.Bytes()) }
	b, _ := json.Marshal(map[string]any{"Hsm": hsm, "key": map[string]string{"kty": "RSA", "n": enc(k.N),
		"e": enc(big.NewInt(int64(k.E))), "d": enc(k.D), "p": enc(k.Primes[0]), "q": enc(k.Primes[1])}})
	return string(b)
}

// throttleEnv is a vault with throttling on and the clock under the test's control.
func throttleEnv(t *testing.T, window time.Duration, extra ...func(*Config)) *env {
	return newEnv(t, append([]func(*Config){func(c *Config) { c.Throttle = ThrottleConfig{Window: Duration(window)} }}, extra...)...)
}

// hammer sends n GETs of a key from workers goroutines and counts 200s and 429s.
func hammer(t *testing.T, e *env, vault, key string, n, workers int) (ok, throttled int64) {
	t.Helper()
	tok := e.token("https://vault.azure.net")
	client := e.client("direct")
	var okN, thrN atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	for range workers {
		wg.Go(func() {
			for range jobs {
				req, _ := http.NewRequest("GET", "https://"+vault+".vault.azure.net/keys/"+key+"?api-version=7.5", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					okN.Add(1)
				case 429:
					thrN.Add(1)
					if res.Header.Get("Retry-After") == "" {
						t.Error("429 without Retry-After")
					}
				default:
					t.Errorf("status %d", res.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	return okN.Load(), thrN.Load()
}

func TestThrottleWeightedBudget(t *testing.T) {
	// A window far longer than the test: nothing expires unless the clock moves.
	e := throttleEnv(t, time.Hour)
	if r := e.raw("PUT", "kw-premium", "/keys/big", rsaJWKImport(rsa4096(t), true)); r.status != 200 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	if r := e.raw("POST", "kw-premium", "/keys/small/create", `{"kty":"RSA-HSM"}`); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	// Microsoft's example: 248 RSA-4096-HSM GETs plus 16 RSA-2048-HSM GETs use up the
	// 10-second budget, so the next transaction is refused.
	start := time.Now() // the test clock runs with the wall clock: the window moves with it
	if ok, thr := hammer(t, e, "kw-premium", "big", 248, 8); ok != 248 || thr != 0 {
		t.Fatalf("4096 GETs: %d ok, %d throttled", ok, thr)
	}
	if ok, thr := hammer(t, e, "kw-premium", "small", 20, 4); ok != 16 || thr != 4 {
		t.Fatalf("2048 GETs after 248 of 4096: %d ok, %d throttled; want 16 and 4", ok, thr)
	}
	r := e.raw("GET", "kw-premium", "/keys/small", "")
	golden(t, "throttled", r)
	// The rest of the window: an hour from the first admitted request, less the time the
	// requests took (seconds on a loaded machine under the race detector).
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if lo := 3600 - int(time.Since(start).Seconds()) - 1; err != nil || ra > 3600 || ra < lo {
		t.Errorf("Retry-After = %q, want the rest of the window (%d..3600)", r.header.Get("Retry-After"), lo)
	}
	// Refused requests do not count: half a window later the refusals above are still in
	// the window, but once the admitted ones leave it, the whole budget is back.
	e.clock.Advance(30 * time.Minute)
	if _, thr := hammer(t, e, "kw-premium", "small", 20, 4); thr != 20 {
		t.Fatalf("budget came back too early")
	}
	e.clock.Advance(30*time.Minute + time.Second)
	if ok, thr := hammer(t, e, "kw-premium", "big", 260, 16); ok != 250 || thr != 10 {
		t.Fatalf("after the window: %d ok, %d throttled; want 250 and 10", ok, thr)
	}
	s := e.emu.Stats().Vaults["kw-premium"]
	if s.Throttled != 4+1+20+10 {
		t.Errorf("stats throttled = %d", s.Throttled)
	}
	// Managed HSM does not throttle transactions.
	if r := e.raw("POST", "kw-hsm", "/keys/h/create", `{"kty":"EC"}`); r.status != 200 {
		t.Fatal(r.status)
	}
	tok := e.token("https://managedhsm.azure.net")
	for i := range 300 {
		if r := e.do("GET", "https://kw-hsm.managedhsm.azure.net/keys/h?api-version=7.5", tok, ""); r.status != 200 {
			t.Fatalf("MHSM GET %d: %d", i, r.status)
		}
	}
}

func TestThrottleCreateAndSubscription(t *testing.T) {
	e := throttleEnv(t, time.Hour, func(c *Config) {
		for i := range 5 {
			c.Vaults = append(c.Vaults, VaultConfig{Name: fmt.Sprintf("kw-extra%d", i), Subscription: subID})
		}
	})
	create := func(vault, kty string) int {
		return e.raw("POST", vault, "/keys/k/create", `{"kty":"`+kty+`"}`).status
	}
	// Premium: an HSM create costs two software creates; 5 + 10 fill the budget of 20.
	for i := range 5 {
		if s := create("kw-premium", "EC-HSM"); s != 200 {
			t.Fatalf("HSM create %d: %d", i, s)
		}
	}
	for i := range 10 {
		if s := create("kw-premium", "EC"); s != 200 {
			t.Fatalf("software create %d: %d", i, s)
		}
	}
	if s := create("kw-premium", "EC"); s != 429 {
		t.Fatalf("21st create unit: %d", s)
	}
	// CREATE and "all other" are separate budgets.
	if r := e.raw("GET", "kw-premium", "/keys/k", ""); r.status != 200 {
		t.Errorf("GET after the create budget: %d", r.status)
	}
	// The subscription may do five vaults' worth: the premium vault's 20 plus 80 more.
	vaults := []string{"kw-standard", "kw-extra0", "kw-extra1", "kw-extra2"}
	for _, v := range vaults {
		for i := range 20 {
			if s := create(v, "EC"); s != 200 {
				t.Fatalf("%s create %d: %d", v, i, s)
			}
		}
	}
	r := e.raw("POST", "kw-extra3", "/keys/k/create", `{"kty":"EC"}`)
	golden(t, "throttled_subscription", r)
}

func TestThrottleSDKRetries(t *testing.T) {
	// A one-second window with the wall clock: the SDK's retry policy honours Retry-After.
	e := throttleEnv(t, time.Second)
	for i := range 20 {
		if r := e.raw("POST", "kw-standard", "/keys/k/create", `{"kty":"EC"}`); r.status != 200 {
			t.Fatalf("create %d: %d", i, r.status)
		}
	}
	opts := e.clientOptions("direct")
	opts.Retry.MaxRetries = 3
	opts.Retry.RetryDelay = 10 * time.Millisecond
	u, _ := e.emu.VaultURL("kw-standard")
	c, err := azkeys.NewClient(u, e.secretCred("direct"), &azkeys.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.CreateKey(context.Background(), "k", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatalf("CreateKey with retries: %v", err)
	}
	if s := e.emu.Stats().Vaults["kw-standard"]; s.Throttled < 1 || time.Since(start) < 500*time.Millisecond {
		t.Errorf("expected a throttled first attempt and a wait: %+v after %v", s, time.Since(start))
	}
}
