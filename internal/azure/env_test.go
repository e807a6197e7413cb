package azure

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/keyward"
)

// The test world, served by the emulator and reached as Keyward reaches it: through its
// CONNECT proxy, trusting its CA, with challenge verification on.
const (
	tenantID  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	subID     = "8e93423f-d08c-4539-ba3d-8cbc20bc6aa5"
	otherSub  = "11111111-2222-4333-8444-555555555555"
	deniedSub = "22222222-3333-4444-8555-666666666666" // in the tenant, granted to no app
	secondSub = "33333333-4444-4555-8666-777777777777" // granted to appID too
	appID     = "ade45211-0570-4802-bc79-7da181e8ebcc"
	certAppID = "c0ffee00-1234-4567-89ab-cdef01234567"
	appSecret = "s3cr3t~value.for-tests"
	otherTID  = "0e1bd5a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
	otherApp  = "eeeeeeee-0000-4000-8000-000000000002"
	govTenant = "9a9a9a9a-0000-4000-8000-00000000a001"
	govSub    = "9a9a9a9a-0000-4000-8000-00000000b001"
	govApp    = "9a9a9a9a-0000-4000-8000-00000000c001"
	cnTenant  = "9a9a9a9a-0000-4000-8000-00000000a002"
	cnSub     = "9a9a9a9a-0000-4000-8000-00000000b002"
	cnApp     = "9a9a9a9a-0000-4000-8000-00000000c002"
)

// testCert is the certificate credential of certAppID, made once.
var testCert = sync.OnceValue(func() struct{ certPEM, keyPEM []byte } {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "keyward-azure-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	k8, _ := x509.MarshalPKCS8PrivateKey(key)
	return struct{ certPEM, keyPEM []byte }{pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8})}
})

func worldConfig() akvemu.Config {
	return akvemu.Config{
		Tenants: []akvemu.TenantConfig{
			{ID: tenantID, Apps: []akvemu.AppConfig{
				{ClientID: appID, Secret: appSecret, Subscriptions: []string{subID, secondSub}},
				{ClientID: certAppID, CertificatePEM: string(testCert().certPEM), Subscriptions: []string{subID}},
			}},
			{ID: otherTID, Apps: []akvemu.AppConfig{{ClientID: otherApp, Secret: appSecret, Subscriptions: []string{otherSub}}}},
			{ID: govTenant, Cloud: "usgov", Apps: []akvemu.AppConfig{{ClientID: govApp, Secret: appSecret, Subscriptions: []string{govSub}}}},
			{ID: cnTenant, Cloud: "china", Apps: []akvemu.AppConfig{{ClientID: cnApp, Secret: appSecret, Subscriptions: []string{cnSub}}}},
		},
		Subscriptions: []akvemu.SubscriptionConfig{{ID: subID, TenantID: tenantID}, {ID: otherSub, TenantID: otherTID},
			{ID: deniedSub, TenantID: tenantID}, {ID: secondSub, TenantID: tenantID},
			{ID: govSub, TenantID: govTenant}, {ID: cnSub, TenantID: cnTenant}},
		Vaults: []akvemu.VaultConfig{
			{Name: "kw-standard", Subscription: subID, ResourceGroup: "rg-keys", SKU: "standard", SoftDeleteRetentionDays: 7},
			{Name: "kw-premium", Subscription: subID, ResourceGroup: "rg-keys", SKU: "premium", SoftDeleteRetentionDays: 7},
			{Name: "kw-guarded", Subscription: subID, ResourceGroup: "rg-keys", SKU: "premium", PurgeProtection: true},
			{Name: "kw-legacy", Subscription: subID, ResourceGroup: "rg-old", SoftDeleteDisabled: true},
			{Name: "other-vault", Subscription: otherSub},
			{Name: "gov-vault", Subscription: govSub, SKU: "premium"},
			{Name: "cn-vault", Subscription: cnSub},
			{Name: "kw-second", Subscription: secondSub, SKU: "premium"},
		},
		ManagedHSMs: []akvemu.HSMConfig{
			{Name: "kw-hsm", Subscription: subID, ResourceGroup: "rg-keys", SoftDeleteRetentionDays: 7},
			{Name: "kw-hsm-new", Subscription: subID, ResourceGroup: "rg-keys", SecurityDomainNotActivated: true},
			{Name: "gov-hsm", Subscription: govSub},
		},
		Throttle: akvemu.ThrottleConfig{Disabled: true},
	}
}

// world is a running emulator.
type world struct {
	t   testing.TB
	emu *akvemu.Emulator
	tls keyward.TLSSettings

	once   sync.Once
	vaults map[string]keyward.VaultInfo
}

func newWorld(t testing.TB, mutate ...func(*akvemu.Config)) *world {
	t.Helper()
	cfg := worldConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	emu, err := akvemu.New(cfg)
	if err != nil {
		t.Fatalf("akvemu.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := emu.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &world{t: t, emu: emu,
		tls: keyward.TLSSettings{ProxyURL: "http://" + ln.Addr().String(), CACertPEM: string(emu.CACertPEM())}}
}

// fastOptions keep every wait in milliseconds. The budget is on, with a short window and
// the whole of Azure's budget, so that tests exercise it without waiting.
func fastOptions() Options {
	return Options{
		Retry: RetryOptions{
			ThrottleBackoff: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
				40 * time.Millisecond, 80 * time.Millisecond},
			TransientBackoff: 2 * time.Millisecond, TransientBackoffMax: 20 * time.Millisecond,
			AttemptTimeout: 10 * time.Second, PollInterval: 10 * time.Millisecond, SettleTimeout: 15 * time.Second,
		},
		Throttle: ThrottleOptions{Window: 200 * time.Millisecond, Share: 1},
	}
}

func (w *world) connector(mutate ...func(*Options)) *Connector {
	o := fastOptions()
	for _, m := range mutate {
		m(&o)
	}
	return New(o)
}

func secretCred() *keyward.CloudCredential {
	return &keyward.CloudCredential{ID: "cred-1", Name: "test", Cloud: keyward.CloudPublic, Endpoints: keyward.KnownClouds[keyward.CloudPublic],
		TenantID: tenantID, ClientID: appID, SubscriptionID: subID, AuthMethod: "secret"}
}

func secret() keyward.CloudSecret { return keyward.CloudSecret{ClientSecret: appSecret} }

// info returns a vault's properties as Discover reports them (discovered once).
func (w *world) info(name string) keyward.VaultInfo {
	w.t.Helper()
	w.once.Do(func() {
		list, err := New(fastOptions()).Discover(context.Background(), secretCred(), secret(), w.tls, nil)
		if err != nil {
			w.t.Fatalf("Discover: %v", err)
		}
		w.vaults = map[string]keyward.VaultInfo{}
		for _, v := range list {
			w.vaults[v.Name] = v
		}
	})
	v, ok := w.vaults[name]
	if !ok {
		w.t.Fatalf("vault %s not discovered", name)
	}
	return v
}

// open opens a vault of the test subscription with the secret credential.
func (w *world) open(c *Connector, name string) keyward.CloudVault {
	w.t.Helper()
	v, err := c.Open(secretCred(), secret(), &keyward.AzureLink{GroupID: "g-" + name, Vault: w.info(name), TLS: w.tls}, nil)
	if err != nil {
		w.t.Fatalf("Open %s: %v", name, err)
	}
	return v
}

// wantCode fails unless err is a *keyward.Error with the code (and a message prefix).
func wantCode(t testing.TB, err error, code, prefix string) *keyward.Error {
	t.Helper()
	var e *keyward.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a %s keyward error", err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%s), want %s", e.Code, e.Message, code)
	}
	if prefix != "" && (len(e.Message) < len(prefix) || e.Message[:len(prefix)] != prefix) {
		t.Fatalf("message = %q, want it to start with %q", e.Message, prefix)
	}
	return e
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return ctx
}
