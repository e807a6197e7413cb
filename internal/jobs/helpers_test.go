package jobs_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/store/sqlite"
)

// The runner's tests run in a synctest bubble over a real SQLite store opened inside it:
// time is fake, so backoff, leases and schedules are checked to the second without waiting,
// and the database is the one the server uses.

type env struct {
	t     *testing.T
	st    keyward.Store
	acct  string
	group string
	start time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, acct: "acct-1", group: "group-1", start: time.Now()}
	e.update(func(tx keyward.Tx) error {
		if err := tx.CreateAccount(&keyward.Account{ID: e.acct, Name: "A", CreatedAt: e.start, CreatedBy: "operator"}); err != nil {
			return err
		}
		return tx.CreateGroup(&keyward.Group{ID: e.group, AccountID: e.acct, Name: "g", CreatedAt: e.start, CreatedBy: "operator"})
	})
	return e
}

func (e *env) update(fn func(tx keyward.Tx) error) {
	e.t.Helper()
	if err := e.st.Update(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// opts are the runner options of these tests: exact backoff, a 30s lease.
func (e *env) opts(node string) jobs.Options {
	return jobs.Options{Store: e.st, Node: node, Workers: 2, Lease: 30 * time.Second, Poll: 2 * time.Second,
		Backoff: jobs.Backoff{Base: 2 * time.Second, Max: 10 * time.Second}}
}

// run starts a runner with the kinds; the returned function stops it and waits.
func (e *env) run(o jobs.Options, kinds ...jobs.Kind) (*jobs.Runner, func()) {
	r := jobs.New(o)
	for _, k := range kinds {
		r.Register(k)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	}
	e.t.Cleanup(stop)
	return r, stop
}

func (e *env) enqueue(r *jobs.Runner, s jobs.Spec) *keyward.Job {
	e.t.Helper()
	if s.AccountID == "" {
		s.AccountID = e.acct
	}
	if s.GroupID == "-" {
		s.GroupID = ""
	} else if s.GroupID == "" {
		s.GroupID = e.group
	}
	var j *keyward.Job
	e.update(func(tx keyward.Tx) error {
		var err error
		j, err = r.Enqueue(tx, s)
		return err
	})
	r.Poke()
	return j
}

func (e *env) job(id string) *keyward.Job {
	e.t.Helper()
	var j *keyward.Job
	err := e.st.View(context.Background(), func(tx keyward.Tx) error {
		var err error
		j, err = tx.GetJob(e.acct, id)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// await lets fake time pass until the job satisfies ok, and fails after within.
func (e *env) await(id string, within time.Duration, ok func(*keyward.Job) bool) *keyward.Job {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		synctest.Wait()
		j := e.job(id)
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %s: job %s is %s (attempt %d, error %q)", within, id, j.State, j.Attempts, j.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ended(j *keyward.Job) bool { return j.State.Ended() }

// since is the fake time elapsed since the test started, to the millisecond.
func (e *env) since() time.Duration { return time.Since(e.start).Round(time.Millisecond) }

func (e *env) logs(jobID string) []string {
	e.t.Helper()
	var out []string
	err := e.st.View(context.Background(), func(tx keyward.Tx) error {
		es, err := tx.ListServiceLog(keyward.ServiceLogFilter{AccountID: e.acct, GroupID: e.group, JobID: jobID, Oldest: true, Limit: 1000})
		for _, x := range es {
			out = append(out, string(x.Level)+" "+x.Message)
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func hasLog(logs []string, prefix string) bool {
	for _, l := range logs {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// attempts records when each attempt of a handler started, as offsets from the test start.
type attempts struct {
	e  *env
	at []time.Duration
	n  atomic.Int32
}

func (a *attempts) note() int {
	a.at = append(a.at, a.e.since())
	return int(a.n.Add(1))
}

func (a *attempts) String() string { return fmt.Sprint(a.at) }
