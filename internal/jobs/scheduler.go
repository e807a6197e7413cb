package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// scheduleBatch bounds the schedules one pass handles; the rest wait for the next pass,
// which comes at once when a pass was full.
const scheduleBatch = 100

// scheduleDue enqueues a job for every due schedule. Each schedule is handled in a
// transaction of its own; one that fails is reported and the others go on.
func (r *Runner) scheduleDue(ctx context.Context) error {
	now := r.o.Clock.Now()
	var due []keyward.Schedule
	err := r.o.Store.View(ctx, func(tx keyward.Tx) error {
		var err error
		due, err = tx.DueSchedules(now, scheduleBatch)
		return err
	})
	if err != nil {
		return err
	}
	var errs []error
	for i := range due {
		if err := r.runSchedule(ctx, &due[i], now); err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", due[i].ID, err))
		}
	}
	if len(due) == scheduleBatch {
		r.Poke()
	}
	return errors.Join(errs...)
}

// runSchedule takes one run of s, by compare-and-set on its next run time so that of
// several nodes only one takes it, and enqueues its job in the same transaction. A run
// whose previous job has not ended yet is skipped, so that a slow job does not pile up.
// Missed runs (the server was down) are not made up: one run, then the next in the future.
func (r *Runner) runSchedule(ctx context.Context, s *keyward.Schedule, now time.Time) error {
	next := s.Rule.Next(s.StartAt, now)
	err := r.o.Store.Update(ctx, func(tx keyward.Tx) error {
		live, err := tx.ListJobs(keyward.JobFilter{AccountID: s.AccountID, ScheduleID: s.ID,
			States: []keyward.JobState{keyward.JobQueued, keyward.JobRunning}, Limit: 1})
		if err != nil {
			return err
		}
		var j *keyward.Job
		if len(live) == 0 {
			// Not checked against the kinds registered here: another node may run it.
			j, err = r.newJob(Spec{AccountID: s.AccountID, GroupID: s.GroupID, Kind: s.Kind, Title: s.Title,
				Params: s.Params, MaxAttempts: r.attempts(s.Kind, s.MaxAttempts), CreatedBy: "schedule:" + s.ID})
			if err != nil {
				return err
			}
			j.ScheduleID = s.ID
		}
		jobID := ""
		if j != nil {
			jobID = j.ID
		}
		if took, err := tx.AdvanceSchedule(s.ID, s.NextRunAt, next, now, jobID); err != nil || !took {
			return err // !took: another node has this run
		}
		if j == nil {
			if s.GroupID == "" {
				return nil
			}
			return tx.AppendServiceLog(&keyward.ServiceLogEntry{AccountID: s.AccountID, GroupID: s.GroupID, Time: now,
				Level: keyward.LogWarn, JobID: live[0].ID, Message: fmt.Sprintf("%s: scheduled run skipped, the previous run's job is still %s",
					title(&keyward.Job{Title: s.Title, Kind: s.Kind}), live[0].State)})
		}
		return tx.CreateJob(j)
	})
	if err == nil {
		r.wakeUpAt(next)
	}
	return err
}
