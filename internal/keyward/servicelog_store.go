package keyward

// ServiceLogTx stores the groups' service logs.
type ServiceLogTx interface {
	// AppendServiceLog stores an entry of a group of its account and sets e.Seq.
	AppendServiceLog(e *ServiceLogEntry) error
	// ListServiceLog returns the entries of f.GroupID in f.AccountID that match f.
	ListServiceLog(f ServiceLogFilter) ([]ServiceLogEntry, error)
}
