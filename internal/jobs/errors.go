package jobs

import (
	"errors"
	"fmt"
	"time"
)

// Causes of a handler's context ending, as context.Cause reports them. A handler that
// recorded work to undo cleans up on ErrCancelRequested; on the others it just returns,
// since the job will run again and resume from its checkpoint.
var (
	// ErrCancelRequested: someone cancelled the job. It ends as cancelled.
	ErrCancelRequested = errors.New("jobs: cancel requested")
	// ErrStopping: the runner is shutting down. The job is queued again, the attempt not
	// counted.
	ErrStopping = errors.New("jobs: runner stopping")
	// ErrLeaseLost: the runner could not extend its lease in time, so another runner may
	// have taken the job over. Nothing more this run writes is kept.
	ErrLeaseLost = errors.New("jobs: lease lost")

	errTimeout = errors.New("jobs: attempt timed out")
)

type retryAfterError struct {
	err   error
	delay time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter returns err carrying a hint to try the job again no sooner than d, such as
// the Retry-After of a throttled call. The runner waits exactly d instead of its backoff;
// the attempt still counts against the job's maximum.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, delay: max(d, 0)}
}

// RetryHint returns the delay a RetryAfter error anywhere in err's chain asks for.
func RetryHint(err error) (time.Duration, bool) {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.delay, true
	}
	return 0, false
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent returns err marked as not worth retrying: the job fails at once, whatever its
// attempts left. Use it for what another try cannot fix (bad parameters, a key type the
// vault refuses).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// panicError is a handler's panic, turned into a failed attempt.
type panicError struct{ v any }

func (e panicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.v) }
