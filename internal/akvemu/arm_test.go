package akvemu

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
)

func TestARMThroughSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			opts := &arm.ClientOptions{ClientOptions: e.clientOptions(mode)}
			vaults, err := armkeyvault.NewVaultsClient(subID, e.secretCred(mode), opts)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for pager := vaults.NewListBySubscriptionPager(&armkeyvault.VaultsClientListBySubscriptionOptions{Top: to.Ptr[int32](2)}); pager.More(); {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatalf("ListBySubscription: %v", err)
				}
				for _, v := range page.Value {
					names = append(names, *v.Name)
					checkVaultModel(t, v)
				}
			}
			sort.Strings(names)
			if want := []string{"kw-legacy", "kw-premium", "kw-standard"}; !slices.Equal(names, want) {
				t.Errorf("vaults = %v, want %v", names, want)
			}

			names = nil
			for pager := vaults.NewListByResourceGroupPager("rg-keys", nil); pager.More(); {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatalf("ListByResourceGroup: %v", err)
				}
				for _, v := range page.Value {
					names = append(names, *v.Name)
				}
			}
			if len(names) != 2 {
				t.Errorf("rg-keys vaults = %v", names)
			}

			got, err := vaults.Get(ctx, "rg-keys", "kw-premium", nil)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			p := got.Properties
			if *p.SKU.Name != armkeyvault.SKUNamePremium || !*p.EnablePurgeProtection || *p.SoftDeleteRetentionInDays != 90 ||
				*p.VaultURI != "https://kw-premium.vault.azure.net/" || *p.TenantID != tenantID {
				t.Errorf("premium vault = %+v", p)
			}

			names = nil
			for pager := vaults.NewListPager(nil); pager.More(); {
				page, err := pager.NextPage(ctx)
				if err != nil {
					t.Fatalf("List (resources): %v", err)
				}
				for _, r := range page.Value {
					names = append(names, *r.Name)
					if *r.Type != "Microsoft.KeyVault/vaults" {
						t.Errorf("type = %s", *r.Type)
					}
				}
			}
			if len(names) != 3 {
				t.Errorf("legacy list = %v", names)
			}

			hsms, err := armkeyvault.NewManagedHsmsClient(subID, e.secretCred(mode), opts)
			if err != nil {
				t.Fatal(err)
			}
			pager := hsms.NewListBySubscriptionPager(nil)
			page, err := pager.NextPage(ctx)
			if err != nil || len(page.Value) != 1 {
				t.Fatalf("managed HSMs: %v %v", err, page.Value)
			}
			h := page.Value[0]
			if *h.SKU.Name != armkeyvault.ManagedHsmSKUNameStandardB1 || *h.Properties.HsmURI != "https://kw-hsm.managedhsm.azure.net/" ||
				*h.Properties.SecurityDomainProperties.ActivationStatus != armkeyvault.ActivationStatusActive {
				t.Errorf("hsm = %+v", h)
			}
			if _, err := hsms.Get(ctx, "rg-keys", "kw-hsm", nil); err != nil {
				t.Errorf("hsm Get: %v", err)
			}
		})
	}
}

// checkVaultModel checks the shape quirks of §5 that the SDK model exposes.
func checkVaultModel(t *testing.T, v *armkeyvault.Vault) {
	t.Helper()
	p := v.Properties
	if p.SKU == nil || p.SKU.Family == nil || *p.SKU.Family != armkeyvault.SKUFamilyA {
		t.Errorf("%s: sku = %+v", *v.Name, p.SKU)
	}
	if *v.Name == "kw-standard" && (p.EnablePurgeProtection != nil || *p.SoftDeleteRetentionInDays != 7) {
		t.Errorf("standard: purge protection %v, retention %v", p.EnablePurgeProtection, *p.SoftDeleteRetentionInDays)
	}
	if *v.Name == "kw-legacy" && (*p.EnableSoftDelete || p.SoftDeleteRetentionInDays != nil) {
		t.Errorf("legacy vault reports soft delete")
	}
}

func TestARMJSONShapes(t *testing.T) {
	e := newEnv(t)
	tok := e.token("https://management.azure.com")
	base := "https://management.azure.com/subscriptions/" + subID
	r := e.do("GET", base+"/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kw-standard?api-version=2024-11-01", tok, "")
	golden(t, "arm_vault_standard", maskSystemData(r))
	r = e.do("GET", base+"/resourceGroups/rg-keys/providers/Microsoft.KeyVault/managedHSMs/kw-hsm?api-version=2024-11-01", tok, "")
	golden(t, "arm_managed_hsm", maskSystemData(r))
	r = e.do("GET", "https://management.azure.com/subscriptions?api-version=2022-12-01", tok, "")
	golden(t, "arm_subscriptions", r)
	r = e.do("GET", base+"/resources?$filter=resourceType%20eq%20'Microsoft.KeyVault/vaults'&$top=2&api-version=2015-11-01", tok, "")
	golden(t, "arm_resources_page1", r)
}

// maskSystemData hides the creation times.
func maskSystemData(r response) response {
	var v map[string]any
	if json.Unmarshal(r.body, &v) == nil {
		if sd, ok := v["systemData"].(map[string]any); ok {
			sd["createdAt"], sd["lastModifiedAt"] = "<time>", "<time>"
		}
		r.body, _ = json.Marshal(v)
	}
	return r
}

func TestARMErrors(t *testing.T) {
	e := newEnv(t)
	arm := e.token("https://management.core.windows.net/")
	vault := e.token("https://vault.azure.net")
	noGrant := e.tokenFor(tenantID, noGrantID, "https://management.azure.com")
	other := e.tokenFor(otherTID, otherApp, "https://management.azure.com")
	base := "https://management.azure.com/subscriptions/" + subID
	list := base + "/providers/Microsoft.KeyVault/vaults?api-version=2024-11-01"
	cases := []struct{ name, url, token string }{
		{"missing_token", list, ""},
		{"malformed_token", list, "not.a.jwt"},
		{"vault_token", list, vault},
		{"other_tenant", list, other},
		{"no_grant", list, noGrant},
		{"unknown_subscription", "https://management.azure.com/subscriptions/00000000-0000-4000-8000-000000000009/providers/Microsoft.KeyVault/vaults?api-version=2024-11-01", arm},
		{"missing_api_version", base + "/providers/Microsoft.KeyVault/vaults", arm},
		{"bad_api_version", base + "/providers/Microsoft.KeyVault/vaults?api-version=2099-01-01", arm},
		{"resource_group_not_found", base + "/resourceGroups/nope/providers/Microsoft.KeyVault/vaults?api-version=2024-11-01", arm},
		{"vault_not_found", base + "/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/nope?api-version=2024-11-01", arm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("GET", c.url, c.token, "")
			golden(t, "arm_"+c.name, r)
			if c.name == "missing_token" && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("subscriptions of another tenant's app", func(t *testing.T) {
		r := e.do("GET", "https://management.azure.com/subscriptions?api-version=2022-12-01", noGrant, "")
		var out struct{ Value []any }
		if err := json.Unmarshal(r.body, &out); err != nil || r.status != 200 || len(out.Value) != 0 {
			t.Errorf("status %d, %s", r.status, r.body)
		}
	})
}
