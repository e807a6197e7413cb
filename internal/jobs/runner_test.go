package jobs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

func TestJobSucceedsWithProgressAndResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.sum", Handler: func(ctx context.Context, run *jobs.Run) error {
			var p struct{ N int }
			if err := run.Params(&p); err != nil {
				return err
			}
			sum := 0
			for i := 1; i <= p.N; i++ {
				sum += i
				run.Progress(i, p.N, "adding")
				time.Sleep(time.Second)
			}
			run.Log(keyward.LogInfo, "summed", "")
			return run.SetResult(map[string]int{"sum": sum})
		}})
		j := e.enqueue(r, jobs.Spec{Kind: "test.sum", Title: "Sum", Params: map[string]int{"n": 4}, CreatedBy: "user:u1"})
		got := e.await(j.ID, time.Minute, ended)
		if got.State != keyward.JobSucceeded || string(got.Result) != `{"sum":10}` || got.Attempts != 1 || got.Error != "" ||
			got.Progress != (keyward.JobProgress{Done: 4, Total: 4, Message: "adding"}) || got.StartedAt.IsZero() || !got.FinishedAt.After(got.StartedAt) {
			t.Fatalf("job = %+v", got)
		}
		if logs := e.logs(j.ID); strings.Join(logs, "|") != "INFO Sum started (attempt 1 of 5)|INFO summed|INFO Sum succeeded" {
			t.Fatalf("service log: %q", logs)
		}
	})
}

// Failures are retried after 2s, 4s, 8s and then the 10s cap; the last failure fails the
// job with the reason, and every step is in the group's service log.
func TestRetriesWithExponentialBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a := &attempts{e: e}
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.flaky", Handler: func(ctx context.Context, run *jobs.Run) error {
			a.note()
			return keyward.Errorf(keyward.EUNAVAILABLE, "vault unavailable")
		}})
		j := e.enqueue(r, jobs.Spec{Kind: "test.flaky"})
		queued := e.await(j.ID, 3*time.Second, func(j *keyward.Job) bool { return j.Attempts == 1 && j.State == keyward.JobQueued })
		if queued.Error != "vault unavailable" || !queued.NextRunAt.Equal(queued.UpdatedAt.Add(2*time.Second)) {
			t.Fatalf("waiting for its retry: %+v", queued)
		}
		got := e.await(j.ID, time.Minute, ended)
		if got.State != keyward.JobFailed || got.Attempts != 5 || got.Error != "gave up after 5 attempts: vault unavailable" {
			t.Fatalf("job = %+v", got)
		}
		if a.String() != "[0s 2s 6s 14s 24s]" {
			t.Fatalf("attempts at %s, want [0s 2s 6s 14s 24s]", a)
		}
		logs := e.logs(j.ID)
		if !hasLog(logs, "WARN job test.flaky: attempt 1 of 5 failed, retrying in 2s: vault unavailable") ||
			!hasLog(logs, "ERROR job test.flaky failed: gave up after 5 attempts") {
			t.Fatalf("service log: %q", logs)
		}
	})
}

// A retry-after hint replaces the backoff, to the second.
func TestRetryAfterHintIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a := &attempts{e: e}
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.throttled", Handler: func(ctx context.Context, run *jobs.Run) error {
			if a.note() == 1 {
				return jobs.RetryAfter(keyward.Errorf(keyward.ERATELIMIT, "throttled by the vault"), 45*time.Second)
			}
			return nil
		}})
		j := e.enqueue(r, jobs.Spec{Kind: "test.throttled"})
		if got := e.await(j.ID, 2*time.Minute, ended); got.State != keyward.JobSucceeded || got.Attempts != 2 {
			t.Fatalf("job = %+v", got)
		}
		if a.String() != "[0s 45s]" {
			t.Fatalf("attempts at %s, want [0s 45s]", a)
		}
	})
}

func TestPermanentErrorFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.bad", Handler: func(ctx context.Context, run *jobs.Run) error {
			return jobs.Permanent(keyward.Invalid("key_type", "the vault does not take EC-HSM keys"))
		}})
		j := e.enqueue(r, jobs.Spec{Kind: "test.bad"})
		got := e.await(j.ID, time.Minute, ended)
		if got.State != keyward.JobFailed || got.Attempts != 1 || got.Error != "key_type: the vault does not take EC-HSM keys" {
			t.Fatalf("job = %+v", got)
		}
	})
}

// An error without a code may carry anything: the job and its log show only that it was
// internal; a panic is such an error.
func TestInternalErrorsAreNotShown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.leaky", MaxAttempts: 2, Handler: func(ctx context.Context, run *jobs.Run) error {
			if run.Job().Attempts == 1 {
				return errors.New("dial tcp: client_secret=hunter2")
			}
			panic("client_secret=hunter2")
		}})
		j := e.enqueue(r, jobs.Spec{Kind: "test.leaky"})
		got := e.await(j.ID, time.Minute, ended)
		if got.State != keyward.JobFailed || got.Attempts != 2 || !strings.Contains(got.Error, "internal error") {
			t.Fatalf("job = %+v", got)
		}
		for _, l := range append(e.logs(j.ID), got.Error) {
			if strings.Contains(l, "hunter2") {
				t.Fatalf("internal detail shown: %q", l)
			}
		}
	})
}

func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a := &attempts{e: e}
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.slow", Timeout: 10 * time.Second, MaxAttempts: 2,
			Handler: func(ctx context.Context, run *jobs.Run) error {
				a.note()
				<-ctx.Done()
				return ctx.Err()
			}})
		j := e.enqueue(r, jobs.Spec{Kind: "test.slow"})
		got := e.await(j.ID, time.Minute, ended)
		if got.State != keyward.JobFailed || got.Error != "gave up after 2 attempts: the attempt timed out after 10s" {
			t.Fatalf("job = %+v", got)
		}
		if a.String() != "[0s 12s]" { // 10s timeout, then the 2s backoff
			t.Fatalf("attempts at %s", a)
		}
	})
}
