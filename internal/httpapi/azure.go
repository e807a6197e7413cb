package httpapi

import (
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func toCredential(c *keyward.CloudCredential) api.CloudCredential {
	e := c.Endpoints
	return api.CloudCredential{ID: c.ID, Name: c.Name, Description: c.Description, Cloud: string(c.Cloud),
		Endpoints: api.CloudEndpoints{Authority: e.Authority, ARM: e.ARM, ARMAudience: e.ARMAudience, VaultSuffix: e.VaultSuffix, HSMSuffix: e.HSMSuffix},
		TenantID:  c.TenantID, ClientID: c.ClientID, SubscriptionID: c.SubscriptionID, AuthMethod: c.AuthMethod,
		CertificatePEM: c.CertificatePEM, CreatedAt: c.CreatedAt, CreatedBy: c.CreatedBy, UpdatedAt: c.UpdatedAt}
}

func credentialInput(in *api.CloudCredentialInput) service.CredentialInput {
	out := service.CredentialInput{Name: in.Name, Description: in.Description, Cloud: keyward.Cloud(in.Cloud), TenantID: in.TenantID,
		ClientID: in.ClientID, SubscriptionID: in.SubscriptionID, ClientSecret: in.ClientSecret, CertificatePEM: in.CertificatePEM, PrivateKeyPEM: in.PrivateKeyPEM}
	if e := in.Endpoints; e != nil {
		out.Endpoints = keyward.CloudEndpoints{Authority: e.Authority, ARM: e.ARM, ARMAudience: e.ARMAudience, VaultSuffix: e.VaultSuffix, HSMSuffix: e.HSMSuffix}
	}
	return out
}

func toVault(v *keyward.VaultInfo) api.Vault {
	return api.Vault{Kind: string(v.Kind), Name: v.Name, URI: v.URI, ResourceID: v.ResourceID, Location: v.Location, SKU: v.SKU,
		SoftDelete: v.SoftDelete, RetentionDays: v.RetentionDays, PurgeProtection: v.PurgeProtection}
}

func toAzureLink(l *keyward.AzureLink) api.AzureLink {
	t := l.TLS
	return api.AzureLink{Group: l.GroupID, Credential: l.CredentialID, Vault: toVault(&l.Vault),
		TLS:    api.TLSSettings{CACertPEM: t.CACertPEM, ClientCertPEM: t.ClientCertPEM, SkipHostVerify: t.SkipHostVerify, ProxyURL: t.ProxyURL},
		Status: l.Status, Reason: l.Reason, CheckedAt: l.CheckedAt, CreatedAt: l.CreatedAt, CreatedBy: l.CreatedBy}
}

func fromTLS(t *api.TLSSettings) (keyward.TLSSettings, string) {
	if t == nil {
		return keyward.TLSSettings{}, ""
	}
	return keyward.TLSSettings{CACertPEM: t.CACertPEM, ClientCertPEM: t.ClientCertPEM, SkipHostVerify: t.SkipHostVerify, ProxyURL: t.ProxyURL}, t.ClientKeyPEM
}

func groupAzure(l *keyward.AzureLink) *api.GroupAzure {
	if l == nil {
		return nil
	}
	return &api.GroupAzure{VaultKind: string(l.Vault.Kind), Vault: l.Vault.Name, Status: l.Status, Reason: l.Reason}
}

func (s *Server) azureHandlers(m map[string]handler) {
	m["listCloudCredentials"] = func(r *http.Request, p keyward.Principal) (any, error) {
		pg, err := page(r)
		if err != nil {
			return nil, err
		}
		cs, err := s.svc.ListCredentials(r.Context(), p, pg)
		if err != nil {
			return nil, err
		}
		out := api.CloudCredentialList{Items: []api.CloudCredential{}}
		for i := range cs {
			out.Items = append(out.Items, toCredential(&cs[i]))
		}
		if len(cs) == pg.N() {
			out.Next = cs[len(cs)-1].Name
		}
		return out, nil
	}
	m["createCloudCredential"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.CloudCredentialInput
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		c, err := s.svc.CreateCredential(r.Context(), p, credentialInput(&in))
		if err != nil {
			return nil, err
		}
		return toCredential(c), nil
	}
	m["getCloudCredential"] = func(r *http.Request, p keyward.Principal) (any, error) {
		c, err := s.svc.GetCredential(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toCredential(c), nil
	}
	m["updateCloudCredential"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.CloudCredentialInput
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		c, err := s.svc.UpdateCredential(r.Context(), p, r.PathValue("id"), credentialInput(&in))
		if err != nil {
			return nil, err
		}
		return toCredential(c), nil
	}
	m["deleteCloudCredential"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.DeleteCredential(r.Context(), p, r.PathValue("id"))
	}
	m["testCloudCredential"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.CredentialTest
		if err := decodeOptionalBody(r, &in); err != nil {
			return nil, err
		}
		var tls *keyward.TLSSettings
		if in.TLS != nil {
			t, _ := fromTLS(in.TLS)
			tls = &t
		}
		res, err := s.svc.TestCredential(r.Context(), p, r.PathValue("id"), tls)
		if err != nil {
			return nil, err
		}
		out := api.CredentialTestResult{Connected: res.Connected, Reason: res.Reason, Vaults: []api.Vault{}}
		for i := range res.Vaults {
			out.Vaults = append(out.Vaults, toVault(&res.Vaults[i]))
		}
		return out, nil
	}
	m["linkGroup"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureLinkInput
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		tls, key := fromTLS(in.TLS)
		l, err := s.svc.LinkGroup(r.Context(), p, r.PathValue("id"), service.LinkInput{Credential: in.Credential,
			VaultKind: keyward.VaultKind(in.VaultKind), VaultName: in.Vault, TLS: tls, TLSClientKeyPEM: key})
		if err != nil {
			return nil, err
		}
		return toAzureLink(l), nil
	}
	m["getGroupLink"] = func(r *http.Request, p keyward.Principal) (any, error) {
		l, err := s.svc.GetLink(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toAzureLink(l), nil
	}
	m["updateGroupLink"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureLinkUpdate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		u := service.LinkUpdate{Credential: in.Credential}
		if in.TLS != nil {
			tls, key := fromTLS(in.TLS)
			u.TLS = &tls
			if key != "" {
				u.TLSClientKeyPEM = &key
			}
		}
		l, err := s.svc.UpdateLink(r.Context(), p, r.PathValue("id"), u)
		if err != nil {
			return nil, err
		}
		return toAzureLink(l), nil
	}
	m["testGroupLink"] = func(r *http.Request, p keyward.Principal) (any, error) {
		l, err := s.svc.TestLink(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toAzureLink(l), nil
	}
	m["unlinkGroup"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.Unlink(r.Context(), p, r.PathValue("id"))
	}
	m["syncGroup"] = func(r *http.Request, p keyward.Principal) (any, error) {
		j, err := s.svc.Sync(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toJob(j), nil
	}
}
