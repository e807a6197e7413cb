package akvemu

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config configures an Emulator. The zero value is a valid, empty emulator: no tenants, no
// vaults, Azure's throttling on, no chaos, deletes that take effect at once, nothing
// persisted. Read it from a file with LoadConfig, or build it in Go.
type Config struct {
	// Tenants are the Entra tenants and their app registrations.
	Tenants []TenantConfig `json:"tenants,omitempty" yaml:"tenants,omitempty"`
	// Subscriptions hold the vaults and managed HSMs; each belongs to one tenant.
	Subscriptions []SubscriptionConfig `json:"subscriptions,omitempty" yaml:"subscriptions,omitempty"`
	// Vaults are Key Vaults (Standard or Premium).
	Vaults []VaultConfig `json:"vaults,omitempty" yaml:"vaults,omitempty"`
	// ManagedHSMs are Managed HSM pools.
	ManagedHSMs []HSMConfig `json:"managedHsms,omitempty" yaml:"managedHsms,omitempty"`

	// Throttle configures Azure's per-vault request limits.
	Throttle ThrottleConfig `json:"throttle" yaml:"throttle"`
	// Chaos configures latency and injected faults.
	Chaos ChaosConfig `json:"chaos" yaml:"chaos"`
	// Timing configures how long asynchronous state changes take.
	Timing TimingConfig `json:"timing" yaml:"timing"`

	// StatePath, when set, is the file the emulator loads its state from at start (if it
	// exists) and saves it to, mode 0600, shortly after every change. Empty keeps state in
	// memory only.
	StatePath string `json:"statePath,omitempty" yaml:"statePath,omitempty"`

	// Clock returns the current time of keys and vaults (created, updated, nbf/exp
	// enforcement, deletion, retention, rotation); nil means time.Now. Tests move it to reach
	// those dates. Tokens and TLS certificates follow the wall clock, as the SDKs do.
	Clock func() time.Time `json:"-" yaml:"-"`
}

// TenantConfig is an Entra tenant.
type TenantConfig struct {
	// ID is the tenant id, a GUID.
	ID string `json:"id" yaml:"id"`
	// Cloud is public (the default), usgov or china; it decides the host names.
	Cloud string `json:"cloud,omitempty" yaml:"cloud,omitempty"`
	// Domains are extra names the tenant answers to in authority URLs, such as
	// contoso.onmicrosoft.com.
	Domains []string `json:"domains,omitempty" yaml:"domains,omitempty"`
	// Apps are the app registrations (service principals) of the tenant.
	Apps []AppConfig `json:"apps,omitempty" yaml:"apps,omitempty"`
}

// AppConfig is an app registration that can get tokens with the client-credentials grant.
// It needs a secret, a certificate, or both.
type AppConfig struct {
	// ClientID is the application (client) id, a GUID.
	ClientID string `json:"clientId" yaml:"clientId"`
	// DisplayName is informational.
	DisplayName string `json:"displayName,omitempty" yaml:"displayName,omitempty"`
	// Secret is the client secret. "${NAME}" is replaced by the environment variable NAME.
	Secret string `json:"secret,omitempty" yaml:"secret,omitempty"`
	// CertificatePEM holds one or more PEM certificates whose keys may sign client
	// assertions.
	CertificatePEM string `json:"certificatePem,omitempty" yaml:"certificatePem,omitempty"`
	// CertificateFile is a file of PEM certificates, read at load time into CertificatePEM.
	CertificateFile string `json:"certificateFile,omitempty" yaml:"certificateFile,omitempty"`
	// ObjectID is the service principal's object id; empty derives a stable one from the
	// client id.
	ObjectID string `json:"objectId,omitempty" yaml:"objectId,omitempty"`
	// Subscriptions lists the subscription ids the app is granted: it may list them and
	// their vaults through ARM and use every vault and managed HSM in them (as Key Vault
	// Crypto Officer / Managed HSM Crypto Officer would). No entry, no access.
	Subscriptions []string `json:"subscriptions,omitempty" yaml:"subscriptions,omitempty"`
}

// SubscriptionConfig is an Azure subscription.
type SubscriptionConfig struct {
	// ID is the subscription id, a GUID.
	ID string `json:"id" yaml:"id"`
	// TenantID is the tenant the subscription trusts.
	TenantID string `json:"tenantId" yaml:"tenantId"`
	// DisplayName defaults to "Emulated subscription".
	DisplayName string `json:"displayName,omitempty" yaml:"displayName,omitempty"`
}

// VaultConfig is a Key Vault.
type VaultConfig struct {
	// Name is the vault name, 3-24 characters of letters, digits and single hyphens.
	Name string `json:"name" yaml:"name"`
	// Subscription is the subscription id holding the vault.
	Subscription string `json:"subscription" yaml:"subscription"`
	// ResourceGroup defaults to "keyward-emulator".
	ResourceGroup string `json:"resourceGroup,omitempty" yaml:"resourceGroup,omitempty"`
	// Location defaults to "westeurope".
	Location string `json:"location,omitempty" yaml:"location,omitempty"`
	// SKU is standard (the default) or premium.
	SKU string `json:"sku,omitempty" yaml:"sku,omitempty"`
	// SoftDeleteRetentionDays is 7-90; zero means Azure's default of 90.
	SoftDeleteRetentionDays int `json:"softDeleteRetentionDays,omitempty" yaml:"softDeleteRetentionDays,omitempty"`
	// PurgeProtection refuses purges until the retention period has passed.
	PurgeProtection bool `json:"purgeProtection,omitempty" yaml:"purgeProtection,omitempty"`
	// SoftDeleteDisabled makes a legacy vault whose deletes are permanent.
	SoftDeleteDisabled bool `json:"softDeleteDisabled,omitempty" yaml:"softDeleteDisabled,omitempty"`
	// Tags are the vault's ARM tags.
	Tags map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
}

// HSMConfig is a Managed HSM pool. Soft delete is always on.
type HSMConfig struct {
	// Name is the HSM name, 3-24 characters of letters, digits and single hyphens.
	Name string `json:"name" yaml:"name"`
	// Subscription is the subscription id holding the HSM.
	Subscription string `json:"subscription" yaml:"subscription"`
	// ResourceGroup defaults to "keyward-emulator".
	ResourceGroup string `json:"resourceGroup,omitempty" yaml:"resourceGroup,omitempty"`
	// Location defaults to "westeurope".
	Location string `json:"location,omitempty" yaml:"location,omitempty"`
	// SKU defaults to Standard_B1.
	SKU string `json:"sku,omitempty" yaml:"sku,omitempty"`
	// SoftDeleteRetentionDays is 7-90; zero means 90.
	SoftDeleteRetentionDays int `json:"softDeleteRetentionDays,omitempty" yaml:"softDeleteRetentionDays,omitempty"`
	// PurgeProtection refuses purges until the retention period has passed.
	PurgeProtection bool `json:"purgeProtection,omitempty" yaml:"purgeProtection,omitempty"`
	// SecurityDomainNotActivated leaves the HSM as freshly provisioned: ARM reports
	// NotActivated and the data plane refuses key operations.
	SecurityDomainNotActivated bool `json:"securityDomainNotActivated,omitempty" yaml:"securityDomainNotActivated,omitempty"`
	// Tags are the HSM's ARM tags.
	Tags map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
}

// ThrottleConfig configures Azure's vault throttling (akv-api.md §6.1): weighted per-vault
// budgets per window, five times that per subscription.
type ThrottleConfig struct {
	// Disabled turns throttling off.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	// Window is the length of the sliding window; zero means Azure's 10 seconds. Tests
	// shorten it.
	Window Duration `json:"window,omitempty" yaml:"window,omitempty"`
}

// ChaosConfig injects latency and faults. The zero value injects nothing.
type ChaosConfig struct {
	// Seed seeds the random choices (jitter, fault rates) so that a run repeats.
	Seed uint64 `json:"seed,omitempty" yaml:"seed,omitempty"`
	// Latency is added to every emulated request (not to the admin API).
	Latency Duration `json:"latency,omitempty" yaml:"latency,omitempty"`
	// Jitter adds a further uniform random delay in [0, Jitter).
	Jitter Duration `json:"jitter,omitempty" yaml:"jitter,omitempty"`
	// Faults are the fault rules, tried in order; the first that fires wins.
	Faults []FaultRule `json:"faults,omitempty" yaml:"faults,omitempty"`
}

// FaultRule makes a share of matching requests fail.
type FaultRule struct {
	// Operation is an operation name as reported in Stats (e.g. "GetKey", "CreateKey",
	// "sign", "Token", "Vaults_ListBySubscription"), or "*" for all. Case-insensitive.
	Operation string `json:"operation" yaml:"operation"`
	// Vault limits the rule to one vault or HSM name; empty means any.
	Vault string `json:"vault,omitempty" yaml:"vault,omitempty"`
	// Kind is "500", "503", "timeout" (hang, then close the connection), "reset" (close
	// the connection with a TCP reset) or "429" (Azure's Throttled answer, with a
	// Retry-After of RetryAfter, or without the header when RetryAfter is zero: clients
	// must then back off on their own). Throttling proper is ThrottleConfig's; a 429
	// fault hits at random, whatever the budget.
	Kind string `json:"kind" yaml:"kind"`
	// Rate is the probability, 0 to 1, that a matching request fails.
	Rate float64 `json:"rate" yaml:"rate"`
	// Hang is how long a "timeout" fault holds the request before closing; zero means 30s.
	Hang Duration `json:"hang,omitempty" yaml:"hang,omitempty"`
	// RetryAfter is the Retry-After of a "429" fault, sent in whole seconds (rounded up).
	RetryAfter Duration `json:"retryAfter,omitempty" yaml:"retryAfter,omitempty"`
	// Max is how many times the rule may fire before it stops (until the chaos settings
	// are set again); zero means no limit. With Rate 1 it fails exactly the next Max
	// matching requests, which makes a test's faults certain.
	Max int `json:"max,omitempty" yaml:"max,omitempty"`
}

// TimingConfig says how long Azure's asynchronous state changes take. Zero values make
// them immediate, which is what fast tests want.
type TimingConfig struct {
	// DeleteDelay is how long a key delete takes: meanwhile GET /deletedkeys/{name} is 404
	// and creating the name is a 409.
	DeleteDelay Duration `json:"deleteDelay,omitempty" yaml:"deleteDelay,omitempty"`
	// RecoverDelay is how long a recover takes: meanwhile GET /keys/{name} is 404.
	RecoverDelay Duration `json:"recoverDelay,omitempty" yaml:"recoverDelay,omitempty"`
	// PurgeDelay is how long after a purge the name still conflicts (restore gets 409).
	PurgeDelay Duration `json:"purgeDelay,omitempty" yaml:"purgeDelay,omitempty"`
	// Retention, when non-zero, replaces the vaults' retention days: soft-deleted keys are
	// purged automatically this long after deletion, and scheduledPurgeDate says so.
	Retention Duration `json:"retention,omitempty" yaml:"retention,omitempty"`
}

// AzureLikeTiming is timing close to what Azure shows: deletes and recovers take a couple of
// seconds, and a purged name stays reserved a little longer.
func AzureLikeTiming() TimingConfig {
	return TimingConfig{
		DeleteDelay:  Duration(2 * time.Second),
		RecoverDelay: Duration(2 * time.Second),
		PurgeDelay:   Duration(5 * time.Second),
	}
}

var (
	guidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	vaultRE    = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)
	rgRE       = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	locationRE = regexp.MustCompile(`^[a-z0-9]{2,40}$`)
	envRefRE   = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

// Validate checks the whole configuration and reports every problem it finds.
func (c *Config) Validate() error {
	var errs []error
	tenants := map[string]bool{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		if err := t.validate(); err != nil {
			errs = append(errs, err)
		}
		tenants[strings.ToLower(t.ID)] = true
	}
	subs := map[string]bool{}
	for _, s := range c.Subscriptions {
		if err := s.validate(); err != nil {
			errs = append(errs, err)
		} else if !tenants[strings.ToLower(s.TenantID)] {
			errs = append(errs, fmt.Errorf("subscription %s: unknown tenant %s", s.ID, s.TenantID))
		}
		subs[strings.ToLower(s.ID)] = true
	}
	names := map[string]bool{}
	for _, v := range c.Vaults {
		errs = append(errs, checkResource("vault", v.Name, v.Subscription, v.ResourceGroup, v.Location, subs, names)...)
		if err := v.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range c.ManagedHSMs {
		errs = append(errs, checkResource("managed hsm", h.Name, h.Subscription, h.ResourceGroup, h.Location, subs, names)...)
		if err := h.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.Chaos.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Throttle.Window < 0 {
		errs = append(errs, errors.New("throttle: window must not be negative"))
	}
	if c.Timing.DeleteDelay < 0 || c.Timing.RecoverDelay < 0 || c.Timing.PurgeDelay < 0 || c.Timing.Retention < 0 {
		errs = append(errs, errors.New("timing: durations must not be negative"))
	}
	return errors.Join(errs...)
}

func (t *TenantConfig) validate() error {
	if !guidRE.MatchString(t.ID) {
		return fmt.Errorf("tenant %q: id must be a GUID", t.ID)
	}
	if cloudNamed(t.Cloud) == nil {
		return fmt.Errorf("tenant %s: unknown cloud %q (want public, usgov or china)", t.ID, t.Cloud)
	}
	var errs []error
	for _, a := range t.Apps {
		if err := a.validate(); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (a *AppConfig) validate() error {
	if !guidRE.MatchString(a.ClientID) {
		return fmt.Errorf("app %q: client id must be a GUID", a.ClientID)
	}
	if a.ObjectID != "" && !guidRE.MatchString(a.ObjectID) {
		return fmt.Errorf("app %s: object id must be a GUID", a.ClientID)
	}
	if a.Secret == "" && a.CertificatePEM == "" {
		return fmt.Errorf("app %s: needs a secret or a certificate", a.ClientID)
	}
	if a.CertificatePEM != "" {
		if _, err := parseCertificates([]byte(a.CertificatePEM)); err != nil {
			return fmt.Errorf("app %s: %w", a.ClientID, err)
		}
	}
	for _, s := range a.Subscriptions {
		if !guidRE.MatchString(s) {
			return fmt.Errorf("app %s: subscription %q is not a GUID", a.ClientID, s)
		}
	}
	return nil
}

func (s *SubscriptionConfig) validate() error {
	if !guidRE.MatchString(s.ID) {
		return fmt.Errorf("subscription %q: id must be a GUID", s.ID)
	}
	return nil
}

func (v *VaultConfig) validate() error {
	switch strings.ToLower(v.SKU) {
	case "", "standard", "premium":
	default:
		return fmt.Errorf("vault %s: sku %q must be standard or premium", v.Name, v.SKU)
	}
	if err := checkRetention(v.SoftDeleteRetentionDays); err != nil {
		return fmt.Errorf("vault %s: %w", v.Name, err)
	}
	if v.SoftDeleteDisabled && v.PurgeProtection {
		return fmt.Errorf("vault %s: purge protection needs soft delete", v.Name)
	}
	return nil
}

func (h *HSMConfig) validate() error {
	switch h.SKU {
	case "", "Standard_B1", "Custom_B32", "Custom_B6", "Custom_C42", "Custom_C10":
	default:
		return fmt.Errorf("managed hsm %s: unknown sku %q", h.Name, h.SKU)
	}
	if err := checkRetention(h.SoftDeleteRetentionDays); err != nil {
		return fmt.Errorf("managed hsm %s: %w", h.Name, err)
	}
	return nil
}

func checkRetention(days int) error {
	if days != 0 && (days < 7 || days > 90) {
		return fmt.Errorf("soft delete retention %d days is outside 7-90", days)
	}
	return nil
}

// checkResource validates what vaults and HSMs have in common. Their names share one DNS
// namespace per cloud, so a name may be used once.
func checkResource(kind, name, sub, rg, loc string, subs, names map[string]bool) []error {
	var errs []error
	if !vaultRE.MatchString(name) || strings.Contains(name, "--") {
		errs = append(errs, fmt.Errorf("%s %q: name must be 3-24 letters, digits and single hyphens, starting with a letter", kind, name))
	}
	if names[strings.ToLower(name)] {
		errs = append(errs, fmt.Errorf("%s %s: name already used", kind, name))
	}
	names[strings.ToLower(name)] = true
	if !subs[strings.ToLower(sub)] {
		errs = append(errs, fmt.Errorf("%s %s: unknown subscription %q", kind, name, sub))
	}
	if rg != "" && !rgRE.MatchString(rg) {
		errs = append(errs, fmt.Errorf("%s %s: invalid resource group %q", kind, name, rg))
	}
	if loc != "" && !locationRE.MatchString(loc) {
		errs = append(errs, fmt.Errorf("%s %s: invalid location %q (want e.g. westeurope)", kind, name, loc))
	}
	return errs
}

func (c *ChaosConfig) validate() error {
	if c.Latency < 0 || c.Jitter < 0 {
		return errors.New("chaos: latency and jitter must not be negative")
	}
	for i, f := range c.Faults {
		switch f.Kind {
		case "500", "503", "timeout", "reset", "429":
		default:
			return fmt.Errorf("chaos: fault %d: kind %q must be 500, 503, 429, timeout or reset", i, f.Kind)
		}
		if f.Rate < 0 || f.Rate > 1 {
			return fmt.Errorf("chaos: fault %d: rate %v is outside 0-1", i, f.Rate)
		}
		if f.Operation == "" {
			return fmt.Errorf("chaos: fault %d: operation is empty (use \"*\" for all)", i)
		}
		if f.Max < 0 {
			return fmt.Errorf("chaos: fault %d: max must not be negative", i)
		}
		if f.Hang < 0 {
			return fmt.Errorf("chaos: fault %d: hang must not be negative", i)
		}
	}
	return nil
}

// LoadConfig reads a configuration file, YAML or JSON (by the .json extension), rejecting
// unknown fields, and resolves ${ENV} secrets and certificate files relative to the file.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(&c)
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		err = dec.Decode(&c)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("parse config %s: %w", path, err)
	}
	if err := c.resolve(filepath.Dir(path)); err != nil {
		return c, err
	}
	return c, nil
}

// resolve expands ${ENV} secrets and reads certificate files.
func (c *Config) resolve(dir string) error {
	for i := range c.Tenants {
		for j := range c.Tenants[i].Apps {
			a := &c.Tenants[i].Apps[j]
			if m := envRefRE.FindStringSubmatch(a.Secret); m != nil {
				v, ok := os.LookupEnv(m[1])
				if !ok {
					return fmt.Errorf("app %s: secret refers to unset environment variable %s", a.ClientID, m[1])
				}
				a.Secret = v
			}
			if a.CertificateFile != "" {
				p := a.CertificateFile
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return fmt.Errorf("app %s: %w", a.ClientID, err)
				}
				a.CertificatePEM += string(b)
				a.CertificateFile = ""
			}
		}
	}
	return nil
}

// parseCertificates reads every CERTIFICATE block of a PEM bundle.
func parseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}
