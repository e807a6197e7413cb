package sqlstore

import (
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

const jobInsertCols = `id, account_id, group_id, schedule_id, kind, title, params, state, progress_done, progress_total,
	progress_message, attempts, max_attempts, next_run_at, lease_owner, lease_until, cancel_requested, checkpoint,
	result, error, created_by, created_at, started_at, finished_at, updated_at`

// jobCols reads group_id as "" where it is NULL (a job of the whole account).
var jobCols = strings.Replace(jobInsertCols, "group_id", "COALESCE(group_id, '')", 1)

// nullable stores "" as NULL, for optional references.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *tx) CreateJob(j *keyward.Job) error {
	_, err := t.exec(`INSERT INTO jobs (`+jobInsertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.AccountID, nullable(j.GroupID), j.ScheduleID, j.Kind, j.Title, string(j.Params), string(j.State),
		j.Progress.Done, j.Progress.Total, j.Progress.Message, j.Attempts, j.MaxAttempts, ts(j.NextRunAt),
		j.LeaseOwner, ts(j.LeaseUntil), j.CancelRequested, string(j.Checkpoint), string(j.Result), j.Error,
		j.CreatedBy, ts(j.CreatedAt), ts(j.StartedAt), ts(j.FinishedAt), ts(j.UpdatedAt))
	return conflict(err, "job %s already exists", j.ID)
}

func scanJob(row interface{ Scan(...any) error }) (*keyward.Job, error) {
	j := &keyward.Job{}
	var state, params, checkpoint, result string
	var next, lease, created, started, finished, updated int64
	err := row.Scan(&j.ID, &j.AccountID, &j.GroupID, &j.ScheduleID, &j.Kind, &j.Title, &params, &state,
		&j.Progress.Done, &j.Progress.Total, &j.Progress.Message, &j.Attempts, &j.MaxAttempts, &next,
		&j.LeaseOwner, &lease, &j.CancelRequested, &checkpoint, &result, &j.Error,
		&j.CreatedBy, &created, &started, &finished, &updated)
	j.State, j.Params, j.Checkpoint, j.Result = keyward.JobState(state), rawJSON(params), rawJSON(checkpoint), rawJSON(result)
	j.NextRunAt, j.LeaseUntil = fromTS(next), fromTS(lease)
	j.CreatedAt, j.StartedAt, j.FinishedAt, j.UpdatedAt = fromTS(created), fromTS(started), fromTS(finished), fromTS(updated)
	return j, err
}

// rawJSON maps the empty column to "no value".
func rawJSON(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func (t *tx) GetJob(accountID, id string) (*keyward.Job, error) {
	j, err := scanJob(t.queryRow(`SELECT `+jobCols+` FROM jobs WHERE account_id = ? AND id = ?`, accountID, id))
	return j, one(err, "job")
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func (t *tx) ListJobs(f keyward.JobFilter) ([]keyward.Job, error) {
	if f.InGroups != nil && len(f.InGroups) == 0 {
		return nil, nil
	}
	q := `SELECT ` + jobCols + ` FROM jobs WHERE account_id = ?`
	args := []any{f.AccountID}
	add := func(cond string, a ...any) { q += " AND " + cond; args = append(args, a...) }
	if f.GroupID != "" {
		add(`group_id = ?`, f.GroupID)
	}
	if f.InGroups != nil {
		add(`group_id IN (`+placeholders(len(f.InGroups))+`)`, anys(f.InGroups)...)
	}
	if len(f.States) > 0 {
		add(`state IN (`+placeholders(len(f.States))+`)`, anys(f.States)...)
	}
	if f.Kind != "" {
		add(`kind = ?`, f.Kind)
	}
	if f.ScheduleID != "" {
		add(`schedule_id = ?`, f.ScheduleID)
	}
	if f.After != "" {
		add(`id < ?`, f.After)
	}
	args = append(args, keyward.Page{Limit: f.Limit}.N())
	return t.jobs(q+` ORDER BY id DESC LIMIT ?`, args...)
}

func (t *tx) jobs(q string, args ...any) ([]keyward.Job, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *j)
	}
	return out, rows.Err()
}

// anys converts a slice of strings (or string types) for query arguments.
func anys[S ~[]E, E ~string](s S) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func (t *tx) CancelJob(accountID, id string, now time.Time) (*keyward.Job, error) {
	// A queued job that has recorded nothing has nothing to clean up: it ends here.
	res, err := t.exec(`UPDATE jobs SET state = ?, cancel_requested = ?, error = ?, finished_at = ?, updated_at = ?
		WHERE account_id = ? AND id = ? AND state = ? AND checkpoint = ''`,
		string(keyward.JobCancelled), true, "cancelled on request", ts(now), ts(now), accountID, id, string(keyward.JobQueued))
	n, err := rowsChanged(res, err)
	if err != nil {
		return nil, err
	}
	if n == 1 {
		if err := t.dropJobSecret(id); err != nil {
			return nil, err
		}
		return t.GetJob(accountID, id)
	}
	// Otherwise the runner ends it: now, if it is queued, so that its handler can clean up.
	res, err = t.exec(`UPDATE jobs SET cancel_requested = ?, updated_at = ?,
		next_run_at = CASE WHEN state = ? THEN ? ELSE next_run_at END
		WHERE account_id = ? AND id = ? AND state IN (?, ?)`,
		true, ts(now), string(keyward.JobQueued), ts(now), accountID, id, string(keyward.JobQueued), string(keyward.JobRunning))
	if n, err = rowsChanged(res, err); err != nil {
		return nil, err
	}
	j, err := t.GetJob(accountID, id)
	if err == nil && n == 0 {
		return nil, keyward.Errorf(keyward.EPRECONDITION, "job %s has already %s", id, j.State)
	}
	return j, err
}

func rowsChanged(res interface{ RowsAffected() (int64, error) }, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// jobDue is the claim condition: queued and due, or running under an expired lease. It is
// checked again by each claiming UPDATE, which is what makes the claim a compare-and-set.
const jobDue = `((state = 'queued' AND next_run_at <= ?) OR (state = 'running' AND lease_until < ?))`

func (t *tx) ClaimJobs(c keyward.JobClaim) ([]keyward.Job, error) {
	if len(c.Kinds) == 0 || c.Limit <= 0 {
		return nil, nil
	}
	ids, err := t.dueJobs(c)
	if err != nil {
		return nil, err
	}
	// Take the rows in one order everywhere, so that two claimers that want the same jobs
	// wait for each other instead of deadlocking on PostgreSQL.
	slices.Sort(ids)
	now := ts(c.Now)
	claimed := 0
	for _, id := range ids {
		res, err := t.exec(`UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
			started_at = CASE WHEN started_at = 0 THEN ? ELSE started_at END, updated_at = ?
			WHERE id = ? AND `+jobDue, c.Lease, ts(c.Until), now, now, id, now, now)
		n, err := rowsChanged(res, err)
		if err != nil {
			return nil, err
		}
		claimed += int(n)
	}
	if claimed == 0 {
		return nil, nil
	}
	return t.jobs(`SELECT `+jobCols+` FROM jobs WHERE state = 'running' AND lease_owner = ? ORDER BY next_run_at, id`, c.Lease)
}

func (t *tx) dueJobs(c keyward.JobClaim) ([]string, error) {
	now := ts(c.Now)
	args := append(anys(c.Kinds), now, now, c.Limit)
	rows, err := t.query(`SELECT id FROM jobs WHERE kind IN (`+placeholders(len(c.Kinds))+`) AND `+jobDue+`
		ORDER BY next_run_at, id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func leaseLost(id string) error {
	return keyward.Errorf(keyward.EPRECONDITION, "job %s is no longer running under this lease", id)
}

func (t *tx) UpdateJobRun(u keyward.JobRunUpdate) (bool, error) {
	q := `UPDATE jobs SET updated_at = ?`
	args := []any{ts(u.Now)}
	if !u.LeaseUntil.IsZero() {
		q += `, lease_until = ?`
		args = append(args, ts(u.LeaseUntil))
	}
	if p := u.Progress; p != nil {
		q += `, progress_done = ?, progress_total = ?, progress_message = ?`
		args = append(args, p.Done, p.Total, p.Message)
	}
	if u.Checkpoint != nil {
		q += `, checkpoint = ?`
		args = append(args, string(u.Checkpoint))
	}
	var cancel bool
	err := t.queryRow(q+` WHERE id = ? AND state = 'running' AND lease_owner = ? RETURNING cancel_requested`,
		append(args, u.ID, u.Lease)...).Scan(&cancel)
	if err != nil {
		if keyward.IsCode(one(err, "job"), keyward.ENOTFOUND) {
			return false, leaseLost(u.ID)
		}
		return false, err
	}
	return cancel, nil
}

func (t *tx) EndJobRun(e keyward.JobRunEnd) error {
	now := ts(e.Now)
	q := `UPDATE jobs SET state = ?, lease_owner = '', lease_until = 0, updated_at = ?,
		progress_done = ?, progress_total = ?, progress_message = ?`
	args := []any{string(e.State), now, e.Progress.Done, e.Progress.Total, e.Progress.Message}
	switch {
	case e.State == keyward.JobQueued && e.Release:
		q += `, next_run_at = ?, attempts = attempts - 1`
		args = append(args, ts(e.NextRunAt))
	case e.State == keyward.JobQueued:
		q += `, next_run_at = ?, error = ?`
		args = append(args, ts(e.NextRunAt), e.Error)
	case e.State.Ended():
		q += `, finished_at = ?, result = ?, error = ?`
		args = append(args, now, string(e.Result), e.Error)
	default:
		return keyward.Errorf(keyward.EINTERNAL, "a run cannot end in state %q", e.State)
	}
	res, err := t.exec(q+` WHERE id = ? AND state = 'running' AND lease_owner = ?`, append(args, e.ID, e.Lease)...)
	n, err := rowsChanged(res, err)
	if err == nil && n == 0 {
		err = leaseLost(e.ID)
	}
	if err == nil && e.State.Ended() {
		err = t.dropJobSecret(e.ID) // a job's secret lives no longer than the job
	}
	return err
}
