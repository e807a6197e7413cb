package sqlstore

import (
	"database/sql"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/keyward/keyward/internal/keyward"
)

const objectCols = `id, account_id, group_id, name, description, type, size, curve, public_only, ops, state,
	activation_date, deactivation_date, compromised_at, destroyed_at, origin, kcv, cert, created_at, created_by, updated_at, cloud`

func joinOps(ops []keyward.Operation) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = string(op)
	}
	return strings.Join(s, ",")
}

func splitOps(s string) []keyward.Operation {
	if s == "" {
		return []keyward.Operation{}
	}
	parts := strings.Split(s, ",")
	ops := make([]keyward.Operation, len(parts))
	for i, p := range parts {
		ops[i] = keyward.Operation(p)
	}
	return ops
}

func certJSON(c *keyward.CertInfo) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func (t *tx) CreateObject(o *keyward.Object, sealed []byte) error {
	cloud, name, version := cloudCols(o.Cloud)
	_, err := t.exec(`INSERT INTO objects (`+objectCols+`, material, cloud_name, cloud_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.AccountID, o.GroupID, o.Name, o.Description, string(o.Type), o.Size, o.Curve, o.PublicOnly, joinOps(o.Ops), string(o.State),
		ts(o.ActivationDate), ts(o.DeactivationDate), ts(o.CompromisedAt), ts(o.DestroyedAt), o.Origin, o.KCV, certJSON(o.Cert),
		ts(o.CreatedAt), o.CreatedBy, ts(o.UpdatedAt), cloud, sealed, name, version)
	if err != nil {
		if o.Cloud != nil && keyward.IsCode(err, keyward.ECONFLICT) {
			return conflict(err, "an object named %q, or the virtual key of %s version %s, already exists", o.Name, name, version)
		}
		return conflict(err, "an object named %q already exists in this account", o.Name)
	}
	return t.putTags(o.ID, o.Tags)
}

// cloudCols encodes a virtual key's Azure side: the JSON, and the key name and version
// that the unique index holds.
func cloudCols(c *keyward.CloudRef) (string, string, string) {
	if c == nil {
		return "", "", ""
	}
	b, _ := json.Marshal(c)
	return string(b), c.KeyName, c.Version
}

func (t *tx) putTags(id string, tags map[string]string) error {
	if _, err := t.exec(`DELETE FROM object_tags WHERE object_id = ?`, id); err != nil {
		return err
	}
	for k, v := range tags {
		if _, err := t.exec(`INSERT INTO object_tags (object_id, key, value) VALUES (?, ?, ?)`, id, k, v); err != nil {
			return err
		}
	}
	return nil
}

func scanObject(row interface{ Scan(...any) error }) (*keyward.Object, error) {
	o := &keyward.Object{}
	var typ, ops, state, cert string
	var act, deact, comp, destr, created, updated int64
	var cloud string
	err := row.Scan(&o.ID, &o.AccountID, &o.GroupID, &o.Name, &o.Description, &typ, &o.Size, &o.Curve, &o.PublicOnly, &ops, &state,
		&act, &deact, &comp, &destr, &o.Origin, &o.KCV, &cert, &created, &o.CreatedBy, &updated, &cloud)
	if err != nil {
		return nil, err
	}
	o.Type, o.Ops, o.State = keyward.ObjectType(typ), splitOps(ops), keyward.State(state)
	o.ActivationDate, o.DeactivationDate, o.CompromisedAt, o.DestroyedAt = fromTS(act), fromTS(deact), fromTS(comp), fromTS(destr)
	o.CreatedAt, o.UpdatedAt = fromTS(created), fromTS(updated)
	if cert != "" {
		o.Cert = &keyward.CertInfo{}
		if err := json.Unmarshal([]byte(cert), o.Cert); err != nil {
			return nil, err
		}
	}
	if cloud != "" {
		o.Cloud = &keyward.CloudRef{}
		if err := json.Unmarshal([]byte(cloud), o.Cloud); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func (t *tx) getObject(where string, args ...any) (*keyward.Object, error) {
	o, err := scanObject(t.queryRow(`SELECT `+objectCols+` FROM objects WHERE `+where, args...))
	if err != nil {
		return nil, one(err, "object")
	}
	tags, err := t.tagsOf([]string{o.ID})
	o.Tags = tags[o.ID]
	return o, err
}

func (t *tx) GetObject(accountID, id string) (*keyward.Object, error) {
	return t.getObject(`account_id = ? AND id = ?`, accountID, id)
}

func (t *tx) GetObjectByName(accountID, name string) (*keyward.Object, error) {
	return t.getObject(`account_id = ? AND name = ?`, accountID, name)
}

func (t *tx) ObjectMaterial(accountID, id string) ([]byte, error) {
	var b []byte
	err := t.queryRow(`SELECT material FROM objects WHERE account_id = ? AND id = ?`, accountID, id).Scan(&b)
	if err == nil && b == nil {
		err = sql.ErrNoRows
	}
	return b, one(err, "object material")
}

func (t *tx) UpdateObject(o *keyward.Object) error {
	cloud, _, _ := cloudCols(o.Cloud)
	res, err := t.exec(`UPDATE objects SET name = ?, description = ?, ops = ?, state = ?, activation_date = ?, deactivation_date = ?,
		compromised_at = ?, destroyed_at = ?, updated_at = ?, cloud = ? WHERE account_id = ? AND id = ?`,
		o.Name, o.Description, joinOps(o.Ops), string(o.State), ts(o.ActivationDate), ts(o.DeactivationDate),
		ts(o.CompromisedAt), ts(o.DestroyedAt), ts(o.UpdatedAt), cloud, o.AccountID, o.ID)
	if err := affected(res, conflict(err, "an object named %q already exists in this account", o.Name), "object"); err != nil {
		return err
	}
	return t.putTags(o.ID, o.Tags)
}

func (t *tx) DestroyMaterial(accountID, id string) error {
	res, err := t.exec(`UPDATE objects SET material = NULL WHERE account_id = ? AND id = ?`, accountID, id)
	return affected(res, err, "object")
}

// stateCond is the SQL for "the effective state at ? is s", the same rule as
// keyward.Object.EffectiveState; it takes the time once or twice as arguments.
func stateCond(s keyward.State, now int64) (string, []any) {
	switch s {
	case keyward.StateActive:
		return `(state IN ('active','pre-active') AND (deactivation_date = 0 OR deactivation_date > ?)
			AND (state = 'active' OR (activation_date <> 0 AND activation_date <= ?)))`, []any{now, now}
	case keyward.StatePreActive:
		return `(state = 'pre-active' AND (activation_date = 0 OR activation_date > ?) AND (deactivation_date = 0 OR deactivation_date > ?))`, []any{now, now}
	case keyward.StateDeactivated:
		return `(state = 'deactivated' OR (state IN ('active','pre-active') AND deactivation_date <> 0 AND deactivation_date <= ?))`, []any{now}
	}
	return `state = ?`, []any{string(s)}
}

func (t *tx) ListObjects(f keyward.ObjectFilter) ([]keyward.Object, error) {
	// One lower bound on name, so the engine can seek the index to it: the page's cursor,
	// or the name prefix when that comes later (Go compares bytes, as both engines do here).
	lower, op := f.Page.After, ">"
	if f.NamePrefix != "" && f.NamePrefix > f.Page.After {
		lower, op = f.NamePrefix, ">="
	}
	q := `SELECT ` + objectCols + ` FROM objects WHERE account_id = ? AND name ` + op + ` ?`
	args := []any{f.AccountID, lower}
	if f.GroupIDs != nil {
		if len(f.GroupIDs) == 0 {
			return nil, nil
		}
		q += ` AND group_id IN (?` + strings.Repeat(`, ?`, len(f.GroupIDs)-1) + `)`
		for _, g := range f.GroupIDs {
			args = append(args, g)
		}
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, string(f.Type))
	}
	if f.State != "" {
		cond, a := stateCond(f.State, ts(f.Now))
		q += ` AND ` + cond
		args = append(args, a...)
	}
	if f.Name != "" {
		q += ` AND name = ?`
		args = append(args, f.Name)
	}
	if f.NamePrefix != "" {
		// The range lets the name index find the prefix; substr is the exact test.
		q += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(f.NamePrefix), f.NamePrefix)
		if hi, ok := prefixEnd(f.NamePrefix); ok {
			q += ` AND name < ?`
			args = append(args, hi)
		}
	}
	if f.Tag != "" {
		k, v, hasValue := strings.Cut(f.Tag, "=")
		q += ` AND EXISTS (SELECT 1 FROM object_tags t WHERE t.object_id = objects.id AND t.key = ?`
		args = append(args, k)
		if hasValue {
			q += ` AND t.value = ?`
			args = append(args, v)
		}
		q += `)`
	}
	q += ` ORDER BY name LIMIT ?`
	args = append(args, f.Page.N())
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	var out []keyward.Object
	var ids []string
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, *o)
		ids = append(ids, o.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	tags, err := t.tagsOf(ids)
	for i := range out {
		out[i].Tags = tags[out[i].ID]
	}
	return out, err
}

// prefixEnd is the least string greater than every string that starts with p, in bytewise
// order: p with its last character incremented (false when there is none).
func prefixEnd(p string) (string, bool) {
	r := []rune(p)
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] < utf8.MaxRune && !(r[i] >= 0xD7FF && r[i] < 0xE000) {
			r[i]++
			return string(r[:i+1]), true
		}
	}
	return "", false
}

// tagsOf loads the tags of several objects in one query.
func (t *tx) tagsOf(ids []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.query(`SELECT object_id, key, value FROM object_tags WHERE object_id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, k, v string
		if err := rows.Scan(&id, &k, &v); err != nil {
			return nil, err
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][k] = v
	}
	return out, rows.Err()
}

func (t *tx) ObjectNamesWithPrefix(accountID, prefix string) ([]string, error) {
	rows, err := t.query(`SELECT name FROM objects WHERE account_id = ? AND substr(name, 1, ?) = ? ORDER BY name`, accountID, len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (t *tx) CountGroupObjects(accountID, groupID string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM objects WHERE account_id = ? AND group_id = ?`, accountID, groupID).Scan(&n)
	return n, err
}

func (t *tx) CreateLink(l *keyward.Link) error {
	_, err := t.exec(`INSERT INTO object_links (id, account_id, kind, source_id, target_id, target_group, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, l.AccountID, string(l.Kind), l.SourceID, l.TargetID, l.TargetGroup, ts(l.CreatedAt), l.CreatedBy)
	return err
}

func (t *tx) ObjectLinks(accountID, objectID string) ([]keyward.Link, error) {
	rows, err := t.query(`SELECT id, account_id, kind, source_id, target_id, target_group, created_at, created_by FROM object_links
		WHERE account_id = ? AND (source_id = ? OR target_id = ?) ORDER BY created_at, id`, accountID, objectID, objectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.Link
	for rows.Next() {
		var l keyward.Link
		var kind string
		var created int64
		if err := rows.Scan(&l.ID, &l.AccountID, &kind, &l.SourceID, &l.TargetID, &l.TargetGroup, &created, &l.CreatedBy); err != nil {
			return nil, err
		}
		l.Kind, l.CreatedAt = keyward.LinkKind(kind), fromTS(created)
		out = append(out, l)
	}
	return out, rows.Err()
}
