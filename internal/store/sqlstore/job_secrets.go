package sqlstore

import "github.com/keyward/keyward/internal/keyward"

func (t *tx) PutJobSecret(accountID, jobID string, sealed []byte) error {
	_, err := t.exec(`INSERT INTO job_secrets (job_id, account_id, blob) VALUES (?, ?, ?)`, jobID, accountID, sealed)
	return err
}

func (t *tx) JobSecret(accountID, jobID string) ([]byte, error) {
	var b []byte
	err := t.queryRow(`SELECT blob FROM job_secrets WHERE account_id = ? AND job_id = ?`, accountID, jobID).Scan(&b)
	return b, one(err, "job secret")
}

func (t *tx) DeleteJobSecret(accountID, jobID string) error {
	_, err := t.exec(`DELETE FROM job_secrets WHERE account_id = ? AND job_id = ?`, accountID, jobID)
	return err
}

// dropJobSecret deletes an ending job's secret, whatever its account.
func (t *tx) dropJobSecret(jobID string) error {
	_, err := t.exec(`DELETE FROM job_secrets WHERE job_id = ?`, jobID)
	return err
}

var _ keyward.JobSecretTx = (*tx)(nil)
