package keyward

import "time"

// ScheduleTx stores schedules.
type ScheduleTx interface {
	// CreateSchedule stores a new schedule; ECONFLICT when the id is taken.
	CreateSchedule(s *Schedule) error
	// GetSchedule returns a schedule of the account or ENOTFOUND.
	GetSchedule(accountID, id string) (*Schedule, error)
	// ListSchedules returns the account's schedules by id, only those of groupID unless it
	// is "".
	ListSchedules(accountID, groupID string, p Page) ([]Schedule, error)
	// UpdateSchedule writes a schedule's title, params, attempts, rule, start, next run and
	// enabled flag; ENOTFOUND when there is no such schedule.
	UpdateSchedule(s *Schedule) error
	// DeleteSchedule removes a schedule (its jobs stay); ENOTFOUND when there is none.
	DeleteSchedule(accountID, id string) error

	// DueSchedules returns up to limit enabled schedules whose next run is at or before now,
	// most overdue first.
	DueSchedules(now time.Time, limit int) ([]Schedule, error)
	// AdvanceSchedule takes one run of a schedule: it moves NextRunAt from from to next and
	// records the run (at now, by job jobID) only if the schedule is enabled and NextRunAt
	// still reads from. It reports whether it did; false means another node took this run.
	AdvanceSchedule(id string, from, next, now time.Time, jobID string) (bool, error)
}
