package azure

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// RetryOptions shape how the connector retries. azcore's own retry policy is off: one
// loop, here, sees every attempt, so that the budget, the counters and the backoff agree.
type RetryOptions struct {
	// ThrottleBackoff are the waits after successive 429s that name no Retry-After; its
	// length is how many 429s one operation sits out before it returns ERATELIMIT. Nil
	// means Microsoft's prescription for Key Vault: 1, 2, 4, 8 and 16 seconds.
	ThrottleBackoff []time.Duration
	// MaxRetryAfter is the longest wait Azure may ask for that the connector sits out
	// itself; a longer one goes back to the caller as ERATELIMIT with RetryAfter, for its
	// durable job to wait. Zero means 30 seconds.
	MaxRetryAfter time.Duration
	// Transient is how many times a transient failure (5xx, 408, timeout, reset, refused
	// connection) is retried; zero means 3, negative means never.
	Transient int
	// TransientBackoff is the wait before the first such retry; it doubles with each one
	// up to TransientBackoffMax, and each wait is jittered down by up to half. Zero means
	// 500 ms and 8 s.
	TransientBackoff, TransientBackoffMax time.Duration
	// AttemptTimeout bounds one request; zero means 30 seconds.
	AttemptTimeout time.Duration
	// PollInterval is the first wait while a delete or recover takes effect; it doubles up
	// to 2 seconds. Zero means 250 ms.
	PollInterval time.Duration
	// SettleTimeout bounds that wait; zero means 60 seconds (Azure takes seconds).
	SettleTimeout time.Duration
}

func (o *RetryOptions) defaults() {
	if o.ThrottleBackoff == nil {
		o.ThrottleBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 30 * time.Second
	}
	if o.Transient == 0 {
		o.Transient = 3
	}
	if o.TransientBackoff <= 0 {
		o.TransientBackoff = 500 * time.Millisecond
	}
	if o.TransientBackoffMax <= 0 {
		o.TransientBackoffMax = 8 * time.Second
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = 30 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.SettleTimeout <= 0 {
		o.SettleTimeout = 60 * time.Second
	}
}

// transientWait is the jittered wait before transient retry n (1-based).
func (o *RetryOptions) transientWait(n int) time.Duration {
	d := o.TransientBackoff
	for i := 1; i < n && d < o.TransientBackoffMax; i++ {
		d *= 2
	}
	d = min(d, o.TransientBackoffMax)
	return d/2 + rand.N(d/2+1)
}

// call describes one Azure request for the budget, the retry loop and the counters.
type call struct {
	op     string // Azure's operation id, as Calls and the emulator's stats name it
	key    string // the key it concerns, "" for none
	create bool   // draws on the CREATE budget
	hsm    bool   // for a create: HSM protection
	// latest says the response's key bundle is the key's latest version, whose type is
	// what Azure charges for the key from now on.
	latest bool
}

// result is what a request learned: the key bundle's JWK when it returned one.
type result = *azkeys.JSONWebKey

// outcome is what do reports besides the error.
type outcome struct {
	// ambiguous says an earlier attempt failed after it was sent: Azure may have done it.
	ambiguous bool
}

// runner sends requests for a vault client or a discovery: the retry loop, the counters
// and, for a vault's data plane, its budget.
type runner struct {
	conn   *Connector
	calls  *counter
	budget *budget // nil: not budgeted (Resource Manager)
	name   string  // the vault, for logs
	host   string  // the server, for errors that do not name it
}

// budget is a vault's share of the connector's limits.
type budget struct {
	host, subscription string
	worst              keyProfile    // what an unknown key costs
	hsmSlots           chan struct{} // managed HSM: the cap on requests in flight
	profiles           *profileCache
}

// do runs fn within the budget and retries it: 429s after Azure's Retry-After or the
// throttle backoff, transient failures a bounded number of times with jittered backoff.
// Create, import, rotate and restore are retried like the rest; see the package
// documentation for what a retry after a lost answer means for them.
func (r *runner) do(ctx context.Context, c call, fn func(context.Context) (result, error)) (outcome, error) {
	var out outcome
	o := &r.conn.opts.Retry
	throttles, transients := 0, 0
	for {
		learned, f, err := r.attempt(ctx, c, fn)
		if err == nil && f == nil {
			if b := r.budget; b != nil && learned != nil {
				if c.latest && c.key != "" {
					b.profiles.learn(c.key, learned)
				} else {
					b.profiles.note(learned)
				}
			}
			return out, nil
		}
		if err != nil { // the caller's context, or the budget's deadline
			return out, err
		}
		var wait time.Duration
		switch {
		case f.throttled:
			throttles++
			wait = f.retryAfter
			if wait == 0 && throttles <= len(o.ThrottleBackoff) {
				wait = o.ThrottleBackoff[throttles-1]
			}
			r.pause(c, wait)
			if throttles > len(o.ThrottleBackoff) || wait > o.MaxRetryAfter {
				f.err.RetryAfter = max(wait, f.err.RetryAfter, time.Second)
				return out, f.err
			}
		case f.transient && transients < o.Transient:
			transients++
			wait = max(f.retryAfter, o.transientWait(transients))
		default:
			return out, f.err
		}
		if !f.unsent && !f.throttled {
			out.ambiguous = true
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			// The caller cannot wait that long: Azure's answer, and the wait, serve it better
			// than its own deadline would.
			f.err.RetryAfter = max(wait, f.err.RetryAfter)
			return out, f.err
		}
		r.conn.log.DebugContext(ctx, "azure retry", "vault", r.name, "op", c.op, "key", c.key,
			"status", f.status, "code", f.err.Code, "wait", wait)
		if !sleep(ctx, wait) {
			return out, fmt.Errorf("%s: %w", c.op, ctx.Err())
		}
	}
}

// attempt sends one request within the budget. It returns the caller's context error as
// err, and Azure's refusal or a failure on the way as f.
func (r *runner) attempt(ctx context.Context, c call, fn func(context.Context) (result, error)) (result, *failure, error) {
	release, err := r.admit(ctx, c)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%s: %w", c.op, ctx.Err())
		}
		return nil, nil, err
	}
	actx, cancel := context.WithTimeout(withCall(ctx, c.op, r.calls), r.conn.opts.Retry.AttemptTimeout)
	learned, err := fn(actx)
	cancel()
	if err == nil {
		release(learned, true)
		return learned, nil, nil
	}
	if ctx.Err() != nil { // the caller gave up; not Azure's failure
		release(nil, true)
		return nil, nil, fmt.Errorf("%s: %w", c.op, ctx.Err())
	}
	f := classify(err, r.host)
	release(nil, !f.throttled && !f.unsent)
	return nil, &f, nil
}

// admit waits for budget (vaults) or a slot (managed HSMs) and returns the release,
// which settles the request's cost once its answer says what key it touched.
func (r *runner) admit(ctx context.Context, c call) (func(learned result, counted bool), error) {
	b := r.budget
	switch {
	case b == nil:
		return func(result, bool) {}, nil
	case b.hsmSlots != nil:
		select {
		case b.hsmSlots <- struct{}{}:
			return func(result, bool) { <-b.hsmSlots }, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case r.conn.opts.Throttle.Disabled:
		return func(result, bool) {}, nil
	}
	cl, prof := classOther, b.profiles.estimate(b.worst)
	known := false
	switch {
	case c.key == "" && !c.create:
		// Listings name no key; Azure charges them like a software RSA-2048
		// transaction, the cheapest there is.
		prof, known = profileOf("RSA", 2048), true
	case c.create:
		cl, prof.hsm = classCreate, c.hsm
	default:
		if p, ok := b.profiles.get(c.key); ok {
			prof, known = p, true
		}
	}
	keys := vaultBudgets(b.host, b.subscription, cl, r.conn.opts.Throttle.Share)
	cost := prof.units(cl)
	res, err := r.conn.limiter.acquire(ctx, keys, cost)
	if err != nil {
		return nil, err
	}
	return func(learned result, counted bool) {
		settled := cost
		if learned != nil && (c.latest || !known) {
			// The latest version is what Azure charges by; another version of a key not
			// yet seen is the best guess there is (a key's versions rarely change type).
			settled = jwkProfile(learned).units(cl)
		}
		r.conn.limiter.release(res, settled, counted)
	}, nil
}

// pause holds the vault's budget of the refused class for the wait, so that its other
// callers do not keep hitting Azure meanwhile.
func (r *runner) pause(c call, wait time.Duration) {
	b := r.budget
	if b == nil || b.hsmSlots != nil || r.conn.opts.Throttle.Disabled || wait <= 0 {
		return
	}
	cl := classOther
	if c.create {
		cl = classCreate
	}
	r.conn.limiter.pause(vaultBudgets(b.host, b.subscription, cl, r.conn.opts.Throttle.Share), r.conn.now().Add(wait))
}

// eachPage reads every page of a listing, following nextLink until Azure gives none (pages
// may be short or empty), each page one request within the budget and retried; fn gets
// every item. newPager makes the listing's pager: azcore's Pager stops for good after a
// failed fetch (from azcore 1.24 it hands back the same error without asking Azure
// again), so a retry goes on with a new pager placed after the last page read.
func eachPage[P, T any](ctx context.Context, r *runner, c call, newPager func() *runtime.Pager[P], items func(P) []*T, fn func(*T) error) error {
	pager := newPager()
	var last *P
	for pager.More() {
		var page P
		if _, err := r.do(ctx, c, func(ctx context.Context) (result, error) {
			var err error
			if page, err = pager.NextPage(ctx); err != nil {
				if p := resumePager(newPager, last); p != nil {
					pager = p
				}
			}
			return nil, err
		}); err != nil {
			return err
		}
		last = &page
		for _, it := range items(page) {
			if it == nil {
				continue
			}
			if err := fn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// resumePager returns a new pager whose next fetch is the page after last (the first
// page when last is nil), or nil if it cannot make one.
func resumePager[P any](newPager func() *runtime.Pager[P], last *P) *runtime.Pager[P] {
	p := newPager()
	if last == nil {
		return p
	}
	b, err := json.Marshal(last)
	if err != nil || p.UnmarshalJSON(b) != nil {
		return nil
	}
	// A pager given a page hands it back once before it fetches the next one (that is how
	// azcore resumes the pages of long-running operations): take it.
	if _, err := p.NextPage(context.Background()); err != nil {
		return nil
	}
	return p
}

// sleep waits for d or the context; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
