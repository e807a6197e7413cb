package sqlstore

func (t *tx) GetMeta(key string) ([]byte, error) {
	var v []byte
	err := t.queryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	return v, one(err, "meta "+key)
}

func (t *tx) PutMeta(key string, value []byte) error {
	_, err := t.exec(`INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
