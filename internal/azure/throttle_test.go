package azure

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/keyward"
)

// TestWeights is Microsoft's table (akv-api.md §6.1) in units of the cheapest transaction.
func TestWeights(t *testing.T) {
	cases := []struct {
		kty           string
		bits          int
		create, other int64
	}{
		{"RSA", 2048, 1, 1}, {"RSA", 3072, 1, 4}, {"RSA", 4096, 1, 8},
		{"EC", 0, 1, 1}, {"RSA-HSM", 2048, 2, 2}, {"RSA-HSM", 3072, 2, 8},
		{"RSA-HSM", 4096, 2, 16}, {"EC-HSM", 0, 2, 2},
	}
	for _, c := range cases {
		p := profileOf(c.kty, c.bits)
		if got := p.units(classCreate); got != c.create {
			t.Errorf("%s %d create = %d, want %d", c.kty, c.bits, got, c.create)
		}
		if got := p.units(classOther); got != c.other {
			t.Errorf("%s %d other = %d, want %d", c.kty, c.bits, got, c.other)
		}
	}
	if u := worstProfile(keyward.VaultStandard).units(classOther); u != 8 {
		t.Errorf("unknown key on a standard vault costs %d, want 8 (software RSA-4096)", u)
	}
	if u := worstProfile(keyward.VaultPremium).units(classOther); u != 16 {
		t.Errorf("unknown key on a premium vault costs %d, want 16 (HSM RSA-4096)", u)
	}
}

// TestLimiterWindow checks the sliding window in fake time: a full budget waits for the
// oldest completion to leave the window; the subscription allows five vaults' worth; a
// 429 pauses the bucket; a deadline before the budget frees is told at once.
// TestUnknownKeysCostTheCostliestSeen: a key not yet seen costs the vault's worst case
// until an answer shows what the vault holds, then the costliest type it has shown.
func TestUnknownKeysCostTheCostliestSeen(t *testing.T) {
	var c profileCache
	worst := worstProfile(keyward.VaultPremium)
	if u := c.estimate(worst).units(classOther); u != 16 {
		t.Fatalf("before any answer an unknown key costs %d, want 16", u)
	}
	c.note(&azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeRSA), N: make([]byte, 256)})
	if u := c.estimate(worst).units(classOther); u != 1 {
		t.Fatalf("after a software RSA-2048 answer an unknown key costs %d, want 1", u)
	}
	c.learn("big", &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeRSAHSM), N: append([]byte{0x80}, make([]byte, 383)...)})
	if u := c.estimate(worst).units(classOther); u != 8 {
		t.Fatalf("after an HSM RSA-3072 answer an unknown key costs %d, want 8", u)
	}
	c.note(&azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeEC)})
	if u := c.estimate(worst).units(classOther); u != 8 {
		t.Fatalf("a cheaper answer lowered the estimate to %d", u)
	}
	if p, ok := c.get("BIG"); !ok || p.units(classOther) != 8 {
		t.Fatalf("the learned key's profile = %+v, %v", p, ok)
	}
}

func TestLimiterWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		l := newLimiter(10*time.Second, time.Now)
		keys := vaultBudgets("v1.vault.azure.net", "sub", classCreate, 1)
		take := func(keys []budgetKey, cost int64) time.Duration {
			start := time.Now()
			r, err := l.acquire(ctx, keys, cost)
			if err != nil {
				t.Fatal(err)
			}
			l.release(r, cost, true)
			return time.Since(start)
		}
		for range 20 {
			if d := take(keys, 1); d != 0 {
				t.Fatalf("within budget waited %v", d)
			}
		}
		time.Sleep(3 * time.Second)
		if d := take(keys, 1); d != 7*time.Second {
			t.Errorf("21st create waited %v, want 7s (until the first leaves the window)", d)
		}
		// The window holds v1's last create; four more vaults and 19 creates of a sixth fill
		// the subscription's five-fold budget (100), and the sixth's next create waits
		// although its own vault has room.
		for i := 2; i <= 5; i++ {
			for range 20 {
				take(vaultBudgets(fmt.Sprintf("v%d.vault.azure.net", i), "sub", classCreate, 1), 1)
			}
		}
		v6 := vaultBudgets("v6.vault.azure.net", "sub", classCreate, 1)
		for range 19 {
			if d := take(v6, 1); d != 0 {
				t.Fatalf("within the subscription's budget waited %v", d)
			}
		}
		if d := take(v6, 1); d != 10*time.Second {
			t.Errorf("beyond the subscription's budget waited %v, want 10s", d)
		}
		// A request in flight holds its cost until released; one not counted frees it.
		other := vaultBudgets("v7.vault.azure.net", "sub2", classOther, 1)
		r, _ := l.acquire(ctx, other, 4000)
		done := make(chan time.Duration)
		go func() { done <- take(other, 16) }()
		time.Sleep(time.Second)
		l.release(r, 0, false)
		if d := <-done; d != time.Second {
			t.Errorf("waited %v behind a request in flight, want 1s", d)
		}
		l.pause(other, time.Now().Add(5*time.Second))
		if d := take(other, 1); d != 5*time.Second {
			t.Errorf("after a 429 waited %v, want 5s", d)
		}
		l.pause(other, time.Now().Add(time.Minute))
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := l.acquire(dctx, other, 1)
		if e := wantCode(t, err, keyward.ERATELIMIT, ""); e.RetryAfter != time.Minute {
			t.Errorf("RetryAfter = %v", e.RetryAfter)
		}
	})
}

// TestBurstStaysUnderAzureLimits drives requests far above a vault's budget, with the
// emulator throttling by the same table on the same window: Keyward waits, so Azure never
// has to refuse it, and what the emulator served agrees with what the clients counted.
func TestBurstStaysUnderAzureLimits(t *testing.T) {
	t.Parallel()
	const window = time.Second
	w := newWorld(t, func(c *akvemu.Config) { c.Throttle = akvemu.ThrottleConfig{Window: akvemu.Duration(window)} })
	if err := w.emu.SeedKeys("kw-premium", akvemu.SeedSpec{Count: 1, Prefix: "big", Kty: "RSA-HSM", Size: 4096}); err != nil {
		t.Fatal(err)
	}
	w.info("kw-standard")
	w.emu.ResetStats()
	c := w.connector(func(o *Options) { o.Throttle.Window = window })
	std, prem := w.open(c, "kw-standard"), w.open(c, "kw-premium")
	ctx := ctxT(t)
	const creates, gets = 45, 600 // 2.25 windows of creates; 600 × 16 units = 2.4 windows
	start := time.Now()
	errs := burst(16, creates+gets, func(i int) error {
		if i < creates {
			_, err := std.CreateKey(ctx, fmt.Sprintf("burst-%d", i), keyward.CloudKeySpec{KeyType: "EC", Enabled: true})
			return err
		}
		_, err := prem.GetKey(ctx, "big-00001", "")
		return err
	})
	elapsed := time.Since(start)
	for _, err := range errs {
		t.Errorf("burst: %v", err)
	}
	s := w.emu.Stats()
	if s.Throttled != 0 {
		t.Errorf("Azure throttled %d requests: %+v", s.Throttled, s.Operations)
	}
	if elapsed < 2*window {
		t.Errorf("the burst took %v: it cannot have kept within the budget", elapsed)
	}
	checkCallsAgree(t, w, "kw-standard", std)
	checkCallsAgree(t, w, "kw-premium", prem)
}

// burst runs n jobs on workers goroutines and collects their errors.
func burst(workers, n int, job func(i int) error) []error {
	var mu sync.Mutex
	var errs []error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := job(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// TestAzure429s turns Keyward's budget off so that Azure does refuse: its 429s are sat out
// after Retry-After, or after the throttle backoff when the answer names none, and come
// back as ERATELIMIT with a wait when they last longer than the caller allows.
func TestAzure429s(t *testing.T) {
	t.Parallel()
	const window = 400 * time.Millisecond
	w := newWorld(t, func(c *akvemu.Config) { c.Throttle = akvemu.ThrottleConfig{Window: akvemu.Duration(window)} })
	createBurst := func(c *Connector, prefix string) (keyward.CloudVault, []error) {
		v := w.open(c, "kw-standard")
		return v, burst(8, 30, func(i int) error {
			_, err := v.CreateKey(ctxT(t), fmt.Sprintf("%s-%d", prefix, i), keyward.CloudKeySpec{KeyType: "EC", Enabled: true})
			return err
		})
	}
	t.Run("retry-after", func(t *testing.T) {
		w.emu.ResetStats()
		v, errs := createBurst(w.connector(func(o *Options) { o.Throttle.Disabled = true }), "ra")
		for _, err := range errs {
			t.Errorf("create: %v", err)
		}
		if w.emu.Stats().Throttled == 0 {
			t.Error("Azure refused nothing: the test proves nothing")
		}
		checkCallsAgree(t, w, "kw-standard", v)
	})
	t.Run("backoff without retry-after", func(t *testing.T) {
		w.emu.ResetStats()
		var stripped atomic.Int64
		c := w.connector(func(o *Options) {
			o.Throttle.Disabled = true
			o.Retry.ThrottleBackoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
			o.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
				return stripRetryAfter{rt, &stripped}
			}
		})
		_, errs := createBurst(c, "bo")
		for _, err := range errs {
			t.Errorf("create: %v", err)
		}
		if stripped.Load() == 0 {
			t.Error("no 429 came back: the test proves nothing")
		}
	})
	t.Run("longer than the caller waits", func(t *testing.T) {
		w.emu.ResetStats()
		_, errs := createBurst(w.connector(func(o *Options) {
			o.Throttle.Disabled = true
			o.Retry.MaxRetryAfter = 50 * time.Millisecond
		}), "long")
		if len(errs) == 0 {
			t.Fatal("every create of the burst succeeded: the test proves nothing")
		}
		for _, err := range errs {
			if e := wantCode(t, err, keyward.ERATELIMIT, "Azure: Throttled: Request was not processed because too many requests"); e.RetryAfter < time.Second {
				t.Errorf("RetryAfter = %v, want Azure's whole seconds", e.RetryAfter)
			}
		}
	})
}

// stripRetryAfter removes the wait from 429s, as Key Vault's real answers often lack it.
type stripRetryAfter struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (s stripRetryAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.rt.RoundTrip(r)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		res.Header.Del("Retry-After")
		s.n.Add(1)
	}
	return res, err
}

// TestHSMConcurrency: Azure does not throttle a managed HSM, but Keyward keeps a bounded
// number of requests in flight to one.
func TestHSMConcurrency(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := w.emu.SeedKeys("kw-hsm", akvemu.SeedSpec{Count: 1, Prefix: "h"}); err != nil {
		t.Fatal(err)
	}
	var inflight, peak atomic.Int64
	c := w.connector(func(o *Options) {
		o.Throttle.HSMConcurrency = 2
		o.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return peakCounter{rt, &inflight, &peak} }
	})
	v := w.open(c, "kw-hsm")
	if _, err := v.GetKey(ctxT(t), "h-00001", ""); err != nil { // sign in first: token requests are not capped
		t.Fatal(err)
	}
	if err := w.emu.SetChaos(akvemu.ChaosConfig{Latency: akvemu.Duration(20 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	peak.Store(0)
	for _, err := range burst(8, 24, func(int) error { _, err := v.GetKey(ctxT(t), "h-00001", ""); return err }) {
		t.Error(err)
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak requests in flight to the HSM = %d, want 2", p)
	}
}

type peakCounter struct {
	rt             http.RoundTripper
	inflight, peak *atomic.Int64
}

func (p peakCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	n := p.inflight.Add(1)
	defer p.inflight.Add(-1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	return p.rt.RoundTrip(r)
}
