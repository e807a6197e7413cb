package sqlstore

import (
	"github.com/keyward/keyward/internal/keyward"
)

const appCols = `id, account_id, name, description, api_key_hash, disabled, created_at, created_by`

func (t *tx) CreateApp(a *keyward.App) error {
	_, err := t.exec(`INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.AccountID, a.Name, a.Description, a.APIKeyHash, a.Disabled, ts(a.CreatedAt), a.CreatedBy)
	if err != nil {
		return conflict(err, "an application named %q already exists in this account", a.Name)
	}
	return t.putCerts(a)
}

func (t *tx) putCerts(a *keyward.App) error {
	if _, err := t.exec(`DELETE FROM app_certs WHERE app_id = ?`, a.ID); err != nil {
		return err
	}
	for _, fp := range a.CertFingerprints {
		if _, err := t.exec(`INSERT INTO app_certs (fingerprint, app_id) VALUES (?, ?)`, fp, a.ID); err != nil {
			return conflict(err, "certificate %s is already registered to another application", fp)
		}
	}
	return nil
}

func (t *tx) getApp(where string, args ...any) (*keyward.App, error) {
	a := &keyward.App{}
	var created int64
	err := t.queryRow(`SELECT `+appCols+` FROM apps WHERE `+where, args...).
		Scan(&a.ID, &a.AccountID, &a.Name, &a.Description, &a.APIKeyHash, &a.Disabled, &created, &a.CreatedBy)
	if err != nil {
		return nil, one(err, "application")
	}
	a.CreatedAt = fromTS(created)
	a.CertFingerprints, err = t.certsOf(a.ID)
	return a, err
}

func (t *tx) certsOf(appID string) ([]string, error) {
	rows, err := t.query(`SELECT fingerprint FROM app_certs WHERE app_id = ? ORDER BY fingerprint`, appID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var fps []string
	for rows.Next() {
		var fp string
		if err := rows.Scan(&fp); err != nil {
			return nil, err
		}
		fps = append(fps, fp)
	}
	return fps, rows.Err()
}

func (t *tx) GetApp(accountID, id string) (*keyward.App, error) {
	return t.getApp(`account_id = ? AND id = ?`, accountID, id)
}

func (t *tx) GetAppByID(id string) (*keyward.App, error) { return t.getApp(`id = ?`, id) }

func (t *tx) GetAppByCertFingerprint(fp string) (*keyward.App, error) {
	return t.getApp(`id = (SELECT app_id FROM app_certs WHERE fingerprint = ?)`, fp)
}

func (t *tx) ListApps(accountID string, p keyward.Page) ([]keyward.App, error) {
	rows, err := t.query(`SELECT id FROM apps WHERE account_id = ? AND name > ? ORDER BY name LIMIT ?`,
		accountID, p.After, limitOf(p))
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]keyward.App, 0, len(ids))
	for _, id := range ids {
		a, err := t.GetApp(accountID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

func (t *tx) UpdateApp(a *keyward.App) error {
	res, err := t.exec(`UPDATE apps SET name = ?, description = ?, api_key_hash = ?, disabled = ? WHERE account_id = ? AND id = ?`,
		a.Name, a.Description, a.APIKeyHash, a.Disabled, a.AccountID, a.ID)
	if err := affected(res, conflict(err, "an application named %q already exists in this account", a.Name), "application"); err != nil {
		return err
	}
	return t.putCerts(a)
}

func (t *tx) DeleteApp(accountID, id string) error {
	if _, err := t.exec(`DELETE FROM group_members WHERE principal_kind = ? AND principal_id = ?
		AND principal_id IN (SELECT id FROM apps WHERE account_id = ?)`, string(keyward.KindApp), id, accountID); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM apps WHERE account_id = ? AND id = ?`, accountID, id)
	return affected(res, err, "application")
}
