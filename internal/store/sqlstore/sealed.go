package sqlstore

// sealedColumn names a column that holds sealed values and the kind they are bound to
// (seal.Bind(kind, id)). Every such column must be listed here, or root key rotation would
// leave its values under the retired key.
type sealedColumn struct {
	kind, table, idCol, col, where string
}

var sealedColumns = []sealedColumn{
	{kind: "meta", table: "meta", idCol: "key", col: "value", where: "key LIKE 'sealed.%'"},
	{kind: "object", table: "objects", idCol: "id", col: "material", where: "1 = 1"},
	{kind: "cloud-credential", table: "cloud_credentials", idCol: "id", col: "secret", where: "1 = 1"},
	{kind: "azure-tls-key", table: "azure_links", idCol: "group_id", col: "tls_key", where: "1 = 1"},
	{kind: "escrow", table: "cloud_escrow", idCol: "id", col: "blob", where: "1 = 1"},
	{kind: "job-secret", table: "job_secrets", idCol: "job_id", col: "blob", where: "1 = 1"},
}

// RewrapSealed walks every sealed column in id order, in pages, and replaces each value
// with what fn returns.
func (t *tx) RewrapSealed(fn func(kind, id string, sealed []byte) ([]byte, error)) (int, error) {
	n := 0
	for _, c := range sealedColumns {
		after := ""
		for {
			ids, blobs, err := t.sealedPage(c, after)
			if err != nil {
				return n, err
			}
			for i, id := range ids {
				nb, err := fn(c.kind, id, blobs[i])
				if err != nil {
					return n, err
				}
				if _, err := t.exec(`UPDATE `+c.table+` SET `+c.col+` = ? WHERE `+c.idCol+` = ?`, nb, id); err != nil {
					return n, err
				}
				n++
				after = id
			}
			if len(ids) < 500 {
				break
			}
		}
	}
	return n, nil
}

func (t *tx) sealedPage(c sealedColumn, after string) ([]string, [][]byte, error) {
	rows, err := t.query(`SELECT `+c.idCol+`, `+c.col+` FROM `+c.table+` WHERE `+c.where+
		` AND `+c.col+` IS NOT NULL AND `+c.idCol+` > ? ORDER BY `+c.idCol+` LIMIT 500`, after)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ids []string
	var blobs [][]byte
	for rows.Next() {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return nil, nil, err
		}
		ids, blobs = append(ids, id), append(blobs, b)
	}
	return ids, blobs, rows.Err()
}
