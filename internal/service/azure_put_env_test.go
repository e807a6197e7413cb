package service

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/azure"
	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/internal/store/sqlite"
)

// The Azure world of these tests: one app registration, a Standard vault, a Premium vault
// and a Managed HSM, served by the emulator over real HTTPS (its CONNECT proxy and CA) and
// reached by the real connector on the official SDK.
const (
	emuTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	emuSub    = "8e93423f-d08c-4539-ba3d-8cbc20bc6aa5"
	emuApp    = "ade45211-0570-4802-bc79-7da181e8ebcc"
	emuSecret = "s3cr3t~value.for-tests"
)

// tiers are the test vaults by kind.
var tiers = []struct {
	kind  keyward.VaultKind
	vault string
}{
	{keyward.VaultStandard, "kw-std"},
	{keyward.VaultPremium, "kw-prem"},
	{keyward.VaultManagedHSM, "kw-hsm"},
}

type azureEnv struct {
	t      *testing.T
	s      *Service
	st     keyward.Store
	emu    *akvemu.Emulator
	admin  keyward.Principal
	groups map[keyward.VaultKind]string // group id by vault kind
	plain  string                       // a regular group
	dbDir  string                       // the database's directory
}

func emuConfig() akvemu.Config {
	return akvemu.Config{
		Tenants:       []akvemu.TenantConfig{{ID: emuTenant, Apps: []akvemu.AppConfig{{ClientID: emuApp, Secret: emuSecret, Subscriptions: []string{emuSub}}}}},
		Subscriptions: []akvemu.SubscriptionConfig{{ID: emuSub, TenantID: emuTenant}},
		Vaults: []akvemu.VaultConfig{
			{Name: "kw-std", Subscription: emuSub, SKU: "standard", SoftDeleteRetentionDays: 7},
			{Name: "kw-prem", Subscription: emuSub, SKU: "premium", SoftDeleteRetentionDays: 7},
		},
		ManagedHSMs: []akvemu.HSMConfig{{Name: "kw-hsm", Subscription: emuSub, SoftDeleteRetentionDays: 7}},
		Throttle:    akvemu.ThrottleConfig{Disabled: true},
	}
}

// envConfig is what a test may change before the world starts.
type envConfig struct {
	emu  akvemu.Config
	conn azure.Options
}

func connOptions() azure.Options {
	return azure.Options{
		Retry: azure.RetryOptions{
			ThrottleBackoff:  []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
			TransientBackoff: 2 * time.Millisecond, TransientBackoffMax: 20 * time.Millisecond,
			AttemptTimeout: 3 * time.Second, PollInterval: 10 * time.Millisecond, SettleTimeout: 15 * time.Second,
		},
		Throttle: azure.ThrottleOptions{Window: 200 * time.Millisecond, Share: 1},
	}
}

// newAzureEnv starts the emulator, a service with a running job runner, an account whose
// admin has linked one group to each vault, and a regular group.
func newAzureEnv(t *testing.T, mutate ...func(*envConfig)) *azureEnv {
	t.Helper()
	ctx := context.Background()
	ec := envConfig{emu: emuConfig(), conn: connOptions()}
	for _, m := range mutate {
		m(&ec)
	}
	cfg := ec.emu
	emu, err := akvemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ectx, ecancel := context.WithCancel(ctx)
	edone := make(chan error, 1)
	go func() { edone <- emu.Serve(ectx, ln) }()
	t.Cleanup(func() { ecancel(); <-edone; emu.Close() })

	dbDir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dbDir, "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, _ := seal.NewKeyring(time.Now())
	sl, _ := seal.New(kr)
	conn := azure.New(ec.conn)
	runner := jobs.New(jobs.Options{Store: st, Poll: 50 * time.Millisecond, Lease: 5 * time.Second,
		Backoff: jobs.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond}, ProgressEvery: 10 * time.Millisecond})
	s, err := New(ctx, Options{Store: st, Sealer: sl, FastPasswordHashing: true, DataDir: t.TempDir(), Cloud: conn, Jobs: runner,
		AzureTLS: keyward.TLSSettings{ProxyURL: "http://" + ln.Addr().String(), CACertPEM: string(emu.CACertPEM())}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan struct{})
	go func() { runner.Run(rctx); close(rdone) }()
	t.Cleanup(func() { rcancel(); <-rdone })

	acct, _, err := s.Bootstrap(ctx, "Acme", "admin@a.example", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	login, err := s.Login(ctx, "admin@a.example", "long enough password", acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	e := &azureEnv{t: t, s: s, st: st, emu: emu, admin: login.Principal, groups: map[keyward.VaultKind]string{}, dbDir: dbDir}
	if _, err := s.CreateCredential(ctx, e.admin, CredentialInput{Name: "azure", Cloud: keyward.CloudPublic, TenantID: emuTenant,
		ClientID: emuApp, SubscriptionID: emuSub, ClientSecret: emuSecret}); err != nil {
		t.Fatal(err)
	}
	for _, tr := range tiers {
		g, err := s.CreateGroup(ctx, e.admin, "az-"+tr.vault, "")
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.LinkGroup(ctx, e.admin, g.Group.ID, LinkInput{Credential: "azure", VaultKind: tr.kind, VaultName: tr.vault})
		if err != nil || l.Status != keyward.LinkConnected {
			t.Fatalf("link %s: %+v %v", tr.vault, l, err)
		}
		e.groups[tr.kind] = g.Group.ID
	}
	g, err := s.CreateGroup(ctx, e.admin, "plain", "")
	if err != nil {
		t.Fatal(err)
	}
	e.plain = g.Group.ID
	return e
}

// wait waits for a job to end and returns it.
func (e *azureEnv) wait(j *keyward.Job) *keyward.Job {
	e.t.Helper()
	if j == nil {
		e.t.Fatal("no job")
	}
	done, err := e.s.waitJob(context.Background(), e.admin.AccountID, j.ID, 2*time.Minute)
	if err != nil {
		e.t.Fatalf("job %s: %v", j.ID, err)
	}
	return done
}

// succeeded waits for a job, wants it to succeed and returns its result.
func (e *azureEnv) succeeded(j *keyward.Job, err error) *PutResult {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("enqueue: %v", err)
	}
	done := e.wait(j)
	var res PutResult
	if err := jobResult(done, &res); err != nil {
		e.t.Fatalf("%s: %v", done.Title, err)
	}
	return &res
}

// object reads an object as the admin.
func (e *azureEnv) object(ref string) *keyward.Object {
	e.t.Helper()
	o, err := e.s.GetObject(context.Background(), e.admin, ref)
	if err != nil {
		e.t.Fatalf("get %s: %v", ref, err)
	}
	return o
}

// vaultKeys lists a vault's key names through the connector, as Azure has them.
func (e *azureEnv) vaultKeys(kind keyward.VaultKind) []string {
	e.t.Helper()
	v, _, err := e.s.vaultOf(context.Background(), e.admin.AccountID, e.groups[kind])
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	if err := v.ListKeys(context.Background(), func(it keyward.CloudKeyItem) error {
		names = append(names, it.Name)
		return nil
	}); err != nil {
		e.t.Fatalf("list %s: %v", kind, err)
	}
	return names
}

// noKEKs fails when a vault holds a key-exchange key, live or soft-deleted.
func (e *azureEnv) noKEKs() {
	e.t.Helper()
	ctx := context.Background()
	for _, tr := range tiers {
		v, _, err := e.s.vaultOf(ctx, e.admin.AccountID, e.groups[tr.kind])
		if err != nil {
			e.t.Fatal(err)
		}
		check := func(name string) error {
			if len(name) >= 11 && name[:11] == "keyward-kek" {
				e.t.Errorf("%s still holds the key-exchange key %s", tr.vault, name)
			}
			return nil
		}
		if err := v.ListKeys(ctx, func(it keyward.CloudKeyItem) error { return check(it.Name) }); err != nil {
			e.t.Fatal(err)
		}
		if err := v.ListDeletedKeys(ctx, func(d keyward.CloudDeletedKey) error { return check(d.Name) }); err != nil && !keyward.IsCode(err, keyward.ENOTSUPPORTED) {
			e.t.Fatal(err)
		}
	}
}
