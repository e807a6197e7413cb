package keyward

import "time"

// TenancyTx stores accounts, users, sessions, groups and applications, and server-wide
// values.
type TenancyTx interface {
	// GetMeta returns a server-wide value or ENOTFOUND; PutMeta sets it.
	GetMeta(key string) ([]byte, error)
	PutMeta(key string, value []byte) error

	CreateAccount(a *Account) error
	GetAccount(id string) (*Account, error)
	UpdateAccount(a *Account) error
	// DeleteAccount removes the account and everything in it except its audit records.
	DeleteAccount(id string) error

	// CreateUser returns ECONFLICT when the email is taken.
	CreateUser(u *User) error
	GetUser(id string) (*User, error)
	GetUserByEmail(email string) (*User, error)
	UpdateUser(u *User) error
	// DeleteUser removes the user, their memberships and sessions.
	DeleteUser(id string) error

	// PutAccountMember adds the user to the account or changes their role.
	PutAccountMember(m *AccountMember) error
	GetAccountMember(accountID, userID string) (*AccountMember, error)
	ListAccountMembers(accountID string, p Page) ([]AccountMember, error) // by user id
	ListUserAccounts(userID string) ([]AccountMember, error)
	// CountAccountAdmins counts the users with RoleAdmin in the account.
	CountAccountAdmins(accountID string) (int, error)
	// DeleteAccountMember removes the user from the account, its groups and its sessions.
	DeleteAccountMember(accountID, userID string) error

	CreateSession(s *Session) error
	GetSessionByTokenHash(hash []byte) (*Session, error)
	DeleteSession(id string) error
	// DeleteExpiredSessions removes sessions that expired before now.
	DeleteExpiredSessions(now time.Time) (int, error)

	// CreateGroup returns ECONFLICT when the name is taken in the account.
	CreateGroup(g *Group) error
	GetGroup(accountID, id string) (*Group, error)
	GetGroupByName(accountID, name string) (*Group, error)
	ListGroups(accountID string, p Page) ([]Group, error) // by name
	UpdateGroup(g *Group) error
	DeleteGroup(accountID, id string) error

	PutGroupMember(m *GroupMember) error
	DeleteGroupMember(groupID string, kind PrincipalKind, principalID string) error
	ListGroupMembers(groupID string) ([]GroupMember, error)
	// PrincipalGroups returns the memberships of a principal, by group id.
	PrincipalGroups(kind PrincipalKind, principalID string) ([]GroupMember, error)

	// CreateApp returns ECONFLICT when the name is taken in the account or a certificate
	// fingerprint is registered to another app.
	CreateApp(a *App) error
	GetApp(accountID, id string) (*App, error)
	// GetAppByID finds an app in any account: authentication does not know the account yet.
	GetAppByID(id string) (*App, error)
	GetAppByCertFingerprint(fingerprint string) (*App, error)
	ListApps(accountID string, p Page) ([]App, error) // by name
	UpdateApp(a *App) error
	DeleteApp(accountID, id string) error
}
