package sqlstore

import (
	"database/sql"

	"github.com/keyward/keyward/internal/keyward"
)

func (t *tx) CreateAccount(a *keyward.Account) error {
	_, err := t.exec(`INSERT INTO accounts (id, name, description, created_at, created_by) VALUES (?, ?, ?, ?, ?)`,
		a.ID, a.Name, a.Description, ts(a.CreatedAt), a.CreatedBy)
	return err
}

func (t *tx) GetAccount(id string) (*keyward.Account, error) {
	a := &keyward.Account{}
	var created int64
	err := t.queryRow(`SELECT id, name, description, created_at, created_by FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Name, &a.Description, &created, &a.CreatedBy)
	a.CreatedAt = fromTS(created)
	return a, one(err, "account")
}

func (t *tx) UpdateAccount(a *keyward.Account) error {
	res, err := t.exec(`UPDATE accounts SET name = ?, description = ? WHERE id = ?`, a.Name, a.Description, a.ID)
	return affected(res, err, "account")
}

// DeleteAccount relies on ON DELETE CASCADE for everything the account owns. Memberships
// of groups are keyed by principal, not by a foreign key, so they go explicitly.
func (t *tx) DeleteAccount(id string) error {
	if _, err := t.exec(`DELETE FROM group_members WHERE group_id IN (SELECT id FROM key_groups WHERE account_id = ?)`, id); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM accounts WHERE id = ?`, id)
	return affected(res, err, "account")
}

func (t *tx) PutAccountMember(m *keyward.AccountMember) error {
	_, err := t.exec(`INSERT INTO account_members (account_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, user_id) DO UPDATE SET role = excluded.role`,
		m.AccountID, m.UserID, string(m.Role), ts(m.CreatedAt))
	return err
}

func (t *tx) GetAccountMember(accountID, userID string) (*keyward.AccountMember, error) {
	m := &keyward.AccountMember{}
	var role string
	var created int64
	err := t.queryRow(`SELECT account_id, user_id, role, created_at FROM account_members WHERE account_id = ? AND user_id = ?`,
		accountID, userID).Scan(&m.AccountID, &m.UserID, &role, &created)
	m.Role, m.CreatedAt = keyward.AccountRole(role), fromTS(created)
	return m, one(err, "account member")
}

func (t *tx) ListAccountMembers(accountID string, p keyward.Page) ([]keyward.AccountMember, error) {
	rows, err := t.query(`SELECT account_id, user_id, role, created_at FROM account_members
		WHERE account_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`, accountID, p.After, limitOf(p))
	if err != nil {
		return nil, err
	}
	return scanMembers(rows)
}

func (t *tx) ListUserAccounts(userID string) ([]keyward.AccountMember, error) {
	rows, err := t.query(`SELECT account_id, user_id, role, created_at FROM account_members
		WHERE user_id = ? ORDER BY account_id`, userID)
	if err != nil {
		return nil, err
	}
	return scanMembers(rows)
}

func scanMembers(rows *sql.Rows) ([]keyward.AccountMember, error) {
	defer rows.Close()
	var out []keyward.AccountMember
	for rows.Next() {
		var m keyward.AccountMember
		var role string
		var created int64
		if err := rows.Scan(&m.AccountID, &m.UserID, &role, &created); err != nil {
			return nil, err
		}
		m.Role, m.CreatedAt = keyward.AccountRole(role), fromTS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (t *tx) CountAccountAdmins(accountID string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM account_members WHERE account_id = ? AND role = ?`,
		accountID, string(keyward.RoleAdmin)).Scan(&n)
	return n, err
}

func (t *tx) DeleteAccountMember(accountID, userID string) error {
	if _, err := t.exec(`DELETE FROM group_members WHERE principal_kind = ? AND principal_id = ?
		AND group_id IN (SELECT id FROM key_groups WHERE account_id = ?)`, string(keyward.KindUser), userID, accountID); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM sessions WHERE account_id = ? AND user_id = ?`, accountID, userID); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM account_members WHERE account_id = ? AND user_id = ?`, accountID, userID)
	return affected(res, err, "account member")
}
