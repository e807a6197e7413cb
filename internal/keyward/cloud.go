package keyward

import (
	"context"
	"errors"
	"time"
)

// Cloud is an Azure cloud: the public one, a national one, or one given by its endpoints.
type Cloud string

const (
	CloudPublic     Cloud = "public"
	CloudUSGov      Cloud = "usgov"
	CloudChina      Cloud = "china"
	CloudCustomName Cloud = "custom"
)

// CloudEndpoints are a cloud's addresses. Known clouds fill them in; a custom cloud names
// them all.
type CloudEndpoints struct {
	Authority   string `json:"authority"`    // Entra: https://login.microsoftonline.com/
	ARM         string `json:"arm"`          // Resource Manager: https://management.azure.com
	ARMAudience string `json:"arm_audience"` // the token audience for ARM
	VaultSuffix string `json:"vault_suffix"` // .vault.azure.net
	HSMSuffix   string `json:"hsm_suffix"`   // .managedhsm.azure.net
}

// KnownClouds are the endpoints of the clouds Keyward knows by name.
var KnownClouds = map[Cloud]CloudEndpoints{
	CloudPublic: {Authority: "https://login.microsoftonline.com/", ARM: "https://management.azure.com",
		ARMAudience: "https://management.core.windows.net/", VaultSuffix: ".vault.azure.net", HSMSuffix: ".managedhsm.azure.net"},
	CloudUSGov: {Authority: "https://login.microsoftonline.us/", ARM: "https://management.usgovcloudapi.net",
		ARMAudience: "https://management.core.usgovcloudapi.net/", VaultSuffix: ".vault.usgovcloudapi.net", HSMSuffix: ".managedhsm.usgovcloudapi.net"},
	CloudChina: {Authority: "https://login.chinacloudapi.cn/", ARM: "https://management.chinacloudapi.cn",
		ARMAudience: "https://management.core.chinacloudapi.cn/", VaultSuffix: ".vault.azure.cn", HSMSuffix: ".managedhsm.azure.cn"},
}

// CloudCredential is an Azure app registration Keyward signs in with. Its secret (a client
// secret, or a certificate's private key) is sealed and never leaves the server.
type CloudCredential struct {
	ID             string
	AccountID      string
	Name           string // unique in the account
	Description    string
	Cloud          Cloud
	Endpoints      CloudEndpoints // filled in for known clouds
	TenantID       string
	ClientID       string
	SubscriptionID string
	// AuthMethod is "secret" or "certificate"; CertificatePEM is the certificate (public)
	// when it is "certificate".
	AuthMethod     string
	CertificatePEM string
	CreatedAt      time.Time
	CreatedBy      string
	UpdatedAt      time.Time
}

// CloudSecret is a credential's secret, unsealed for the connector only.
type CloudSecret struct {
	ClientSecret string // AuthMethod "secret"
	PrivateKey   []byte // AuthMethod "certificate": the certificate's private key, PEM
}

// VaultKind is the kind of Azure key store a group is linked to.
type VaultKind string

const (
	VaultStandard   VaultKind = "standard"    // Key Vault Standard: software keys only
	VaultPremium    VaultKind = "premium"     // Key Vault Premium: software and HSM keys
	VaultManagedHSM VaultKind = "managed-hsm" // Managed HSM: HSM keys only, and AES
)

// VaultInfo is what Azure Resource Manager and the vault say about a vault or managed HSM.
type VaultInfo struct {
	Kind                  VaultKind `json:"kind"`
	Name                  string    `json:"name"`
	URI                   string    `json:"uri"` // https://{name}.vault.azure.net/
	ResourceID            string    `json:"resource_id"`
	Location              string    `json:"location"`
	SKU                   string    `json:"sku"`
	SoftDelete            bool      `json:"soft_delete"`
	RetentionDays         int       `json:"retention_days"`
	PurgeProtection       bool      `json:"purge_protection"`
	SecurityDomainPending bool      `json:"security_domain_pending,omitempty"` // an MHSM not yet activated
}

// TLSSettings shape the connection from Keyward to Azure (Keyward reaches the emulator
// the same way).
type TLSSettings struct {
	CACertPEM      string `json:"ca_cert_pem,omitempty"`     // trust these instead of the system roots
	ClientCertPEM  string `json:"client_cert_pem,omitempty"` // a client certificate for the path (its key is sealed apart)
	SkipHostVerify bool   `json:"skip_host_verify,omitempty"`
	ProxyURL       string `json:"proxy_url,omitempty"` // an HTTPS proxy (CONNECT)
}

// AzureLink ties a group to one vault or managed HSM. Only the credential and the TLS
// settings may change after it is made; the vault is fixed.
type AzureLink struct {
	GroupID      string
	AccountID    string
	CredentialID string
	Vault        VaultInfo
	TLS          TLSSettings
	// Status is "connected" or "not-connected"; Reason says why when not.
	Status    string
	Reason    string
	CheckedAt time.Time
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
}

// Link statuses.
const (
	LinkConnected    = "connected"
	LinkNotConnected = "not-connected"
)

// CloudRef marks an object as a virtual key: one version of a key that lives in Azure.
// Keyward holds no private material for it.
type CloudRef struct {
	Vault      string `json:"vault"`      // vault or managed HSM name
	KeyName    string `json:"key_name"`   // the Azure key's name
	Version    string `json:"version"`    // 32 lowercase hex characters
	KID        string `json:"kid"`        // https://{vault}/keys/{name}/{version}
	Protection string `json:"protection"` // "software" or "hsm"
	// Source says where the material came from: "azure" (born in Azure) or "keyward"
	// (imported from Keyward; SourceObjectID names the Keyward key, when known).
	Source         string `json:"source"`
	SourceObjectID string `json:"source_object_id,omitempty"`
	KeyType        string `json:"key_type"` // Azure's kty: RSA, RSA-HSM, EC, EC-HSM, oct-HSM
	// State is Azure's: "enabled", "disabled", "soft-deleted" or "purged".
	State          string    `json:"state"`
	Current        bool      `json:"current"` // the key's latest version
	Ops            []string  `json:"ops,omitempty"`
	NotBefore      time.Time `json:"not_before,omitzero"`
	Expires        time.Time `json:"expires,omitzero"`
	Created        time.Time `json:"created,omitzero"`
	Updated        time.Time `json:"updated,omitzero"`
	RecoveryLevel  string    `json:"recovery_level,omitempty"`
	DeletedAt      time.Time `json:"deleted_at,omitzero"`
	ScheduledPurge time.Time `json:"scheduled_purge,omitzero"`
}

// Azure key states as Keyward shows them.
const (
	CloudEnabled     = "enabled"
	CloudDisabled    = "disabled"
	CloudSoftDeleted = "soft-deleted"
	CloudPurged      = "purged"
)

// Escrow is a key's Azure backup blob, held by Keyward (sealed) so that a native key can
// be restored after it was purged in Azure.
type Escrow struct {
	GroupID   string
	KeyName   string
	Blob      []byte // sealed at rest
	Versions  int
	TakenAt   time.Time
	AccountID string
}

// CloudKey is one key version as the connector reports it.
type CloudKey struct {
	Name, Version, KID string
	KeyType            string   // kty
	Curve              string   // EC
	Size               int      // RSA modulus bits, oct bits
	Ops                []string // key_ops
	Enabled            bool
	NotBefore, Expires time.Time
	Created, Updated   time.Time
	RecoveryLevel      string
	Exportable         bool
	Managed            bool // backs a certificate
	Tags               map[string]string
	PublicJWK          []byte // the public part as Azure returns it (JSON), for KEKs and checks
}

// CloudKeyItem is one key in a listing: its current version's attributes, without the
// key material (the listing gives no kty).
type CloudKeyItem struct {
	Name      string
	KID       string // the base id, without version
	Enabled   bool
	NotBefore time.Time
	Expires   time.Time
	Created   time.Time
	Updated   time.Time
	Managed   bool
	Tags      map[string]string
}

// CloudDeletedKey is a soft-deleted key.
type CloudDeletedKey struct {
	Name           string
	RecoveryID     string
	DeletedAt      time.Time
	ScheduledPurge time.Time
	Current        *CloudKey // its latest version as deleted (may be nil in listings)
}

// CloudKeySpec is a key to generate in Azure.
type CloudKeySpec struct {
	KeyType   string // RSA, RSA-HSM, EC, EC-HSM, oct-HSM
	Size      int    // RSA 2048/3072/4096; oct 128/192/256
	Curve     string // P-256, P-384, P-521, P-256K
	Ops       []string
	Enabled   bool
	NotBefore time.Time
	Expires   time.Time
	Tags      map[string]string
}

// CloudImport is key material to import into Azure: either a JWK with the private parts,
// sent over TLS (software protection, or HSM with HSM true), or a BYOK transfer file wrapped
// under a key-exchange key of the same vault (HSM protection).
type CloudImport struct {
	JWK       []byte // Azure JWK JSON (kcrypto.Key.AzureJWK)
	BYOK      []byte // a .byok transfer file (kcrypto.BYOK.Marshal)
	KeyType   string // for BYOK: RSA-HSM, EC-HSM or oct-HSM
	Curve     string // for BYOK of EC keys
	HSM       bool
	Ops       []string
	Enabled   bool
	NotBefore time.Time
	Expires   time.Time
	Tags      map[string]string
}

// CloudKeyUpdate changes a key version's attributes; nil fields stay.
type CloudKeyUpdate struct {
	Enabled   *bool
	NotBefore *time.Time
	Expires   *time.Time
	Ops       *[]string
	Tags      *map[string]string // replaces all tags
}

// CloudConnector opens vaults with a credential. Implemented by internal/azure.
type CloudConnector interface {
	// Discover signs in and lists the subscription's vaults and managed HSMs through Azure
	// Resource Manager. Errors carry Azure's reason (EUNAUTHENTICATED for a refused
	// sign-in, EFORBIDDEN for missing rights, EUNAVAILABLE when Azure cannot be reached).
	Discover(ctx context.Context, cred *CloudCredential, secret CloudSecret, tls TLSSettings, tlsKey []byte) ([]VaultInfo, error)
	// Open returns a vault client. It does not call Azure.
	Open(cred *CloudCredential, secret CloudSecret, link *AzureLink, tlsKey []byte) (CloudVault, error)
}

// CloudVault is one vault or managed HSM. Every method calls Azure at most once per page
// or item and maps Azure's errors: ENOTFOUND (404), ECONFLICT (409, e.g. a soft-deleted
// name), EFORBIDDEN (403, with Azure's reason), EUNAUTHENTICATED (401), EINVALID (400),
// ERATELIMIT (429, with the wait in RetryAfter), EUNAVAILABLE (5xx, timeouts, resets).
// Implementations keep within the vault's throttling budget and retry 429s and transient
// failures a bounded number of times before returning the error. Azure applies deletes
// and recovers asynchronously: DeleteKey and RecoverKey also read the key back until the
// change shows, so callers never meet the window in between.
type CloudVault interface {
	// Probe reads the vault's properties (Resource Manager) and checks the data plane
	// answers with the credential.
	Probe(ctx context.Context) (*VaultInfo, error)
	// ListKeys calls fn for every key (current version), one call per page.
	ListKeys(ctx context.Context, fn func(CloudKeyItem) error) error
	// ListDeletedKeys calls fn for every soft-deleted key (ENOTSUPPORTED without soft delete).
	ListDeletedKeys(ctx context.Context, fn func(CloudDeletedKey) error) error
	// ListVersions calls fn for every version of a key (kty not included; see GetKey).
	ListVersions(ctx context.Context, name string, fn func(CloudKey) error) error
	// GetKey returns a key version ("" for the latest) with its public part.
	GetKey(ctx context.Context, name, version string) (*CloudKey, error)
	CreateKey(ctx context.Context, name string, spec CloudKeySpec) (*CloudKey, error)
	// ImportKey imports material as a new version of name (a new key when name is new).
	ImportKey(ctx context.Context, name string, imp CloudImport) (*CloudKey, error)
	UpdateKey(ctx context.Context, name, version string, u CloudKeyUpdate) (*CloudKey, error)
	// DeleteKey deletes every version; with soft delete the key becomes a deleted key. A key
	// already soft-deleted is returned as it is, so that a retried job converges.
	DeleteKey(ctx context.Context, name string) (*CloudDeletedKey, error)
	GetDeletedKey(ctx context.Context, name string) (*CloudDeletedKey, error)
	// RecoverKey brings a soft-deleted key back with all its versions.
	RecoverKey(ctx context.Context, name string) (*CloudKey, error)
	// PurgeKey removes a soft-deleted key for good (EFORBIDDEN under purge protection).
	PurgeKey(ctx context.Context, name string) error
	// BackupKey returns the opaque backup blob of every version of a key.
	BackupKey(ctx context.Context, name string) ([]byte, error)
	// RestoreKey restores a backup blob (ECONFLICT while the name is in use or being purged).
	RestoreKey(ctx context.Context, blob []byte) (*CloudKey, error)
	// RotateKey makes a new version with new material generated by Azure. (A managed HSM
	// rotates only keys with a rotation policy; without one, the version is made by a create
	// of the same type, size and curve. AES keys, whose size Azure never returns, cannot.)
	RotateKey(ctx context.Context, name string) (*CloudKey, error)
	// Calls reports how many requests this client sent to Azure, by operation (for sync
	// reports and benchmarks).
	Calls() map[string]int
}

// RetryAfter returns the wait Azure asked for with an ERATELIMIT error, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
