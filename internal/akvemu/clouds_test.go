package akvemu

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// TestSovereignClouds runs the SDK against US Government and China tenants: their login
// hosts, vault and HSM suffixes, token resources and ARM endpoints (akv-api.md §4.4).
func TestSovereignClouds(t *testing.T) {
	const (
		govTenant = "9a9a9a9a-0000-4000-8000-00000000a001"
		govSub    = "9a9a9a9a-0000-4000-8000-00000000b001"
		govApp    = "9a9a9a9a-0000-4000-8000-00000000c001"
		cnTenant  = "9a9a9a9a-0000-4000-8000-00000000a002"
		cnSub     = "9a9a9a9a-0000-4000-8000-00000000b002"
		cnApp     = "9a9a9a9a-0000-4000-8000-00000000c002"
	)
	e := newEnv(t, func(c *Config) {
		c.Tenants = append(c.Tenants,
			TenantConfig{ID: govTenant, Cloud: "usgov", Apps: []AppConfig{{ClientID: govApp, Secret: appSecret, Subscriptions: []string{govSub}}}},
			TenantConfig{ID: cnTenant, Cloud: "china", Apps: []AppConfig{{ClientID: cnApp, Secret: appSecret, Subscriptions: []string{cnSub}}}})
		c.Subscriptions = append(c.Subscriptions, SubscriptionConfig{ID: govSub, TenantID: govTenant}, SubscriptionConfig{ID: cnSub, TenantID: cnTenant})
		c.Vaults = append(c.Vaults, VaultConfig{Name: "gov-vault", Subscription: govSub, SKU: "premium"},
			VaultConfig{Name: "cn-vault", Subscription: cnSub})
		c.ManagedHSMs = append(c.ManagedHSMs, HSMConfig{Name: "gov-hsm", Subscription: govSub})
	})
	ctx := context.Background()
	for _, c := range []struct {
		name, tenant, app, vault, hsm, sub string
		cloud                              azcloud.Configuration
	}{
		{"usgov", govTenant, govApp, "https://gov-vault.vault.usgovcloudapi.net/", "https://gov-hsm.managedhsm.usgovcloudapi.net/", govSub, azcloud.AzureGovernment},
		{"china", cnTenant, cnApp, "https://cn-vault.vault.azure.cn/", "", cnSub, azcloud.AzureChina},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := e.clientOptions("proxy")
			opts.Cloud = c.cloud
			cred, err := azidentity.NewClientSecretCredential(c.tenant, c.app, appSecret, &azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{c.vault, c.hsm} {
				if u == "" {
					continue
				}
				kc, err := azkeys.NewClient(u, cred, &azkeys.ClientOptions{ClientOptions: opts})
				if err != nil {
					t.Fatal(err)
				}
				k, err := kc.CreateKey(ctx, "k", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil)
				if err != nil {
					t.Fatalf("CreateKey at %s: %v", u, err)
				}
				if got := string(*k.Key.KID); !strings.HasPrefix(got, u+"keys/k/") {
					t.Errorf("kid %s not under %s", got, u)
				}
			}
			vc, err := armkeyvault.NewVaultsClient(c.sub, cred, &arm.ClientOptions{ClientOptions: opts})
			if err != nil {
				t.Fatal(err)
			}
			page, err := vc.NewListBySubscriptionPager(nil).NextPage(ctx)
			if err != nil || len(page.Value) != 1 || *page.Value[0].Properties.VaultURI != c.vault {
				t.Fatalf("ARM list: %v", err)
			}
		})
	}
}
