package e2e

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/azure"
	"github.com/keyward/keyward/internal/keyward"
)

// The Azure of the end-to-end tests: an emulator in the test process, reached by servers
// (in this process or in a child) through the TLS settings of their links, as a real
// deployment reaches Azure through a proxy with its own CA.
const (
	e2eTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	e2eSub    = "8e93423f-d08c-4539-ba3d-8cbc20bc6aa5"
	e2eApp    = "ade45211-0570-4802-bc79-7da181e8ebcc"
	e2eSecret = "s3cr3t~value.for-tests"
)

type putWorld struct {
	emu *akvemu.Emulator
	tls keyward.TLSSettings
}

func startPutWorld(t *testing.T) *putWorld {
	t.Helper()
	emu, err := akvemu.New(akvemu.Config{
		Tenants:       []akvemu.TenantConfig{{ID: e2eTenant, Apps: []akvemu.AppConfig{{ClientID: e2eApp, Secret: e2eSecret, Subscriptions: []string{e2eSub}}}}},
		Subscriptions: []akvemu.SubscriptionConfig{{ID: e2eSub, TenantID: e2eTenant}},
		Vaults: []akvemu.VaultConfig{{Name: "kw-std", Subscription: e2eSub, SoftDeleteRetentionDays: 7},
			{Name: "kw-prem", Subscription: e2eSub, SKU: "premium", SoftDeleteRetentionDays: 7}},
		ManagedHSMs: []akvemu.HSMConfig{{Name: "kw-hsm", Subscription: e2eSub, SoftDeleteRetentionDays: 7}},
		Throttle:    akvemu.ThrottleConfig{Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ectx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ectx, ln) }()
	t.Cleanup(func() { cancel(); <-done; emu.Close() })
	return &putWorld{emu: emu, tls: keyward.TLSSettings{ProxyURL: "http://" + ln.Addr().String(), CACertPEM: string(emu.CACertPEM())}}
}

func worldCred() *keyward.CloudCredential {
	return &keyward.CloudCredential{ID: "test", Name: "test", Cloud: keyward.CloudPublic, Endpoints: keyward.KnownClouds[keyward.CloudPublic],
		TenantID: e2eTenant, ClientID: e2eApp, SubscriptionID: e2eSub, AuthMethod: "secret"}
}

// keys lists a vault's keys as Azure has them, soft-deleted ones too, through a connector
// of the test's own.
func (w *putWorld) keys(t *testing.T, vault string) (live, deleted []string) {
	t.Helper()
	c := azure.New(azure.Options{})
	sec := keyward.CloudSecret{ClientSecret: e2eSecret}
	infos, err := c.Discover(ctx, worldCred(), sec, w.tls, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Name != vault {
			continue
		}
		v, err := c.Open(worldCred(), sec, &keyward.AzureLink{GroupID: "check", Vault: info, TLS: w.tls}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.ListKeys(ctx, func(it keyward.CloudKeyItem) error { live = append(live, it.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := v.ListDeletedKeys(ctx, func(d keyward.CloudDeletedKey) error { deleted = append(deleted, d.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		return live, deleted
	}
	t.Fatalf("vault %s not found", vault)
	return nil, nil
}

func keks(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "keyward-kek") {
			out = append(out, n)
		}
	}
	return out
}
