package keyward

// JobSecretTx stores the one secret a job may need between the request that enqueued it and
// the attempt that uses it (for example key material on its way into Azure). It is stored
// sealed, as given, bound to the job, and deleted when the job ends: EndJobRun with an
// ended state, and CancelJob when it ends a queued job, delete it in the same transaction.
type JobSecretTx interface {
	// PutJobSecret stores a job's sealed secret; ECONFLICT when the job has one already.
	PutJobSecret(accountID, jobID string, sealed []byte) error
	// JobSecret returns the sealed secret, or ENOTFOUND once it is gone.
	JobSecret(accountID, jobID string) ([]byte, error)
	// DeleteJobSecret removes it; deleting one that is gone is not an error.
	DeleteJobSecret(accountID, jobID string) error
}
