package akvemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Emulator is a running Azure emulator. Create it with New; it is safe for concurrent use.
type Emulator struct {
	now       func() time.Time
	log       *slog.Logger
	ca        *authority
	signer    tokenSigner
	hsm       hsmSigner
	backupKey []byte // AES-256 key that seals backup blobs
	reg       *registry
	chaos     *chaos
	throttle  *throttler
	stats     *statsBook
	handler   http.Handler
	kv        map[string]kvHandler // data-plane operations by id
	statePath string
	persist   *persister

	timingMu sync.RWMutex
	timing   TimingConfig

	closeOnce sync.Once
	closing   chan struct{}
}

// New builds an emulator from a validated configuration. When cfg.StatePath names an
// existing state file, its CA, signing keys, directory, vaults and keys are restored first
// and the configuration is merged on top (entries already present are kept).
func New(cfg Config) (*Emulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid emulator config: %w", err)
	}
	e := &Emulator{
		now:       cfg.Clock,
		log:       slog.New(slog.DiscardHandler),
		reg:       newRegistry(),
		chaos:     newChaos(cfg.Chaos),
		timing:    cfg.Timing,
		statePath: cfg.StatePath,
		closing:   make(chan struct{}),
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.stats = newStatsBook(e.now())
	e.throttle = newThrottler(cfg.Throttle, e.now)
	e.handler = http.HandlerFunc(e.route)
	e.kv = e.kvHandlers()
	loaded, err := e.loadState()
	if err != nil {
		return nil, err
	}
	if !loaded {
		if err := e.freshSecrets(); err != nil {
			return nil, err
		}
	}
	if err := e.apply(cfg); err != nil {
		return nil, err
	}
	if e.statePath != "" {
		e.persist = newPersister(e)
		e.persist.markDirty()
	}
	return e, nil
}

// freshSecrets makes a new CA, token-signing key and backup key.
func (e *Emulator) freshSecrets() error {
	ca, err := newAuthority(time.Now)
	if err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate token signing key: %w", err)
	}
	hsmKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate hsm signing key: %w", err)
	}
	if e.hsm, err = newHSMSigner(ca, hsmKey); err != nil {
		return err
	}
	e.ca = ca
	e.signer = tokenSigner{key: key, kid: keyThumbprint(&key.PublicKey)}
	e.backupKey = make([]byte, 32)
	_, _ = rand.Read(e.backupKey)
	return nil
}

// apply adds the configuration's directory and vaults, skipping vaults that exist (they
// came from the state file).
func (e *Emulator) apply(cfg Config) error {
	for _, t := range cfg.Tenants {
		if err := e.reg.addTenant(t); err != nil {
			return err
		}
	}
	for _, s := range cfg.Subscriptions {
		if err := e.reg.addSubscription(s); err != nil {
			return err
		}
	}
	for _, v := range cfg.Vaults {
		if _, err := e.vaultNamed(v.Name); err == nil {
			continue
		}
		if err := e.addVault(v); err != nil {
			return err
		}
	}
	for _, h := range cfg.ManagedHSMs {
		if _, err := e.vaultNamed(h.Name); err == nil {
			continue
		}
		if err := e.addHSM(h); err != nil {
			return err
		}
	}
	return nil
}

// Handler returns the emulator as an http.Handler that routes by the request's Host, for
// mounting behind a TLS server of your own. Serve is the usual way to run it.
func (e *Emulator) Handler() http.Handler { return e.handler }

// CACertPEM returns the PEM certificate of the emulator's CA, which clients must trust.
func (e *Emulator) CACertPEM() []byte { return append([]byte(nil), e.ca.certPEM...) }

// CertPool returns a pool holding the emulator's CA certificate.
func (e *Emulator) CertPool() *x509.CertPool { return e.ca.pool() }

// Close stops every Serve loop, ends hanging fault requests and writes the state file one
// last time. It is safe to call more than once.
func (e *Emulator) Close() error {
	var err error
	e.closeOnce.Do(func() {
		close(e.closing)
		if e.persist != nil {
			err = e.persist.stop()
		}
	})
	return err
}

func (e *Emulator) isClosed() bool {
	select {
	case <-e.closing:
		return true
	default:
		return false
	}
}

// SetLogger sends the emulator's diagnostics (TLS handshake failures, state-file errors)
// to l; by default they are discarded.
func (e *Emulator) SetLogger(l *slog.Logger) {
	if l != nil {
		e.log = l
	}
}

// errorLog adapts the logger for net/http.
func (e *Emulator) errorLog() *log.Logger {
	if e.log == nil {
		return log.New(io.Discard, "", 0)
	}
	return slog.NewLogLogger(e.log.Handler(), slog.LevelDebug)
}

// changed records a state change for the persister.
func (e *Emulator) changed() {
	if e.persist != nil {
		e.persist.markDirty()
	}
}

// AddTenant adds an Entra tenant with its apps, or merges the apps into an existing one.
func (e *Emulator) AddTenant(t TenantConfig) error {
	if err := e.reg.addTenant(t); err != nil {
		return err
	}
	e.changed()
	return nil
}

// AddApp adds (or replaces) an app registration in a tenant.
func (e *Emulator) AddApp(tenantID string, a AppConfig) error {
	if err := e.reg.addApp(tenantID, a); err != nil {
		return err
	}
	e.changed()
	return nil
}

// AddSubscription adds (or replaces) a subscription of a known tenant.
func (e *Emulator) AddSubscription(s SubscriptionConfig) error {
	if err := e.reg.addSubscription(s); err != nil {
		return err
	}
	e.changed()
	return nil
}

// AddVault creates a Key Vault in a known subscription.
func (e *Emulator) AddVault(v VaultConfig) error {
	if err := e.addVault(v); err != nil {
		return err
	}
	e.changed()
	return nil
}

// AddManagedHSM creates a Managed HSM in a known subscription.
func (e *Emulator) AddManagedHSM(h HSMConfig) error {
	if err := e.addHSM(h); err != nil {
		return err
	}
	e.changed()
	return nil
}

func (e *Emulator) addVault(vc VaultConfig) error {
	sub, err := e.checkNewResource("vault", vc.Name, vc.Subscription, vc.ResourceGroup, vc.Location)
	if err != nil {
		return err
	}
	if err := vc.validate(); err != nil {
		return err
	}
	return e.reg.addVault(newVaultFromConfig(vc, sub, e.now()))
}

func (e *Emulator) addHSM(hc HSMConfig) error {
	sub, err := e.checkNewResource("managed hsm", hc.Name, hc.Subscription, hc.ResourceGroup, hc.Location)
	if err != nil {
		return err
	}
	if err := hc.validate(); err != nil {
		return err
	}
	return e.reg.addVault(newHSMFromConfig(hc, sub, e.now()))
}

func (e *Emulator) checkNewResource(kind, name, subID, rg, loc string) (*subscription, error) {
	sub := e.reg.subscription(subID)
	if sub == nil {
		return nil, fmt.Errorf("add %s %s: unknown subscription %q", kind, name, subID)
	}
	subs := map[string]bool{sub.id: true}
	if errs := checkResource(kind, name, subID, rg, loc, subs, map[string]bool{}); len(errs) > 0 {
		return nil, errs[0]
	}
	return sub, nil
}

// VaultURL returns the URI of a vault or managed HSM, with the trailing slash ARM reports,
// e.g. "https://myvault.vault.azure.net/".
func (e *Emulator) VaultURL(name string) (string, error) {
	v, err := e.vaultNamed(name)
	if err != nil {
		return "", err
	}
	return "https://" + v.host + "/", nil
}

// SetChaos replaces the latency and fault configuration, reseeding the random source.
func (e *Emulator) SetChaos(c ChaosConfig) error {
	if err := c.validate(); err != nil {
		return err
	}
	e.chaos.set(c)
	return nil
}

// Chaos returns the current chaos configuration.
func (e *Emulator) Chaos() ChaosConfig { return e.chaos.get() }

// SetThrottle replaces the throttling configuration and forgets the requests counted so
// far.
func (e *Emulator) SetThrottle(t ThrottleConfig) error {
	if t.Window < 0 {
		return fmt.Errorf("throttle: window must not be negative")
	}
	e.throttle.set(t)
	return nil
}

// Throttle returns the current throttling configuration.
func (e *Emulator) Throttle() ThrottleConfig { return e.throttle.get() }

// SetTiming replaces the delays of asynchronous operations and the retention override.
func (e *Emulator) SetTiming(t TimingConfig) error {
	if t.DeleteDelay < 0 || t.RecoverDelay < 0 || t.PurgeDelay < 0 || t.Retention < 0 {
		return fmt.Errorf("timing: durations must not be negative")
	}
	e.timingMu.Lock()
	defer e.timingMu.Unlock()
	e.timing = t
	return nil
}

// Timing returns the current timing configuration.
func (e *Emulator) Timing() TimingConfig {
	e.timingMu.RLock()
	defer e.timingMu.RUnlock()
	return e.timing
}

// Stats returns a snapshot of the request counters.
func (e *Emulator) Stats() Stats { return e.stats.snapshot() }

// ResetStats zeroes the request counters.
func (e *Emulator) ResetStats() { e.stats.reset(e.now()) }
