package akvemu

import (
	"maps"
	"strconv"
	"sync"
	"time"
)

// Stats is a snapshot of what the emulator has served since it started or was last reset.
// The admin API returns it as JSON.
type Stats struct {
	// Since is when counting started.
	Since time.Time `json:"since"`
	// Requests counts every emulated request (not the admin API).
	Requests int64 `json:"requests"`
	// Throttled counts requests refused with 429.
	Throttled int64 `json:"throttled"`
	// Faulted counts requests failed on purpose by a chaos fault rule.
	Faulted int64 `json:"faulted"`
	// Operations breaks the counts down by operation name (e.g. "GetKey", "Token").
	Operations map[string]OpStats `json:"operations"`
	// Vaults breaks data-plane counts down by vault or HSM name, then by operation.
	Vaults map[string]VaultStats `json:"vaults"`
}

// OpStats counts the requests of one operation.
type OpStats struct {
	Requests  int64 `json:"requests"`
	Throttled int64 `json:"throttled"`
	Faulted   int64 `json:"faulted"`
	// Status counts responses by HTTP status code ("200", "404", ...). Faults that close
	// the connection count under "reset" and "timeout".
	Status map[string]int64 `json:"status"`
}

// VaultStats counts the requests to one vault or HSM.
type VaultStats struct {
	Requests   int64              `json:"requests"`
	Throttled  int64              `json:"throttled"`
	Faulted    int64              `json:"faulted"`
	Operations map[string]OpStats `json:"operations"`
}

// statsBook accumulates Stats under a mutex.
type statsBook struct {
	mu sync.Mutex
	s  Stats
}

func newStatsBook(now time.Time) *statsBook {
	b := &statsBook{}
	b.reset(now)
	return b
}

func (b *statsBook) reset(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s = Stats{Since: now, Operations: map[string]OpStats{}, Vaults: map[string]VaultStats{}}
}

// record counts one request. outcome is the status code, or "reset"/"timeout" for faults
// that never answered.
func (b *statsBook) record(op, vaultName, outcome string, faulted bool) {
	throttled := outcome == strconv.Itoa(429) && !faulted
	add := func(o OpStats) OpStats {
		o.Requests++
		if throttled {
			o.Throttled++
		}
		if faulted {
			o.Faulted++
		}
		if o.Status == nil {
			o.Status = map[string]int64{}
		}
		o.Status[outcome]++
		return o
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.s.Requests++
	if throttled {
		b.s.Throttled++
	}
	if faulted {
		b.s.Faulted++
	}
	b.s.Operations[op] = add(b.s.Operations[op])
	if vaultName == "" {
		return
	}
	v := b.s.Vaults[vaultName]
	v.Requests++
	if throttled {
		v.Throttled++
	}
	if faulted {
		v.Faulted++
	}
	if v.Operations == nil {
		v.Operations = map[string]OpStats{}
	}
	v.Operations[op] = add(v.Operations[op])
	b.s.Vaults[vaultName] = v
}

// snapshot deep-copies the counters.
func (b *statsBook) snapshot() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.s
	out.Operations = copyOps(b.s.Operations)
	out.Vaults = make(map[string]VaultStats, len(b.s.Vaults))
	for k, v := range b.s.Vaults {
		v.Operations = copyOps(v.Operations)
		out.Vaults[k] = v
	}
	return out
}

func copyOps(m map[string]OpStats) map[string]OpStats {
	out := make(map[string]OpStats, len(m))
	for k, o := range m {
		o.Status = maps.Clone(o.Status)
		out[k] = o
	}
	return out
}
