package sqlstore

import (
	"database/sql"
	"strings"

	"github.com/keyward/keyward/internal/keyward"
)

// AuditHead reads the chain head. In a read-write transaction it locks the head row, so
// concurrent appenders on PostgreSQL queue up instead of forking the chain (SQLite has one
// writer anyway).
func (t *tx) AuditHead(accountID string) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := t.queryRow(auditHeadSQL+t.forUpdate(), accountID).Scan(&seq, &hash)
	if err == sql.ErrNoRows {
		if !t.write {
			return 0, nil, nil
		}
		// Create the head so that the lock above has a row to hold from now on. A second
		// first-appender waits on the insert, does nothing, and then locks the same row.
		if _, err := t.exec(auditHeadInsertSQL, accountID, []byte{}); err != nil {
			return 0, nil, err
		}
		return t.AuditHead(accountID)
	}
	if len(hash) == 0 {
		hash = nil
	}
	return seq, hash, err
}

const (
	auditHeadSQL       = `SELECT seq, hash FROM audit_heads WHERE account_id = ?`
	auditHeadInsertSQL = `INSERT INTO audit_heads (account_id, seq, hash) VALUES (?, 0, ?) ON CONFLICT (account_id) DO NOTHING`
	auditHeadUpdateSQL = `UPDATE audit_heads SET seq = ?, hash = ? WHERE account_id = ?`
)

// hotQueries are the statements every audit batch runs (SQLite prepares them once).
func hotQueries() []string {
	qs := []string{auditHeadSQL, auditHeadInsertSQL, auditHeadUpdateSQL}
	return append(qs, auditInsertSQL[1:]...)
}

const auditCols = `account_id, seq, time, actor, actor_name, action, target, outcome, request_id, detail, prev_hash, hash`

// auditInsertRows is how many records one INSERT writes: batches of the hot path go in a
// few statements instead of one per record.
const auditInsertRows = 64

var auditInsertSQL = func() [auditInsertRows + 1]string {
	var qs [auditInsertRows + 1]string
	row := `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	for n := 1; n <= auditInsertRows; n++ {
		qs[n] = `INSERT INTO audit_records (` + auditCols + `) VALUES ` + row + strings.Repeat(`, `+row, n-1)
	}
	return qs
}()

func (t *tx) AppendAudit(recs []keyward.AuditRecord) error {
	last := map[string]*keyward.AuditRecord{}
	args := make([]any, 0, 12*min(len(recs), auditInsertRows))
	for len(recs) > 0 {
		n := min(len(recs), auditInsertRows)
		args = args[:0]
		for i := range n {
			r := &recs[i]
			args = append(args, r.AccountID, r.Seq, ts(r.Time), r.Actor, r.ActorName, string(r.Action), r.Target, r.Outcome,
				r.RequestID, r.Detail, nonNil(r.PrevHash), r.Hash)
			last[r.AccountID] = r
		}
		if _, err := t.exec(auditInsertSQL[n], args...); err != nil {
			return err
		}
		recs = recs[n:]
	}
	for acct, r := range last {
		if _, err := t.exec(auditHeadUpdateSQL, r.Seq, r.Hash, acct); err != nil {
			return err
		}
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func scanAudit(rows *sql.Rows) (*keyward.AuditRecord, error) {
	r := &keyward.AuditRecord{}
	var at int64
	var action string
	err := rows.Scan(&r.AccountID, &r.Seq, &at, &r.Actor, &r.ActorName, &action, &r.Target, &r.Outcome,
		&r.RequestID, &r.Detail, &r.PrevHash, &r.Hash)
	r.Time, r.Action = fromTS(at), keyward.Action(action)
	if len(r.PrevHash) == 0 {
		r.PrevHash = nil
	}
	return r, err
}

func (t *tx) ListAudit(f keyward.AuditFilter) ([]keyward.AuditRecord, error) {
	var where []string
	args := []any{f.AccountID, f.AfterSeq}
	add := func(cond string, arg any) { where = append(where, cond); args = append(args, arg) }
	if !f.From.IsZero() {
		add(`time >= ?`, ts(f.From))
	}
	if !f.To.IsZero() {
		add(`time < ?`, ts(f.To))
	}
	if f.Actor != "" {
		add(`actor = ?`, f.Actor)
	}
	if f.Action != "" {
		if a := string(f.Action); strings.HasSuffix(a, ".") {
			// A prefix: compare the leading characters exactly (LIKE would read "_" as a wildcard).
			where = append(where, `substr(action, 1, ?) = ?`)
			args = append(args, len(a), a)
		} else {
			add(`action = ?`, string(f.Action))
		}
	}
	if f.Target != "" {
		add(`target = ?`, f.Target)
	}
	if f.Outcome != "" {
		add(`outcome = ?`, f.Outcome)
	}
	q := `SELECT ` + auditCols + ` FROM audit_records WHERE account_id = ? AND seq > ?`
	for _, w := range where {
		q += " AND " + w
	}
	limit := f.Limit
	if limit <= 0 || limit > keyward.MaxPageLimit {
		limit = keyward.DefaultPageLimit
	}
	args = append(args, limit)
	rows, err := t.query(q+` ORDER BY seq LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// ScanAudit streams a chain in pages so that verifying or exporting a long trail holds only
// one page in memory.
func (t *tx) ScanAudit(accountID string, fn func(*keyward.AuditRecord) error) error {
	var after int64
	for {
		rows, err := t.query(`SELECT `+auditCols+` FROM audit_records WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT 1000`, accountID, after)
		if err != nil {
			return err
		}
		var page []*keyward.AuditRecord
		for rows.Next() {
			r, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return err
			}
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
			after = r.Seq
		}
		if len(page) < 1000 {
			return nil
		}
	}
}

func (t *tx) AuditChains() ([]string, error) {
	rows, err := t.query(`SELECT account_id FROM audit_heads ORDER BY account_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
