package azure

import (
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

func TestDiscover(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	list, err := w.connector().Discover(ctxT(t), secretCred(), secret(), w.tls, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []keyward.VaultInfo{
		{Kind: keyward.VaultManagedHSM, Name: "kw-hsm", URI: "https://kw-hsm.managedhsm.azure.net/", SKU: "Standard_B1",
			SoftDelete: true, RetentionDays: 7},
		{Kind: keyward.VaultManagedHSM, Name: "kw-hsm-new", URI: "https://kw-hsm-new.managedhsm.azure.net/", SKU: "Standard_B1",
			SoftDelete: true, RetentionDays: 90, SecurityDomainPending: true},
		{Kind: keyward.VaultPremium, Name: "kw-guarded", URI: "https://kw-guarded.vault.azure.net/", SKU: "premium",
			SoftDelete: true, RetentionDays: 90, PurgeProtection: true},
		{Kind: keyward.VaultPremium, Name: "kw-premium", URI: "https://kw-premium.vault.azure.net/", SKU: "premium",
			SoftDelete: true, RetentionDays: 7},
		{Kind: keyward.VaultStandard, Name: "kw-legacy", URI: "https://kw-legacy.vault.azure.net/", SKU: "standard"},
		{Kind: keyward.VaultStandard, Name: "kw-standard", URI: "https://kw-standard.vault.azure.net/", SKU: "standard",
			SoftDelete: true, RetentionDays: 7},
	}
	if len(list) != len(want) {
		t.Fatalf("discovered %d vaults, want %d: %+v", len(list), len(want), list)
	}
	for i, got := range list {
		w := want[i]
		rg := "rg-keys"
		if w.Name == "kw-legacy" {
			rg = "rg-old"
		}
		typ := "vaults"
		if w.Kind == keyward.VaultManagedHSM {
			typ = "managedHSMs"
		}
		w.ResourceID = "/subscriptions/" + subID + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/" + typ + "/" + w.Name
		w.Location = "westeurope"
		if got != w {
			t.Errorf("vault %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}

func TestDiscoverRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	cases := []struct {
		name   string
		edit   func(*keyward.CloudCredential, *keyward.CloudSecret)
		code   string
		prefix string
	}{
		{"wrong secret", func(_ *keyward.CloudCredential, s *keyward.CloudSecret) { s.ClientSecret = "wrong" },
			keyward.EUNAUTHENTICATED, "Azure: invalid_client: AADSTS7000215: Invalid client secret"},
		{"unknown app", func(c *keyward.CloudCredential, _ *keyward.CloudSecret) {
			c.ClientID = "12345678-0000-4000-8000-000000000000"
		},
			keyward.EUNAUTHENTICATED, "Azure: unauthorized_client: AADSTS700016"},
		{"subscription of another tenant", func(c *keyward.CloudCredential, _ *keyward.CloudSecret) { c.SubscriptionID = otherSub },
			keyward.EUNAUTHENTICATED, "Azure: InvalidAuthenticationTokenTenant: "},
		{"subscription not granted", func(c *keyward.CloudCredential, _ *keyward.CloudSecret) { c.SubscriptionID = deniedSub },
			keyward.EFORBIDDEN, "Azure: AuthorizationFailed: "},
		{"unknown subscription", func(c *keyward.CloudCredential, _ *keyward.CloudSecret) {
			c.SubscriptionID = "99999999-0000-4000-8000-000000000000"
		}, keyward.ENOTFOUND, "Azure: SubscriptionNotFound: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred, sec := secretCred(), secret()
			tc.edit(cred, &sec)
			_, err := c.Discover(ctxT(t), cred, sec, w.tls, nil)
			e := wantCode(t, err, tc.code, tc.prefix)
			if strings.Contains(e.Message, appSecret) || strings.Contains(e.Message, "\n") {
				t.Errorf("message leaks or spans lines: %q", e.Message)
			}
		})
	}
}

// TestCertificateCredential signs in with a client certificate (a signed assertion).
func TestCertificateCredential(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	cred := secretCred()
	cred.ClientID, cred.AuthMethod, cred.CertificatePEM = certAppID, "certificate", string(testCert().certPEM)
	sec := keyward.CloudSecret{PrivateKey: testCert().keyPEM}
	list, err := c.Discover(ctxT(t), cred, sec, w.tls, nil)
	if err != nil || len(list) != 6 {
		t.Fatalf("Discover with a certificate: %d vaults, %v", len(list), err)
	}
	v, err := c.Open(cred, sec, &keyward.AzureLink{Vault: w.info("kw-premium"), TLS: w.tls}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateKey(ctxT(t), "by-cert", keyward.CloudKeySpec{KeyType: "EC-HSM", Enabled: true}); err != nil {
		t.Fatalf("CreateKey with a certificate: %v", err)
	}
	// The key may also come bundled with its certificate in the secret.
	bundled := *cred
	bundled.CertificatePEM = ""
	if _, err := c.Discover(ctxT(t), &bundled, keyward.CloudSecret{PrivateKey: append(testCert().certPEM, testCert().keyPEM...)}, w.tls, nil); err != nil {
		t.Errorf("Discover with certificate and key in the secret: %v", err)
	}
	// A certificate Entra does not know for the app is refused with its reason.
	other := *cred
	other.ClientID = appID
	_, err = c.Discover(ctxT(t), &other, sec, w.tls, nil)
	wantCode(t, err, keyward.EUNAUTHENTICATED, "Azure: invalid_client: AADSTS700027")
}

// TestSovereignClouds reaches US Government and China hosts by their known endpoints,
// and through a custom cloud that names the US Government endpoints itself.
func TestSovereignClouds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	cases := []struct {
		name, tenant, app, sub string
		cloud                  keyward.Cloud
		endpoints              keyward.CloudEndpoints
		uris                   []string
	}{
		{"usgov", govTenant, govApp, govSub, keyward.CloudUSGov, keyward.KnownClouds[keyward.CloudUSGov],
			[]string{"https://gov-hsm.managedhsm.usgovcloudapi.net/", "https://gov-vault.vault.usgovcloudapi.net/"}},
		{"china", cnTenant, cnApp, cnSub, keyward.CloudChina, keyward.CloudEndpoints{}, []string{"https://cn-vault.vault.azure.cn/"}},
		{"custom", govTenant, govApp, govSub, keyward.CloudCustomName, keyward.KnownClouds[keyward.CloudUSGov],
			[]string{"https://gov-hsm.managedhsm.usgovcloudapi.net/", "https://gov-vault.vault.usgovcloudapi.net/"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred := &keyward.CloudCredential{Cloud: tc.cloud, Endpoints: tc.endpoints, TenantID: tc.tenant, ClientID: tc.app,
				SubscriptionID: tc.sub, AuthMethod: "secret"}
			list, err := c.Discover(ctxT(t), cred, secret(), w.tls, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(tc.uris) {
				t.Fatalf("discovered %+v, want %v", list, tc.uris)
			}
			for i, info := range list {
				if info.URI != tc.uris[i] {
					t.Errorf("vault %d at %s, want %s", i, info.URI, tc.uris[i])
				}
				v, err := c.Open(cred, secret(), &keyward.AzureLink{Vault: info, TLS: w.tls}, nil)
				if err != nil {
					t.Fatal(err)
				}
				k, err := v.CreateKey(ctxT(t), "k-"+tc.name, keyward.CloudKeySpec{KeyType: "EC", Enabled: true})
				if err != nil {
					t.Fatalf("CreateKey at %s: %v", info.URI, err)
				}
				if !strings.HasPrefix(k.KID, info.URI+"keys/k-"+tc.name+"/") {
					t.Errorf("kid %s is not under %s", k.KID, info.URI)
				}
				if _, err := v.Probe(ctxT(t)); err != nil {
					t.Errorf("Probe %s: %v", info.Name, err)
				}
			}
		})
	}
	// A vault of another cloud is refused before any token leaves for it.
	gov := &keyward.CloudCredential{Cloud: keyward.CloudUSGov, TenantID: govTenant, ClientID: govApp, SubscriptionID: govSub}
	_, err := c.Open(gov, secret(), &keyward.AzureLink{Vault: w.info("kw-premium"), TLS: w.tls}, nil)
	wantCode(t, err, keyward.EINVALID, "")
}

func TestProbe(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	for _, name := range []string{"kw-standard", "kw-premium", "kw-hsm", "kw-legacy"} {
		t.Run(name, func(t *testing.T) {
			want := w.info(name)
			info, err := w.open(c, name).Probe(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if *info != want {
				t.Errorf("Probe = %+v, want %+v", *info, want)
			}
			// Without a resource id the vault is found by name.
			link := &keyward.AzureLink{Vault: keyward.VaultInfo{Kind: want.Kind, Name: want.Name, URI: want.URI}, TLS: w.tls}
			v, err := c.Open(secretCred(), secret(), link, nil)
			if err != nil {
				t.Fatal(err)
			}
			if info, err := v.Probe(ctxT(t)); err != nil || *info != want {
				t.Errorf("Probe by name = %+v, %v", info, err)
			}
			calls := v.Calls()
			if calls["GetKeys"] < 1 || calls["Vaults_ListBySubscription"]+calls["ManagedHsms_ListBySubscription"] != 1 {
				t.Errorf("Calls = %v", calls)
			}
		})
	}
	t.Run("not activated", func(t *testing.T) {
		v := w.open(c, "kw-hsm-new")
		info, err := v.Probe(ctxT(t))
		wantCode(t, err, keyward.EPRECONDITION, "Azure: managed HSM kw-hsm-new is not activated")
		if info == nil || !info.SecurityDomainPending {
			t.Errorf("Probe info = %+v", info)
		}
		if v.Calls()["GetKeys"] != 0 {
			t.Error("Probe called the data plane of an HSM that is not activated")
		}
		// Azure's own refusal, should a caller go ahead anyway.
		_, err = v.GetKey(ctxT(t), "k", "")
		wantCode(t, err, keyward.EFORBIDDEN, "Azure: Forbidden: The Managed HSM kw-hsm-new is not activated")
	})
	t.Run("vault of another subscription", func(t *testing.T) {
		other := *secretCred()
		other.SubscriptionID = secondSub
		list, err := c.Discover(ctxT(t), &other, secret(), w.tls, nil)
		if err != nil || len(list) != 1 {
			t.Fatalf("Discover %s: %+v, %v", secondSub, list, err)
		}
		// Linked with the credential that discovers the first subscription.
		v, err := c.Open(secretCred(), secret(), &keyward.AzureLink{Vault: list[0], TLS: w.tls}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if info, err := v.Probe(ctxT(t)); err != nil || *info != list[0] {
			t.Errorf("Probe = %+v, %v", info, err)
		}
	})
	t.Run("vault of another tenant", func(t *testing.T) {
		// The challenge names the vault's tenant; the credential signs in to its own only.
		info := keyward.VaultInfo{Kind: keyward.VaultStandard, Name: "other-vault", URI: "https://other-vault.vault.azure.net/"}
		v, err := c.Open(secretCred(), secret(), &keyward.AzureLink{Vault: info, TLS: w.tls}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.GetKey(ctxT(t), "k", "")
		wantCode(t, err, keyward.EUNAUTHENTICATED, "Azure: the vault belongs to another tenant than the credential")
	})
	t.Run("vault gone", func(t *testing.T) {
		info := w.info("kw-standard")
		info.ResourceID = strings.Replace(info.ResourceID, "kw-standard", "kw-gone", 1)
		v, err := c.Open(secretCred(), secret(), &keyward.AzureLink{Vault: info, TLS: w.tls}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Probe(ctxT(t))
		wantCode(t, err, keyward.ENOTFOUND, "Azure: ResourceNotFound: ")
	})
}

func TestTLSSettings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	ctx := ctxT(t)
	t.Run("system roots do not trust the emulator", func(t *testing.T) {
		start := time.Now()
		_, err := c.Discover(ctx, secretCred(), secret(), keyward.TLSSettings{ProxyURL: w.tls.ProxyURL}, nil)
		wantCode(t, err, keyward.EUNAVAILABLE, "Azure: ")
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("error %q does not name the certificate", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("a TLS failure took %v: it should not be retried", time.Since(start))
		}
	})
	t.Run("skip host verification still verifies the chain", func(t *testing.T) {
		ts := w.tls
		ts.SkipHostVerify = true
		if _, err := c.Discover(ctx, secretCred(), secret(), ts, nil); err != nil {
			t.Errorf("with the CA: %v", err)
		}
		ts.CACertPEM = ""
		_, err := c.Discover(ctx, secretCred(), secret(), ts, nil)
		wantCode(t, err, keyward.EUNAVAILABLE, "")
	})
	t.Run("client certificate", func(t *testing.T) {
		ts := w.tls
		ts.ClientCertPEM = string(testCert().certPEM)
		if _, err := c.Discover(ctx, secretCred(), secret(), ts, testCert().keyPEM); err != nil {
			t.Errorf("with a client certificate: %v", err)
		}
		_, err := c.Discover(ctx, secretCred(), secret(), ts, nil)
		wantCode(t, err, keyward.EINVALID, "")
	})
	for name, ts := range map[string]keyward.TLSSettings{
		"bad CA":    {CACertPEM: "not a certificate"},
		"bad proxy": {ProxyURL: "socks5://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Discover(ctx, secretCred(), secret(), ts, nil)
			wantCode(t, err, keyward.EINVALID, "")
		})
	}
}
