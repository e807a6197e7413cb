package keyward

// AuditTx stores the audit chains and lets the root key rotate over every sealed value.
type AuditTx interface {
	// AuditHead returns the last sequence number and hash of an account's chain (0 and nil
	// for a new chain), locking the chain against concurrent appends until the transaction
	// ends.
	AuditHead(accountID string) (seq int64, hash []byte, err error)
	// AppendAudit stores records that continue the chain, and moves its head.
	AppendAudit(recs []AuditRecord) error
	ListAudit(f AuditFilter) ([]AuditRecord, error)
	// ScanAudit calls fn for each record of the account's chain in sequence order.
	ScanAudit(accountID string, fn func(*AuditRecord) error) error
	// AuditChains lists the account ids that have an audit chain ("" is the server's own).
	AuditChains() ([]string, error)

	// RewrapSealed passes every sealed value in the database to fn with the kind and row id
	// it is bound to, and stores what fn returns in its place.
	RewrapSealed(fn func(kind, id string, sealed []byte) ([]byte, error)) (int, error)
}
