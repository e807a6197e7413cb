package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// execute runs one claimed job to the end of this attempt and records the outcome.
func (r *Runner) execute(base context.Context, j keyward.Job) {
	k, _ := r.kind(j.Kind) // claimed by kind, so registered
	ctx, cancel := context.WithCancelCause(base)
	defer cancel(nil)
	if k.Timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, k.Timeout, errTimeout)
		defer stop()
	}
	run := newRun(r, j, cancel)
	r.mu.Lock()
	r.active[j.ID] = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.active, j.ID)
		r.mu.Unlock()
	}()

	var err error
	switch {
	case j.Attempts > j.MaxAttempts:
		// Only a job whose runner died during its last attempt gets here.
		err = Permanent(keyward.Errorf(keyward.EUNAVAILABLE, "its runner stopped while running it, %d times", j.MaxAttempts))
	case j.CancelRequested && len(j.Checkpoint) == 0:
		cancel(ErrCancelRequested) // nothing recorded, nothing to clean up
		err = ErrCancelRequested
	default:
		if j.CancelRequested {
			cancel(ErrCancelRequested) // the handler starts cancelled, to clean up
		}
		r.o.Log.Info("job started", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
		run.Log(keyward.LogInfo, fmt.Sprintf("%s started (attempt %d of %d)", title(&j), j.Attempts, j.MaxAttempts), "")
		stopBeat := r.heartbeat(run)
		err = call(ctx, k.Handler, run)
		stopBeat()
	}
	r.finish(run, err, context.Cause(ctx))
}

// call runs the handler, turning a panic into an error.
func call(ctx context.Context, h Handler, run *Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			run.r.o.Log.Error("job handler panicked", "job", run.job.ID, "panic", p, "stack", string(debug.Stack()))
			err = panicError{p}
		}
	}()
	return h(ctx, run)
}

// heartbeat extends the lease every Lease/3 and writes progress at most every
// ProgressEvery, until the returned function is called.
func (r *Runner) heartbeat(run *Run) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		beat := time.NewTicker(r.o.Lease / 3)
		defer beat.Stop()
		var flush <-chan time.Time // armed while a progress waits for its turn
		last := r.o.Clock.Now()
		for {
			select {
			case <-quit:
				return
			case <-beat.C:
			case <-flush:
			case <-run.progressed:
				if wait := last.Add(r.o.ProgressEvery).Sub(r.o.Clock.Now()); wait > 0 {
					if flush == nil {
						flush = time.After(wait)
					}
					continue
				}
			}
			flush = nil
			last = r.o.Clock.Now()
			if err := run.write(nil); err != nil {
				r.o.Log.Warn("extend job lease", "job", run.job.ID, "err", err)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// finish decides what the attempt's outcome means for the job and records it, with a
// service log entry, in one transaction.
func (r *Runner) finish(run *Run, err, cause error) {
	j := &run.job
	if errors.Is(cause, ErrLeaseLost) {
		r.o.Log.Warn("job lease lost; leaving the job to its new runner", "job", j.ID)
		return
	}
	now := r.o.Clock.Now()
	progress, result := run.snapshot()
	end := keyward.JobRunEnd{ID: j.ID, Lease: run.lease, Now: now, Progress: progress}
	var level keyward.LogLevel
	var msg string
	switch {
	case err == nil:
		end.State, end.Result = keyward.JobSucceeded, result
		level, msg = keyward.LogInfo, title(j)+" succeeded"
	case errors.Is(cause, ErrStopping):
		// Not the job's fault: queue it again as it was, for this or another node.
		end.State, end.NextRunAt, end.Release = keyward.JobQueued, now, true
	case errors.Is(cause, ErrCancelRequested):
		end.State, end.Error = keyward.JobCancelled, "cancelled on request"
		level, msg = keyward.LogWarn, title(j)+" cancelled"
	default:
		level, msg = r.failed(j, &end, err, cause)
	}
	r.o.Log.Info("job run ended", "job", j.ID, "kind", j.Kind, "state", end.State, "attempt", j.Attempts, "reason", end.Error)
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Lease)
	defer cancel()
	werr := r.o.Store.Update(ctx, func(tx keyward.Tx) error {
		if err := tx.EndJobRun(end); err != nil {
			return err
		}
		if level == "" || j.GroupID == "" {
			return nil
		}
		return tx.AppendServiceLog(r.logEntry(j, level, msg, ""))
	})
	if werr != nil {
		// The lease will expire and the job run again: better twice than never.
		r.o.Log.Error("record the end of a job run", "job", j.ID, "state", end.State, "err", werr)
		return
	}
	if end.State == keyward.JobQueued && !end.Release {
		r.wakeUpAt(end.NextRunAt)
	}
}

// failed fills in end for a failed attempt: the job fails for a permanent error or when
// its attempts are spent, and otherwise waits for its next try.
func (r *Runner) failed(j *keyward.Job, end *keyward.JobRunEnd, err, cause error) (keyward.LogLevel, string) {
	reason := r.reason(j, err, cause)
	switch {
	case IsPermanent(err):
		end.State, end.Error = keyward.JobFailed, reason
		return keyward.LogError, title(j) + " failed: " + reason
	case j.Attempts >= j.MaxAttempts:
		end.State, end.Error = keyward.JobFailed, fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, reason)
		return keyward.LogError, title(j) + " failed: " + end.Error
	}
	delay, hinted := RetryHint(err)
	if !hinted {
		delay = r.o.Backoff.Delay(j.Attempts)
	}
	end.State, end.NextRunAt, end.Error = keyward.JobQueued, end.Now.Add(delay), reason
	return keyward.LogWarn, fmt.Sprintf("%s: attempt %d of %d failed, retrying in %s: %s", title(j), j.Attempts, j.MaxAttempts, delay.Round(time.Millisecond), reason)
}

// reason is the caller-safe account of a failed attempt. An error without a code is
// internal: it is logged in full and the job shows only that it was internal.
func (r *Runner) reason(j *keyward.Job, err, cause error) string {
	if errors.Is(cause, errTimeout) {
		k, _ := r.kind(j.Kind)
		return fmt.Sprintf("the attempt timed out after %s", k.Timeout)
	}
	var ke *keyward.Error
	if errors.As(err, &ke) {
		return ke.Error()
	}
	r.o.Log.Error("job attempt failed", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts, "err", err)
	return "internal error (the server log has the details under job " + j.ID + ")"
}

func title(j *keyward.Job) string {
	if j.Title != "" {
		return j.Title
	}
	return "job " + j.Kind
}

func (r *Runner) logEntry(j *keyward.Job, level keyward.LogLevel, msg, detail string) *keyward.ServiceLogEntry {
	e := &keyward.ServiceLogEntry{AccountID: j.AccountID, GroupID: j.GroupID, Time: r.o.Clock.Now(), Level: level,
		Message: msg, JobID: j.ID, Detail: detail}
	e.Trim()
	return e
}

// serviceLog writes one entry for a job at once, in a transaction of its own. A job of
// the whole account has no service log: its entries go to the server log at their level.
func (r *Runner) serviceLog(j *keyward.Job, level keyward.LogLevel, msg, detail string) {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Lease/3)
	defer cancel()
	if j.GroupID == "" {
		lvl := map[keyward.LogLevel]slog.Level{keyward.LogInfo: slog.LevelInfo, keyward.LogWarn: slog.LevelWarn, keyward.LogError: slog.LevelError}[level]
		r.o.Log.Log(ctx, lvl, msg, "job", j.ID, "kind", j.Kind, "detail", detail)
		return
	}
	err := r.o.Store.Update(ctx, func(tx keyward.Tx) error { return tx.AppendServiceLog(r.logEntry(j, level, msg, detail)) })
	if err != nil {
		r.o.Log.Error("write the service log", "job", j.ID, "err", err)
	}
}
