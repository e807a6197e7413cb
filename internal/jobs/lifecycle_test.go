package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// blocker is a handler that waits for its context to end and records why it ended.
type blocker struct {
	started atomic.Int32
	cause   atomic.Value
}

func (b *blocker) handle(ctx context.Context, run *jobs.Run) error {
	b.started.Add(1)
	<-ctx.Done()
	b.cause.Store(context.Cause(ctx))
	return ctx.Err()
}

func (b *blocker) why() error { v, _ := b.cause.Load().(error); return v }

func (e *env) cancel(id string) {
	e.t.Helper()
	e.update(func(tx keyward.Tx) error { _, err := tx.CancelJob(e.acct, id, time.Now()); return err })
}

// A cancel committed by another node reaches the handler at the next lease extension
// (Lease/3); one committed here reaches it at once through NotifyCancel.
func TestCancelEndsARunningJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		b := &blocker{}
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.block", Handler: b.handle})
		j := e.enqueue(r, jobs.Spec{Kind: "test.block", Title: "Block"})
		e.await(j.ID, time.Second, func(j *keyward.Job) bool { return j.State == keyward.JobRunning })
		e.cancel(j.ID)
		asked := e.since()
		got := e.await(j.ID, time.Minute, ended)
		if took := e.since() - asked; got.State != keyward.JobCancelled || took > 10*time.Second+200*time.Millisecond {
			t.Fatalf("after %s: %+v", took, got)
		}
		if !errors.Is(b.why(), jobs.ErrCancelRequested) || !hasLog(e.logs(j.ID), "WARN Block cancelled") {
			t.Fatalf("cause %v, log %q", b.why(), e.logs(j.ID))
		}

		j2 := e.enqueue(r, jobs.Spec{Kind: "test.block"})
		e.await(j2.ID, time.Second, func(j *keyward.Job) bool { return j.State == keyward.JobRunning })
		e.cancel(j2.ID)
		r.NotifyCancel(j2.ID)
		synctest.Wait()
		if got := e.job(j2.ID); got.State != keyward.JobCancelled {
			t.Fatalf("NotifyCancel did not end the job at once: %+v", got)
		}
	})
}

// A job waiting for a retry that recorded a checkpoint is, when cancelled, run at once with
// a cancelled context so that its handler can undo what the checkpoint records.
func TestCancelledJobCleansUpItsCheckpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		var cleaned atomic.Value
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.import", Handler: func(ctx context.Context, run *jobs.Run) error {
			var cp struct{ KEK string }
			if ok, err := run.Checkpoint(&cp); err != nil || ok {
				if errors.Is(context.Cause(ctx), jobs.ErrCancelRequested) {
					cleaned.Store(cp.KEK) // delete the key-exchange key
				}
				return ctx.Err()
			}
			if err := run.SaveCheckpoint(map[string]string{"kek": "kek-1"}); err != nil {
				return err
			}
			return jobs.RetryAfter(keyward.Errorf(keyward.ERATELIMIT, "throttled"), time.Hour)
		}})
		j := e.enqueue(r, jobs.Spec{Kind: "test.import"})
		e.await(j.ID, time.Second, func(j *keyward.Job) bool { return j.State == keyward.JobQueued && j.Attempts == 1 })
		e.cancel(j.ID)
		r.Poke()
		got := e.await(j.ID, 5*time.Second, ended)
		if got.State != keyward.JobCancelled || got.Attempts != 2 || cleaned.Load() != "kek-1" {
			t.Fatalf("job %+v, cleaned %v", got, cleaned.Load())
		}
	})
}

// A node claimed the job, recorded a checkpoint and died. Its lease expires and another
// runner takes the job over and resumes from the checkpoint; not a moment before.
func TestExpiredLeaseIsTakenOverAndResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		var resumedAt atomic.Value
		var startedAt time.Duration
		handler := func(ctx context.Context, run *jobs.Run) error {
			startedAt = e.since()
			var cp struct{ Next int }
			if _, err := run.Checkpoint(&cp); err != nil {
				return err
			}
			resumedAt.Store(cp.Next)
			for i := cp.Next; i < 5; i++ {
				if err := run.SaveCheckpoint(map[string]int{"next": i + 1}); err != nil {
					return err
				}
			}
			return nil
		}
		// The dead node: it enqueued and claimed the job, then saved {"next": 3}.
		dead := jobs.New(jobs.Options{Store: e.st})
		dead.Register(jobs.Kind{Name: "test.steps", Handler: handler})
		j := e.enqueue(dead, jobs.Spec{Kind: "test.steps"})
		e.update(func(tx keyward.Tx) error {
			claimed, err := tx.ClaimJobs(keyward.JobClaim{Lease: "dead#1", Now: time.Now(), Until: time.Now().Add(30 * time.Second), Kinds: []string{"test.steps"}, Limit: 1})
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim: %v %v", claimed, err)
			}
			_, err = tx.UpdateJobRun(keyward.JobRunUpdate{ID: j.ID, Lease: "dead#1", Now: time.Now(), Checkpoint: []byte(`{"next":3}`)})
			return err
		})
		_, _ = e.run(e.opts("n2"), jobs.Kind{Name: "test.steps", Handler: handler})
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := e.job(j.ID); got.LeaseOwner != "dead#1" || resumedAt.Load() != nil {
			t.Fatalf("taken over before the lease expired: %+v", got)
		}
		got := e.await(j.ID, time.Minute, ended)
		if got.State != keyward.JobSucceeded || got.Attempts != 2 || string(got.Checkpoint) != `{"next":5}` || resumedAt.Load() != 3 {
			t.Fatalf("job %+v, resumed at %v", got, resumedAt.Load())
		}
		if startedAt < 30*time.Second || startedAt > 32*time.Second { // expiry plus at most one poll
			t.Fatalf("taken over at %s, want within a poll of the 30s expiry", startedAt)
		}
	})
}

// On shutdown the handler's context ends with ErrStopping and the job is queued again as it
// was: attempt not counted, checkpoint kept. The next start runs it.
func TestShutdownLeavesTheJobForTheNextStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		b := &blocker{}
		handler := func(ctx context.Context, run *jobs.Run) error {
			if run.Job().Checkpoint == nil {
				if err := run.SaveCheckpoint("step-1"); err != nil {
					return err
				}
				return b.handle(ctx, run)
			}
			return nil
		}
		r, stop := e.run(e.opts("n1"), jobs.Kind{Name: "test.long", Handler: handler})
		j := e.enqueue(r, jobs.Spec{Kind: "test.long"})
		e.await(j.ID, time.Second, func(j *keyward.Job) bool { return j.State == keyward.JobRunning })
		stop()
		got := e.job(j.ID)
		if !errors.Is(b.why(), jobs.ErrStopping) || got.State != keyward.JobQueued || got.Attempts != 0 || got.Error != "" ||
			got.LeaseOwner != "" || string(got.Checkpoint) != `"step-1"` {
			t.Fatalf("cause %v, job after shutdown %+v", b.why(), got)
		}
		e.run(e.opts("n1-restarted"), jobs.Kind{Name: "test.long", Handler: handler})
		if got := e.await(j.ID, 5*time.Second, ended); got.State != keyward.JobSucceeded || got.Attempts != 1 {
			t.Fatalf("after restart: %+v", got)
		}
	})
}

// No more than Workers handlers run at once on a node.
func TestConcurrencyIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		var now, peak atomic.Int32
		gate := make(chan struct{})
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.gate", Handler: func(ctx context.Context, run *jobs.Run) error {
			n := now.Add(1)
			defer now.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-gate
			return nil
		}})
		var ids []string
		for range 5 {
			ids = append(ids, e.enqueue(r, jobs.Spec{Kind: "test.gate"}).ID)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if now.Load() != 2 {
			t.Fatalf("%d handlers running, want the 2 workers", now.Load())
		}
		close(gate)
		for _, id := range ids {
			if got := e.await(id, 10*time.Second, ended); got.State != keyward.JobSucceeded {
				t.Fatalf("job %+v", got)
			}
		}
		if peak.Load() != 2 {
			t.Fatalf("peak concurrency %d, want 2", peak.Load())
		}
	})
}

// A handler that runs far longer than the lease keeps it: another node polling all along
// never takes the job.
func TestHeartbeatKeepsTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		var runs atomic.Int32
		kind := jobs.Kind{Name: "test.long", Handler: func(ctx context.Context, run *jobs.Run) error {
			runs.Add(1)
			time.Sleep(2 * time.Minute) // four leases
			return nil
		}}
		r1, _ := e.run(e.opts("n1"), kind)
		j := e.enqueue(r1, jobs.Spec{Kind: "test.long"})
		e.await(j.ID, time.Second, func(j *keyward.Job) bool { return j.State == keyward.JobRunning })
		e.run(e.opts("n2"), kind)
		got := e.await(j.ID, 3*time.Minute, ended)
		if got.State != keyward.JobSucceeded || got.Attempts != 1 || runs.Load() != 1 {
			t.Fatalf("job %+v after %d runs", got, runs.Load())
		}
	})
}

// countingStore counts the writes of progress.
type countingStore struct {
	keyward.Store
	progressWrites atomic.Int32
}

func (c *countingStore) Update(ctx context.Context, fn func(keyward.Tx) error) error {
	return c.Store.Update(ctx, func(tx keyward.Tx) error { return fn(countingTx{tx, c}) })
}

type countingTx struct {
	keyward.Tx
	c *countingStore
}

func (t countingTx) UpdateJobRun(u keyward.JobRunUpdate) (bool, error) {
	if u.Progress != nil {
		t.c.progressWrites.Add(1)
	}
	return t.Tx.UpdateJobRun(u)
}

// Progress reported a thousand times a second is written about once a second.
func TestProgressWritesAreRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		cs := &countingStore{Store: e.st}
		o := e.opts("n1")
		o.Store = cs
		r, _ := e.run(o, jobs.Kind{Name: "test.busy", Handler: func(ctx context.Context, run *jobs.Run) error {
			for i := 1; i <= 3000; i++ {
				run.Progress(i, 3000, "item")
				time.Sleep(time.Millisecond)
			}
			return nil
		}})
		id := e.enqueue(r, jobs.Spec{Kind: "test.busy"}).ID
		var seen []int
		for range 2 {
			time.Sleep(time.Second + time.Millisecond)
			synctest.Wait()
			seen = append(seen, e.job(id).Progress.Done)
		}
		got := e.await(id, time.Minute, ended)
		if n := cs.progressWrites.Load(); n < 2 || n > 4 {
			t.Fatalf("%d progress writes for 3000 reports over 3s", n)
		}
		if seen[0] < 900 || seen[1] < 1900 || got.Progress.Done != 3000 {
			t.Fatalf("progress seen while running %v, at the end %+v", seen, got.Progress)
		}
	})
}
