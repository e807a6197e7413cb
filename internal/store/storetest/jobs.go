package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// testJobsSuite runs the tests of jobs, schedules and service logs, each on a fresh store.
func testJobsSuite(t *testing.T, _ keyward.Store, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, keyward.Store, Harness)
	}{
		{"Jobs", testJobs},
		{"ClaimRace", testJobClaimRace},
		{"Lease", testJobLease},
		{"Cancel", testJobCancel},
		{"ServiceLog", testServiceLog},
		{"Schedules", testSchedules},
		{"GoWithTheirGroup", testJobsGoWithTheirGroup},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h.Open(t), h) })
	}
}

func newJob(sd seeded, id, kind string, at time.Time) *keyward.Job {
	return &keyward.Job{ID: id, AccountID: sd.acct.ID, GroupID: sd.group.ID, Kind: kind, Title: "job " + id,
		Params: []byte(`{"n":1}`), State: keyward.JobQueued, MaxAttempts: 3, NextRunAt: at,
		CreatedBy: "user:" + sd.user.ID, CreatedAt: at, UpdatedAt: at}
}

func jobIDs(js []keyward.Job) string {
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	return fmt.Sprint(ids)
}

func testJobs(t *testing.T, s keyward.Store, _ Harness) {
	a, b := seed(t, s, "ja"), seed(t, s, "jb")
	update(t, s, func(tx keyward.Tx) error {
		for i := range 5 {
			j := newJob(a, fmt.Sprintf("job-%d", i), []string{"test.a", "test.b"}[i%2], now)
			if i == 4 {
				j.GroupID = "" // a job of the whole account
			}
			if i == 3 {
				j.ScheduleID = "sched-1"
			}
			must(t, tx.CreateJob(j))
		}
		return tx.CreateJob(newJob(b, "job-b", "test.a", now))
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error { return tx.CreateJob(newJob(a, "job-0", "test.a", now)) })
	view(t, s, func(tx keyward.Tx) error {
		got, err := tx.GetJob(a.acct.ID, "job-1")
		if err != nil || got.Kind != "test.b" || string(got.Params) != `{"n":1}` || got.State != keyward.JobQueued ||
			got.GroupID != a.group.ID || !got.NextRunAt.Equal(now) || got.MaxAttempts != 3 || got.Checkpoint != nil || got.Result != nil {
			t.Fatalf("GetJob = %+v, %v", got, err)
		}
		if j, _ := tx.GetJob(a.acct.ID, "job-4"); j == nil || j.GroupID != "" {
			t.Fatalf("account job: %+v", j)
		}
		_, err = tx.GetJob(b.acct.ID, "job-1")
		wantCode(t, err, keyward.ENOTFOUND)
		for _, c := range []struct {
			name string
			f    keyward.JobFilter
			want string
		}{
			{"all, newest first", keyward.JobFilter{}, "[job-4 job-3 job-2 job-1 job-0]"},
			{"group", keyward.JobFilter{GroupID: a.group.ID}, "[job-3 job-2 job-1 job-0]"},
			{"in groups", keyward.JobFilter{InGroups: []string{a.group.ID, "other"}}, "[job-3 job-2 job-1 job-0]"},
			{"in no group", keyward.JobFilter{InGroups: []string{}}, "[]"},
			{"kind", keyward.JobFilter{Kind: "test.a"}, "[job-4 job-2 job-0]"},
			{"state", keyward.JobFilter{States: []keyward.JobState{keyward.JobRunning}}, "[]"},
			{"states", keyward.JobFilter{States: []keyward.JobState{keyward.JobRunning, keyward.JobQueued}, Limit: 2}, "[job-4 job-3]"},
			{"schedule", keyward.JobFilter{ScheduleID: "sched-1"}, "[job-3]"},
			{"page", keyward.JobFilter{After: "job-3", Limit: 2}, "[job-2 job-1]"},
		} {
			c.f.AccountID = a.acct.ID
			got, err := tx.ListJobs(c.f)
			if err != nil || jobIDs(got) != c.want {
				t.Errorf("%s: ListJobs = %s, %v; want %s", c.name, jobIDs(got), err, c.want)
			}
		}
		return nil
	})
}

// Claimers racing for the same jobs take each exactly once: the claim is a compare-and-set
// in the database, not a lock in one process.
func testJobClaimRace(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "jc")
	const n = 24
	update(t, s, func(tx keyward.Tx) error {
		for i := range n {
			must(t, tx.CreateJob(newJob(sd, fmt.Sprintf("job-%02d", i), "test.a", now.Add(-time.Duration(i)*time.Second))))
		}
		must(t, tx.CreateJob(newJob(sd, "job-other-kind", "test.unknown", now)))
		return tx.CreateJob(newJob(sd, "job-later", "test.a", now.Add(time.Hour)))
	})
	var mu sync.Mutex
	taken := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for round := 0; round <= n; round++ { // bounded: a broken claim may hand out jobs forever
				var got []keyward.Job
				err := s.Update(ctx, func(tx keyward.Tx) error {
					var err error
					got, err = tx.ClaimJobs(keyward.JobClaim{Lease: fmt.Sprintf("w%d-%d", w, round), Now: now, Until: now.Add(time.Minute),
						Kinds: []string{"test.a"}, Limit: 3})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, j := range got {
					if prev, dup := taken[j.ID]; dup {
						t.Errorf("%s claimed by %s and %s", j.ID, prev, j.LeaseOwner)
					}
					taken[j.ID] = j.LeaseOwner
					if j.State != keyward.JobRunning || j.Attempts != 1 || !j.StartedAt.Equal(now) || !j.LeaseUntil.Equal(now.Add(time.Minute)) {
						t.Errorf("claimed job reads %+v", j)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(taken) != n {
		t.Fatalf("%d jobs claimed, want %d (not the later one, not the unknown kind)", len(taken), n)
	}
}

// claim runs ClaimJobs in a transaction of its own.
func claim(t *testing.T, s keyward.Store, lease string, at time.Time, limit int) []keyward.Job {
	t.Helper()
	var got []keyward.Job
	update(t, s, func(tx keyward.Tx) error {
		var err error
		got, err = tx.ClaimJobs(keyward.JobClaim{Lease: lease, Now: at, Until: at.Add(30 * time.Second), Kinds: []string{"test.a"}, Limit: limit})
		return err
	})
	return got
}

// A lease is held while it is extended; once it expires the job is claimed again, and the
// runner that lost it can write nothing more.
func testJobLease(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "jl")
	update(t, s, func(tx keyward.Tx) error { return tx.CreateJob(newJob(sd, "job-1", "test.a", now)) })
	if got := claim(t, s, "A", now, 5); jobIDs(got) != "[job-1]" {
		t.Fatalf("first claim: %s", jobIDs(got))
	}
	if got := claim(t, s, "B", now.Add(10*time.Second), 5); len(got) != 0 {
		t.Fatalf("claimed a leased job: %s", jobIDs(got))
	}
	wantTxCode(t, s, keyward.EPRECONDITION, func(tx keyward.Tx) error {
		_, err := tx.UpdateJobRun(keyward.JobRunUpdate{ID: "job-1", Lease: "B", Now: now, LeaseUntil: now.Add(time.Hour)})
		return err
	})
	update(t, s, func(tx keyward.Tx) error {
		cancel, err := tx.UpdateJobRun(keyward.JobRunUpdate{ID: "job-1", Lease: "A", Now: now.Add(20 * time.Second), LeaseUntil: now.Add(60 * time.Second),
			Progress: &keyward.JobProgress{Done: 2, Total: 5, Message: "two"}, Checkpoint: []byte(`{"step":2}`)})
		if err != nil || cancel {
			t.Fatalf("UpdateJobRun = %v, %v", cancel, err)
		}
		return nil
	})
	if got := claim(t, s, "B", now.Add(45*time.Second), 5); len(got) != 0 {
		t.Fatalf("claimed a job whose lease was extended: %s", jobIDs(got))
	}
	got := claim(t, s, "B", now.Add(61*time.Second), 5)
	if len(got) != 1 {
		t.Fatalf("expired lease not reclaimed: %s", jobIDs(got))
	}
	j := got[0]
	if j.LeaseOwner != "B" || j.Attempts != 2 || !j.StartedAt.Equal(now) || string(j.Checkpoint) != `{"step":2}` || j.Progress.Done != 2 {
		t.Fatalf("reclaimed job: %+v", j)
	}
	for name, fn := range map[string]func(tx keyward.Tx) error{
		"update": func(tx keyward.Tx) error {
			_, err := tx.UpdateJobRun(keyward.JobRunUpdate{ID: "job-1", Lease: "A", Now: now, Checkpoint: []byte(`{"step":9}`)})
			return err
		},
		"end": func(tx keyward.Tx) error {
			return tx.EndJobRun(keyward.JobRunEnd{ID: "job-1", Lease: "A", Now: now, State: keyward.JobSucceeded})
		},
	} {
		t.Run("lost lease "+name, func(t *testing.T) { wantTxCode(t, s, keyward.EPRECONDITION, fn) })
	}
	testJobEnds(t, s, sd)
}

// testJobEnds walks job-1, running under lease B, through a retry, a release and success.
func testJobEnds(t *testing.T, s keyward.Store, sd seeded) {
	at := now.Add(2 * time.Minute)
	update(t, s, func(tx keyward.Tx) error {
		return tx.EndJobRun(keyward.JobRunEnd{ID: "job-1", Lease: "B", Now: at, State: keyward.JobQueued, NextRunAt: at.Add(time.Minute),
			Progress: keyward.JobProgress{Done: 3, Total: 5}, Error: "vault unavailable"})
	})
	check := func(want string, fn func(j *keyward.Job) bool) {
		t.Helper()
		view(t, s, func(tx keyward.Tx) error {
			j, err := tx.GetJob(sd.acct.ID, "job-1")
			if err != nil || !fn(j) {
				t.Fatalf("%s: %+v, %v", want, j, err)
			}
			return nil
		})
	}
	check("queued for retry", func(j *keyward.Job) bool {
		return j.State == keyward.JobQueued && j.LeaseOwner == "" && j.LeaseUntil.IsZero() && j.Attempts == 2 &&
			j.NextRunAt.Equal(at.Add(time.Minute)) && j.Error == "vault unavailable" && j.Progress.Done == 3 && j.FinishedAt.IsZero()
	})
	if got := claim(t, s, "C", at.Add(59*time.Second), 5); len(got) != 0 {
		t.Fatal("claimed before its retry time")
	}
	claim(t, s, "C", at.Add(time.Minute), 5)
	update(t, s, func(tx keyward.Tx) error {
		return tx.EndJobRun(keyward.JobRunEnd{ID: "job-1", Lease: "C", Now: at, State: keyward.JobQueued, NextRunAt: at, Release: true})
	})
	check("released", func(j *keyward.Job) bool {
		return j.State == keyward.JobQueued && j.Attempts == 2 && j.Error == "vault unavailable" && j.NextRunAt.Equal(at)
	})
	claim(t, s, "D", at, 5)
	update(t, s, func(tx keyward.Tx) error {
		return tx.EndJobRun(keyward.JobRunEnd{ID: "job-1", Lease: "D", Now: at, State: keyward.JobSucceeded,
			Progress: keyward.JobProgress{Done: 5, Total: 5, Message: "done"}, Result: []byte(`{"keys":5}`)})
	})
	check("succeeded", func(j *keyward.Job) bool {
		return j.State == keyward.JobSucceeded && j.Attempts == 3 && string(j.Result) == `{"keys":5}` && j.Error == "" &&
			j.FinishedAt.Equal(at) && j.Progress.Message == "done" && string(j.Checkpoint) == `{"step":2}`
	})
	if got := claim(t, s, "E", at.Add(time.Hour), 5); len(got) != 0 {
		t.Fatal("claimed a finished job")
	}
}

func testJobCancel(t *testing.T, s keyward.Store, _ Harness) {
	sd, other := seed(t, s, "jx"), seed(t, s, "jy")
	update(t, s, func(tx keyward.Tx) error {
		for _, id := range []string{"fresh", "recorded", "running"} {
			must(t, tx.CreateJob(newJob(sd, id, "test.a", now)))
		}
		return nil
	})
	cancel := func(id string, at time.Time) *keyward.Job {
		t.Helper()
		var j *keyward.Job
		update(t, s, func(tx keyward.Tx) error {
			var err error
			j, err = tx.CancelJob(sd.acct.ID, id, at)
			return err
		})
		return j
	}
	if j := cancel("fresh", now); j.State != keyward.JobCancelled || !j.FinishedAt.Equal(now) || !j.CancelRequested || j.Error == "" {
		t.Fatalf("cancelled queued job: %+v", j)
	}
	// "recorded" ran once, recorded a checkpoint, and waits for its retry.
	claim(t, s, "A", now, 5)
	update(t, s, func(tx keyward.Tx) error {
		_, err := tx.UpdateJobRun(keyward.JobRunUpdate{ID: "recorded", Lease: "A", Now: now, Checkpoint: []byte(`{"kek":"k1"}`)})
		must(t, err)
		return tx.EndJobRun(keyward.JobRunEnd{ID: "recorded", Lease: "A", Now: now, State: keyward.JobQueued, NextRunAt: now.Add(time.Hour)})
	})
	later := now.Add(time.Minute)
	if j := cancel("recorded", later); j.State != keyward.JobQueued || !j.CancelRequested || !j.NextRunAt.Equal(later) {
		t.Fatalf("cancel of a queued job with a checkpoint must leave it to its handler, due now: %+v", j)
	}
	if j := cancel("running", later); j.State != keyward.JobRunning || !j.CancelRequested {
		t.Fatalf("cancelled running job: %+v", j)
	}
	update(t, s, func(tx keyward.Tx) error {
		requested, err := tx.UpdateJobRun(keyward.JobRunUpdate{ID: "running", Lease: "A", Now: later, LeaseUntil: later.Add(time.Minute)})
		if err != nil || !requested {
			t.Fatalf("the runner is not told of the cancel: %v, %v", requested, err)
		}
		return nil
	})
	wantTxCode(t, s, keyward.EPRECONDITION, func(tx keyward.Tx) error { _, err := tx.CancelJob(sd.acct.ID, "fresh", later); return err })
	wantTxCode(t, s, keyward.ENOTFOUND, func(tx keyward.Tx) error { _, err := tx.CancelJob(sd.acct.ID, "nope", later); return err })
	wantTxCode(t, s, keyward.ENOTFOUND, func(tx keyward.Tx) error { _, err := tx.CancelJob(other.acct.ID, "running", later); return err })
}

func testServiceLog(t *testing.T, s keyward.Store, _ Harness) {
	sd, other := seed(t, s, "sl"), seed(t, s, "sm")
	levels := []keyward.LogLevel{keyward.LogInfo, keyward.LogWarn, keyward.LogError}
	update(t, s, func(tx keyward.Tx) error {
		for i := range 9 {
			e := &keyward.ServiceLogEntry{AccountID: sd.acct.ID, GroupID: sd.group.ID, Time: now.Add(time.Duration(i) * time.Minute),
				Level: levels[i%3], Message: fmt.Sprintf("Pushed key %d to vault", i), JobID: fmt.Sprintf("job-%d", i%2)}
			if i == 4 {
				e.Detail = "Azure said 50%_off\\ for KEY-4"
			}
			must(t, tx.AppendServiceLog(e))
			if e.Seq == 0 {
				t.Fatal("AppendServiceLog set no Seq")
			}
		}
		return nil
	})
	wantTxCode(t, s, keyward.ENOTFOUND, func(tx keyward.Tx) error {
		return tx.AppendServiceLog(&keyward.ServiceLogEntry{AccountID: other.acct.ID, GroupID: sd.group.ID, Time: now, Level: keyward.LogInfo, Message: "x"})
	})
	msgs := func(es []keyward.ServiceLogEntry) string {
		var out []string
		for _, e := range es {
			out = append(out, e.Message[len("Pushed key "):len("Pushed key ")+1])
		}
		return fmt.Sprint(out)
	}
	view(t, s, func(tx keyward.Tx) error {
		all, _ := tx.ListServiceLog(keyward.ServiceLogFilter{AccountID: sd.acct.ID, GroupID: sd.group.ID})
		if msgs(all) != "[8 7 6 5 4 3 2 1 0]" || all[4].Detail == "" || all[4].Level != keyward.LogWarn || !all[4].Time.Equal(now.Add(4*time.Minute)) {
			t.Fatalf("newest first: %s %+v", msgs(all), all)
		}
		for _, c := range []struct {
			name string
			f    keyward.ServiceLogFilter
			want string
		}{
			{"level", keyward.ServiceLogFilter{Levels: []keyward.LogLevel{keyward.LogError}}, "[8 5 2]"},
			{"levels", keyward.ServiceLogFilter{Levels: []keyward.LogLevel{keyward.LogWarn, keyward.LogError}, Limit: 3}, "[8 7 5]"},
			{"since until", keyward.ServiceLogFilter{Since: now.Add(2 * time.Minute), Until: now.Add(5 * time.Minute)}, "[4 3 2]"},
			{"job", keyward.ServiceLogFilter{JobID: "job-1"}, "[7 5 3 1]"},
			{"contains, any case", keyward.ServiceLogFilter{Contains: "KEY 3"}, "[3]"},
			{"contains in detail", keyward.ServiceLogFilter{Contains: "key-4"}, "[4]"},
			{"wildcards are literal", keyward.ServiceLogFilter{Contains: "50%_off\\"}, "[4]"},
			{"percent alone", keyward.ServiceLogFilter{Contains: "%"}, "[4]"},
			{"underscore alone", keyward.ServiceLogFilter{Contains: "d_k"}, "[]"},
			{"older page", keyward.ServiceLogFilter{Cursor: all[2].Seq, Limit: 2}, "[5 4]"},
			{"oldest first", keyward.ServiceLogFilter{Oldest: true, Limit: 3}, "[0 1 2]"},
			{"oldest first, next page", keyward.ServiceLogFilter{Oldest: true, Cursor: all[6].Seq, Limit: 3}, "[3 4 5]"},
		} {
			c.f.AccountID, c.f.GroupID = sd.acct.ID, sd.group.ID
			got, err := tx.ListServiceLog(c.f)
			if err != nil || msgs(got) != c.want {
				t.Errorf("%s: %s, %v; want %s", c.name, msgs(got), err, c.want)
			}
		}
		if es, _ := tx.ListServiceLog(keyward.ServiceLogFilter{AccountID: other.acct.ID, GroupID: sd.group.ID}); len(es) != 0 {
			t.Errorf("another account reads the log: %d entries", len(es))
		}
		return nil
	})
}

func newSchedule(sd seeded, id string, next time.Time) *keyward.Schedule {
	rule, _ := keyward.ParseScheduleRule("rule", "every 1h")
	return &keyward.Schedule{ID: id, AccountID: sd.acct.ID, GroupID: sd.group.ID, Kind: "test.a", Title: "hourly",
		Params: []byte(`{}`), Rule: rule, StartAt: now, NextRunAt: next, Enabled: true, CreatedBy: "user:" + sd.user.ID,
		CreatedAt: now, UpdatedAt: now}
}

func testSchedules(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "sc")
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.CreateSchedule(newSchedule(sd, "s1", now)))
		must(t, tx.CreateSchedule(newSchedule(sd, "s2", now.Add(-time.Minute))))
		off := newSchedule(sd, "s3", now.Add(-time.Hour))
		off.Enabled, off.GroupID = false, ""
		must(t, tx.CreateSchedule(off))
		return tx.CreateSchedule(newSchedule(sd, "s4", now.Add(time.Minute)))
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error { return tx.CreateSchedule(newSchedule(sd, "s1", now)) })
	update(t, s, func(tx keyward.Tx) error {
		got, err := tx.GetSchedule(sd.acct.ID, "s1")
		if err != nil || got.Rule.String() != "every 1h" || !got.NextRunAt.Equal(now) || !got.Enabled || got.GroupID != sd.group.ID {
			t.Fatalf("GetSchedule = %+v, %v", got, err)
		}
		due, err := tx.DueSchedules(now, 10)
		if err != nil || len(due) != 2 || due[0].ID != "s2" || due[1].ID != "s1" {
			t.Fatalf("DueSchedules = %+v, %v", due, err)
		}
		inGroup, _ := tx.ListSchedules(sd.acct.ID, sd.group.ID, keyward.Page{})
		all, _ := tx.ListSchedules(sd.acct.ID, "", keyward.Page{After: "s1"})
		if len(inGroup) != 3 || len(all) != 3 || all[0].ID != "s2" {
			t.Fatalf("ListSchedules: %d in group, %d after s1", len(inGroup), len(all))
		}
		got.Enabled, got.Title = false, "paused"
		must(t, tx.UpdateSchedule(got))
		if again, _ := tx.GetSchedule(sd.acct.ID, "s1"); again.Enabled || again.Title != "paused" {
			t.Fatalf("after update: %+v", again)
		}
		if ok, err := tx.AdvanceSchedule("s1", now, now.Add(time.Hour), now, "job-x"); ok || err != nil {
			t.Fatalf("advanced a disabled schedule: %v %v", ok, err)
		}
		must(t, tx.DeleteSchedule(sd.acct.ID, "s4"))
		wantCode(t, tx.DeleteSchedule(sd.acct.ID, "s4"), keyward.ENOTFOUND)
		return nil
	})
	testAdvanceScheduleRace(t, s, sd)
}

// Schedulers on several nodes race for the same run; exactly one takes it.
func testAdvanceScheduleRace(t *testing.T, s keyward.Store, sd seeded) {
	var wg sync.WaitGroup
	wins := make(chan string, 8)
	for w := range 8 {
		wg.Go(func() {
			err := s.Update(ctx, func(tx keyward.Tx) error {
				ok, err := tx.AdvanceSchedule("s2", now.Add(-time.Minute), now.Add(59*time.Minute), now, fmt.Sprintf("job-%d", w))
				if ok {
					wins <- fmt.Sprintf("job-%d", w)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(wins)
	var won []string
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d schedulers took the same run: %v", len(won), won)
	}
	view(t, s, func(tx keyward.Tx) error {
		sc, _ := tx.GetSchedule(sd.acct.ID, "s2")
		if !sc.NextRunAt.Equal(now.Add(59*time.Minute)) || !sc.LastRunAt.Equal(now) || sc.LastJobID != won[0] {
			t.Fatalf("after the run: %+v", sc)
		}
		return nil
	})
}

// Deleting a group takes its jobs, schedules and service log with it; the account's own
// jobs stay.
func testJobsGoWithTheirGroup(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "jg")
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.CreateJob(newJob(sd, "in-group", "test.a", now)))
		acctJob := newJob(sd, "of-account", "test.a", now)
		acctJob.GroupID = ""
		must(t, tx.CreateJob(acctJob))
		must(t, tx.CreateSchedule(newSchedule(sd, "s1", now)))
		return tx.AppendServiceLog(&keyward.ServiceLogEntry{AccountID: sd.acct.ID, GroupID: sd.group.ID, Time: now, Level: keyward.LogInfo, Message: "m"})
	})
	update(t, s, func(tx keyward.Tx) error { return tx.DeleteGroup(sd.acct.ID, sd.group.ID) })
	view(t, s, func(tx keyward.Tx) error {
		js, _ := tx.ListJobs(keyward.JobFilter{AccountID: sd.acct.ID})
		if jobIDs(js) != "[of-account]" {
			t.Fatalf("jobs after the group was deleted: %s", jobIDs(js))
		}
		_, err := tx.GetSchedule(sd.acct.ID, "s1")
		wantCode(t, err, keyward.ENOTFOUND)
		es, _ := tx.ListServiceLog(keyward.ServiceLogFilter{AccountID: sd.acct.ID, GroupID: sd.group.ID})
		if len(es) != 0 {
			t.Fatalf("service log outlived its group: %d entries", len(es))
		}
		return nil
	})
}
