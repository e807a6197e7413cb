package jobs_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

func TestBackoffDelay(t *testing.T) {
	b := jobs.Backoff{Base: time.Second, Max: 30 * time.Second}
	var got []time.Duration
	for attempt := 1; attempt <= 7; attempt++ {
		got = append(got, b.Delay(attempt))
	}
	if fmt.Sprint(got) != "[1s 2s 4s 8s 16s 30s 30s]" {
		t.Fatalf("delays %v", got)
	}
	b.Jitter = 0.5
	seen := map[time.Duration]bool{}
	for range 200 {
		d := b.Delay(4)
		if d < 4*time.Second || d > 8*time.Second {
			t.Fatalf("jittered delay %s outside [4s, 8s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 50 {
		t.Fatalf("jitter draws only %d distinct delays of 200", len(seen))
	}
}

func TestErrorMarks(t *testing.T) {
	base := keyward.Errorf(keyward.ERATELIMIT, "throttled")
	ra := fmt.Errorf("sync: %w", jobs.RetryAfter(base, 7*time.Second))
	if d, ok := jobs.RetryHint(ra); !ok || d != 7*time.Second || !errors.Is(ra, base) || keyward.ErrorCode(ra) != keyward.ERATELIMIT {
		t.Fatalf("RetryAfter: hint %s %v, unwraps %v", d, ok, errors.Is(ra, base))
	}
	if _, ok := jobs.RetryHint(base); ok {
		t.Fatal("hint on a plain error")
	}
	p := fmt.Errorf("import: %w", jobs.Permanent(base))
	if !jobs.IsPermanent(p) || jobs.IsPermanent(ra) || !errors.Is(p, base) || p.Error() != "import: throttled" {
		t.Fatalf("Permanent: %v", p)
	}
	if jobs.Permanent(nil) != nil || jobs.RetryAfter(nil, time.Second) != nil {
		t.Fatal("marking nil must stay nil")
	}
}
