package keyward

import "time"

// Outcomes of an audited action.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeFailure = "failure"
)

// AuditRecord is one entry of an account's tamper-evident audit trail. Records of one
// account form a hash chain: Hash covers every field and PrevHash, so editing, removing or
// reordering a record breaks the chain at that point.
type AuditRecord struct {
	AccountID string // "" for the server's own chain (failed logins of unknown users, operator actions)
	Seq       int64  // 1, 2, 3, … within the account's chain
	Time      time.Time
	Actor     string // "user:ID", "app:ID", "operator", "anonymous"
	ActorName string // email or app name at the time
	Action    Action
	Target    string // "group:ID", "app:ID", …; "" when the action has no single target
	Outcome   string // OutcomeSuccess, OutcomeDenied or OutcomeFailure
	RequestID string
	Detail    string // short caller-safe explanation, never secret
	PrevHash  []byte
	Hash      []byte
}

// AuditFilter selects audit records of one account. Zero values mean "any".
type AuditFilter struct {
	AccountID string
	From, To  time.Time // From inclusive, To exclusive
	Actor     string
	Action    Action // an exact action, or a prefix ending in "." ("group.")
	Target    string
	Outcome   string
	AfterSeq  int64 // paging: records with Seq > AfterSeq
	Limit     int
}
