package api

import (
	"net/http"
	"time"
)

// AzureKeyOptions are what every way of putting a key into Azure shares.
type AzureKeyOptions struct {
	// Protection is software or hsm; empty for the vault's default (Standard: software;
	// Premium and Managed HSM: hsm). HSM-protected imports travel as a BYOK transfer blob.
	Protection string `json:"protection,omitempty"`
	// Ops are Azure key operations (encrypt, decrypt, wrapKey, unwrapKey, sign, verify);
	// empty for the type's defaults (a copy: the source's).
	Ops       []string          `json:"ops,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"` // Azure tags (at most 14: Keyward adds keyward-job)
	NotBefore *time.Time        `json:"not_before,omitempty"`
	Expires   *time.Time        `json:"expires,omitempty"`
}

func (o *AzureKeyOptions) validate() error {
	switch o.Protection {
	case "", "software", "hsm":
	default:
		return FieldError("protection", "must be software or hsm")
	}
	if o.NotBefore != nil && o.Expires != nil && !o.Expires.After(*o.NotBefore) {
		return FieldError("expires", "must be after not_before")
	}
	return nil
}

// AzureKeyGenerate asks the vault to generate a key.
type AzureKeyGenerate struct {
	Name  string `json:"name"`            // the Azure key's name: letters, digits and hyphens
	Type  string `json:"type"`            // RSA, EC, or AES (Managed HSM)
	Size  int    `json:"size,omitempty"`  // RSA 2048 (default), 3072, 4096; AES 128, 192, 256 (default)
	Curve string `json:"curve,omitempty"` // EC: P-256 (default), P-384, P-521, secp256k1 (Standard only)
	AzureKeyOptions
}

// Validate checks the request's shape.
func (r *AzureKeyGenerate) Validate() error {
	if err := required("name", r.Name); err != nil {
		return err
	}
	if err := required("type", r.Type); err != nil {
		return err
	}
	return r.AzureKeyOptions.validate()
}

// AzureKeyImport imports key material from a file into the vault. Keyward unwraps it
// (when a key-encryption key is named) and keeps no copy: the material waits for its job
// sealed and is deleted when the job ends.
type AzureKeyImport struct {
	Name          string `json:"name"`             // the Azure key's name
	Type          string `json:"type,omitempty"`   // required for raw/base64/hex AES material
	Format        string `json:"format,omitempty"` // auto (default), raw, base64, hex, pem, der, jwk
	Material      []byte `json:"material"`         // the bytes of the file, base64 in JSON
	KEK           string `json:"kek,omitempty"`    // a Keyward key permitting UNWRAPKEY that wraps the material
	WrapAlgorithm string `json:"wrap_algorithm,omitempty"`
	AzureKeyOptions
}

// Validate checks the request's shape.
func (r *AzureKeyImport) Validate() error {
	if err := required("name", r.Name); err != nil {
		return err
	}
	if len(r.Material) == 0 {
		return FieldError("material", "is required (base64 of the key file's bytes)")
	}
	if r.KEK != "" && r.WrapAlgorithm == "" {
		return FieldError("wrap_algorithm", "is required with kek (AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256)")
	}
	return r.AzureKeyOptions.validate()
}

// AzureKeyCopy copies a Keyward key (it must permit EXPORT) into the vault.
type AzureKeyCopy struct {
	Source string `json:"source"`         // the Keyward key, id or name
	Name   string `json:"name,omitempty"` // the copy's name in Keyward; empty for NAME_copyN
	// AzureName is the Azure key's name; empty for the copy's name with every character
	// Azure does not allow made a hyphen (payments_copy1 becomes payments-copy1).
	AzureName string `json:"azure_name,omitempty"`
	AzureKeyOptions
}

// Validate checks the request's shape.
func (r *AzureKeyCopy) Validate() error {
	if err := required("source", r.Source); err != nil {
		return err
	}
	return r.AzureKeyOptions.validate()
}

// AzureKeyPut is the result of a job that put a key into Azure.
type AzureKeyPut struct {
	Key         string `json:"key"`        // the virtual key's id
	Name        string `json:"name"`       // its name in Keyward
	AzureName   string `json:"azure_name"` // the Azure key's name
	Version     string `json:"version"`
	KID         string `json:"kid"`
	KeyType     string `json:"kty"`
	Protection  string `json:"protection"`
	BYOK        bool   `json:"byok,omitempty"`
	SourceKey   string `json:"source_key,omitempty"`
	Resumed     bool   `json:"resumed,omitempty"`
	KEKsRemoved int    `json:"keks_removed,omitempty"`
	// EarlierVersions counts further versions of the key that a repeated call to Azure made
	// (its answer was lost); they are recorded as older versions.
	EarlierVersions int `json:"earlier_versions,omitempty"`
}

func init() {
	Routes = append(Routes,
		Route{ID: "generateAzureKey", Method: http.MethodPost, Path: "/v1/groups/{id}/azure/keys", Tag: "azure",
			Summary: "Generate a key in the group's vault (a job); its result names the new virtual key", Auth: AuthUser, Request: &AzureKeyGenerate{}, Response: Job{}, Status: 202},
		Route{ID: "importAzureKey", Method: http.MethodPost, Path: "/v1/groups/{id}/azure/keys/import", Tag: "azure",
			Summary: "Import key material into the group's vault (a job): JWK over TLS, or BYOK for HSM protection; Keyward keeps no copy", Auth: AuthUser, Request: &AzureKeyImport{}, Response: Job{}, Status: 202},
		Route{ID: "copyAzureKey", Method: http.MethodPost, Path: "/v1/groups/{id}/azure/keys/copy", Tag: "azure",
			Summary: "Copy a Keyward key that permits EXPORT into the group's vault (a job); both keys keep the link", Auth: AuthUser, Request: &AzureKeyCopy{}, Response: Job{}, Status: 202},
	)
}
