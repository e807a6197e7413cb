package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// Run is a handler's view of the job it runs: its parameters and checkpoint, and the
// means to report progress, record a checkpoint, set the result and write to the group's
// service log.
type Run struct {
	job   keyward.Job
	r     *Runner
	lease string

	cancel     context.CancelCauseFunc
	progressed chan struct{} // a new progress waits to be written

	mu         sync.Mutex
	progress   keyward.JobProgress
	dirty      bool      // progress not yet written
	leaseUntil time.Time // as last written
	result     []byte
}

func newRun(r *Runner, j keyward.Job, cancel context.CancelCauseFunc) *Run {
	return &Run{job: j, r: r, lease: j.LeaseOwner, cancel: cancel, progressed: make(chan struct{}, 1),
		progress: j.Progress, leaseUntil: j.LeaseUntil}
}

// Job returns the job as it was claimed (id, kind, group, params, attempts with this one),
// with the checkpoint as last saved.
func (run *Run) Job() keyward.Job {
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.job
}

// Params decodes the job's parameters into v.
func (run *Run) Params(v any) error {
	if err := json.Unmarshal(run.job.Params, v); err != nil {
		return Permanent(fmt.Errorf("job %s: decode params: %w", run.job.ID, err))
	}
	return nil
}

// Checkpoint decodes the last checkpoint recorded by an earlier attempt (or this one) into
// v, and reports whether there was one.
func (run *Run) Checkpoint(v any) (bool, error) {
	run.mu.Lock()
	cp := run.job.Checkpoint
	run.mu.Unlock()
	if len(cp) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(cp, v); err != nil {
		return false, Permanent(fmt.Errorf("job %s: decode checkpoint: %w", run.job.ID, err))
	}
	return true, nil
}

// SaveCheckpoint records v as the job's checkpoint, durably, before it returns: write down
// what a step is about to create before taking the step, so that a later attempt finds it.
// It writes even after ctx has ended (a handler records its clean-up too), and fails with
// ErrLeaseLost when another runner has taken the job over.
func (run *Run) SaveCheckpoint(v any) error {
	b, err := run.encode("checkpoint", v)
	if err != nil {
		return err
	}
	if err := run.write(b); err != nil {
		return err
	}
	run.mu.Lock()
	run.job.Checkpoint = b
	run.mu.Unlock()
	return nil
}

// Progress reports how far the job has come: done of total items (total 0: unknown) and
// what it is doing. It only notes the figures; they are written at most every
// Options.ProgressEvery, and once more when the run ends.
func (run *Run) Progress(done, total int, msg string) {
	run.mu.Lock()
	run.progress = keyward.JobProgress{Done: done, Total: total, Message: keyward.CutText(msg, 256)}
	run.dirty = true
	run.mu.Unlock()
	select {
	case run.progressed <- struct{}{}:
	default:
	}
}

// SetResult records what the job produced (for example counts of what it found), shown
// once it has succeeded.
func (run *Run) SetResult(v any) error {
	b, err := run.encode("result", v)
	if err != nil {
		return err
	}
	run.mu.Lock()
	run.result = b
	run.mu.Unlock()
	return nil
}

func (run *Run) encode(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("job %s: encode %s: %w", run.job.ID, what, err)
	}
	return b, keyward.ValidateJobData(what, b)
}

// Log writes an entry to the service log of the job's group, at once; for a job without a
// group it goes to the server log only. msg and detail are shown to the group's readers:
// they must hold nothing secret. A failure to write is logged, not returned: logging does
// not fail a job.
func (run *Run) Log(level keyward.LogLevel, msg, detail string) {
	run.r.serviceLog(&run.job, level, msg, detail)
}

// write extends the lease and stores what has changed: the progress, and cp when not nil.
// It returns the error of a failed write; a lost lease also ends the handler's context.
func (run *Run) write(cp []byte) error {
	r := run.r
	now := r.o.Clock.Now()
	u := keyward.JobRunUpdate{ID: run.job.ID, Lease: run.lease, Now: now, LeaseUntil: now.Add(r.o.Lease), Checkpoint: cp}
	run.mu.Lock()
	if run.dirty {
		p := run.progress
		u.Progress = &p
	}
	expires := run.leaseUntil
	run.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Lease/3)
	defer cancel()
	var cancelRequested bool
	err := r.o.Store.Update(ctx, func(tx keyward.Tx) error {
		var err error
		cancelRequested, err = tx.UpdateJobRun(u)
		return err
	})
	switch {
	case keyward.IsCode(err, keyward.EPRECONDITION):
		run.cancel(ErrLeaseLost)
		return fmt.Errorf("job %s: %w", run.job.ID, ErrLeaseLost)
	case err != nil:
		if !r.o.Clock.Now().Before(expires) {
			// The lease ran out while the store did not answer: another runner may
			// already have the job. Stop working on it.
			run.cancel(ErrLeaseLost)
		}
		return fmt.Errorf("job %s: record progress: %w", run.job.ID, err)
	}
	run.mu.Lock()
	run.leaseUntil = u.LeaseUntil
	if u.Progress != nil && run.progress == *u.Progress {
		run.dirty = false
	}
	run.mu.Unlock()
	if cancelRequested {
		run.cancel(ErrCancelRequested)
	}
	return nil
}

func (run *Run) snapshot() (keyward.JobProgress, []byte) {
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.progress, run.result
}
