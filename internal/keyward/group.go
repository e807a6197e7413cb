package keyward

import "time"

// Group holds security objects and carries the policies for all of them.
type Group struct {
	ID          string
	AccountID   string
	Name        string // unique in the account
	Description string
	Policy      GroupPolicy
	CreatedAt   time.Time
	CreatedBy   string // actor
}

// GroupRole is what a member may do in a group. Users are administrators or auditors; an
// application is simply a member, which lets it use and create objects in the group.
type GroupRole string

const (
	GroupAdministrator GroupRole = "administrator"
	GroupAuditor       GroupRole = "auditor"
	GroupMemberApp     GroupRole = "member"
)

// GroupMember ties a user or an application to a group.
type GroupMember struct {
	GroupID       string
	PrincipalKind PrincipalKind
	PrincipalID   string
	Role          GroupRole
	CreatedAt     time.Time
}

// ValidateGroupRole checks that role suits the kind of principal.
func ValidateGroupRole(field string, kind PrincipalKind, role GroupRole) error {
	switch kind {
	case KindUser:
		if role != GroupAdministrator && role != GroupAuditor {
			return Invalid(field, "a user's group role must be %q or %q", GroupAdministrator, GroupAuditor)
		}
	case KindApp:
		if role != GroupMemberApp {
			return Invalid(field, "an application's group role must be %q", GroupMemberApp)
		}
	default:
		return Invalid(field, "unknown principal kind %q", kind)
	}
	return nil
}
