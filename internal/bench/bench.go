// Package bench measures Keyward the way its users meet it: a client driving a running
// server over HTTPS. Every figure is reported beside a baseline measured in the same run,
// so results are ratios that mean the same on any machine.
package bench

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// Result is one measured load.
type Result struct {
	Name        string          `json:"name"`
	Concurrency int             `json:"concurrency"`
	Ops         int             `json:"ops"`
	Errors      int             `json:"errors"`
	FirstError  string          `json:"first_error,omitempty"`
	Seconds     float64         `json:"seconds"`
	OpsPerSec   float64         `json:"ops_per_sec"`
	P50         time.Duration   `json:"p50_ns"`
	P99         time.Duration   `json:"p99_ns"`
	lat         []time.Duration // sorted; kept so that Merge can compute percentiles
}

// Merge adds b, a later measurement of the same load, to r.
func (r Result) Merge(b Result) Result {
	if r.Name == "" {
		return b
	}
	r.Ops += b.Ops
	r.Errors += b.Errors
	if r.FirstError == "" {
		r.FirstError = b.FirstError
	}
	r.Seconds += b.Seconds
	r.OpsPerSec = float64(r.Ops) / r.Seconds
	r.lat = append(slices.Clone(r.lat), b.lat...)
	slices.Sort(r.lat)
	r.P50, r.P99 = percentiles(r.lat)
	return r
}

// percentiles are the median and the 99th percentile of sorted latencies.
func percentiles(lat []time.Duration) (p50, p99 time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	return lat[len(lat)/2], lat[len(lat)*99/100]
}

// Load runs op from concurrency goroutines for warmup (not counted) and then duration, and
// measures throughput and latency.
func Load(ctx context.Context, name string, concurrency int, warmup, duration time.Duration, op func(ctx context.Context) error) Result {
	res := Result{Name: name, Concurrency: concurrency}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	measureFrom, end := start.Add(warmup), start.Add(warmup+duration)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			errs, first := 0, ""
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := op(ctx)
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, t1.Sub(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Ops = len(lat)
	res.Seconds = duration.Seconds()
	res.OpsPerSec = float64(res.Ops) / res.Seconds
	slices.Sort(lat)
	res.lat = lat
	res.P50, res.P99 = percentiles(lat)
	return res
}

// decodeJSON converts a decoded JSON value (a job's result) into v.
func decodeJSON(in, v any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
