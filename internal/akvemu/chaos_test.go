package akvemu

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

func TestChaosFaults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("direct", "kw-standard")
	if _, err := c.CreateKey(ctx, "k", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatal(err)
	}
	e.emu.ResetStats()
	for _, kind := range []string{"500", "503"} {
		if err := e.emu.SetChaos(ChaosConfig{Faults: []FaultRule{{Operation: "GetKey", Vault: "kw-standard", Kind: kind, Rate: 1}}}); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetKey(ctx, "k", "", nil)
		if statusOf(err) != map[string]int{"500": 500, "503": 503}[kind] {
			t.Errorf("fault %s: %v", kind, err)
		}
		// Other operations and vaults are untouched.
		if _, err := c.GetKeyRotationPolicy(ctx, "k", nil); err != nil {
			t.Errorf("fault %s leaked to another operation: %v", kind, err)
		}
	}
	for _, mode := range modes {
		for _, kind := range []string{"reset", "timeout"} {
			t.Run(mode+"/"+kind, func(t *testing.T) {
				if err := e.emu.SetChaos(ChaosConfig{Faults: []FaultRule{{Operation: "*", Vault: "kw-hsm", Kind: kind, Rate: 1,
					Hang: Duration(100 * time.Millisecond)}}}); err != nil {
					t.Fatal(err)
				}
				req, _ := http.NewRequest("GET", "https://kw-hsm.managedhsm.azure.net/keys?api-version=7.5", nil)
				start := time.Now()
				res, err := e.client(mode).Do(req)
				if err == nil {
					res.Body.Close()
					t.Fatalf("%s fault answered with %d", kind, res.StatusCode)
				}
				if kind == "timeout" && time.Since(start) < 100*time.Millisecond {
					t.Errorf("timeout fault closed after %v", time.Since(start))
				}
			})
		}
	}
	s := e.emu.Stats()
	if s.Faulted != 2+4 || s.Operations["GetKey"].Status["503"] != 1 || s.Vaults["kw-hsm"].Operations["GetKeys"].Status["reset"] != 2 {
		t.Errorf("stats = %+v", s)
	}
	if err := e.emu.SetChaos(ChaosConfig{Faults: []FaultRule{{Operation: "*", Kind: "600", Rate: 1}}}); err == nil {
		t.Error("SetChaos accepted an unknown fault kind")
	}
}

// A 429 fault answers Azure's Throttled error, with Retry-After in whole seconds when
// the rule gives one and without the header otherwise.
func TestChaosThrottleFault(t *testing.T) {
	e := newEnv(t)
	if err := e.emu.SeedKeys("kw-standard", SeedSpec{Count: 1, Prefix: "k"}); err != nil {
		t.Fatal(err)
	}
	tok := e.token("https://vault.azure.net")
	for _, tc := range []struct {
		name       string
		retryAfter time.Duration
		want       string
	}{{"with Retry-After", 1500 * time.Millisecond, "2"}, {"without Retry-After", 0, ""}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.emu.SetChaos(ChaosConfig{Faults: []FaultRule{{Operation: "GetKey", Kind: "429", Rate: 1,
				RetryAfter: Duration(tc.retryAfter)}}}); err != nil {
				t.Fatal(err)
			}
			r := e.do("GET", "https://kw-standard.vault.azure.net/keys/k-00001?api-version=7.5", tok, "")
			if r.status != http.StatusTooManyRequests || !strings.Contains(string(r.body), `"code":"Throttled"`) {
				t.Fatalf("got %d %s, want 429 Throttled", r.status, r.body)
			}
			if got := r.header.Get("Retry-After"); got != tc.want {
				t.Fatalf("Retry-After = %q, want %q", got, tc.want)
			}
		})
	}
}

// A rule with Max fires that many times and then lets requests through, until the chaos
// settings are set again.
func TestChaosFaultMax(t *testing.T) {
	e := newEnv(t)
	if err := e.emu.SeedKeys("kw-standard", SeedSpec{Count: 1, Prefix: "k"}); err != nil {
		t.Fatal(err)
	}
	tok := e.token("https://vault.azure.net")
	get := func() int {
		return e.do("GET", "https://kw-standard.vault.azure.net/keys/k-00001?api-version=7.5", tok, "").status
	}
	for round := range 2 {
		if err := e.emu.SetChaos(ChaosConfig{Faults: []FaultRule{{Operation: "GetKey", Kind: "503", Rate: 1, Max: 2}}}); err != nil {
			t.Fatal(err)
		}
		var got []int
		for range 4 {
			got = append(got, get())
		}
		if want := []int{503, 503, 200, 200}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: statuses %v, want %v", round, got, want)
		}
	}
	if err := e.emu.SetChaos(ChaosConfig{Faults: []FaultRule{{Operation: "*", Kind: "503", Rate: 1, Max: -1}}}); err == nil {
		t.Error("SetChaos accepted a negative max")
	}
}

func TestChaosRepeatsWithSeed(t *testing.T) {
	e := newEnv(t)
	if err := e.emu.SeedKeys("kw-standard", SeedSpec{Count: 1, Prefix: "k"}); err != nil {
		t.Fatal(err)
	}
	tok := e.token("https://vault.azure.net")
	run := func(seed uint64) string {
		if err := e.emu.SetChaos(ChaosConfig{Seed: seed, Faults: []FaultRule{{Operation: "GetKey", Kind: "503", Rate: 0.5}}}); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for range 40 {
			r := e.do("GET", "https://kw-standard.vault.azure.net/keys/k-00001?api-version=7.5", tok, "")
			fmt.Fprintf(&b, "%d ", r.status/100)
		}
		return b.String()
	}
	a, b, c := run(42), run(42), run(7)
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("different seeds, same faults: %s", a)
	}
	if n := strings.Count(a, "5"); n < 8 || n > 32 {
		t.Errorf("%d of 40 failed at rate 0.5", n)
	}
}

func TestChaosLatency(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Chaos = ChaosConfig{Latency: Duration(60 * time.Millisecond), Jitter: Duration(20 * time.Millisecond)}
	})
	tok := e.token("https://vault.azure.net") // the token request is delayed as well
	start := time.Now()
	r := e.do("GET", "https://kw-standard.vault.azure.net/keys?api-version=7.5", tok, "")
	if d := time.Since(start); r.status != 200 || d < 60*time.Millisecond {
		t.Errorf("status %d after %v, want at least 60ms", r.status, d)
	}
}
