package keyward

import "fmt"

// Action names an operation for authorization and audit ("group.update").
type Action string

// scope says what an action's permission depends on.
type scope int

const (
	scopeSelf    scope = iota // any authenticated user, on their own things
	scopeAccount              // the account role decides
	scopeGroup                // the account role, or the role in the target's groups, decides
	scopeCrypto               // applications only, and only in their groups
)

type rule struct {
	scope scope
	write bool // changes state: auditors never may
	apps  bool // applications that are members of the target's groups may take it too
}

// Actions of the foundation. Later features add theirs to the same table.
const (
	ActLogin          Action = "session.login"
	ActLogout         Action = "session.logout"
	ActPasswordChange Action = "user.password.change"

	ActAccountCreate Action = "account.create"
	ActAccountRead   Action = "account.read"
	ActAccountUpdate Action = "account.update"
	ActAccountDelete Action = "account.delete"

	ActUserList   Action = "user.list"
	ActUserCreate Action = "user.create"
	ActUserUpdate Action = "user.update"
	ActUserRemove Action = "user.remove"

	ActGroupCreate  Action = "group.create"
	ActGroupRead    Action = "group.read"
	ActGroupUpdate  Action = "group.update"
	ActGroupDelete  Action = "group.delete"
	ActGroupMembers Action = "group.members.update"

	ActAppCreate     Action = "app.create"
	ActAppRead       Action = "app.read"
	ActAppUpdate     Action = "app.update"
	ActAppDelete     Action = "app.delete"
	ActAppCredential Action = "app.credential.update"

	ActAuditRead   Action = "audit.read"
	ActAuditVerify Action = "audit.verify"

	ActRootKeyRotate Action = "operator.root_key.rotate"
)

var rules = map[Action]rule{
	ActLogin:          {scope: scopeSelf, write: true},
	ActLogout:         {scope: scopeSelf, write: true},
	ActPasswordChange: {scope: scopeSelf, write: true},
	ActAccountCreate:  {scope: scopeSelf, write: true},
	ActAccountRead:    {scope: scopeSelf, write: false},
	ActAccountUpdate:  {scope: scopeAccount, write: true},
	ActAccountDelete:  {scope: scopeAccount, write: true},
	ActUserList:       {scope: scopeAccount, write: false},
	ActUserCreate:     {scope: scopeAccount, write: true},
	ActUserUpdate:     {scope: scopeAccount, write: true},
	ActUserRemove:     {scope: scopeAccount, write: true},
	ActGroupCreate:    {scope: scopeSelf, write: true},
	ActGroupRead:      {scope: scopeGroup, write: false},
	ActGroupUpdate:    {scope: scopeGroup, write: true},
	ActGroupDelete:    {scope: scopeGroup, write: true},
	ActGroupMembers:   {scope: scopeGroup, write: true},
	ActAppCreate:      {scope: scopeGroup, write: true},
	ActAppRead:        {scope: scopeGroup, write: false},
	ActAppUpdate:      {scope: scopeGroup, write: true},
	ActAppDelete:      {scope: scopeGroup, write: true},
	ActAppCredential:  {scope: scopeGroup, write: true},
	ActAuditRead:      {scope: scopeAccount, write: false},
	ActAuditVerify:    {scope: scopeAccount, write: false},
}

// RegisterAction adds an action to the authorization table. Feature packages call it from
// init; registering an action twice is a programming error.
func RegisterAction(a Action, crypto, write bool, group bool) {
	if _, dup := rules[a]; dup {
		panic("keyward: action registered twice: " + string(a))
	}
	s := scopeAccount
	switch {
	case crypto:
		s = scopeCrypto
	case group:
		s = scopeGroup
	}
	rules[a] = rule{scope: s, write: write}
}

// AllowApps lets applications that are members of every group of the target take a
// group-scoped action (creating and managing objects in their groups).
func AllowApps(a Action) {
	r, ok := rules[a]
	if !ok || r.scope != scopeGroup {
		panic("keyward: AllowApps on an action that is not group-scoped: " + string(a))
	}
	r.apps = true
	rules[a] = r
}

// IsCrypto reports whether a is a cryptographic operation (applications only).
func (a Action) IsCrypto() bool { return rules[a].scope == scopeCrypto }

// IsWrite reports whether a changes state.
func (a Action) IsWrite() bool { return rules[a].write }

// Known reports whether a is in the authorization table.
func (a Action) Known() bool { _, ok := rules[a]; return ok }

// Authorize decides whether p may perform a. For group-scoped and cryptographic actions,
// groupRoles holds p's role in each group the target belongs to, one entry per group, ""
// where p has none. A write needs the role in every one of them, a read in any of them.
// It returns nil or an EFORBIDDEN error.
func Authorize(p Principal, a Action, groupRoles []GroupRole) error {
	r, ok := rules[a]
	if !ok {
		return Errorf(EINTERNAL, "unknown action %q", a)
	}
	if allowed(p, a, r, groupRoles) {
		return nil
	}
	return Errorf(EFORBIDDEN, "%s may not %s", describe(p), a)
}

func allowed(p Principal, a Action, r rule, groupRoles []GroupRole) bool {
	if r.scope == scopeCrypto {
		// Users manage keys; only applications use them. This is the one place that says so.
		return p.IsApp() && len(groupRoles) > 0 && all(groupRoles, GroupMemberApp)
	}
	if p.IsApp() {
		// Applications read their own account and groups, and take the group actions
		// registered with AllowApps in the groups they belong to.
		if r.apps {
			return len(groupRoles) > 0 && all(groupRoles, GroupMemberApp)
		}
		switch a {
		case ActAccountRead:
			return true
		case ActGroupRead:
			return anyRole(groupRoles)
		}
		return false
	}
	if r.write && p.Role == RoleAuditor {
		return false
	}
	switch r.scope {
	case scopeSelf:
		return true
	case scopeAccount:
		return p.Role == RoleAdmin || (p.Role == RoleAuditor && !r.write)
	case scopeGroup:
		if p.Role == RoleAdmin || (p.Role == RoleAuditor && !r.write) {
			return true
		}
		if r.write {
			return len(groupRoles) > 0 && all(groupRoles, GroupAdministrator)
		}
		return anyRole(groupRoles) // any role in one of the target's groups lets a member read it
	}
	return false
}

func all(roles []GroupRole, want GroupRole) bool {
	for _, r := range roles {
		if r != want {
			return false
		}
	}
	return true
}

func anyRole(roles []GroupRole) bool {
	for _, r := range roles {
		if r != "" {
			return true
		}
	}
	return false
}

func describe(p Principal) string {
	if p.IsApp() {
		return fmt.Sprintf("application %q", p.Name)
	}
	return fmt.Sprintf("user %q (account role %s)", p.Name, p.Role)
}
