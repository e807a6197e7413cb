package jobs

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces the retries of a failed job: Base after the first failure, doubling after
// each further one, never more than Max. Jitter is the fraction of each delay drawn at
// random (0.2: between 80% and 100% of it), so that jobs that failed together do not all
// come back at the same moment.
type Backoff struct {
	Base, Max time.Duration
	Jitter    float64
}

// DefaultBackoff is 2s, 4s, 8s … up to 5 minutes, with 20% jitter.
var DefaultBackoff = Backoff{Base: 2 * time.Second, Max: 5 * time.Minute, Jitter: 0.2}

// Delay returns the wait after the attempt-th failed attempt (1 for the first).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if j := min(max(b.Jitter, 0), 1); j > 0 {
		d -= time.Duration(rand.Float64() * j * float64(d))
	}
	return d
}
