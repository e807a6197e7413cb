// Package jobs runs durable jobs: it claims due jobs from the store under a lease, runs the
// handler registered for each kind with bounded concurrency, extends the lease while the
// handler works, retries failures with backoff, honours cancel requests, and enqueues the
// runs of due schedules. It knows nothing of what the jobs do.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// Handler does the work of one job. It returns nil when the work is done, or an error: the
// runner retries the job with backoff (or after the delay of a RetryAfter error) until its
// attempts run out, or fails it at once for a Permanent error. ctx ends when the job is
// cancelled, the runner stops, or the lease is lost; context.Cause tells which.
//
// A job may run more than once: after a failure, and after its runner died mid-run. So
// every step must be safe to repeat, or recorded with run.SaveCheckpoint before it is
// taken, so that the next attempt can see it and resume or undo it.
type Handler func(ctx context.Context, run *Run) error

// Kind is a kind of job and the handler that runs it.
type Kind struct {
	Name    string // e.g. "azure.sync"
	Handler Handler
	// MaxAttempts is the default for jobs of this kind that set none. Zero:
	// keyward.DefaultJobAttempts.
	MaxAttempts int
	// Timeout bounds one attempt; a timed-out attempt fails and is retried. Zero: no bound.
	Timeout time.Duration
}

// Options configure a Runner. Zero values take the defaults documented on each field.
type Options struct {
	Store keyward.Store
	Clock keyward.Clock // default: the system clock; waiting uses the time package
	Log   *slog.Logger  // default: discard
	// Node names this process in job leases. Default: host name, process id and a random
	// suffix, so that two processes never share a name.
	Node string
	// Workers bounds how many jobs run at once on this node. Default 4.
	Workers int
	// Lease is how long a claim holds a job without news from its runner; the runner
	// extends it every Lease/3 while the handler runs. A job whose runner died is taken
	// over once its lease expires. Default 30s.
	Lease time.Duration
	// Poll is how often an idle runner looks for due jobs and schedules that other nodes
	// or other processes added. Default 2s.
	Poll time.Duration
	// Backoff spaces retries. Zero: DefaultBackoff.
	Backoff Backoff
	// ProgressEvery is the least time between two writes of a job's progress. Default 1s.
	ProgressEvery time.Duration
	// StopGrace is how long Run waits, once its context ends, for handlers to return.
	// Default 10s.
	StopGrace time.Duration
}

// Runner claims and runs jobs, and enqueues the runs of schedules. Register every kind,
// then call Run; Enqueue and CreateSchedule add work inside the caller's transaction.
type Runner struct {
	o       Options
	running atomic.Bool
	claims  atomic.Uint64
	wake    chan struct{}

	mu     sync.Mutex
	kinds  map[string]Kind
	active map[string]context.CancelCauseFunc // jobs running here, by id
	wakeAt []time.Time                        // retries and schedule runs due later
}

// New returns a runner; nothing runs until Run.
func New(o Options) *Runner {
	if o.Clock == nil {
		o.Clock = keyward.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Node == "" {
		o.Node = defaultNode()
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Backoff == (Backoff{}) {
		o.Backoff = DefaultBackoff
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 10 * time.Second
	}
	return &Runner{o: o, wake: make(chan struct{}, 1), kinds: map[string]Kind{}, active: map[string]context.CancelCauseFunc{}}
}

func defaultNode() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Node returns the name this runner writes into its leases.
func (r *Runner) Node() string { return r.o.Node }

// Register adds a kind. Jobs are claimed only for registered kinds, so a node that lacks a
// handler leaves those jobs to nodes that have one. Registering a name twice, or an
// invalid one, is a programming error.
func (r *Runner) Register(k Kind) {
	if err := keyward.ValidateJobKind("kind", k.Name); err != nil || k.Handler == nil {
		panic(fmt.Sprintf("jobs: bad kind %q: %v", k.Name, err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[k.Name]; dup {
		panic("jobs: kind registered twice: " + k.Name)
	}
	r.kinds[k.Name] = k
}

func (r *Runner) kind(name string) (Kind, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.kinds[name]
	return k, ok
}

func (r *Runner) kindNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.kinds))
	for n := range r.kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Poke makes the runner look for due jobs now rather than at its next poll: call it after
// the transaction that enqueued a job commits.
func (r *Runner) Poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// NotifyCancel tells the runner that a cancel of the job was committed: if the job runs
// here, its handler's context ends now rather than at the next lease extension.
func (r *Runner) NotifyCancel(jobID string) {
	r.mu.Lock()
	cancel := r.active[jobID]
	r.mu.Unlock()
	if cancel != nil {
		cancel(ErrCancelRequested)
	}
}

// wakeUpAt asks the loop to make a pass at t (a retry or a schedule run due then).
func (r *Runner) wakeUpAt(t time.Time) {
	r.mu.Lock()
	r.wakeAt = append(r.wakeAt, t)
	r.mu.Unlock()
	r.Poke()
}

// nextWait drops the wake-ups a pass at passAt served and returns how long to sleep.
func (r *Runner) nextWait(passAt time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wakeAt = slices.DeleteFunc(r.wakeAt, func(t time.Time) bool { return !t.After(passAt) })
	d := r.o.Poll
	for _, t := range r.wakeAt {
		d = min(d, t.Sub(r.o.Clock.Now()))
	}
	return max(d, 0)
}

// Run claims and runs due jobs and enqueues due schedule runs until ctx ends. Then it
// cancels the handlers still running, with cause ErrStopping, waits up to StopGrace for
// them to return, and leaves their jobs queued for the next start; jobs whose handler does
// not return in time are taken over when their lease expires.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("jobs: Run called twice")
	}
	defer r.running.Store(false)
	// Handlers get a context of their own, ended with ErrStopping when ctx ends, so that
	// they can tell a shutdown from a cancel.
	base, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	slots := make(chan struct{}, r.o.Workers)
	var wg sync.WaitGroup
	for {
		passAt := r.o.Clock.Now()
		if err := r.scheduleDue(ctx); err != nil {
			r.o.Log.Error("enqueue scheduled jobs", "err", err)
		}
		if err := r.claimAndStart(ctx, base, slots, &wg); err != nil && ctx.Err() == nil {
			r.o.Log.Error("claim jobs", "err", err)
		}
		timer := time.NewTimer(r.nextWait(passAt))
		select {
		case <-ctx.Done():
			timer.Stop()
			stop(ErrStopping)
			return r.drain(&wg)
		case <-r.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (r *Runner) drain(wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(r.o.StopGrace):
		r.mu.Lock()
		n := len(r.active)
		r.mu.Unlock()
		r.o.Log.Warn("job handlers did not stop in time; their jobs resume once their leases expire", "jobs", n)
		return nil
	}
}

// claimAndStart claims as many due jobs as there are free workers and starts them.
func (r *Runner) claimAndStart(ctx, base context.Context, slots chan struct{}, wg *sync.WaitGroup) error {
	free := cap(slots) - len(slots)
	kinds := r.kindNames()
	if free == 0 || len(kinds) == 0 {
		return nil
	}
	now := r.o.Clock.Now()
	claim := keyward.JobClaim{Lease: fmt.Sprintf("%s#%d", r.o.Node, r.claims.Add(1)), Now: now, Until: now.Add(r.o.Lease), Kinds: kinds, Limit: free}
	var claimed []keyward.Job
	err := r.o.Store.Update(ctx, func(tx keyward.Tx) error {
		var err error
		claimed, err = tx.ClaimJobs(claim)
		return err
	})
	if err != nil {
		return err
	}
	for _, j := range claimed {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() {
				<-slots
				r.Poke() // a worker is free: look for more
			}()
			r.execute(base, j)
		})
	}
	return nil
}
