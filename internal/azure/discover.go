package azure

import (
	"context"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/keyward/keyward/internal/keyward"
)

// Azure's defaults for properties old resources may lack (akv-api.md §5, §7).
const defaultRetentionDays = 90

// Discover signs in and lists the subscription's vaults and managed HSMs through Resource
// Manager, every page of both, sorted by kind and name.
func (c *Connector) Discover(ctx context.Context, cred *keyward.CloudCredential, secret keyward.CloudSecret,
	tls keyward.TLSSettings, tlsKey []byte) ([]keyward.VaultInfo, error) {
	s, err := c.sessionFor(cred, secret, tls, tlsKey)
	if err != nil {
		return nil, err
	}
	r := &runner{conn: c, calls: &counter{}, name: "subscription " + cred.SubscriptionID, host: hostOf(s.ep.ARM)}
	vaults, err := listVaults(ctx, r, s)
	if err != nil {
		return nil, err
	}
	hsms, err := listHSMs(ctx, r, s)
	if err != nil {
		return nil, err
	}
	out := append(vaults, hsms...)
	slices.SortFunc(out, func(a, b keyward.VaultInfo) int {
		if a.Kind != b.Kind {
			return strings.Compare(string(a.Kind), string(b.Kind))
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// listVaults reads every page of the subscription's key vaults, with their properties.
func listVaults(ctx context.Context, r *runner, s *session) ([]keyward.VaultInfo, error) {
	ac, err := s.armClients("")
	if err != nil {
		return nil, err
	}
	var out []keyward.VaultInfo
	err = eachPage(ctx, r, call{op: "Vaults_ListBySubscription"}, func() *runtime.Pager[armkeyvault.VaultsClientListBySubscriptionResponse] {
		return ac.vaults.NewListBySubscriptionPager(nil)
	},
		func(p armkeyvault.VaultsClientListBySubscriptionResponse) []*armkeyvault.Vault { return p.Value },
		func(v *armkeyvault.Vault) error { out = append(out, vaultInfo(v)); return nil })
	return out, err
}

// listHSMs reads every page of the subscription's managed HSMs.
func listHSMs(ctx context.Context, r *runner, s *session) ([]keyward.VaultInfo, error) {
	ac, err := s.armClients("")
	if err != nil {
		return nil, err
	}
	var out []keyward.VaultInfo
	err = eachPage(ctx, r, call{op: "ManagedHsms_ListBySubscription"}, func() *runtime.Pager[armkeyvault.ManagedHsmsClientListBySubscriptionResponse] {
		return ac.hsms.NewListBySubscriptionPager(nil)
	},
		func(p armkeyvault.ManagedHsmsClientListBySubscriptionResponse) []*armkeyvault.ManagedHsm {
			return p.Value
		},
		func(h *armkeyvault.ManagedHsm) error { out = append(out, hsmInfo(h)); return nil })
	return out, err
}

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

// vaultInfo maps a vault. Its sku sits inside properties; soft delete defaults on,
// retention to 90 days, and purge protection is absent when off.
func vaultInfo(v *armkeyvault.Vault) keyward.VaultInfo {
	info := keyward.VaultInfo{Name: str(v.Name), ResourceID: str(v.ID), Location: str(v.Location),
		Kind: keyward.VaultStandard, SoftDelete: true, RetentionDays: defaultRetentionDays}
	p := v.Properties
	if p == nil {
		return info
	}
	if p.SKU != nil {
		info.SKU = strings.ToLower(str(p.SKU.Name))
		if info.SKU == "premium" {
			info.Kind = keyward.VaultPremium
		}
	}
	info.URI = str(p.VaultURI)
	if p.EnableSoftDelete != nil {
		info.SoftDelete = *p.EnableSoftDelete
	}
	if p.SoftDeleteRetentionInDays != nil && *p.SoftDeleteRetentionInDays > 0 {
		info.RetentionDays = int(*p.SoftDeleteRetentionInDays)
	}
	info.PurgeProtection = p.EnablePurgeProtection != nil && *p.EnablePurgeProtection
	if !info.SoftDelete {
		info.RetentionDays = 0
	}
	return info
}

// hsmInfo maps a managed HSM. Its sku is top level; soft delete is always on; a security
// domain not (or not successfully) activated leaves it unusable until it is.
func hsmInfo(h *armkeyvault.ManagedHsm) keyward.VaultInfo {
	info := keyward.VaultInfo{Kind: keyward.VaultManagedHSM, Name: str(h.Name), ResourceID: str(h.ID),
		Location: str(h.Location), SoftDelete: true, RetentionDays: defaultRetentionDays}
	if h.SKU != nil {
		info.SKU = str(h.SKU.Name)
	}
	p := h.Properties
	if p == nil {
		return info
	}
	info.URI = str(p.HsmURI)
	if p.SoftDeleteRetentionInDays != nil && *p.SoftDeleteRetentionInDays > 0 {
		info.RetentionDays = int(*p.SoftDeleteRetentionInDays)
	}
	info.PurgeProtection = p.EnablePurgeProtection != nil && *p.EnablePurgeProtection
	if sd := p.SecurityDomainProperties; sd != nil && sd.ActivationStatus != nil {
		switch *sd.ActivationStatus {
		case armkeyvault.ActivationStatusNotActivated, armkeyvault.ActivationStatusFailed:
			info.SecurityDomainPending = true
		}
	}
	return info
}

// readVault re-reads a linked vault's properties: by resource id when the link has one,
// otherwise by finding its name in the subscription.
func readVault(ctx context.Context, r *runner, s *session, want keyward.VaultInfo) (*keyward.VaultInfo, error) {
	id, perr := arm.ParseResourceID(want.ResourceID)
	if want.ResourceID == "" || perr != nil {
		return findVault(ctx, r, s, want)
	}
	// The vault's subscription, which need not be the one the credential discovers.
	ac, err := s.armClients(id.SubscriptionID)
	if err != nil {
		return nil, err
	}
	var info keyward.VaultInfo
	if want.Kind == keyward.VaultManagedHSM {
		_, err = r.do(ctx, call{op: "ManagedHsms_Get"}, func(ctx context.Context) (result, error) {
			res, err := ac.hsms.Get(ctx, id.ResourceGroupName, id.Name, nil)
			if err == nil {
				info = hsmInfo(&res.ManagedHsm)
			}
			return nil, err
		})
	} else {
		_, err = r.do(ctx, call{op: "Vaults_Get"}, func(ctx context.Context) (result, error) {
			res, err := ac.vaults.Get(ctx, id.ResourceGroupName, id.Name, nil)
			if err == nil {
				info = vaultInfo(&res.Vault)
			}
			return nil, err
		})
	}
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// findVault lists the subscription's vaults (or HSMs) for the one with the link's name.
func findVault(ctx context.Context, r *runner, s *session, want keyward.VaultInfo) (*keyward.VaultInfo, error) {
	list := listVaults
	if want.Kind == keyward.VaultManagedHSM {
		list = listHSMs
	}
	all, err := list(ctx, r, s)
	if err != nil {
		return nil, err
	}
	for _, v := range all {
		if strings.EqualFold(v.Name, want.Name) {
			return &v, nil
		}
	}
	return nil, keyward.Errorf(keyward.ENOTFOUND, "Azure: %s %s is not in subscription %s", want.Kind, want.Name, s.sub)
}
