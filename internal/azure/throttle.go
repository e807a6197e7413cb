package azure

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/keyward"
)

// Azure Key Vault's service limits (akv-api.md §6.1; Microsoft Learn, "Azure Key Vault
// service limits"): per vault and per 10 seconds, key transactions are limited by key
// type and protection; the thresholds are weighted and enforced on their sum; a 429 does
// not count; a subscription may do five times a vault's budget. CREATE and "all other"
// transactions have separate budgets. In units of the cheapest transaction:
//
//	                      CREATE (20 per window)   all other (4000 per window)
//	software RSA-2048, EC          1                        1
//	software RSA-3072              1                        4    (limit 1000)
//	software RSA-4096              1                        8    (limit 500)
//	HSM RSA-2048, EC               2   (limit 10)           2    (limit 2000)
//	HSM RSA-3072                   2                        8    (limit 500)
//	HSM RSA-4096                   2                       16    (limit 250)
//
// Managed HSM does not throttle transactions; its capacity is bounded instead by a cap on
// the requests in flight.

// ThrottleOptions shape Keyward's own budget, kept so that Azure never has to refuse it.
type ThrottleOptions struct {
	// Disabled turns the budget off; Azure's 429s are still honoured and retried.
	Disabled bool
	// Window is the length of Azure's window; zero means 10 seconds. Tests shorten it
	// together with the emulator's.
	Window time.Duration
	// Share is the fraction of Azure's documented budget Keyward allows itself, leaving
	// the rest to the vault's other clients (applications wrapping and unwrapping with
	// the same keys); zero means 0.8, at most 1.
	Share float64
	// HSMConcurrency bounds the requests in flight to one managed HSM; zero means 8.
	HSMConcurrency int
}

func (o *ThrottleOptions) defaults() {
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if o.Share <= 0 || o.Share > 1 {
		o.Share = 0.8
	}
	if o.HSMConcurrency <= 0 {
		o.HSMConcurrency = 8
	}
}

// class is one of Azure's two budgets.
type class int

const (
	classOther class = iota
	classCreate
)

const (
	otherBudget        = 4000
	createBudget       = 20
	subscriptionFactor = 5
	maxOtherUnits      = 16 // HSM RSA-4096
	maxCreateUnits     = 2  // any HSM create
)

// keyProfile is what the budget needs to know of a key.
type keyProfile struct {
	rsaBits int // modulus bits of an RSA key; 0 for EC and oct
	hsm     bool
}

// profileOf reads a key's profile from its kty and modulus.
func profileOf(kty string, rsaBits int) keyProfile {
	p := keyProfile{hsm: strings.HasSuffix(kty, "-HSM")}
	if strings.HasPrefix(kty, "RSA") {
		p.rsaBits = max(rsaBits, 2048)
	}
	return p
}

// units is what one transaction on the key costs in a class.
func (p keyProfile) units(c class) int64 {
	if c == classCreate {
		if p.hsm {
			return 2
		}
		return 1
	}
	var u int64 = 1
	switch {
	case p.rsaBits > 3072:
		u = 8
	case p.rsaBits > 2048:
		u = 4
	}
	if p.hsm {
		u *= 2
	}
	return u
}

// worstProfile is the costliest key a vault of the kind can hold: what an unknown key
// is charged, so that a guess never overdraws the budget.
func worstProfile(kind keyward.VaultKind) keyProfile {
	return keyProfile{rsaBits: 4096, hsm: kind != keyward.VaultStandard}
}

// bucket is one sliding window: the costs of completed requests by completion time, plus
// what requests in flight hold. Completion time is never earlier than the time Azure saw
// the request, so any window Azure looks at holds no more than this one admitted.
type bucket struct {
	budget   int64
	at       []time.Time
	cost     []int64
	head     int
	sum      int64
	inflight int64
	paused   time.Time // after a 429: nothing is admitted before then
}

func (b *bucket) evict(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	for b.head < len(b.at) && !b.at[b.head].After(cut) {
		b.sum -= b.cost[b.head]
		b.head++
	}
	if b.head > 256 && b.head*2 > len(b.at) {
		b.at = append(b.at[:0], b.at[b.head:]...)
		b.cost = append(b.cost[:0], b.cost[b.head:]...)
		b.head = 0
	}
}

// waitFor is how long until cost more units fit; window when only requests in flight
// stand in the way (their release wakes the waiter sooner).
func (b *bucket) waitFor(now time.Time, window time.Duration, cost int64) time.Duration {
	if now.Before(b.paused) {
		return b.paused.Sub(now)
	}
	excess := b.sum + b.inflight + cost - b.budget
	if excess <= 0 {
		return 0
	}
	for i := b.head; i < len(b.at); i++ {
		if excess -= b.cost[i]; excess <= 0 {
			return max(b.at[i].Add(window).Sub(now), time.Millisecond)
		}
	}
	return window
}

// limiter holds every vault's and subscription's buckets, for all the vault clients of a
// connector.
type limiter struct {
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	bucket map[string]*bucket
	wake   chan struct{} // closed and replaced whenever budget is released
}

func newLimiter(window time.Duration, now func() time.Time) *limiter {
	return &limiter{window: window, now: now, bucket: map[string]*bucket{}, wake: make(chan struct{})}
}

// budgetKey names a bucket and its budget.
type budgetKey struct {
	name   string
	budget int64
}

// reservation is budget held by one request in flight.
type reservation struct {
	keys []budgetKey
	cost int64
}

func (l *limiter) get(k budgetKey) *bucket {
	b := l.bucket[k.name]
	if b == nil {
		b = &bucket{budget: k.budget}
		l.bucket[k.name] = b
	}
	return b
}

// acquire waits until cost fits in every bucket, then holds it. When the caller's
// deadline comes before the budget frees, it returns ERATELIMIT with the wait at once.
func (l *limiter) acquire(ctx context.Context, keys []budgetKey, cost int64) (*reservation, error) {
	for {
		l.mu.Lock()
		now := l.now()
		var wait time.Duration
		for _, k := range keys {
			b := l.get(k)
			b.evict(now, l.window)
			wait = max(wait, b.waitFor(now, l.window, min(cost, b.budget)))
		}
		if wait == 0 {
			for _, k := range keys {
				l.get(k).inflight += cost
			}
			l.mu.Unlock()
			return &reservation{keys: keys, cost: cost}, nil
		}
		wake := l.wake
		l.mu.Unlock()
		if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
			return nil, &keyward.Error{Code: keyward.ERATELIMIT, RetryAfter: wait,
				Message: "Keyward: the vault's request budget frees after the deadline"}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		case <-wake:
			t.Stop()
		}
	}
}

// release returns a reservation. A request Azure counted (anything but a 429 or a request
// that never left) stays in the window at cost from now on.
func (l *limiter) release(r *reservation, cost int64, counted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range r.keys {
		b := l.get(k)
		b.inflight -= r.cost
		if counted {
			b.at = append(b.at, now)
			b.cost = append(b.cost, cost)
			b.sum += cost
		}
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// pause holds the buckets after Azure refused with a 429: the budget is spent by someone
// Keyward cannot see, so every caller of the vault waits, not only the refused one.
func (l *limiter) pause(keys []budgetKey, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if b := l.get(k); until.After(b.paused) {
			b.paused = until
		}
	}
}

// vaultBudgets are the buckets a request of a class to a vault draws on.
func vaultBudgets(host, sub string, c class, share float64) []budgetKey {
	base, floor, suffix := int64(otherBudget), int64(maxOtherUnits), "|other"
	if c == classCreate {
		base, floor, suffix = createBudget, maxCreateUnits, "|create"
	}
	budget := max(int64(float64(base)*share), floor)
	return []budgetKey{
		{name: "vault|" + strings.ToLower(host) + suffix, budget: budget},
		{name: "subscription|" + strings.ToLower(sub) + suffix, budget: budget * subscriptionFactor},
	}
}

// jwkProfile reads a key bundle's profile.
func jwkProfile(j *azkeys.JSONWebKey) keyProfile {
	kty := ""
	if j.Kty != nil {
		kty = string(*j.Kty)
	}
	return profileOf(kty, new(big.Int).SetBytes(j.N).BitLen())
}

// profileCache remembers the type of each key of a vault (its latest version, which is
// what Azure charges by), learned from the answers, and the costliest type the vault has
// shown. A key not yet seen is charged as that costliest type: as the costliest the vault
// can hold only until the first answer, because charging every unknown key that way
// would spend eight times the budget on a vault of software RSA-2048 keys (a first sync
// took ten times Azure's bound). A costlier key found later may overdraw the window by
// its difference once; Azure's 429 then pauses the vault's callers and they retry.
type profileCache struct {
	mu       sync.Mutex
	m        map[string]keyProfile
	seen     bool
	costlies keyProfile
}

// estimate is what a key not yet seen is charged as.
func (c *profileCache) estimate(worst keyProfile) keyProfile {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seen {
		return worst
	}
	return c.costlies
}

// note records that the vault holds a key of j's type (any version of any key).
func (c *profileCache) note(j *azkeys.JSONWebKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noteLocked(jwkProfile(j))
}

func (c *profileCache) noteLocked(p keyProfile) {
	if !c.seen {
		c.seen, c.costlies = true, p
		return
	}
	c.costlies.hsm = c.costlies.hsm || p.hsm
	c.costlies.rsaBits = max(c.costlies.rsaBits, p.rsaBits)
}

// maxProfiles bounds the cache; a vault holds far fewer keys in practice.
const maxProfiles = 100_000

func (c *profileCache) get(name string) (keyProfile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[strings.ToLower(name)]
	return p, ok
}

func (c *profileCache) learn(name string, j *azkeys.JSONWebKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxProfiles {
		c.m = map[string]keyProfile{}
	}
	c.m[strings.ToLower(name)] = jwkProfile(j)
	c.noteLocked(jwkProfile(j))
}
