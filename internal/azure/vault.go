package azure

import (
	"context"
	"net/url"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/keyward"
)

// vault is a client of one key vault or managed HSM.
type vault struct {
	conn *Connector
	sess *session
	kc   *azkeys.Client
	data *runner // the data plane, within the vault's budget
	mgmt *runner // Resource Manager, outside it
	cnt  counter

	mu   sync.Mutex
	info keyward.VaultInfo // as linked, refreshed by Probe
}

var _ keyward.CloudVault = (*vault)(nil)

// Open returns a client of the linked vault. It checks the link and builds the SDK
// clients (reusing a session of the same credential and TLS settings) but calls no one.
func (c *Connector) Open(cred *keyward.CloudCredential, secret keyward.CloudSecret, link *keyward.AzureLink, tlsKey []byte) (keyward.CloudVault, error) {
	if link == nil || link.Vault.URI == "" {
		return nil, keyward.Invalid("vault.uri", "the link names no vault")
	}
	s, err := c.sessionFor(cred, secret, link.TLS, tlsKey)
	if err != nil {
		return nil, err
	}
	u, err := checkVaultURI(link.Vault.URI, link.Vault.Kind, s.ep)
	if err != nil {
		return nil, err
	}
	kc, err := s.keysClient(link.Vault.URI)
	if err != nil {
		return nil, err
	}
	v := &vault{conn: c, sess: s, kc: kc, info: link.Vault}
	mhsm := link.Vault.Kind == keyward.VaultManagedHSM
	profiles, slots := c.vaultShared(u.Host, mhsm)
	sub := subscriptionOf(link.Vault.ResourceID)
	if sub == "" {
		sub = cred.SubscriptionID
	}
	b := &budget{host: u.Host, subscription: sub, worst: worstProfile(link.Vault.Kind), hsmSlots: slots, profiles: profiles}
	v.data = &runner{conn: c, calls: &v.cnt, budget: b, name: link.Vault.Name, host: u.Host}
	v.mgmt = &runner{conn: c, calls: &v.cnt, name: link.Vault.Name, host: hostOf(s.ep.ARM)}
	return v, nil
}

// hostOf is the host of a URL, "" when it has none.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

// subscriptionOf reads the subscription of a resource id,
// /subscriptions/{sub}/resourceGroups/...
func subscriptionOf(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		return parts[1]
	}
	return ""
}

func (v *vault) vaultInfo() keyward.VaultInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.info
}

// Calls reports the requests this client sent, by Azure operation id (the emulator's
// stats use the same names): every attempt, every page, and the bare first request of
// Key Vault's authentication challenge; not the token requests to Entra.
func (v *vault) Calls() map[string]int { return v.cnt.snapshot() }

// Probe re-reads the vault's properties through Resource Manager and lists one page of
// keys to prove the data plane answers this credential. When Resource Manager answers
// but the data plane does not, it returns the properties with the error, so the caller
// can record both. A managed HSM whose security domain is not active is EPRECONDITION
// without a data-plane call (Azure refuses every key operation until it is).
func (v *vault) Probe(ctx context.Context) (*keyward.VaultInfo, error) {
	info, err := readVault(ctx, v.mgmt, v.sess, v.vaultInfo())
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	v.info.SoftDelete, v.info.RetentionDays, v.info.PurgeProtection = info.SoftDelete, info.RetentionDays, info.PurgeProtection
	v.info.SecurityDomainPending, v.info.SKU = info.SecurityDomainPending, info.SKU
	v.mu.Unlock()
	if info.SecurityDomainPending {
		return info, keyward.Errorf(keyward.EPRECONDITION,
			"Azure: managed HSM %s is not activated: download its security domain to activate it", info.Name)
	}
	pager := v.kc.NewListKeyPropertiesPager(nil)
	_, err = v.data.do(ctx, call{op: "GetKeys"}, func(ctx context.Context) (result, error) {
		_, err := pager.NextPage(ctx)
		return nil, err
	})
	return info, err
}

// softDeleteOff is the refusal of the deleted-key operations on a vault without soft
// delete, where Azure has none of them.
func (v *vault) softDeleteOff(what string) error {
	if v.vaultInfo().SoftDelete {
		return nil
	}
	return keyward.Errorf(keyward.ENOTSUPPORTED, "vault %s has no soft delete: %s does not exist there", v.vaultInfo().Name, what)
}
