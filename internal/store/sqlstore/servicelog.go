package sqlstore

import (
	"strings"

	"github.com/keyward/keyward/internal/keyward"
)

// AppendServiceLog inserts through a SELECT of the group so that an entry can only land in
// a group of the account it names.
func (t *tx) AppendServiceLog(e *keyward.ServiceLogEntry) error {
	err := t.queryRow(`INSERT INTO service_log (account_id, group_id, time, level, message, job_id, detail)
		SELECT account_id, id, ?, ?, ?, ?, ? FROM key_groups WHERE account_id = ? AND id = ? RETURNING seq`,
		ts(e.Time), string(e.Level), e.Message, e.JobID, e.Detail, e.AccountID, e.GroupID).Scan(&e.Seq)
	return one(err, "group")
}

// likeEscaper makes user text match literally in LIKE ... ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (t *tx) ListServiceLog(f keyward.ServiceLogFilter) ([]keyward.ServiceLogEntry, error) {
	q := `SELECT seq, account_id, group_id, time, level, message, job_id, detail FROM service_log
		WHERE account_id = ? AND group_id = ?`
	args := []any{f.AccountID, f.GroupID}
	add := func(cond string, a ...any) { q += " AND " + cond; args = append(args, a...) }
	if len(f.Levels) > 0 {
		add(`level IN (`+placeholders(len(f.Levels))+`)`, anys(f.Levels)...)
	}
	if !f.Since.IsZero() {
		add(`time >= ?`, ts(f.Since))
	}
	if !f.Until.IsZero() {
		add(`time < ?`, ts(f.Until))
	}
	if f.JobID != "" {
		add(`job_id = ?`, f.JobID)
	}
	if f.Contains != "" {
		// LOWER on both sides: SQLite's LIKE ignores ASCII case and PostgreSQL's does not.
		pat := "%" + likeEscaper.Replace(strings.ToLower(f.Contains)) + "%"
		add(`(LOWER(message) LIKE ? ESCAPE '\' OR LOWER(detail) LIKE ? ESCAPE '\')`, pat, pat)
	}
	order := ` ORDER BY seq DESC`
	switch {
	case f.Oldest:
		add(`seq > ?`, f.Cursor)
		order = ` ORDER BY seq`
	case f.Cursor > 0:
		add(`seq < ?`, f.Cursor)
	}
	args = append(args, keyward.Page{Limit: f.Limit}.N())
	rows, err := t.query(q+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.ServiceLogEntry
	for rows.Next() {
		var e keyward.ServiceLogEntry
		var at int64
		var level string
		if err := rows.Scan(&e.Seq, &e.AccountID, &e.GroupID, &at, &level, &e.Message, &e.JobID, &e.Detail); err != nil {
			return nil, err
		}
		e.Time, e.Level = fromTS(at), keyward.LogLevel(level)
		out = append(out, e)
	}
	return out, rows.Err()
}
