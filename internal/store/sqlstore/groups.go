package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/keyward/keyward/internal/keyward"
)

const groupCols = `id, account_id, name, description, policy, created_at, created_by`

func (t *tx) CreateGroup(g *keyward.Group) error {
	pol, err := json.Marshal(g.Policy)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO key_groups (`+groupCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.AccountID, g.Name, g.Description, string(pol), ts(g.CreatedAt), g.CreatedBy)
	return conflict(err, "a group named %q already exists in this account", g.Name)
}

func scanGroup(row interface{ Scan(...any) error }) (*keyward.Group, error) {
	g := &keyward.Group{}
	var created int64
	var pol string
	if err := row.Scan(&g.ID, &g.AccountID, &g.Name, &g.Description, &pol, &created, &g.CreatedBy); err != nil {
		return g, err
	}
	g.CreatedAt = fromTS(created)
	if err := json.Unmarshal([]byte(pol), &g.Policy); err != nil {
		return g, fmt.Errorf("group %s: its stored policy does not parse: %w", g.ID, err)
	}
	return g, nil
}

func (t *tx) GetGroup(accountID, id string) (*keyward.Group, error) {
	g, err := scanGroup(t.queryRow(`SELECT `+groupCols+` FROM key_groups WHERE account_id = ? AND id = ?`, accountID, id))
	return g, one(err, "group")
}

func (t *tx) GetGroupByName(accountID, name string) (*keyward.Group, error) {
	g, err := scanGroup(t.queryRow(`SELECT `+groupCols+` FROM key_groups WHERE account_id = ? AND name = ?`, accountID, name))
	return g, one(err, "group")
}

func (t *tx) ListGroups(accountID string, p keyward.Page) ([]keyward.Group, error) {
	rows, err := t.query(`SELECT `+groupCols+` FROM key_groups WHERE account_id = ? AND name > ? ORDER BY name LIMIT ?`,
		accountID, p.After, limitOf(p))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	return out, rows.Err()
}

func (t *tx) UpdateGroup(g *keyward.Group) error {
	pol, err := json.Marshal(g.Policy)
	if err != nil {
		return err
	}
	res, err := t.exec(`UPDATE key_groups SET name = ?, description = ?, policy = ? WHERE account_id = ? AND id = ?`,
		g.Name, g.Description, string(pol), g.AccountID, g.ID)
	return affected(res, conflict(err, "a group named %q already exists in this account", g.Name), "group")
}

func (t *tx) DeleteGroup(accountID, id string) error {
	if _, err := t.exec(`DELETE FROM group_members WHERE group_id IN (SELECT id FROM key_groups WHERE account_id = ? AND id = ?)`, accountID, id); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM key_groups WHERE account_id = ? AND id = ?`, accountID, id)
	return affected(res, err, "group")
}

func (t *tx) PutGroupMember(m *keyward.GroupMember) error {
	_, err := t.exec(`INSERT INTO group_members (group_id, principal_kind, principal_id, role, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (group_id, principal_kind, principal_id) DO UPDATE SET role = excluded.role`,
		m.GroupID, string(m.PrincipalKind), m.PrincipalID, string(m.Role), ts(m.CreatedAt))
	return err
}

func (t *tx) DeleteGroupMember(groupID string, kind keyward.PrincipalKind, principalID string) error {
	res, err := t.exec(`DELETE FROM group_members WHERE group_id = ? AND principal_kind = ? AND principal_id = ?`,
		groupID, string(kind), principalID)
	return affected(res, err, "group member")
}

const memberCols = `group_id, principal_kind, principal_id, role, created_at`

func scanGroupMembers(rows *sql.Rows) ([]keyward.GroupMember, error) {
	defer rows.Close()
	var out []keyward.GroupMember
	for rows.Next() {
		var m keyward.GroupMember
		var kind, role string
		var created int64
		if err := rows.Scan(&m.GroupID, &kind, &m.PrincipalID, &role, &created); err != nil {
			return nil, err
		}
		m.PrincipalKind, m.Role, m.CreatedAt = keyward.PrincipalKind(kind), keyward.GroupRole(role), fromTS(created)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (t *tx) ListGroupMembers(groupID string) ([]keyward.GroupMember, error) {
	rows, err := t.query(`SELECT `+memberCols+` FROM group_members WHERE group_id = ? ORDER BY principal_kind, principal_id`, groupID)
	if err != nil {
		return nil, err
	}
	return scanGroupMembers(rows)
}

func (t *tx) PrincipalGroups(kind keyward.PrincipalKind, principalID string) ([]keyward.GroupMember, error) {
	rows, err := t.query(`SELECT `+memberCols+` FROM group_members WHERE principal_kind = ? AND principal_id = ? ORDER BY group_id`,
		string(kind), principalID)
	if err != nil {
		return nil, err
	}
	return scanGroupMembers(rows)
}
