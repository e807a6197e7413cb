package keyward

// PrincipalKind tells users (who manage) from applications (who use keys).
type PrincipalKind string

const (
	KindUser PrincipalKind = "user"
	KindApp  PrincipalKind = "app"
	// KindOperator is whoever runs the keyward binary on the server itself (keyward dev,
	// keyward operator ...): it appears in audit records, never in an API request.
	KindOperator PrincipalKind = "operator"
)

// Principal is an authenticated caller acting inside one account.
type Principal struct {
	Kind      PrincipalKind
	ID        string
	Name      string // the user's email or the application's name, for audit and display
	AccountID string
	Role      AccountRole // users only; empty for applications
	SessionID string      // users only
}

// Actor is how the principal appears in audit records: "user:ID" or "app:ID".
func (p Principal) Actor() string {
	if p.Kind == KindOperator {
		return "operator"
	}
	if p.ID == "" {
		return "anonymous"
	}
	return string(p.Kind) + ":" + p.ID
}

// IsUser reports whether the principal is a user.
func (p Principal) IsUser() bool { return p.Kind == KindUser }

// IsApp reports whether the principal is an application.
func (p Principal) IsApp() bool { return p.Kind == KindApp }
