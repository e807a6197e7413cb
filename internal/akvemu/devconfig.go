package akvemu

// The development world: fixed identifiers so that `keyward azure-emulator`, `keyward dev`
// and scripts agree on them from run to run.
const (
	// DevTenantID is the tenant of DevConfig.
	DevTenantID = "4a1e9a3c-0d2b-4c8e-9f61-7b3d5e2a8c10"
	// DevClientID is the app registration of DevConfig.
	DevClientID = "8d2f6b1e-5a4c-4e3b-b7d9-2c1a0f9e6d34"
	// DevClientSecret is that app's secret. It protects nothing but the emulator.
	DevClientSecret = "keyward-emulator-dev-secret"
	// DevSubscriptionID is the subscription of DevConfig's vaults.
	DevSubscriptionID = "b3c5d7e9-1f2a-4b6c-8d0e-a1b2c3d4e5f6"
)

// DevConfig is a ready world for development and demos: one tenant with one app (secret
// DevClientSecret) granted one subscription, which holds a Standard vault "kw-standard",
// a Premium vault "kw-premium" and a Managed HSM "kw-hsm", all with 7 days of soft-delete
// retention and no purge protection, in resource group "keyward-dev". Throttling is
// Azure's; deletes and recovers take a couple of seconds as in Azure.
func DevConfig() Config {
	return Config{
		Tenants: []TenantConfig{{ID: DevTenantID, Apps: []AppConfig{{
			ClientID: DevClientID, DisplayName: "keyward-dev", Secret: DevClientSecret,
			Subscriptions: []string{DevSubscriptionID},
		}}}},
		Subscriptions: []SubscriptionConfig{{ID: DevSubscriptionID, TenantID: DevTenantID, DisplayName: "Keyward development"}},
		Vaults: []VaultConfig{
			{Name: "kw-standard", Subscription: DevSubscriptionID, ResourceGroup: "keyward-dev", SKU: "standard", SoftDeleteRetentionDays: 7},
			{Name: "kw-premium", Subscription: DevSubscriptionID, ResourceGroup: "keyward-dev", SKU: "premium", SoftDeleteRetentionDays: 7},
		},
		ManagedHSMs: []HSMConfig{{Name: "kw-hsm", Subscription: DevSubscriptionID, ResourceGroup: "keyward-dev", SoftDeleteRetentionDays: 7}},
		Timing:      AzureLikeTiming(),
	}
}
