package akvemu

import (
	"strings"
	"sync"
	"time"
)

// Azure's vault throttling (akv-api.md §6.1, Microsoft Learn "Azure Key Vault service
// limits"): per vault and per 10 seconds, key transactions are limited by key type and
// protection, the thresholds are weighted and enforced on their sum, a 429 does not count,
// and each subscription may do five times the per-vault limit. Managed HSM does not
// throttle on transactions, so the emulator does not throttle HSMs.
//
// The emulator keeps two budgets per vault, CREATE and "all other", in integer units so the
// weighting is exact:
//
//	                         CREATE (budget 20)   all other (budget 4000)
//	software RSA-2048 / EC          1                      1      (limit 20 / 4000)
//	software RSA-3072               1                      4      (20 / 1000)
//	software RSA-4096               1                      8      (20 / 500)
//	HSM RSA-2048 / EC               2                      2      (10 / 2000)
//	HSM RSA-3072                    2                      8      (10 / 500)
//	HSM RSA-4096                    2                     16      (10 / 250)
//
// Requests that concern no particular key (listing keys, deleted keys, restore) cost what
// a software RSA-2048 transaction costs.

// throttleClass is one of the two budgets.
type throttleClass int

const (
	classOther throttleClass = iota
	classCreate
)

const (
	otherBudget  = 4000
	createBudget = 20
	subMultiple  = 5
	azureWindow  = 10 * time.Second
)

// throttleCost returns the class and the units a request costs. kty and size describe the
// key it concerns ("" for none).
func throttleCost(create bool, kty string, size int) (throttleClass, int64) {
	hsm := strings.HasSuffix(kty, "-HSM")
	if create {
		if hsm {
			return classCreate, 2
		}
		return classCreate, 1
	}
	var units int64 = 1
	if strings.HasPrefix(kty, "RSA") {
		switch {
		case size > 3072:
			units = 8
		case size > 2048:
			units = 4
		}
	}
	if hsm {
		units *= 2
	}
	return classOther, units
}

// slidingWindow sums the costs admitted during the last window.
type slidingWindow struct {
	at   []time.Time
	cost []int64
	head int
	sum  int64
}

// evict drops what fell out of the window ending now.
func (w *slidingWindow) evict(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	for w.head < len(w.at) && !w.at[w.head].After(cut) {
		w.sum -= w.cost[w.head]
		w.head++
	}
	if w.head > 1024 && w.head*2 > len(w.at) {
		w.at = append(w.at[:0], w.at[w.head:]...)
		w.cost = append(w.cost[:0], w.cost[w.head:]...)
		w.head = 0
	}
}

// waitFor returns how long until cost more units fit under budget.
func (w *slidingWindow) waitFor(now time.Time, window time.Duration, cost, budget int64) time.Duration {
	excess := w.sum + cost - budget
	for i := w.head; i < len(w.at) && excess > 0; i++ {
		excess -= w.cost[i]
		if excess <= 0 {
			return w.at[i].Add(window).Sub(now)
		}
	}
	return window
}

func (w *slidingWindow) add(now time.Time, cost int64) {
	w.at = append(w.at, now)
	w.cost = append(w.cost, cost)
	w.sum += cost
}

// throttler holds the windows of every vault and subscription.
type throttler struct {
	mu      sync.Mutex
	cfg     ThrottleConfig
	now     func() time.Time
	windows map[string]*slidingWindow // "v|host|class" or "s|sub|class"
}

func newThrottler(cfg ThrottleConfig, now func() time.Time) *throttler {
	return &throttler{cfg: cfg, now: now, windows: map[string]*slidingWindow{}}
}

func (t *throttler) set(cfg ThrottleConfig) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cfg = cfg
	t.windows = map[string]*slidingWindow{}
}

func (t *throttler) get() ThrottleConfig {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cfg
}

func (t *throttler) window(key string) *slidingWindow {
	w := t.windows[key]
	if w == nil {
		w = &slidingWindow{}
		t.windows[key] = w
	}
	return w
}

// admit decides whether a vault request may proceed. When it may not, it returns the wait
// to report in Retry-After and the reason Azure gives; refused requests are not counted.
func (t *throttler) admit(v *vault, class throttleClass, cost int64) (ok bool, retry time.Duration, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.Disabled || v.kind == kindHSM {
		return true, 0, ""
	}
	window := t.cfg.Window.D()
	if window <= 0 {
		window = azureWindow
	}
	budget := int64(otherBudget)
	suffix := "|o"
	if class == classCreate {
		budget, suffix = createBudget, "|c"
	}
	now := t.now()
	vw := t.window("v|" + v.host + suffix)
	sw := t.window("s|" + v.sub.id + suffix)
	vw.evict(now, window)
	sw.evict(now, window)
	switch {
	case vw.sum+cost > budget:
		return false, vw.waitFor(now, window, cost, budget), "VaultRequestTypeLimitReached"
	case sw.sum+cost > budget*subMultiple:
		return false, sw.waitFor(now, window, cost, budget*subMultiple), "SubscriptionRequestTypeLimitReached"
	}
	vw.add(now, cost)
	sw.add(now, cost)
	return true, 0, ""
}
