package api

import "time"

// LoginRequest opens a session. Account may be empty when the user belongs to one account.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Account  string `json:"account,omitempty"`
}

// Validate checks the request's shape.
func (r *LoginRequest) Validate() error {
	if r.Email == "" {
		return FieldError("email", "is required")
	}
	if r.Password == "" {
		return FieldError("password", "is required")
	}
	return nil
}

// LoginResponse carries the session token, shown once.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Session   Session   `json:"session"`
}

// Session describes the caller.
type Session struct {
	Kind      string `json:"kind"` // "user" or "app"
	ID        string `json:"id"`
	Name      string `json:"name"`
	AccountID string `json:"account_id"`
	Role      string `json:"role,omitempty"` // account role of a user
}

// PasswordChange changes the caller's password.
type PasswordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// Validate checks the request's shape.
func (r *PasswordChange) Validate() error {
	if r.CurrentPassword == "" {
		return FieldError("current_password", "is required")
	}
	if r.NewPassword == "" {
		return FieldError("new_password", "is required")
	}
	return nil
}

// Account is an isolated tenant.
type Account struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	MyRole      string    `json:"my_role,omitempty"`
}

// AccountList is a list of accounts.
type AccountList struct {
	Items []Account `json:"items"`
}

// AccountCreate creates an account.
type AccountCreate struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Validate checks the request's shape.
func (r *AccountCreate) Validate() error { return required("name", r.Name) }

// AccountUpdate changes an account; absent fields stay as they are.
type AccountUpdate struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
}

// Validate checks the request's shape.
func (r *AccountUpdate) Validate() error { return nil }

// User is a user of the caller's account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled,omitempty"`
	// Groups are the user's groups with their role, and Azure state (GET /v1/users/{id}).
	Groups []Group `json:"groups,omitempty"`
}

// UserList is a page of users.
type UserList struct {
	Items []User `json:"items"`
	Next  string `json:"next,omitempty"`
}

// UserCreate adds a user to the account. Password is needed when the email is new.
type UserCreate struct {
	Email    string `json:"email"`
	Password string `json:"password,omitempty"`
	Role     string `json:"role"`
}

// Validate checks the request's shape.
func (r *UserCreate) Validate() error {
	if err := required("email", r.Email); err != nil {
		return err
	}
	return oneOf("role", r.Role, "admin", "member", "auditor")
}

// UserUpdate changes a user's role in the account.
type UserUpdate struct {
	Role string `json:"role"`
}

// Validate checks the request's shape.
func (r *UserUpdate) Validate() error { return oneOf("role", r.Role, "admin", "member", "auditor") }

// Group holds security objects and their policies.
type Group struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	CreatedBy   string      `json:"created_by"`
	MyRole      string      `json:"my_role,omitempty"`
	Azure       *GroupAzure `json:"azure,omitempty"` // set on Azure groups
	// Policy is what the group requires of its objects; absent when it requires nothing.
	Policy *GroupPolicy `json:"policy,omitempty"`
}

// GroupPolicy is what a group requires of every object created or changed in it. Empty
// lists and zero values allow everything.
type GroupPolicy struct {
	Crypto   CryptoPolicy   `json:"crypto"`
	Metadata MetadataPolicy `json:"metadata"`
	Quorum   QuorumPolicy   `json:"quorum"`
}

// QuorumPolicy holds the listed actions until Required of the Approvers agree (M of N);
// required 0 means no quorum. Actions: object.export, object.destroy, group.update (the
// policy itself included), group.delete.
type QuorumPolicy struct {
	Required  int      `json:"required,omitempty"`
	Approvers []string `json:"approvers,omitempty"` // user ids
	Actions   []string `json:"actions,omitempty"`
}

// CryptoPolicy limits the keys a group may hold and what applications may do with them.
type CryptoPolicy struct {
	Types      []string `json:"types,omitempty"`      // AES, RSA, EC, HMAC, SECRET, CERTIFICATE
	AESSizes   []int    `json:"aes_sizes,omitempty"`  // 128, 192, 256
	RSASizes   []int    `json:"rsa_sizes,omitempty"`  // 2048, 3072, 4096
	Curves     []string `json:"curves,omitempty"`     // P-256, P-384, P-521, secp256k1
	Operations []string `json:"operations,omitempty"` // the cryptographic operations applications may perform
}

// MetadataPolicy is what every object's metadata must say.
type MetadataPolicy struct {
	RequiredTags        []string `json:"required_tags,omitempty"`        // tag keys every object carries with a value
	AllowedTags         []string `json:"allowed_tags,omitempty"`         // the only other tag keys allowed
	RequireActivation   bool     `json:"require_activation,omitempty"`   // an activation date must be given
	RequireDeactivation bool     `json:"require_deactivation,omitempty"` // a deactivation date must be given
	MaxLifetimeDays     int      `json:"max_lifetime_days,omitempty"`    // at most this long from activation to deactivation
	Operations          []string `json:"operations,omitempty"`           // the permitted operations objects may be given
	ForbidExport        bool     `json:"forbid_export,omitempty"`        // no object may permit EXPORT
}

// GroupAzure says which vault an Azure group is linked to and whether it is connected.
type GroupAzure struct {
	VaultKind string `json:"vault_kind"` // standard, premium, managed-hsm
	Vault     string `json:"vault"`
	Status    string `json:"status"` // connected, not-connected
	Reason    string `json:"reason,omitempty"`
}

// GroupList is a page of groups.
type GroupList struct {
	Items []Group `json:"items"`
	Next  string  `json:"next,omitempty"`
}

// GroupCreate creates a group.
type GroupCreate struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Validate checks the request's shape.
func (r *GroupCreate) Validate() error { return required("name", r.Name) }

// GroupUpdate changes a group; absent fields stay as they are.
type GroupUpdate struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	// Policy replaces the group's whole policy; an empty policy removes it.
	Policy *GroupPolicy `json:"policy,omitempty"`
}

// Validate checks the request's shape.
func (r *GroupUpdate) Validate() error { return nil }

// GroupMember is a user or application in a group.
type GroupMember struct {
	Kind        string    `json:"kind"` // "user" or "app"
	PrincipalID string    `json:"principal_id"`
	Role        string    `json:"role"` // users: administrator | auditor; apps: member
	CreatedAt   time.Time `json:"created_at"`
}

// GroupMemberList lists a group's members.
type GroupMemberList struct {
	Items []GroupMember `json:"items"`
}

// GroupMemberSet adds a member or changes its role.
type GroupMemberSet struct {
	Role string `json:"role"`
}

// Validate checks the request's shape.
func (r *GroupMemberSet) Validate() error {
	return oneOf("role", r.Role, "administrator", "auditor", "member")
}

// App is an application: the principal that performs cryptographic operations.
type App struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Description      string    `json:"description,omitempty"`
	Groups           []string  `json:"groups"`
	HasAPIKey        bool      `json:"has_api_key"`
	CertFingerprints []string  `json:"cert_fingerprints,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	CreatedBy        string    `json:"created_by"`
	Disabled         bool      `json:"disabled,omitempty"`
}

// AppList is a page of applications.
type AppList struct {
	Items []App  `json:"items"`
	Next  string `json:"next,omitempty"`
}

// AppCreate creates an application.
type AppCreate struct {
	Name         string   `json:"name"`
	Description  string   `json:"description,omitempty"`
	Groups       []string `json:"groups,omitempty"`
	Certificates []string `json:"certificates,omitempty"` // PEM TLS client certificates
	NoAPIKey     bool     `json:"no_api_key,omitempty"`
}

// Validate checks the request's shape.
func (r *AppCreate) Validate() error { return required("name", r.Name) }

// AppUpdate changes an application; absent fields stay as they are.
type AppUpdate struct {
	Name         *string   `json:"name,omitempty"`
	Description  *string   `json:"description,omitempty"`
	Groups       *[]string `json:"groups,omitempty"`
	Certificates *[]string `json:"certificates,omitempty"`
	Disabled     *bool     `json:"disabled,omitempty"`
}

// Validate checks the request's shape.
func (r *AppUpdate) Validate() error { return nil }

// AppCreated is a new application and its API key, which is shown only this once.
type AppCreated struct {
	App    App    `json:"app"`
	APIKey string `json:"api_key,omitempty"`
}

// APIKey is a regenerated API key, shown only this once.
type APIKey struct {
	APIKey string `json:"api_key"`
}

// AuditRecord is one entry of the audit trail.
type AuditRecord struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	ActorName string    `json:"actor_name,omitempty"`
	Action    string    `json:"action"`
	Target    string    `json:"target,omitempty"`
	Outcome   string    `json:"outcome"`
	RequestID string    `json:"request_id,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	PrevHash  string    `json:"prev_hash"`
	Hash      string    `json:"hash"`
}

// AuditList is a page of audit records; pass Next as after_seq for the next page.
type AuditList struct {
	Items []AuditRecord `json:"items"`
	Next  int64         `json:"next,omitempty"`
}

// AuditVerification is the result of walking the account's hash chain.
type AuditVerification struct {
	OK       bool   `json:"ok"`
	Checked  int64  `json:"checked"`
	FirstBad int64  `json:"first_bad,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Empty is the body of responses that carry nothing.
type Empty struct{}

func required(field, v string) error {
	if v == "" {
		return FieldError(field, "is required")
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	if v == "" {
		return FieldError(field, "is required (one of %v)", allowed)
	}
	return FieldError(field, "must be one of %v, not %q", allowed, v)
}
