package service

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// Cloud credential actions: account administrators manage credentials; auditors read them.
const (
	ActCredentialCreate keyward.Action = "cloud.credential.create"
	ActCredentialRead   keyward.Action = "cloud.credential.read"
	ActCredentialUpdate keyward.Action = "cloud.credential.update"
	ActCredentialDelete keyward.Action = "cloud.credential.delete"
	ActCredentialTest   keyward.Action = "cloud.credential.test"
)

func init() {
	keyward.RegisterAction(ActCredentialCreate, false, true, false)
	keyward.RegisterAction(ActCredentialRead, false, false, false)
	keyward.RegisterAction(ActCredentialUpdate, false, true, false)
	keyward.RegisterAction(ActCredentialDelete, false, true, false)
	keyward.RegisterAction(ActCredentialTest, false, false, false)
}

// CredentialInput is a credential to create or replace. ClientSecret, or CertificatePEM with
// PrivateKeyPEM, is the secret; on update, empty secret fields keep the stored secret.
type CredentialInput struct {
	Name, Description string
	Cloud             keyward.Cloud
	Endpoints         keyward.CloudEndpoints // custom cloud only
	TenantID          string
	ClientID          string
	SubscriptionID    string
	ClientSecret      string
	CertificatePEM    string
	PrivateKeyPEM     string
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.-]{0,252}\.[a-zA-Z]{2,}$`)
)

// validate checks the input and returns the credential it describes and its secret.
func (in *CredentialInput) validate(c *keyward.CloudCredential, update bool) (*keyward.CloudSecret, error) {
	if err := keyward.ValidateName("name", in.Name); err != nil {
		return nil, err
	}
	if err := keyward.ValidateDescription("description", in.Description); err != nil {
		return nil, err
	}
	if !guidRE.MatchString(in.TenantID) && !domainRE.MatchString(in.TenantID) {
		return nil, keyward.Invalid("tenant_id", "must be a directory (tenant) id, a GUID such as 4a1e9a3c-0d2b-4c8e-9f61-7b3d5e2a8c10, or a verified domain")
	}
	if !guidRE.MatchString(in.ClientID) {
		return nil, keyward.Invalid("client_id", "must be the application (client) id, a GUID")
	}
	if !guidRE.MatchString(in.SubscriptionID) {
		return nil, keyward.Invalid("subscription_id", "must be the subscription id, a GUID")
	}
	c.Name, c.Description, c.Cloud = in.Name, in.Description, in.Cloud
	c.TenantID, c.ClientID, c.SubscriptionID = strings.ToLower(in.TenantID), strings.ToLower(in.ClientID), strings.ToLower(in.SubscriptionID)
	if err := setEndpoints(c, in.Endpoints); err != nil {
		return nil, err
	}
	switch {
	case in.ClientSecret != "" && (in.CertificatePEM != "" || in.PrivateKeyPEM != ""):
		return nil, keyward.Invalid("client_secret", "give a client secret or a certificate and its private key, not both")
	case in.ClientSecret != "":
		if len(in.ClientSecret) > 1024 {
			return nil, keyward.Invalid("client_secret", "is too long")
		}
		c.AuthMethod, c.CertificatePEM = "secret", ""
		return &keyward.CloudSecret{ClientSecret: in.ClientSecret}, nil
	case in.CertificatePEM != "" || in.PrivateKeyPEM != "":
		if _, err := tls.X509KeyPair([]byte(in.CertificatePEM), []byte(in.PrivateKeyPEM)); err != nil {
			return nil, keyward.Invalid("certificate", "the certificate and private key (PEM) do not make a pair: %v", err)
		}
		c.AuthMethod, c.CertificatePEM = "certificate", in.CertificatePEM
		return &keyward.CloudSecret{PrivateKey: []byte(in.PrivateKeyPEM)}, nil
	case update:
		return nil, nil // keep the stored secret
	}
	return nil, keyward.Invalid("client_secret", "is required: give a client secret, or a certificate and its private key")
}

func setEndpoints(c *keyward.CloudCredential, ep keyward.CloudEndpoints) error {
	if c.Cloud == "" {
		c.Cloud = keyward.CloudPublic
	}
	if known, ok := keyward.KnownClouds[c.Cloud]; ok {
		c.Endpoints = known
		return nil
	}
	if c.Cloud != keyward.CloudCustomName {
		return keyward.Invalid("cloud", "must be public, usgov, china or custom")
	}
	for field, v := range map[string]string{"endpoints.authority": ep.Authority, "endpoints.arm": ep.ARM, "endpoints.arm_audience": ep.ARMAudience} {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return keyward.Invalid(field, "must be an https URL")
		}
	}
	for field, v := range map[string]string{"endpoints.vault_suffix": ep.VaultSuffix, "endpoints.hsm_suffix": ep.HSMSuffix} {
		if !strings.HasPrefix(v, ".") || !domainRE.MatchString(v[1:]) {
			return keyward.Invalid(field, "must be a DNS suffix starting with a dot, such as .vault.azure.net")
		}
	}
	c.Endpoints = ep
	return nil
}

func (s *Service) sealCloudSecret(id string, sec *keyward.CloudSecret) ([]byte, error) {
	b, err := json.Marshal(sec)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return s.sealer.Seal(b, seal.Bind("cloud-credential", id))
}

// openCloudSecret unseals a credential's secret (for the connector only).
func (s *Service) openCloudSecret(tx keyward.Tx, c *keyward.CloudCredential) (keyward.CloudSecret, error) {
	var sec keyward.CloudSecret
	blob, err := tx.CloudCredentialSecret(c.AccountID, c.ID)
	if err != nil {
		return sec, err
	}
	b, err := s.sealer.Open(blob, seal.Bind("cloud-credential", c.ID))
	if err != nil {
		return sec, fmt.Errorf("cloud credential %s: %w", c.ID, err)
	}
	defer clear(b)
	return sec, json.Unmarshal(b, &sec)
}

// CreateCredential stores a cloud credential with its secret sealed.
func (s *Service) CreateCredential(ctx context.Context, p keyward.Principal, in CredentialInput) (*keyward.CloudCredential, error) {
	c := &keyward.CloudCredential{ID: newID(), AccountID: p.AccountID, CreatedBy: p.Actor()}
	sec, err := in.validate(c, false)
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealCloudSecret(c.ID, sec)
	if err != nil {
		return nil, err
	}
	err = s.change(ctx, p, ActCredentialCreate, "cloud-credential:"+c.ID, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, ActCredentialCreate, nil); err != nil {
			return err
		}
		c.CreatedAt = s.clock.Now()
		c.UpdatedAt = c.CreatedAt
		o.detail = fmt.Sprintf("%q: tenant %s, app %s, subscription %s, %s cloud, %s", c.Name, c.TenantID, c.ClientID, c.SubscriptionID, c.Cloud, c.AuthMethod)
		return tx.CreateCloudCredential(c, sealed)
	})
	return c, err
}

// GetCredential returns a credential (never its secret).
func (s *Service) GetCredential(ctx context.Context, p keyward.Principal, id string) (*keyward.CloudCredential, error) {
	var c *keyward.CloudCredential
	err := s.read(ctx, p, ActCredentialRead, "cloud-credential:"+id, func(tx keyward.Tx) error {
		if err := keyward.Authorize(p, ActCredentialRead, nil); err != nil {
			return err
		}
		var err error
		c, err = loadCredential(tx, p.AccountID, id)
		return err
	})
	return c, err
}

// loadCredential finds a credential by id or name.
func loadCredential(tx keyward.Tx, accountID, ref string) (*keyward.CloudCredential, error) {
	c, err := tx.GetCloudCredential(accountID, ref)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		var cs []keyward.CloudCredential
		if cs, err = tx.ListCloudCredentials(accountID, keyward.Page{After: "", Limit: keyward.MaxPageLimit}); err == nil {
			for i := range cs {
				if cs[i].Name == ref {
					return &cs[i], nil
				}
			}
			err = keyward.Errorf(keyward.ENOTFOUND, "cloud credential %q not found", ref)
		}
	}
	return c, err
}

// ListCredentials lists the account's credentials, by name.
func (s *Service) ListCredentials(ctx context.Context, p keyward.Principal, page keyward.Page) ([]keyward.CloudCredential, error) {
	var out []keyward.CloudCredential
	err := s.read(ctx, p, ActCredentialRead, "", func(tx keyward.Tx) error {
		if err := keyward.Authorize(p, ActCredentialRead, nil); err != nil {
			return err
		}
		var err error
		out, err = tx.ListCloudCredentials(p.AccountID, page)
		return err
	})
	return out, err
}

// UpdateCredential replaces a credential's settings; empty secret fields keep the secret.
// Links using it pick up the change at their next call.
func (s *Service) UpdateCredential(ctx context.Context, p keyward.Principal, id string, in CredentialInput) (*keyward.CloudCredential, error) {
	var c *keyward.CloudCredential
	err := s.change(ctx, p, ActCredentialUpdate, "cloud-credential:"+id, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, ActCredentialUpdate, nil); err != nil {
			return err
		}
		var err error
		if c, err = loadCredential(tx, p.AccountID, id); err != nil {
			return err
		}
		o.target = "cloud-credential:" + c.ID
		sec, err := in.validate(c, true)
		if err != nil {
			return err
		}
		var sealed []byte
		if sec != nil {
			if sealed, err = s.sealCloudSecret(c.ID, sec); err != nil {
				return err
			}
			o.detail = "settings and secret changed"
		} else {
			o.detail = "settings changed; secret kept"
		}
		c.UpdatedAt = s.clock.Now()
		return tx.UpdateCloudCredential(c, sealed)
	})
	s.vaults.clear()
	return c, err
}

// DeleteCredential deletes a credential no Azure group uses.
func (s *Service) DeleteCredential(ctx context.Context, p keyward.Principal, id string) error {
	return s.change(ctx, p, ActCredentialDelete, "cloud-credential:"+id, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, ActCredentialDelete, nil); err != nil {
			return err
		}
		c, err := loadCredential(tx, p.AccountID, id)
		if err != nil {
			return err
		}
		o.target = "cloud-credential:" + c.ID
		if n, err := tx.CountCredentialLinks(p.AccountID, c.ID); err != nil {
			return err
		} else if n > 0 {
			return keyward.Errorf(keyward.EPRECONDITION, "credential %q is used by %d Azure group(s): give them another credential first", c.Name, n)
		}
		return tx.DeleteCloudCredential(p.AccountID, c.ID)
	})
}
