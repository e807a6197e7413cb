package keyward

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule enqueues a job of Kind with Params whenever its rule comes due, e.g. a sync of
// an Azure group every six hours or a key rotation every first of the month. Several nodes
// may run the scheduler against one database: a run is taken by moving NextRunAt forward
// with compare-and-set, so each run is enqueued once.
type Schedule struct {
	ID          string
	AccountID   string
	GroupID     string // "" for the whole account
	Kind        string
	Title       string
	Params      json.RawMessage
	MaxAttempts int // of each job it enqueues; 0: the kind's default
	Rule        ScheduleRule
	StartAt     time.Time // no run before this time; intervals count from it
	NextRunAt   time.Time
	LastRunAt   time.Time // zero until the first run
	LastJobID   string    // the job of the last run, or "" when that run was skipped
	Enabled     bool
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ScheduleRule says when a schedule runs: every fixed interval counted from its start time,
// or at a time of day (UTC) every day, every week on a weekday, or every month on a day.
type ScheduleRule struct {
	Every   time.Duration // an interval; zero for a calendar rule
	Period  string        // "daily", "weekly" or "monthly" for a calendar rule
	Weekday time.Weekday  // weekly
	Day     int           // monthly: 1 to 28, so that every month has it
	Minute  int           // calendar rules: minutes after midnight, UTC
}

// MinScheduleInterval is the shortest interval a schedule may have.
const MinScheduleInterval = time.Minute

// ParseScheduleRule reads a rule written as one of
//
//	every 6h          (a Go duration, or whole days: every 7d)
//	daily 02:30       (times are UTC)
//	weekly mon 02:30
//	monthly 1 02:30   (day 1 to 28)
func ParseScheduleRule(field, s string) (ScheduleRule, error) {
	var r ScheduleRule
	f := strings.Fields(strings.ToLower(s))
	bad := func(format string, args ...any) (ScheduleRule, error) {
		return ScheduleRule{}, Invalid(field, "%q: %s (e.g. \"every 6h\", \"daily 02:30\", \"weekly mon 02:30\", \"monthly 1 02:30\")", s, fmt.Sprintf(format, args...))
	}
	if len(f) == 0 {
		return bad("empty rule")
	}
	r.Period = f[0]
	var err error
	switch {
	case f[0] == "every" && len(f) == 2:
		r.Period = ""
		if r.Every, err = parseInterval(f[1]); err != nil {
			return bad("%v", err)
		}
	case f[0] == "daily" && len(f) == 2:
		r.Minute, err = parseClock(f[1])
	case f[0] == "weekly" && len(f) == 3:
		if r.Weekday, err = parseWeekday(f[1]); err == nil {
			r.Minute, err = parseClock(f[2])
		}
	case f[0] == "monthly" && len(f) == 3:
		if r.Day, err = strconv.Atoi(f[1]); err == nil {
			r.Minute, err = parseClock(f[2])
		}
	default:
		return bad("not a rule")
	}
	if err != nil {
		return bad("%v", err)
	}
	if err := r.Validate(field); err != nil {
		return bad("%s", err.(*Error).Message)
	}
	return r, nil
}

func parseInterval(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 3660 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || len(h) != 2 || len(m) != 2 || err1 != nil || err2 != nil || hh > 23 || mm > 59 || hh < 0 || mm < 0 {
		return 0, fmt.Errorf("%q is not a time HH:MM", s)
	}
	return hh*60 + mm, nil
}

func parseWeekday(s string) (time.Weekday, error) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		if s == name || s == name[:3] {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%q is not a weekday", s)
}

// Validate checks a rule built in code.
func (r ScheduleRule) Validate(field string) error {
	switch r.Period {
	case "":
		if r.Every < MinScheduleInterval {
			return Invalid(field, "the interval must be at least %s", MinScheduleInterval)
		}
		return nil
	case "daily", "weekly", "monthly":
	default:
		return Invalid(field, "unknown period %q", r.Period)
	}
	switch {
	case r.Minute < 0 || r.Minute >= 24*60:
		return Invalid(field, "the time of day is out of range")
	case r.Period == "weekly" && (r.Weekday < time.Sunday || r.Weekday > time.Saturday):
		return Invalid(field, "the weekday is out of range")
	case r.Period == "monthly" && (r.Day < 1 || r.Day > 28):
		return Invalid(field, "the day of the month must be 1 to 28")
	}
	return nil
}

// String writes the rule as ParseScheduleRule reads it.
func (r ScheduleRule) String() string {
	clock := fmt.Sprintf("%02d:%02d", r.Minute/60, r.Minute%60)
	switch r.Period {
	case "daily":
		return "daily " + clock
	case "weekly":
		return "weekly " + strings.ToLower(r.Weekday.String()[:3]) + " " + clock
	case "monthly":
		return "monthly " + strconv.Itoa(r.Day) + " " + clock
	}
	if day := 24 * time.Hour; r.Every%day == 0 {
		return "every " + strconv.Itoa(int(r.Every/day)) + "d"
	}
	s := r.Every.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return "every " + s
}

// Next returns the first run time that is at or after start and strictly after after.
func (r ScheduleRule) Next(start, after time.Time) time.Time {
	start, after = start.UTC(), after.UTC()
	if r.Period == "" {
		if after.Before(start) {
			return start
		}
		return start.Add((after.Sub(start)/r.Every + 1) * r.Every)
	}
	base := after
	if start.After(after) {
		base = start.Add(-time.Nanosecond) // a run exactly at start counts
	}
	hh, mm := r.Minute/60, r.Minute%60
	switch r.Period {
	case "monthly":
		c := time.Date(base.Year(), base.Month(), r.Day, hh, mm, 0, 0, time.UTC)
		if !c.After(base) {
			c = c.AddDate(0, 1, 0) // safe: Day is at most 28
		}
		return c
	case "weekly":
		c := time.Date(base.Year(), base.Month(), base.Day(), hh, mm, 0, 0, time.UTC)
		if !c.After(base) {
			c = c.AddDate(0, 0, 1)
		}
		return c.AddDate(0, 0, (int(r.Weekday)-int(c.Weekday())+7)%7)
	}
	c := time.Date(base.Year(), base.Month(), base.Day(), hh, mm, 0, 0, time.UTC)
	if !c.After(base) {
		c = c.AddDate(0, 0, 1)
	}
	return c
}
