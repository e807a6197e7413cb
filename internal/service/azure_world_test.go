package service

import (
	"context"
	"log/slog"
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

// azWorld is Keyward on SQLite with its job runner, reaching the Azure emulator over real
// HTTPS (its CONNECT proxy and CA) through the real connector and SDK. Vaults:
//
//	kw-std     Standard, soft delete (7 days)
//	kw-prem    Premium, soft delete
//	kw-guard   Premium, purge protection
//	kw-legacy  Standard, no soft delete
//	kw-hsm     Managed HSM, soft delete
type azWorld struct {
	t     *testing.T
	ctx   context.Context
	emu   *akvemu.Emulator
	s     *Service
	admin keyward.Principal
	plain string            // a regular group for Keyward keys
	group map[string]string // vault -> linked group id
}

func azureWorldConfig() akvemu.Config {
	sub := akvemu.DevSubscriptionID
	cfg := akvemu.DevConfig()
	cfg.Vaults = []akvemu.VaultConfig{
		{Name: "kw-std", Subscription: sub, SKU: "standard", SoftDeleteRetentionDays: 7},
		{Name: "kw-prem", Subscription: sub, SKU: "premium", SoftDeleteRetentionDays: 7},
		{Name: "kw-guard", Subscription: sub, SKU: "premium", SoftDeleteRetentionDays: 7, PurgeProtection: true},
		{Name: "kw-legacy", Subscription: sub, SKU: "standard", SoftDeleteDisabled: true},
	}
	cfg.ManagedHSMs = []akvemu.HSMConfig{{Name: "kw-hsm", Subscription: sub, SoftDeleteRetentionDays: 7}}
	// Deletes, recovers and purges take a little while, as in Azure, so the connector's
	// waits are exercised; throttling is Azure's with a short window.
	cfg.Timing = akvemu.TimingConfig{DeleteDelay: akvemu.Duration(60 * time.Millisecond),
		RecoverDelay: akvemu.Duration(60 * time.Millisecond), PurgeDelay: akvemu.Duration(150 * time.Millisecond)}
	cfg.Throttle = akvemu.ThrottleConfig{Window: akvemu.Duration(time.Second)}
	return cfg
}

func fastConnector(mutate ...func(*azure.Options)) *azure.Connector {
	o := azure.Options{
		Retry: azure.RetryOptions{
			ThrottleBackoff:  []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
			TransientBackoff: 5 * time.Millisecond, TransientBackoffMax: 40 * time.Millisecond,
			AttemptTimeout: 3 * time.Second, PollInterval: 10 * time.Millisecond, SettleTimeout: 10 * time.Second,
		},
		Throttle: azure.ThrottleOptions{Window: time.Second, Share: 1},
	}
	for _, m := range mutate {
		m(&o)
	}
	return azure.New(o)
}

func newAzWorld(t *testing.T, vaults []string, mutate ...func(*akvemu.Config, *azure.Options)) *azWorld {
	t.Helper()
	cfg := azureWorldConfig()
	var co azure.Options
	for _, m := range mutate {
		m(&cfg, &co)
	}
	emu, err := akvemu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	served := make(chan error, 1)
	go func() { served <- emu.Serve(ctx, ln) }()

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := seal.NewKeyring(time.Now())
	sl, _ := seal.New(kr)
	runner := jobs.New(jobs.Options{Store: st, Log: slog.New(slog.DiscardHandler), Workers: 4, Poll: 20 * time.Millisecond,
		Lease: 10 * time.Second, Backoff: jobs.Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond}})
	conn := fastConnector(func(o *azure.Options) {
		if co.Throttle != (azure.ThrottleOptions{}) {
			o.Throttle = co.Throttle
		}
		if co.Retry.Transient != 0 {
			o.Retry.Transient = co.Retry.Transient
		}
		if co.Retry.ThrottleBackoff != nil {
			o.Retry.ThrottleBackoff = co.Retry.ThrottleBackoff
		}
		if co.Retry.AttemptTimeout != 0 {
			o.Retry.AttemptTimeout = co.Retry.AttemptTimeout
		}
		if co.Retry.MaxRetryAfter != 0 {
			o.Retry.MaxRetryAfter = co.Retry.MaxRetryAfter
		}
		o.WrapTransport = co.WrapTransport
	})
	s, err := New(ctx, Options{Store: st, Sealer: sl, SessionTTL: time.Hour, FastPasswordHashing: true, DataDir: t.TempDir(),
		Cloud: conn, AzureTLS: keyward.TLSSettings{ProxyURL: "http://" + ln.Addr().String(), CACertPEM: string(emu.CACertPEM())}, Jobs: runner})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- runner.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-ran
		s.Close()
		st.Close()
		<-served
		emu.Close()
	})

	acct, u, err := s.Bootstrap(ctx, "A", "admin@a.example", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	w := &azWorld{t: t, ctx: ctx, emu: emu, s: s, group: map[string]string{},
		admin: keyward.Principal{Kind: keyward.KindUser, ID: u.ID, Name: u.Email, AccountID: acct.ID, Role: keyward.RoleAdmin}}
	if _, err := s.CreateCredential(ctx, w.admin, CredentialInput{Name: "dev", Cloud: keyward.CloudPublic, TenantID: akvemu.DevTenantID,
		ClientID: akvemu.DevClientID, SubscriptionID: akvemu.DevSubscriptionID, ClientSecret: akvemu.DevClientSecret}); err != nil {
		t.Fatal(err)
	}
	g, err := s.CreateGroup(ctx, w.admin, "plain", "")
	if err != nil {
		t.Fatal(err)
	}
	w.plain = g.Group.ID
	for _, name := range vaults {
		kind := keyward.VaultStandard
		switch name {
		case "kw-prem", "kw-guard":
			kind = keyward.VaultPremium
		case "kw-hsm":
			kind = keyward.VaultManagedHSM
		}
		g, err := s.CreateGroup(ctx, w.admin, "az-"+name, "")
		if err != nil {
			t.Fatal(err)
		}
		l, err := s.LinkGroup(ctx, w.admin, g.Group.ID, LinkInput{Credential: "dev", VaultKind: kind, VaultName: name})
		if err != nil || l.Status != keyward.LinkConnected {
			t.Fatalf("link %s: %+v %v", name, l, err)
		}
		w.group[name] = g.Group.ID
	}
	return w
}

// vault is the group's own vault client, to make and inspect keys in Azure directly.
func (w *azWorld) vault(name string) keyward.CloudVault {
	w.t.Helper()
	v, _, err := w.s.vaultOf(w.ctx, w.admin.AccountID, w.group[name])
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// createInAzure makes a key in a vault behind Keyward's back, with versions.
func (w *azWorld) createInAzure(vault, name, kty string, versions int) {
	w.t.Helper()
	v := w.vault(vault)
	for i := range versions {
		if i > 0 {
			// Azure's times have whole seconds; versions made in the same second cannot be
			// ordered by a listing (sync takes the newest as the current one).
			time.Sleep(1100 * time.Millisecond)
		}
		sp := keyward.CloudKeySpec{KeyType: kty, Enabled: true, Ops: []string{"sign", "verify"}}
		switch {
		case kty == "oct-HSM":
			sp.Size, sp.Ops = 256, []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}
		case kty[:2] == "EC":
			sp.Curve = "P-256"
		default:
			sp.Size = 2048
		}
		if _, err := v.CreateKey(w.ctx, name, sp); err != nil {
			w.t.Fatalf("create %s in %s: %v", name, vault, err)
		}
	}
}

// sync syncs a vault's group and waits for it.
func (w *azWorld) sync(vault string) *SyncResult {
	w.t.Helper()
	j, err := w.s.Sync(w.ctx, w.admin, w.group[vault])
	if err != nil {
		w.t.Fatal(err)
	}
	var res SyncResult
	if err := jobResult(w.wait(j), &res); err != nil {
		w.t.Fatalf("sync %s: %v", vault, err)
	}
	return &res
}

// wait waits for a job to end and returns it.
func (w *azWorld) wait(j *keyward.Job) *keyward.Job {
	w.t.Helper()
	got, err := w.s.waitJob(w.ctx, w.admin.AccountID, j.ID, 90*time.Second)
	if err != nil {
		w.t.Fatalf("job %s (%s): %v", j.ID, j.Title, err)
	}
	return got
}

// ok waits for a job that must succeed.
func (w *azWorld) ok(j *keyward.Job, err error) *keyward.Job {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("enqueue: %v", err)
	}
	got := w.wait(j)
	if got.State != keyward.JobSucceeded {
		w.t.Fatalf("job %s (%s) %s: %s", got.ID, got.Title, got.State, got.Error)
	}
	return got
}

// versions returns the group's virtual keys of an Azure key, oldest first.
func (w *azWorld) versions(vault, key string) []keyward.Object {
	w.t.Helper()
	var out []keyward.Object
	err := w.s.store.View(w.ctx, func(tx keyward.Tx) error {
		var err error
		out, err = tx.ListCloudObjects(w.admin.AccountID, w.group[vault], key)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// current returns the current virtual key of an Azure key.
func (w *azWorld) current(vault, key string) *keyward.Object {
	w.t.Helper()
	for _, o := range w.versions(vault, key) {
		if o.Cloud.Current {
			return &o
		}
	}
	w.t.Fatalf("no current version of %s in %s", key, vault)
	return nil
}

func (w *azWorld) escrow(vault, key string) (*keyward.Escrow, error) {
	var e *keyward.Escrow
	err := w.s.store.View(w.ctx, func(tx keyward.Tx) error {
		var err error
		e, err = tx.GetEscrow(w.admin.AccountID, w.group[vault], key)
		return err
	})
	return e, err
}

// keywardKey generates an exportable Keyward key in the plain group.
func (w *azWorld) keywardKey(name string, typ keyward.ObjectType, size int, curve string) *keyward.Object {
	w.t.Helper()
	ops := []keyward.Operation{keyward.OpSign, keyward.OpVerify, keyward.OpExport}
	if typ == keyward.TypeAES {
		ops = []keyward.Operation{keyward.OpEncrypt, keyward.OpDecrypt, keyward.OpExport}
	}
	o, err := w.s.GenerateObject(w.ctx, w.admin, ObjectSpec{GroupID: w.plain, Name: name, Ops: ops}, typ, size, curve)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if !keyward.IsCode(err, code) {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
}

// akvemuLatency slows every emulated request down by d (0: not at all).
func akvemuLatency(d time.Duration) akvemu.ChaosConfig {
	return akvemu.ChaosConfig{Latency: akvemu.Duration(d)}
}
