package sqlstore

// DeleteCloudObject removes one virtual key and its tags. The tags are deleted first and
// explicitly rather than left to ON DELETE CASCADE, which SQLite applies only when foreign
// keys are on for the connection.
func (t *tx) DeleteCloudObject(accountID, groupID, keyName, version string) error {
	if _, err := t.exec(`DELETE FROM object_tags WHERE object_id IN (SELECT id FROM objects
		WHERE account_id = ? AND group_id = ? AND cloud_name = ? AND cloud_version = ? AND cloud_version <> '')`,
		accountID, groupID, keyName, version); err != nil {
		return err
	}
	res, err := t.exec(`DELETE FROM objects WHERE account_id = ? AND group_id = ? AND cloud_name = ? AND cloud_version = ? AND cloud_version <> ''`,
		accountID, groupID, keyName, version)
	return affected(res, err, "virtual key")
}
