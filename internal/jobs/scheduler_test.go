package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// runLog records which node ran which scheduled job, and when.
type runLog struct {
	e    *env
	mu   sync.Mutex
	runs []string
}

func (l *runLog) kind(node string, d time.Duration) jobs.Kind {
	return jobs.Kind{Name: "test.tick", Handler: func(ctx context.Context, run *jobs.Run) error {
		l.mu.Lock()
		l.runs = append(l.runs, fmt.Sprintf("%s@%s", run.Job().ScheduleID[:4], l.e.since()))
		l.mu.Unlock()
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
}

func (l *runLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return fmt.Sprint(l.runs) }

// slowPoll is a runner that polls once a minute: a scheduler wakes at its runs' times, so
// they are still exact, and hours of fake time pass quickly.
func (e *env) slowPoll(node string) jobs.Options {
	o := e.opts(node)
	o.Poll = time.Minute
	return o
}

func (e *env) schedule(r *jobs.Runner, rule string, start time.Time) *keyward.Schedule {
	e.t.Helper()
	rl, err := keyward.ParseScheduleRule("rule", rule)
	if err != nil {
		e.t.Fatal(err)
	}
	var s *keyward.Schedule
	e.update(func(tx keyward.Tx) error {
		s, err = r.CreateSchedule(tx, jobs.ScheduleSpec{Rule: rl,
			Job: jobs.Spec{AccountID: e.acct, GroupID: e.group, Kind: "test.tick", Title: "Tick", RunAt: start, CreatedBy: "user:u1"}})
		return err
	})
	return s
}

// Two nodes run the scheduler against one database: every run is enqueued once, on time.
func TestScheduleRunsOnceOnTimeAcrossNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		l := &runLog{e: e}
		r1, _ := e.run(e.slowPoll("n1"), l.kind("n1", 0))
		e.run(e.slowPoll("n2"), l.kind("n2", 0))
		s := e.schedule(r1, "every 1h", e.start.Add(30*time.Minute))
		time.Sleep(3*time.Hour + 45*time.Minute)
		synctest.Wait()
		id := s.ID[:4]
		want := fmt.Sprintf("[%[1]s@30m0s %[1]s@1h30m0s %[1]s@2h30m0s %[1]s@3h30m0s]", id)
		if l.String() != want {
			t.Fatalf("runs %s, want %s", l, want)
		}
		var js []keyward.Job
		e.st.View(context.Background(), func(tx keyward.Tx) error {
			js, _ = tx.ListJobs(keyward.JobFilter{AccountID: e.acct, ScheduleID: s.ID})
			return nil
		})
		if logs := e.logs(""); hasLog(logs, "WARN") { // a second node taking a run it lost would skip it
			t.Fatalf("service log: %q", logs)
		}
		if len(js) != 4 || js[0].CreatedBy != "schedule:"+s.ID || js[0].Title != "Tick" || js[0].State != keyward.JobSucceeded {
			t.Fatalf("scheduled jobs: %+v", js)
		}
	})
}

// A run whose previous job is still going is skipped, with a warning in the service log;
// runs missed while no scheduler ran are not made up.
func TestScheduleSkipsAndDoesNotCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		l := &runLog{e: e}
		// A runner that never runs creates the schedule: nobody is scheduling for 5h10m.
		creator := jobs.New(jobs.Options{Store: e.st})
		creator.Register(l.kind("-", 0))
		s := e.schedule(creator, "every 1h", e.start)
		time.Sleep(5*time.Hour + 10*time.Minute)
		e.run(e.slowPoll("n1"), l.kind("n1", 90*time.Minute))
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		id := s.ID[:4]
		// 5h10m: the one overdue run. 6h: skipped (still running). 7h: runs. 8h: skipped.
		if want := fmt.Sprintf("[%[1]s@5h10m0s %[1]s@7h0m0s]", id); l.String() != want {
			t.Fatalf("runs %s, want %s", l, want)
		}
		if logs := e.logs(""); !hasLog(logs, "WARN Tick: scheduled run skipped, the previous run's job is still running") {
			t.Fatalf("service log: %q", logs)
		}
	})
}

func TestEnqueueValidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		r := jobs.New(jobs.Options{Store: e.st})
		r.Register(jobs.Kind{Name: "test.ok", Handler: func(context.Context, *jobs.Run) error { return nil }})
		for name, s := range map[string]jobs.Spec{
			"unknown kind":   {AccountID: e.acct, Kind: "test.nope"},
			"params too big": {AccountID: e.acct, Kind: "test.ok", Params: map[string]string{"x": string(make([]byte, keyward.MaxJobData))}},
			"bad params":     {AccountID: e.acct, Kind: "test.ok", Params: func() {}},
			"attempts":       {AccountID: e.acct, Kind: "test.ok", MaxAttempts: keyward.MaxJobAttempts + 1},
		} {
			err := e.st.Update(context.Background(), func(tx keyward.Tx) error { _, err := r.Enqueue(tx, s); return err })
			if !keyward.IsCode(err, keyward.EINVALID) {
				t.Errorf("%s: %v", name, err)
			}
		}
		rule, _ := keyward.ParseScheduleRule("rule", "daily 02:00")
		err := e.st.Update(context.Background(), func(tx keyward.Tx) error {
			_, err := r.CreateSchedule(tx, jobs.ScheduleSpec{Rule: rule, Job: jobs.Spec{AccountID: e.acct, Kind: "test.nope"}})
			return err
		})
		if !keyward.IsCode(err, keyward.EINVALID) {
			t.Errorf("schedule of an unknown kind: %v", err)
		}
	})
}

// A job enqueued to run later waits for its time; ids sort by creation.
func TestRunAtAndIDOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a := &attempts{e: e}
		r, _ := e.run(e.opts("n1"), jobs.Kind{Name: "test.later", Handler: func(context.Context, *jobs.Run) error { a.note(); return nil }})
		later := e.enqueue(r, jobs.Spec{Kind: "test.later", RunAt: time.Now().Add(90 * time.Second)})
		now := e.enqueue(r, jobs.Spec{Kind: "test.later", GroupID: "-"})
		e.await(later.ID, 2*time.Minute, ended)
		if a.String() != "[0s 1m30s]" || now.ID <= later.ID {
			t.Fatalf("attempts at %s; ids %s then %s", a, later.ID, now.ID)
		}
		if got := e.job(now.ID); got.GroupID != "" || got.State != keyward.JobSucceeded {
			t.Fatalf("account job %+v", got)
		}
	})
}
