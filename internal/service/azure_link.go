package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// Azure link actions: a group's administrators link it and change its credential.
const (
	ActAzureLink   keyward.Action = "azure.link"
	ActAzureUpdate keyward.Action = "azure.link.update"
	ActAzureUnlink keyward.Action = "azure.unlink"
	ActAzureTest   keyward.Action = "azure.link.test"
)

// Job kinds of connecting.
const (
	KindAzureProbe    = "azure.probe"
	KindAzureDiscover = "azure.discover"
)

func init() {
	keyward.RegisterAction(ActAzureLink, false, true, true)
	keyward.RegisterAction(ActAzureUpdate, false, true, true)
	keyward.RegisterAction(ActAzureUnlink, false, true, true)
	keyward.RegisterAction(ActAzureTest, false, false, true)
	jobKinds = append(jobKinds,
		func(s *Service) jobs.Kind {
			return jobs.Kind{Name: KindAzureProbe, Handler: s.runProbe, MaxAttempts: 1}
		},
		func(s *Service) jobs.Kind {
			return jobs.Kind{Name: KindAzureDiscover, Handler: s.runDiscover, MaxAttempts: 1}
		},
	)
}

// connectWait bounds how long a request waits for a connection test.
const connectWait = 90 * time.Second

// LinkInput links a group to a vault or managed HSM.
type LinkInput struct {
	Credential string // id or name
	VaultKind  keyward.VaultKind
	VaultName  string
	TLS        keyward.TLSSettings
	// TLSClientKeyPEM is the private key of TLS.ClientCertPEM; it is sealed.
	TLSClientKeyPEM string
}

func validateTLS(t keyward.TLSSettings, keyPEM string) error {
	if t.CACertPEM != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(t.CACertPEM)) {
		return keyward.Invalid("tls.ca_cert_pem", "holds no PEM certificate")
	}
	if (t.ClientCertPEM == "") != (keyPEM == "") {
		return keyward.Invalid("tls.client_key_pem", "a TLS client certificate needs its private key, and the other way round")
	}
	if t.ClientCertPEM != "" {
		if _, err := tls.X509KeyPair([]byte(t.ClientCertPEM), []byte(keyPEM)); err != nil {
			return keyward.Invalid("tls.client_cert_pem", "the certificate and key do not make a pair: %v", err)
		}
	}
	if t.ProxyURL != "" {
		u, err := url.Parse(t.ProxyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return keyward.Invalid("tls.proxy_url", "must be an http(s) URL such as http://proxy.example:3128")
		}
	}
	return nil
}

func validVaultName(name string) bool {
	if len(name) < 3 || len(name) > 24 || strings.Contains(name, "--") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// LinkGroup links an empty group to a vault and tests the connection at once. The link is
// saved even when the test fails, with Azure's reason, so it can be fixed later.
func (s *Service) LinkGroup(ctx context.Context, p keyward.Principal, groupID string, in LinkInput) (*keyward.AzureLink, error) {
	switch in.VaultKind {
	case keyward.VaultStandard, keyward.VaultPremium, keyward.VaultManagedHSM:
	default:
		return nil, keyward.Invalid("vault_kind", "must be standard, premium or managed-hsm")
	}
	if !validVaultName(in.VaultName) {
		return nil, keyward.Invalid("vault", "must be a vault or managed HSM name: 3-24 letters, digits and single hyphens")
	}
	if err := validateTLS(in.TLS, in.TLSClientKeyPEM); err != nil {
		return nil, err
	}
	var link *keyward.AzureLink
	var job *keyward.Job
	err := s.changeAndStart(ctx, p, ActAzureLink, "group:"+groupID, func(tx keyward.Tx, o *op) error {
		g, err := loadGroup(tx, p, groupID, ActAzureLink)
		if err != nil {
			return err
		}
		if _, err := tx.GetAzureLink(p.AccountID, g.Group.ID); err == nil {
			return keyward.Errorf(keyward.ECONFLICT, "group %q is already linked to Azure; its vault cannot change", g.Group.Name)
		}
		if n, err := tx.CountGroupObjects(p.AccountID, g.Group.ID); err != nil {
			return err
		} else if n > 0 {
			return keyward.Errorf(keyward.EPRECONDITION, "group %q holds %d keys: an Azure group starts empty (its keys are the vault's)", g.Group.Name, n)
		}
		cred, err := loadCredential(tx, p.AccountID, in.Credential)
		if err != nil {
			if keyward.IsCode(err, keyward.ENOTFOUND) {
				return keyward.Invalid("credential", "no cloud credential %q in this account", in.Credential)
			}
			return err
		}
		now := s.clock.Now()
		link = &keyward.AzureLink{GroupID: g.Group.ID, AccountID: p.AccountID, CredentialID: cred.ID,
			Vault: keyward.VaultInfo{Kind: in.VaultKind, Name: in.VaultName, URI: vaultURI(cred, in.VaultKind, in.VaultName)},
			TLS:   in.TLS, Status: keyward.LinkNotConnected, Reason: "not tested yet", CreatedAt: now, CreatedBy: p.Actor(), UpdatedAt: now}
		sealedKey, err := s.sealTLSKey(g.Group.ID, in.TLSClientKeyPEM)
		if err != nil {
			return err
		}
		if err := tx.PutAzureLink(link, sealedKey); err != nil {
			return err
		}
		o.detail = fmt.Sprintf("linked to %s %s with credential %q", in.VaultKind, in.VaultName, cred.Name)
		job, err = s.enqueueJob(tx, p, jobs.Spec{GroupID: g.Group.ID, Kind: KindAzureProbe, Title: "Test the connection to " + in.VaultName})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.vaults.clear()
	return s.awaitProbe(ctx, p, groupID, job)
}

func vaultURI(c *keyward.CloudCredential, kind keyward.VaultKind, name string) string {
	suffix := c.Endpoints.VaultSuffix
	if kind == keyward.VaultManagedHSM {
		suffix = c.Endpoints.HSMSuffix
	}
	return "https://" + strings.ToLower(name) + suffix + "/"
}

func (s *Service) sealTLSKey(groupID, keyPEM string) ([]byte, error) {
	if keyPEM == "" {
		return nil, nil
	}
	return s.sealer.Seal([]byte(keyPEM), seal.Bind("azure-tls-key", groupID))
}

// awaitProbe waits for a probe job and returns the link as it left it.
func (s *Service) awaitProbe(ctx context.Context, p keyward.Principal, groupID string, job *keyward.Job) (*keyward.AzureLink, error) {
	if _, err := s.waitJob(ctx, p.AccountID, job.ID, connectWait); err != nil && !keyward.IsCode(err, keyward.EUNAVAILABLE) {
		return nil, err
	}
	return s.GetLink(ctx, p, groupID)
}

// runProbe tests a group's connection: a token, the vault's properties through Resource
// Manager, and the data plane. It records the outcome on the link either way.
func (s *Service) runProbe(ctx context.Context, run *jobs.Run) error {
	j := run.Job()
	s.vaults.clear()
	v, link, err := s.vaultOf(ctx, j.AccountID, j.GroupID)
	var info *keyward.VaultInfo
	if err == nil {
		info, err = v.Probe(ctx)
	}
	if err == nil && info.Kind != link.Vault.Kind {
		err = keyward.Errorf(keyward.EINVALID, "%s is a %s, not a %s: link the group with the kind the vault has", info.Name, describeKind(info.Kind), describeKind(link.Vault.Kind))
	}
	if link == nil {
		return jobs.Permanent(err)
	}
	now := s.clock.Now()
	if err != nil {
		link.Status, link.Reason = keyward.LinkNotConnected, keyward.ErrorMessage(err)
		run.Log(keyward.LogError, "Not connected to "+link.Vault.Name, link.Reason)
	} else {
		kind := link.Vault.Kind
		link.Vault, link.Status, link.Reason = *info, keyward.LinkConnected, ""
		link.Vault.Kind = kind
		run.Log(keyward.LogInfo, "Connected to "+info.Name, describeVault(info))
	}
	link.CheckedAt, link.UpdatedAt = now, now
	if uerr := s.store.Update(ctx, func(tx keyward.Tx) error { return tx.PutAzureLink(link, nil) }); uerr != nil {
		return uerr
	}
	if err != nil {
		return jobs.Permanent(err)
	}
	return run.SetResult(info)
}

func describeKind(k keyward.VaultKind) string {
	return map[keyward.VaultKind]string{keyward.VaultStandard: "Standard vault", keyward.VaultPremium: "Premium vault", keyward.VaultManagedHSM: "Managed HSM"}[k]
}

func describeVault(v *keyward.VaultInfo) string {
	sd := "soft delete off"
	if v.SoftDelete {
		sd = fmt.Sprintf("soft delete on, %d days", v.RetentionDays)
	}
	pp := "purge protection off"
	if v.PurgeProtection {
		pp = "purge protection on"
	}
	return fmt.Sprintf("%s %s (%s, %s), %s, %s", describeKind(v.Kind), v.Name, v.SKU, v.Location, sd, pp)
}

// GetLink returns a group's Azure link.
func (s *Service) GetLink(ctx context.Context, p keyward.Principal, groupID string) (*keyward.AzureLink, error) {
	var l *keyward.AzureLink
	err := s.read(ctx, p, keyward.ActGroupRead, "group:"+groupID, func(tx keyward.Tx) error {
		g, err := loadGroup(tx, p, groupID, keyward.ActGroupRead)
		if err != nil {
			return err
		}
		l, err = tx.GetAzureLink(p.AccountID, g.Group.ID)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return keyward.Errorf(keyward.ENOTFOUND, "group %q is not linked to Azure", g.Group.Name)
		}
		return err
	})
	return l, err
}

// LinkUpdate changes what may change on a link: its credential and TLS settings (the vault
// is fixed). Nil fields stay.
type LinkUpdate struct {
	Credential      *string
	TLS             *keyward.TLSSettings
	TLSClientKeyPEM *string
}

// UpdateLink changes a link's credential or TLS settings and tests the connection again.
func (s *Service) UpdateLink(ctx context.Context, p keyward.Principal, groupID string, in LinkUpdate) (*keyward.AzureLink, error) {
	if in.TLS != nil {
		key := ""
		if in.TLSClientKeyPEM != nil {
			key = *in.TLSClientKeyPEM
		} else if in.TLS.ClientCertPEM != "" {
			return nil, keyward.Invalid("tls.client_key_pem", "give the client certificate's key again with a new certificate")
		}
		if err := validateTLS(*in.TLS, key); err != nil {
			return nil, err
		}
	}
	var job *keyward.Job
	err := s.changeAndStart(ctx, p, ActAzureUpdate, "group:"+groupID, func(tx keyward.Tx, o *op) error {
		g, err := loadGroup(tx, p, groupID, ActAzureUpdate)
		if err != nil {
			return err
		}
		link, err := tx.GetAzureLink(p.AccountID, g.Group.ID)
		if err != nil {
			return err
		}
		var changed []string
		if in.Credential != nil {
			cred, err := loadCredential(tx, p.AccountID, *in.Credential)
			if err != nil {
				return keyward.Invalid("credential", "no cloud credential %q in this account", *in.Credential)
			}
			link.CredentialID = cred.ID
			changed = append(changed, "credential "+cred.Name)
		}
		var sealedKey []byte
		if in.TLS != nil {
			link.TLS = *in.TLS
			changed = append(changed, "TLS settings")
			if in.TLSClientKeyPEM != nil {
				if sealedKey, err = s.sealTLSKey(g.Group.ID, *in.TLSClientKeyPEM); err != nil {
					return err
				}
			}
		}
		link.UpdatedAt = s.clock.Now()
		o.detail = "changed " + strings.Join(changed, ", ")
		if err := tx.PutAzureLink(link, sealedKey); err != nil {
			return err
		}
		job, err = s.enqueueJob(tx, p, jobs.Spec{GroupID: g.Group.ID, Kind: KindAzureProbe, Title: "Test the connection to " + link.Vault.Name})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.vaults.clear()
	return s.awaitProbe(ctx, p, groupID, job)
}

// TestLink tests a group's connection again and returns the link with the outcome.
func (s *Service) TestLink(ctx context.Context, p keyward.Principal, groupID string) (*keyward.AzureLink, error) {
	j, err := s.EnqueueJob(ctx, p, ActAzureTest, jobs.Spec{GroupID: groupID, Kind: KindAzureProbe, Title: "Test the connection"})
	if err != nil {
		return nil, err
	}
	return s.awaitProbe(ctx, p, groupID, j)
}

// Unlink removes a group's link to Azure. The group must hold no virtual keys any more
// (each goes once Azure has purged it).
func (s *Service) Unlink(ctx context.Context, p keyward.Principal, groupID string) error {
	err := s.change(ctx, p, ActAzureUnlink, "group:"+groupID, func(tx keyward.Tx, o *op) error {
		g, err := loadGroup(tx, p, groupID, ActAzureUnlink)
		if err != nil {
			return err
		}
		if n, err := tx.CountGroupObjects(p.AccountID, g.Group.ID); err != nil {
			return err
		} else if n > 0 {
			return keyward.Errorf(keyward.EPRECONDITION, "group %q still holds %d keys: remove them first", g.Group.Name, n)
		}
		return tx.DeleteAzureLink(p.AccountID, g.Group.ID)
	})
	s.vaults.clear()
	return err
}

// DiscoverResult is what a credential sees in its subscription.
type DiscoverResult struct {
	Connected bool                `json:"connected"`
	Reason    string              `json:"reason,omitempty"`
	Vaults    []keyward.VaultInfo `json:"vaults"`
}

type discoverParams struct {
	CredentialID string               `json:"credential_id"`
	TLS          *keyward.TLSSettings `json:"tls,omitempty"`
}

// TestCredential signs in with a credential and lists the vaults and managed HSMs of its
// subscription: Connected, or Not Connected with Azure's reason. tls shapes the path to
// Azure (nil: the server's default); a TLS client certificate is not used for this test.
func (s *Service) TestCredential(ctx context.Context, p keyward.Principal, ref string, tls *keyward.TLSSettings) (*DiscoverResult, error) {
	if tls != nil {
		if tls.ClientCertPEM != "" {
			return nil, keyward.Invalid("tls.client_cert_pem", "is not used to test a credential; link a group to use one")
		}
		if err := validateTLS(*tls, ""); err != nil {
			return nil, err
		}
	}
	var job *keyward.Job
	err := s.changeAndStart(ctx, p, ActCredentialTest, "cloud-credential:"+ref, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, ActCredentialTest, nil); err != nil {
			return err
		}
		c, err := loadCredential(tx, p.AccountID, ref)
		if err != nil {
			return err
		}
		o.target = "cloud-credential:" + c.ID
		job, err = s.enqueueJob(tx, p, jobs.Spec{Kind: KindAzureDiscover, Title: "Test credential " + c.Name, Params: discoverParams{CredentialID: c.ID, TLS: tls}})
		return err
	})
	if err != nil {
		return nil, err
	}
	j, err := s.waitJob(ctx, p.AccountID, job.ID, connectWait)
	if err != nil {
		return nil, err
	}
	var res DiscoverResult
	if j.State != keyward.JobSucceeded {
		return &DiscoverResult{Reason: j.Error, Vaults: []keyward.VaultInfo{}}, nil
	}
	return &res, jobResult(j, &res)
}

func (s *Service) runDiscover(ctx context.Context, run *jobs.Run) error {
	conn, err := s.cloudConnector()
	if err != nil {
		return jobs.Permanent(err)
	}
	var params discoverParams
	if err := run.Params(&params); err != nil {
		return jobs.Permanent(err)
	}
	j := run.Job()
	var cred *keyward.CloudCredential
	var sec keyward.CloudSecret
	err = s.store.View(ctx, func(tx keyward.Tx) error {
		var err error
		if cred, err = tx.GetCloudCredential(j.AccountID, params.CredentialID); err != nil {
			return err
		}
		sec, err = s.openCloudSecret(tx, cred)
		return err
	})
	if err != nil {
		return jobs.Permanent(err)
	}
	tls := s.defaultTLS
	if params.TLS != nil {
		tls = *params.TLS
	}
	vaults, err := conn.Discover(ctx, cred, sec, tls, nil)
	if err != nil {
		return jobs.Permanent(err)
	}
	return run.SetResult(DiscoverResult{Connected: true, Vaults: vaults})
}
