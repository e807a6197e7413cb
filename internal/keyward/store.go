package keyward

import (
	"context"
	"time"
)

// Store is the persistence the core needs. Implementations: internal/store/sqlite and
// internal/store/postgres; both pass internal/store/storetest.
type Store interface {
	// Update runs fn in a read-write transaction and commits when fn returns nil. The change
	// and its audit records commit together or not at all.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Page bounds a listing. Results are ordered by the listing's key; After is the last key of
// the previous page.
type Page struct {
	After string
	Limit int // 0 means DefaultPageLimit
}

// DefaultPageLimit and MaxPageLimit bound listings.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// N returns the effective limit.
func (p Page) N() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageLimit
	case p.Limit > MaxPageLimit:
		return MaxPageLimit
	}
	return p.Limit
}

// Tx is one transaction. Every method is scoped as its arguments say; methods that take an
// account id never see rows of another account. Lookups of a missing row return ENOTFOUND,
// writes that break a uniqueness rule return ECONFLICT. After a method returns an error the
// transaction is spent (PostgreSQL aborts it): return the error so that Update rolls back;
// check for what might clash before writing when a clash is not an error.
//
// Each area of the domain declares its part of the interface in its own file.
type Tx interface {
	TenancyTx
	AuditTx
	ObjectTx
	CloudTx
	JobTx
	JobSecretTx
	ServiceLogTx
	ScheduleTx
	ApprovalTx
}

// Clock tells the time; tests pass a fixed or stepping one.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC at microsecond precision (what the stores keep).
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
