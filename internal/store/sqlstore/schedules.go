package sqlstore

import (
	"strings"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

const scheduleInsertCols = `id, account_id, group_id, kind, title, params, max_attempts, rule, start_at, next_run_at,
	last_run_at, last_job_id, enabled, created_by, created_at, updated_at`

var scheduleCols = strings.Replace(scheduleInsertCols, "group_id", "COALESCE(group_id, '')", 1)

func (t *tx) CreateSchedule(s *keyward.Schedule) error {
	_, err := t.exec(`INSERT INTO schedules (`+scheduleInsertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.AccountID, nullable(s.GroupID), s.Kind, s.Title, string(s.Params), s.MaxAttempts, s.Rule.String(),
		ts(s.StartAt), ts(s.NextRunAt), ts(s.LastRunAt), s.LastJobID, s.Enabled, s.CreatedBy, ts(s.CreatedAt), ts(s.UpdatedAt))
	return conflict(err, "schedule %s already exists", s.ID)
}

func scanSchedule(row interface{ Scan(...any) error }) (*keyward.Schedule, error) {
	s := &keyward.Schedule{}
	var params, rule string
	var start, next, last, created, updated int64
	err := row.Scan(&s.ID, &s.AccountID, &s.GroupID, &s.Kind, &s.Title, &params, &s.MaxAttempts, &rule,
		&start, &next, &last, &s.LastJobID, &s.Enabled, &s.CreatedBy, &created, &updated)
	if err != nil {
		return s, err
	}
	s.Params = rawJSON(params)
	s.StartAt, s.NextRunAt, s.LastRunAt, s.CreatedAt, s.UpdatedAt = fromTS(start), fromTS(next), fromTS(last), fromTS(created), fromTS(updated)
	s.Rule, err = keyward.ParseScheduleRule("rule", rule)
	return s, err
}

func (t *tx) GetSchedule(accountID, id string) (*keyward.Schedule, error) {
	s, err := scanSchedule(t.queryRow(`SELECT `+scheduleCols+` FROM schedules WHERE account_id = ? AND id = ?`, accountID, id))
	return s, one(err, "schedule")
}

func (t *tx) ListSchedules(accountID, groupID string, p keyward.Page) ([]keyward.Schedule, error) {
	q := `SELECT ` + scheduleCols + ` FROM schedules WHERE account_id = ? AND id > ?`
	args := []any{accountID, p.After}
	if groupID != "" {
		q += ` AND group_id = ?`
		args = append(args, groupID)
	}
	return t.schedules(q+` ORDER BY id LIMIT ?`, append(args, limitOf(p))...)
}

func (t *tx) schedules(q string, args ...any) ([]keyward.Schedule, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.Schedule
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

func (t *tx) UpdateSchedule(s *keyward.Schedule) error {
	res, err := t.exec(`UPDATE schedules SET title = ?, params = ?, max_attempts = ?, rule = ?, start_at = ?, next_run_at = ?,
		enabled = ?, updated_at = ? WHERE account_id = ? AND id = ?`,
		s.Title, string(s.Params), s.MaxAttempts, s.Rule.String(), ts(s.StartAt), ts(s.NextRunAt), s.Enabled, ts(s.UpdatedAt),
		s.AccountID, s.ID)
	return affected(res, err, "schedule")
}

func (t *tx) DeleteSchedule(accountID, id string) error {
	res, err := t.exec(`DELETE FROM schedules WHERE account_id = ? AND id = ?`, accountID, id)
	return affected(res, err, "schedule")
}

func (t *tx) DueSchedules(now time.Time, limit int) ([]keyward.Schedule, error) {
	return t.schedules(`SELECT `+scheduleCols+` FROM schedules WHERE enabled = ? AND next_run_at <= ?
		ORDER BY next_run_at, id LIMIT ?`, true, ts(now), limit)
}

func (t *tx) AdvanceSchedule(id string, from, next, now time.Time, jobID string) (bool, error) {
	res, err := t.exec(`UPDATE schedules SET next_run_at = ?, last_run_at = ?, last_job_id = ?, updated_at = ?
		WHERE id = ? AND enabled = ? AND next_run_at = ?`, ts(next), ts(now), jobID, ts(now), id, true, ts(from))
	n, err := rowsChanged(res, err)
	return n == 1, err
}
