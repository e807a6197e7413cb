package akvemu

import (
	"context"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// chaos adds latency and picks faults from seeded randomness, so that a run with the same
// seed and the same sequence of requests fails the same way.
type chaos struct {
	mu    sync.Mutex
	cfg   ChaosConfig
	rng   *rand.Rand
	fired []int // per rule, for FaultRule.Max
}

func newChaos(cfg ChaosConfig) *chaos {
	c := &chaos{}
	c.set(cfg)
	return c
}

// set replaces the configuration and reseeds.
func (c *chaos) set(cfg ChaosConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg.Faults = append([]FaultRule(nil), cfg.Faults...)
	c.cfg = cfg
	c.fired = make([]int, len(cfg.Faults))
	c.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
}

func (c *chaos) get() ChaosConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.cfg
	out.Faults = append([]FaultRule(nil), c.cfg.Faults...)
	return out
}

// latency returns how long to hold this request: the fixed latency plus jitter.
func (c *chaos) latency() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.cfg.Latency.D()
	if j := c.cfg.Jitter.D(); j > 0 {
		d += time.Duration(c.rng.Int64N(int64(j)))
	}
	return d
}

// fault returns the first rule that fires for the operation and vault, or nil.
func (c *chaos) fault(op, vaultName string) *FaultRule {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.cfg.Faults {
		f := &c.cfg.Faults[i]
		if f.Operation != "*" && !strings.EqualFold(f.Operation, op) {
			continue
		}
		if f.Vault != "" && !strings.EqualFold(f.Vault, vaultName) {
			continue
		}
		if f.Max > 0 && c.fired[i] >= f.Max {
			continue
		}
		if f.Rate > 0 && c.rng.Float64() < f.Rate {
			c.fired[i]++
			rule := *f
			return &rule
		}
	}
	return nil
}

// sleepCtx waits for d or until ctx ends; it reports whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// applyFault fails the request as the rule says, calling record with the outcome just
// before the client can see it, so that stats read after a failure include it. Status
// faults are written in the service's error shape; connection faults hijack the
// connection, or abort the handler where the server cannot hijack (HTTP/2).
func (e *Emulator) applyFault(w http.ResponseWriter, r *http.Request, f *FaultRule, svc serviceKind, record func(string)) {
	switch f.Kind {
	case "500":
		record("500")
		writeServiceError(w, r, svc, http.StatusInternalServerError, "InternalServerError",
			"The service encountered an internal error. Please retry the request.")
	case "503":
		record("503")
		writeServiceError(w, r, svc, http.StatusServiceUnavailable, "ServiceUnavailable",
			"The service is currently unavailable. Please retry the request.")
	case "429":
		record("429")
		if ra := f.RetryAfter.D(); ra > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(ra.Seconds())), 10))
		}
		writeServiceError(w, r, svc, http.StatusTooManyRequests, "Throttled",
			"Request was not processed because too many requests were received. Reason: injected by the emulator's chaos")
	case "timeout":
		hang := f.Hang.D()
		if hang == 0 {
			hang = 30 * time.Second
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			select {
			case <-e.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		sleepCtx(ctx, hang)
		record("timeout")
		closeConn(w, false)
	default:
		record("reset")
		closeConn(w, true)
	}
}

// closeConn drops the client connection without a response; with reset it makes the
// kernel send a TCP RST instead of a FIN.
func closeConn(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if reset {
		if tcp := underlyingTCP(conn); tcp != nil {
			_ = tcp.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// underlyingTCP digs the TCP connection out of TLS and the listener's wrappers.
func underlyingTCP(c net.Conn) *net.TCPConn {
	for range 8 {
		switch v := c.(type) {
		case *net.TCPConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}

// writeServiceError writes an error in the shape of the service a host belongs to.
func writeServiceError(w http.ResponseWriter, r *http.Request, svc serviceKind, status int, code, msg string) {
	switch svc {
	case svcLogin:
		entraError(w, r, status, "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	default:
		writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
	}
}
