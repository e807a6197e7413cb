package api

import (
	"net/http"
	"time"
)

// CloudEndpoints are the addresses of a custom Azure cloud.
type CloudEndpoints struct {
	Authority   string `json:"authority"`
	ARM         string `json:"arm"`
	ARMAudience string `json:"arm_audience"`
	VaultSuffix string `json:"vault_suffix"`
	HSMSuffix   string `json:"hsm_suffix"`
}

// CloudCredential is an Azure app registration. Its secret is never returned.
type CloudCredential struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Description    string         `json:"description,omitempty"`
	Cloud          string         `json:"cloud"` // public, usgov, china, custom
	Endpoints      CloudEndpoints `json:"endpoints"`
	TenantID       string         `json:"tenant_id"`
	ClientID       string         `json:"client_id"`
	SubscriptionID string         `json:"subscription_id"`
	AuthMethod     string         `json:"auth_method"` // secret, certificate
	CertificatePEM string         `json:"certificate_pem,omitempty"`
	CreatedAt      time.Time      `json:"created_at"`
	CreatedBy      string         `json:"created_by"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// CloudCredentialList lists credentials.
type CloudCredentialList struct {
	Items []CloudCredential `json:"items"`
	Next  string            `json:"next,omitempty"`
}

// CloudCredentialInput creates or replaces a credential: a client secret, or a certificate
// and its private key. On update, leaving both out keeps the stored secret.
type CloudCredentialInput struct {
	Name           string          `json:"name"`
	Description    string          `json:"description,omitempty"`
	Cloud          string          `json:"cloud,omitempty"` // default public
	Endpoints      *CloudEndpoints `json:"endpoints,omitempty"`
	TenantID       string          `json:"tenant_id"`
	ClientID       string          `json:"client_id"`
	SubscriptionID string          `json:"subscription_id"`
	ClientSecret   string          `json:"client_secret,omitempty"`
	CertificatePEM string          `json:"certificate_pem,omitempty"`
	PrivateKeyPEM  string          `json:"private_key_pem,omitempty"`
}

// Validate checks the request's shape.
func (r *CloudCredentialInput) Validate() error {
	for f, v := range map[string]string{"name": r.Name, "tenant_id": r.TenantID, "client_id": r.ClientID, "subscription_id": r.SubscriptionID} {
		if err := required(f, v); err != nil {
			return err
		}
	}
	if r.Cloud != "" {
		return oneOf("cloud", r.Cloud, "public", "usgov", "china", "custom")
	}
	return nil
}

// TLSSettings shape the path from Keyward to Azure.
type TLSSettings struct {
	CACertPEM      string `json:"ca_cert_pem,omitempty"`
	ClientCertPEM  string `json:"client_cert_pem,omitempty"`
	ClientKeyPEM   string `json:"client_key_pem,omitempty"` // input only; sealed, never returned
	SkipHostVerify bool   `json:"skip_host_verify,omitempty"`
	ProxyURL       string `json:"proxy_url,omitempty"`
}

// CredentialTest tests a credential, optionally over given TLS settings.
type CredentialTest struct {
	TLS *TLSSettings `json:"tls,omitempty"`
}

// Validate checks the request's shape.
func (r *CredentialTest) Validate() error { return nil }

// Vault is a vault or managed HSM as Azure describes it.
type Vault struct {
	Kind            string `json:"kind"` // standard, premium, managed-hsm
	Name            string `json:"name"`
	URI             string `json:"uri"`
	ResourceID      string `json:"resource_id,omitempty"`
	Location        string `json:"location,omitempty"`
	SKU             string `json:"sku,omitempty"`
	SoftDelete      bool   `json:"soft_delete"`
	RetentionDays   int    `json:"retention_days,omitempty"`
	PurgeProtection bool   `json:"purge_protection"`
}

// CredentialTestResult is Connected with the subscription's vaults, or the reason not.
type CredentialTestResult struct {
	Connected bool    `json:"connected"`
	Reason    string  `json:"reason,omitempty"`
	Vaults    []Vault `json:"vaults"`
}

// AzureLink is a group's link to a vault or managed HSM.
type AzureLink struct {
	Group      string      `json:"group"`
	Credential string      `json:"credential"`
	Vault      Vault       `json:"vault"`
	TLS        TLSSettings `json:"tls"`
	Status     string      `json:"status"` // connected, not-connected
	Reason     string      `json:"reason,omitempty"`
	CheckedAt  time.Time   `json:"checked_at,omitzero"`
	CreatedAt  time.Time   `json:"created_at"`
	CreatedBy  string      `json:"created_by"`
}

// AzureLinkInput links a group.
type AzureLinkInput struct {
	Credential string       `json:"credential"` // id or name
	VaultKind  string       `json:"vault_kind"` // standard, premium, managed-hsm
	Vault      string       `json:"vault"`      // the vault's or managed HSM's name
	TLS        *TLSSettings `json:"tls,omitempty"`
}

// Validate checks the request's shape.
func (r *AzureLinkInput) Validate() error {
	if err := required("credential", r.Credential); err != nil {
		return err
	}
	if err := required("vault", r.Vault); err != nil {
		return err
	}
	return oneOf("vault_kind", r.VaultKind, "standard", "premium", "managed-hsm")
}

// AzureLinkUpdate changes a link's credential or TLS settings; the vault is fixed.
type AzureLinkUpdate struct {
	Credential *string      `json:"credential,omitempty"`
	TLS        *TLSSettings `json:"tls,omitempty"`
}

// Validate checks the request's shape.
func (r *AzureLinkUpdate) Validate() error { return nil }

func init() {
	Routes = append(Routes,
		Route{ID: "listCloudCredentials", Method: http.MethodGet, Path: "/v1/cloud-credentials", Tag: "azure", Summary: "List the account's cloud credentials", Auth: AuthUser, Response: CloudCredentialList{}, Status: 200, Query: pageParams},
		Route{ID: "createCloudCredential", Method: http.MethodPost, Path: "/v1/cloud-credentials", Tag: "azure", Summary: "Create a cloud credential (an Azure app registration); its secret is sealed", Auth: AuthUser, Request: &CloudCredentialInput{}, Response: CloudCredential{}, Status: 201},
		Route{ID: "getCloudCredential", Method: http.MethodGet, Path: "/v1/cloud-credentials/{id}", Tag: "azure", Summary: "Get a cloud credential (never its secret)", Auth: AuthUser, Response: CloudCredential{}, Status: 200},
		Route{ID: "updateCloudCredential", Method: http.MethodPut, Path: "/v1/cloud-credentials/{id}", Tag: "azure", Summary: "Replace a cloud credential's settings (and secret, when given)", Auth: AuthUser, Request: &CloudCredentialInput{}, Response: CloudCredential{}, Status: 200},
		Route{ID: "deleteCloudCredential", Method: http.MethodDelete, Path: "/v1/cloud-credentials/{id}", Tag: "azure", Summary: "Delete a cloud credential no group uses", Auth: AuthUser, Status: 204},
		Route{ID: "testCloudCredential", Method: http.MethodPost, Path: "/v1/cloud-credentials/{id}/test", Tag: "azure", Summary: "Sign in and list the subscription's vaults and managed HSMs", Auth: AuthUser, Request: &CredentialTest{}, Response: CredentialTestResult{}, Status: 200},
		Route{ID: "linkGroup", Method: http.MethodPut, Path: "/v1/groups/{id}/azure", Tag: "azure", Summary: "Link an empty group to a vault or managed HSM and test the connection", Auth: AuthUser, Request: &AzureLinkInput{}, Response: AzureLink{}, Status: 200},
		Route{ID: "getGroupLink", Method: http.MethodGet, Path: "/v1/groups/{id}/azure", Tag: "azure", Summary: "Get a group's Azure link", Auth: AuthAny, Response: AzureLink{}, Status: 200},
		Route{ID: "updateGroupLink", Method: http.MethodPatch, Path: "/v1/groups/{id}/azure", Tag: "azure", Summary: "Change a link's credential or TLS settings and test it again", Auth: AuthUser, Request: &AzureLinkUpdate{}, Response: AzureLink{}, Status: 200},
		Route{ID: "testGroupLink", Method: http.MethodPost, Path: "/v1/groups/{id}/azure/test", Tag: "azure", Summary: "Test a group's connection to Azure again", Auth: AuthUser, Response: AzureLink{}, Status: 200},
		Route{ID: "unlinkGroup", Method: http.MethodDelete, Path: "/v1/groups/{id}/azure", Tag: "azure", Summary: "Unlink a group that holds no keys any more", Auth: AuthUser, Status: 204},
		Route{ID: "syncGroup", Method: http.MethodPost, Path: "/v1/groups/{id}/azure/sync", Tag: "azure", Summary: "Sync a group with its vault (a job): new keys and versions, escrowed backups, states", Auth: AuthUser, Response: Job{}, Status: 202},
	)
}
