package api

import (
	"net/http"
	"time"
)

// Key is a security object: a key, an opaque secret or a certificate. It never carries
// key material; Export does, when the key permits EXPORT.
type Key struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	Group            string            `json:"group"`
	Type             string            `json:"type"` // AES, RSA, EC, HMAC, SECRET, CERTIFICATE
	Size             int               `json:"size,omitempty"`
	Curve            string            `json:"curve,omitempty"`
	PublicOnly       bool              `json:"public_only,omitempty"`
	Ops              []string          `json:"ops"`
	State            string            `json:"state"` // pre-active, active, deactivated, compromised, destroyed
	ActivationDate   *time.Time        `json:"activation_date,omitempty"`
	DeactivationDate *time.Time        `json:"deactivation_date,omitempty"`
	CompromisedAt    *time.Time        `json:"compromised_at,omitempty"`
	DestroyedAt      *time.Time        `json:"destroyed_at,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	Origin           string            `json:"origin"` // generated, imported, copied, rotated
	KCV              string            `json:"kcv,omitempty"`
	Certificate      *CertificateInfo  `json:"certificate,omitempty"`
	Azure            *KeyAzure         `json:"azure,omitempty"` // set on virtual keys
	CreatedAt        time.Time         `json:"created_at"`
	CreatedBy        string            `json:"created_by"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

// CertificateInfo describes a certificate object.
type CertificateInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	KeyType   string    `json:"key_type"`
}

// KeyAzure is the Azure side of a virtual key: one version of a key that lives in Azure.
type KeyAzure struct {
	Vault          string     `json:"vault"`
	KeyName        string     `json:"key_name"`
	Version        string     `json:"version"`
	KID            string     `json:"kid"`
	Protection     string     `json:"protection"` // software, hsm
	Source         string     `json:"source"`     // azure (born in Azure), keyward (imported from Keyward)
	SourceKey      string     `json:"source_key,omitempty"`
	KeyType        string     `json:"key_type"` // Azure's kty
	State          string     `json:"state"`    // enabled, disabled, soft-deleted, purged
	Current        bool       `json:"current"`
	Ops            []string   `json:"ops,omitempty"`
	NotBefore      *time.Time `json:"not_before,omitempty"`
	Expires        *time.Time `json:"expires,omitempty"`
	Created        *time.Time `json:"created,omitempty"`
	Updated        *time.Time `json:"updated,omitempty"`
	RecoveryLevel  string     `json:"recovery_level,omitempty"`
	DeletedAt      *time.Time `json:"deleted_at,omitempty"`
	ScheduledPurge *time.Time `json:"scheduled_purge,omitempty"`
}

// KeyList is a page of keys; pass Next as after for the next page.
type KeyList struct {
	Items []Key  `json:"items"`
	Next  string `json:"next,omitempty"`
}

// KeySpec is what every new key says: where it goes and how it may be used.
type KeySpec struct {
	Name             string            `json:"name"`
	Description      string            `json:"description,omitempty"`
	Group            string            `json:"group"`         // id or name
	Ops              []string          `json:"ops,omitempty"` // default: every use of the type except EXPORT and APPMANAGEABLE
	Tags             map[string]string `json:"tags,omitempty"`
	ActivationDate   *time.Time        `json:"activation_date,omitempty"` // default: now
	DeactivationDate *time.Time        `json:"deactivation_date,omitempty"`
}

func (k *KeySpec) validate() error {
	if err := required("name", k.Name); err != nil {
		return err
	}
	return required("group", k.Group)
}

// KeyCreate generates a key inside Keyward.
type KeyCreate struct {
	KeySpec
	Type  string `json:"type"`            // AES, RSA, EC, HMAC, SECRET
	Size  int    `json:"size,omitempty"`  // bits: AES 128/192/256, RSA 2048/3072/4096, HMAC 128-512, SECRET
	Curve string `json:"curve,omitempty"` // EC: P-256, P-384, P-521, secp256k1
}

// Validate checks the request's shape.
func (r *KeyCreate) Validate() error {
	if err := r.KeySpec.validate(); err != nil {
		return err
	}
	if err := oneOf("type", r.Type, "AES", "RSA", "EC", "HMAC", "SECRET"); err != nil {
		return err
	}
	if r.Type == "EC" && r.Curve == "" {
		return FieldError("curve", "is required for EC keys (P-256, P-384, P-521 or secp256k1)")
	}
	if r.Type != "EC" && r.Size == 0 {
		return FieldError("size", "is required for %s keys", r.Type)
	}
	return nil
}

// KeyImport imports key material: raw, base64, hex, PEM, DER (PKCS#1, PKCS#8, SEC1, SPKI,
// X.509) or JWK, optionally wrapped by a Keyward key named as the key-encryption key.
type KeyImport struct {
	KeySpec
	Type          string `json:"type,omitempty"`   // required for raw/base64/hex symmetric material
	Format        string `json:"format,omitempty"` // auto (default), raw, base64, hex, pem, der, jwk
	Material      []byte `json:"material"`         // the bytes of the file, base64 in JSON
	KEK           string `json:"kek,omitempty"`    // id or name of a key permitting UNWRAPKEY
	WrapAlgorithm string `json:"wrap_algorithm,omitempty"`
}

// Validate checks the request's shape.
func (r *KeyImport) Validate() error {
	if err := r.KeySpec.validate(); err != nil {
		return err
	}
	if len(r.Material) == 0 {
		return FieldError("material", "is required (base64 of the key file's bytes)")
	}
	if r.KEK != "" && r.WrapAlgorithm == "" {
		return FieldError("wrap_algorithm", "is required with kek (AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256)")
	}
	return nil
}

// KeyUpdate changes a key's metadata; absent fields stay as they are.
type KeyUpdate struct {
	Name             *string            `json:"name,omitempty"`
	Description      *string            `json:"description,omitempty"`
	Tags             *map[string]string `json:"tags,omitempty"`
	Ops              *[]string          `json:"ops,omitempty"`
	ActivationDate   *time.Time         `json:"activation_date,omitempty"`
	DeactivationDate *time.Time         `json:"deactivation_date,omitempty"`
}

// Validate checks the request's shape.
func (r *KeyUpdate) Validate() error { return nil }

// KeyExport asks for a key's material, plain in a format or wrapped by another key.
type KeyExport struct {
	Format        string `json:"format,omitempty"` // pem (default), der, jwk, raw, base64, hex
	KEK           string `json:"kek,omitempty"`    // id or name of a key permitting WRAPKEY
	WrapAlgorithm string `json:"wrap_algorithm,omitempty"`
}

// Validate checks the request's shape.
func (r *KeyExport) Validate() error {
	if r.KEK != "" && r.WrapAlgorithm == "" {
		return FieldError("wrap_algorithm", "is required with kek (AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256)")
	}
	return nil
}

// KeyExported is exported key material.
type KeyExported struct {
	KeyID    string `json:"key_id"`
	Format   string `json:"format"`
	Wrapped  bool   `json:"wrapped,omitempty"`
	Material []byte `json:"material"`
}

// KeyCopy copies a key into another group.
type KeyCopy struct {
	Group string `json:"group"`          // id or name
	Name  string `json:"name,omitempty"` // default: NAME_copy1, NAME_copy2, ... the first free
}

// Validate checks the request's shape.
func (r *KeyCopy) Validate() error { return required("group", r.Group) }

// KeyRotate replaces a key with new material of the same type.
type KeyRotate struct {
	DeactivateOld bool `json:"deactivate_old,omitempty"`
	// AzureCopies are linked Azure copies (ids or names of their virtual keys, or "all") to
	// rotate to the new material too, each by a job (GET /v1/keys/{id}/azure-copies).
	AzureCopies []string `json:"azure_copies,omitempty"`
}

// Validate checks the request's shape.
func (r *KeyRotate) Validate() error { return nil }

// KeyRotated is the new key and the old one it replaced.
type KeyRotated struct {
	New  Key   `json:"new"`
	Old  Key   `json:"old"`
	Jobs []Job `json:"jobs,omitempty"` // the rotations of the chosen Azure copies
}

// KeyLink relates two keys: copies and rotations, seen from one of them.
type KeyLink struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`      // copy, rotation
	Direction   string    `json:"direction"` // copied-to, copied-from, replaced-by, replaces
	Other       string    `json:"other"`     // the other key's id
	TargetGroup string    `json:"target_group"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// KeyLinks lists a key's links.
type KeyLinks struct {
	Items []KeyLink `json:"items"`
}

var keyParams = append([]Param{
	{"group", "string", "only keys in this group"},
	{"type", "string", "AES, RSA, EC, HMAC, SECRET or CERTIFICATE"},
	{"state", "string", "pre-active, active, deactivated, compromised or destroyed (effective now)"},
	{"tag", "string", "key or key=value"},
	{"name_prefix", "string", "names starting with this"},
	{"name", "string", "exactly this name"},
}, pageParams...)

func init() {
	Routes = append(Routes,
		Route{ID: "listKeys", Method: http.MethodGet, Path: "/v1/keys", Tag: "keys", Summary: "List the keys the caller may see, by name", Auth: AuthAny, Response: KeyList{}, Status: 200, Query: keyParams},
		Route{ID: "createKey", Method: http.MethodPost, Path: "/v1/keys", Tag: "keys", Summary: "Generate a key inside Keyward", Auth: AuthAny, Request: &KeyCreate{}, Response: Key{}, Status: 201},
		Route{ID: "importKey", Method: http.MethodPost, Path: "/v1/keys/import", Tag: "keys", Summary: "Import key material, optionally unwrapping it with a Keyward key", Auth: AuthAny, Request: &KeyImport{}, Response: Key{}, Status: 201},
		Route{ID: "getKey", Method: http.MethodGet, Path: "/v1/keys/{id}", Tag: "keys", Summary: "Get a key by id or name", Auth: AuthAny, Response: Key{}, Status: 200},
		Route{ID: "updateKey", Method: http.MethodPatch, Path: "/v1/keys/{id}", Tag: "keys", Summary: "Change a key's name, description, tags, operations or dates", Auth: AuthAny, Request: &KeyUpdate{}, Response: Key{}, Status: 200},
		Route{ID: "exportKey", Method: http.MethodPost, Path: "/v1/keys/{id}/export", Tag: "keys", Summary: "Export a key that permits EXPORT, plain or wrapped", Auth: AuthAny, Request: &KeyExport{}, Response: KeyExported{}, Status: 200},
		Route{ID: "copyKey", Method: http.MethodPost, Path: "/v1/keys/{id}/copy", Tag: "keys", Summary: "Copy a key that permits EXPORT into another group", Auth: AuthAny, Request: &KeyCopy{}, Response: Key{}, Status: 201},
		Route{ID: "rotateKey", Method: http.MethodPost, Path: "/v1/keys/{id}/rotate", Tag: "keys", Summary: "Replace a key with new material; the name moves to the new key", Auth: AuthAny, Request: &KeyRotate{}, Response: KeyRotated{}, Status: 201},
		Route{ID: "activateKey", Method: http.MethodPost, Path: "/v1/keys/{id}/activate", Tag: "keys", Summary: "Activate a pre-active key", Auth: AuthAny, Response: Key{}, Status: 200},
		Route{ID: "deactivateKey", Method: http.MethodPost, Path: "/v1/keys/{id}/deactivate", Tag: "keys", Summary: "Deactivate a key: it may still decrypt and verify, not encrypt or sign", Auth: AuthAny, Response: Key{}, Status: 200},
		Route{ID: "compromiseKey", Method: http.MethodPost, Path: "/v1/keys/{id}/compromise", Tag: "keys", Summary: "Mark a key compromised", Auth: AuthAny, Response: Key{}, Status: 200},
		Route{ID: "destroyKey", Method: http.MethodPost, Path: "/v1/keys/{id}/destroy", Tag: "keys", Summary: "Destroy a key's material for good (its metadata and audit stay)", Auth: AuthAny, Response: Key{}, Status: 200},
		Route{ID: "keyLinks", Method: http.MethodGet, Path: "/v1/keys/{id}/links", Tag: "keys", Summary: "List a key's copies and rotations, both ways", Auth: AuthAny, Response: KeyLinks{}, Status: 200},
	)
}
