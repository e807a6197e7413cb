package sqlstore

import (
	"encoding/json"

	"github.com/keyward/keyward/internal/keyward"
)

const credCols = `id, account_id, name, description, cloud, endpoints, tenant_id, client_id, subscription_id,
	auth_method, certificate_pem, created_at, created_by, updated_at`

func (t *tx) CreateCloudCredential(c *keyward.CloudCredential, sealed []byte) error {
	ep, _ := json.Marshal(c.Endpoints)
	_, err := t.exec(`INSERT INTO cloud_credentials (`+credCols+`, secret) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.AccountID, c.Name, c.Description, string(c.Cloud), string(ep), c.TenantID, c.ClientID, c.SubscriptionID,
		c.AuthMethod, c.CertificatePEM, ts(c.CreatedAt), c.CreatedBy, ts(c.UpdatedAt), sealed)
	return conflict(err, "a cloud credential named %q already exists in this account", c.Name)
}

func scanCred(row interface{ Scan(...any) error }) (*keyward.CloudCredential, error) {
	c := &keyward.CloudCredential{}
	var cloud, ep string
	var created, updated int64
	err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.Description, &cloud, &ep, &c.TenantID, &c.ClientID, &c.SubscriptionID,
		&c.AuthMethod, &c.CertificatePEM, &created, &c.CreatedBy, &updated)
	if err != nil {
		return nil, err
	}
	c.Cloud, c.CreatedAt, c.UpdatedAt = keyward.Cloud(cloud), fromTS(created), fromTS(updated)
	return c, json.Unmarshal([]byte(ep), &c.Endpoints)
}

func (t *tx) GetCloudCredential(accountID, id string) (*keyward.CloudCredential, error) {
	c, err := scanCred(t.queryRow(`SELECT `+credCols+` FROM cloud_credentials WHERE account_id = ? AND id = ?`, accountID, id))
	return c, one(err, "cloud credential")
}

func (t *tx) CloudCredentialSecret(accountID, id string) ([]byte, error) {
	var b []byte
	err := t.queryRow(`SELECT secret FROM cloud_credentials WHERE account_id = ? AND id = ?`, accountID, id).Scan(&b)
	return b, one(err, "cloud credential")
}

func (t *tx) ListCloudCredentials(accountID string, p keyward.Page) ([]keyward.CloudCredential, error) {
	rows, err := t.query(`SELECT `+credCols+` FROM cloud_credentials WHERE account_id = ? AND name > ? ORDER BY name LIMIT ?`,
		accountID, p.After, limitOf(p))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.CloudCredential
	for rows.Next() {
		c, err := scanCred(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (t *tx) UpdateCloudCredential(c *keyward.CloudCredential, sealed []byte) error {
	ep, _ := json.Marshal(c.Endpoints)
	res, err := t.exec(`UPDATE cloud_credentials SET name = ?, description = ?, cloud = ?, endpoints = ?, tenant_id = ?, client_id = ?,
		subscription_id = ?, auth_method = ?, certificate_pem = ?, updated_at = ? WHERE account_id = ? AND id = ?`,
		c.Name, c.Description, string(c.Cloud), string(ep), c.TenantID, c.ClientID, c.SubscriptionID, c.AuthMethod,
		c.CertificatePEM, ts(c.UpdatedAt), c.AccountID, c.ID)
	if err := affected(res, conflict(err, "a cloud credential named %q already exists in this account", c.Name), "cloud credential"); err != nil {
		return err
	}
	if sealed != nil {
		_, err = t.exec(`UPDATE cloud_credentials SET secret = ? WHERE account_id = ? AND id = ?`, sealed, c.AccountID, c.ID)
	}
	return err
}

func (t *tx) DeleteCloudCredential(accountID, id string) error {
	res, err := t.exec(`DELETE FROM cloud_credentials WHERE account_id = ? AND id = ?`, accountID, id)
	return affected(res, err, "cloud credential")
}

func (t *tx) CountCredentialLinks(accountID, credentialID string) (int, error) {
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM azure_links WHERE account_id = ? AND credential_id = ?`, accountID, credentialID).Scan(&n)
	return n, err
}

const linkCols = `group_id, account_id, credential_id, vault, tls, status, reason, checked_at, created_at, created_by, updated_at`

func (t *tx) PutAzureLink(l *keyward.AzureLink, sealedTLSKey []byte) error {
	vault, _ := json.Marshal(l.Vault)
	tls, _ := json.Marshal(l.TLS)
	_, err := t.exec(`INSERT INTO azure_links (`+linkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (group_id) DO UPDATE SET credential_id = excluded.credential_id, vault = excluded.vault, tls = excluded.tls,
		status = excluded.status, reason = excluded.reason, checked_at = excluded.checked_at, updated_at = excluded.updated_at`,
		l.GroupID, l.AccountID, l.CredentialID, string(vault), string(tls), l.Status, l.Reason, ts(l.CheckedAt),
		ts(l.CreatedAt), l.CreatedBy, ts(l.UpdatedAt))
	if err != nil || sealedTLSKey == nil {
		return err
	}
	_, err = t.exec(`UPDATE azure_links SET tls_key = ? WHERE group_id = ?`, sealedTLSKey, l.GroupID)
	return err
}

func scanLink(row interface{ Scan(...any) error }) (*keyward.AzureLink, error) {
	l := &keyward.AzureLink{}
	var vault, tls string
	var checked, created, updated int64
	err := row.Scan(&l.GroupID, &l.AccountID, &l.CredentialID, &vault, &tls, &l.Status, &l.Reason, &checked, &created, &l.CreatedBy, &updated)
	if err != nil {
		return nil, err
	}
	l.CheckedAt, l.CreatedAt, l.UpdatedAt = fromTS(checked), fromTS(created), fromTS(updated)
	if err := json.Unmarshal([]byte(vault), &l.Vault); err != nil {
		return nil, err
	}
	return l, json.Unmarshal([]byte(tls), &l.TLS)
}

func (t *tx) GetAzureLink(accountID, groupID string) (*keyward.AzureLink, error) {
	l, err := scanLink(t.queryRow(`SELECT `+linkCols+` FROM azure_links WHERE account_id = ? AND group_id = ?`, accountID, groupID))
	return l, one(err, "Azure link")
}

func (t *tx) AzureLinkTLSKey(accountID, groupID string) ([]byte, error) {
	var b []byte
	err := t.queryRow(`SELECT tls_key FROM azure_links WHERE account_id = ? AND group_id = ? AND tls_key IS NOT NULL`, accountID, groupID).Scan(&b)
	return b, one(err, "TLS client key")
}

func (t *tx) ListAzureLinks(accountID string) ([]keyward.AzureLink, error) {
	rows, err := t.query(`SELECT `+linkCols+` FROM azure_links WHERE account_id = ? ORDER BY group_id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keyward.AzureLink
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *l)
	}
	return out, rows.Err()
}

func (t *tx) DeleteAzureLink(accountID, groupID string) error {
	res, err := t.exec(`DELETE FROM azure_links WHERE account_id = ? AND group_id = ?`, accountID, groupID)
	return affected(res, err, "Azure link")
}

func (t *tx) GetCloudObject(accountID, groupID, keyName, version string) (*keyward.Object, error) {
	// "cloud_version <> ''" restates the partial index's condition: without it neither
	// SQLite nor PostgreSQL can use objects_cloud, and every lookup scans the group.
	return t.getObject(`account_id = ? AND group_id = ? AND cloud_name = ? AND cloud_version = ? AND cloud_version <> ''`,
		accountID, groupID, keyName, version)
}

func (t *tx) ListCloudObjects(accountID, groupID, keyName string) ([]keyward.Object, error) {
	q := `SELECT ` + objectCols + ` FROM objects WHERE account_id = ? AND group_id = ? AND cloud_version <> ''`
	args := []any{accountID, groupID}
	if keyName != "" {
		q += ` AND cloud_name = ?`
		args = append(args, keyName)
	}
	rows, err := t.query(q+` ORDER BY cloud_name, created_at, id`, args...)
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
		out, ids = append(out, *o), append(ids, o.ID)
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

func escrowID(groupID, keyName string) string { return groupID + "/" + keyName }

func (t *tx) PutEscrow(e *keyward.Escrow) error {
	_, err := t.exec(`INSERT INTO cloud_escrow (id, account_id, group_id, key_name, blob, versions, taken_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET blob = excluded.blob, versions = excluded.versions, taken_at = excluded.taken_at`,
		escrowID(e.GroupID, e.KeyName), e.AccountID, e.GroupID, e.KeyName, e.Blob, e.Versions, ts(e.TakenAt))
	return err
}

func (t *tx) GetEscrow(accountID, groupID, keyName string) (*keyward.Escrow, error) {
	e := &keyward.Escrow{}
	var taken int64
	err := t.queryRow(`SELECT account_id, group_id, key_name, blob, versions, taken_at FROM cloud_escrow WHERE account_id = ? AND id = ?`,
		accountID, escrowID(groupID, keyName)).Scan(&e.AccountID, &e.GroupID, &e.KeyName, &e.Blob, &e.Versions, &taken)
	e.TakenAt = fromTS(taken)
	return e, one(err, "escrowed backup")
}

func (t *tx) DeleteEscrow(accountID, groupID, keyName string) error {
	res, err := t.exec(`DELETE FROM cloud_escrow WHERE account_id = ? AND id = ?`, accountID, escrowID(groupID, keyName))
	return affected(res, err, "escrowed backup")
}
