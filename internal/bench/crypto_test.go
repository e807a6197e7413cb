package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestBaselineAndCeilingAnswer(t *testing.T) {
	b, err := StartBaseline()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	if err := b.Call(ctx, []byte(`{"alg":"AES-GCM"}`)); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	for _, op := range CryptoOps {
		if err := b.Ceiling(ctx, op.Name, payload64); err != nil {
			t.Errorf("ceiling %s: %v", op.Name, err)
		}
	}
	if err := b.Ceiling(ctx, "no-such-op", payload64); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("ceiling of an unknown operation: %v, want a 404", err)
	}
}

func TestResultsOfRoundsMerge(t *testing.T) {
	ms := func(v ...int) (out []time.Duration) {
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	a := Result{Name: "op", Concurrency: 4, Ops: 3, Seconds: 1, OpsPerSec: 3, lat: ms(1, 2, 3)}
	b := Result{Name: "op", Concurrency: 4, Ops: 5, Errors: 1, FirstError: "boom", Seconds: 1, OpsPerSec: 5, lat: ms(4, 5, 6, 7, 8)}
	m := Result{}.Merge(a).Merge(b)
	if m.Ops != 8 || m.Seconds != 2 || m.OpsPerSec != 4 || m.Errors != 1 || m.FirstError != "boom" || m.Concurrency != 4 {
		t.Fatalf("merged %+v", m)
	}
	if m.P50 != 5*time.Millisecond || m.P99 != 8*time.Millisecond {
		t.Errorf("merged percentiles p50 %v p99 %v, want 5ms and 8ms", m.P50, m.P99)
	}
	if len(a.lat) != 3 {
		t.Errorf("merging changed the first result's latencies: %v", a.lat)
	}
}
