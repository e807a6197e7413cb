package keyward

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Account is the top-level, fully isolated container: nothing in one account is visible or
// usable from another.
type Account struct {
	ID          string
	Name        string
	Description string
	CreatedAt   time.Time
	CreatedBy   string // actor
}

// AccountRole is a user's role in an account.
type AccountRole string

const (
	RoleAdmin   AccountRole = "admin"   // manages everything in the account
	RoleMember  AccountRole = "member"  // sees and manages only the groups it administers
	RoleAuditor AccountRole = "auditor" // reads everything, changes nothing
)

// AccountRoles lists the valid account roles.
var AccountRoles = []AccountRole{RoleAdmin, RoleMember, RoleAuditor}

// Valid reports whether r is a known account role.
func (r AccountRole) Valid() bool {
	return r == RoleAdmin || r == RoleMember || r == RoleAuditor
}

// AccountMember ties a user to an account with a role.
type AccountMember struct {
	AccountID string
	UserID    string
	Role      AccountRole
	CreatedAt time.Time
}

// ValidateName checks a display name of accounts, groups and applications.
func ValidateName(field, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return Invalid(field, "must not be empty")
	case strings.TrimSpace(name) != name:
		return Invalid(field, "must not start or end with white space")
	case utf8.RuneCountInString(name) > 128:
		return Invalid(field, "must be at most 128 characters")
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return Invalid(field, "must not contain control characters")
	}
	return nil
}

// ValidateDescription checks a free-text description.
func ValidateDescription(field, s string) error {
	if utf8.RuneCountInString(s) > 1024 {
		return Invalid(field, "must be at most 1024 characters")
	}
	return nil
}
