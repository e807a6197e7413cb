package sqlstore

import (
	"encoding/json"
	"fmt"

	"github.com/keyward/keyward/internal/keyward"
)

func (t *tx) InsertApproval(a *keyward.Approval) error {
	a.Version = 1
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO approvals (id, account_id, group_id, status, version, doc) VALUES (?, ?, ?, ?, ?, ?)`,
		a.ID, a.AccountID, a.GroupID, string(a.Status), a.Version, string(doc))
	return conflict(err, "approval request %s already exists", a.ID)
}

func scanApproval(row interface{ Scan(...any) error }) (*keyward.Approval, error) {
	var doc string
	var version int64
	if err := row.Scan(&version, &doc); err != nil {
		return nil, err
	}
	a := &keyward.Approval{}
	if err := json.Unmarshal([]byte(doc), a); err != nil {
		return nil, fmt.Errorf("an approval request does not parse: %w", err)
	}
	a.Version = version
	return a, nil
}

func (t *tx) GetApproval(accountID, id string) (*keyward.Approval, error) {
	a, err := scanApproval(t.queryRow(`SELECT version, doc FROM approvals WHERE account_id = ? AND id = ?`, accountID, id))
	return a, one(err, "approval request")
}

func (t *tx) UpdateApproval(a *keyward.Approval) error {
	read := a.Version
	a.Version++
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	res, err := t.exec(`UPDATE approvals SET status = ?, version = ?, doc = ? WHERE account_id = ? AND id = ? AND version = ?`,
		string(a.Status), a.Version, string(doc), a.AccountID, a.ID, read)
	if err := affected(res, err, "approval request"); err != nil {
		a.Version = read
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return keyward.Errorf(keyward.ECONFLICT, "approval request %s changed meanwhile (or is gone): read it again and retry", a.ID)
		}
		return err
	}
	return nil
}

func (t *tx) ListApprovals(accountID string, f keyward.ApprovalFilter) ([]keyward.Approval, error) {
	q := `SELECT version, doc FROM approvals WHERE account_id = ?`
	args := []any{accountID}
	if f.Page.After != "" {
		q += ` AND id < ?`
		args = append(args, f.Page.After)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	rows, err := t.query(q+` ORDER BY id DESC LIMIT ?`, append(args, limitOf(f.Page))...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

var _ keyward.ApprovalTx = (*tx)(nil)
