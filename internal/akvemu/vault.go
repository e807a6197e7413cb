package akvemu

import (
	"maps"
	"strings"
	"sync"
	"time"
)

// vaultKind tells a Key Vault from a Managed HSM.
type vaultKind int

const (
	kindVault vaultKind = iota
	kindHSM
)

// vault is one Key Vault or Managed HSM: its ARM properties and its keys. mu guards the keys
// and everything below it.
type vault struct {
	kind            vaultKind
	name            string // as configured
	host            string // lower-case DNS name
	cloud           *cloud
	sub             *subscription
	resourceGroup   string
	location        string
	sku             string // standard|premium, or the HSM SKU
	retentionDays   int    // 0 when soft delete is off
	purgeProtection bool
	softDelete      bool
	notActivated    bool // HSM security domain not activated
	tags            map[string]string
	created         time.Time

	mu      sync.Mutex
	keys    map[string]*keyEntry   // by lower-case name
	deleted map[string]*deletedKey // soft-deleted, by lower-case name
	purging map[string]time.Time   // purged names still reserved until then
	names   []string               // sorted lower-case names of keys, rebuilt when dirty
	dirty   bool
	// policied holds the lower-case names of keys that have (or had) a rotation policy, so
	// that the sweep for due rotations need not visit every key.
	policied map[string]bool
}

func newVaultFromConfig(vc VaultConfig, sub *subscription, created time.Time) *vault {
	v := &vault{
		kind:            kindVault,
		name:            vc.Name,
		cloud:           sub.tenant.cloud,
		sub:             sub,
		resourceGroup:   orDefault(vc.ResourceGroup, "keyward-emulator"),
		location:        orDefault(vc.Location, "westeurope"),
		sku:             strings.ToLower(orDefault(vc.SKU, "standard")),
		retentionDays:   orDefaultInt(vc.SoftDeleteRetentionDays, 90),
		purgeProtection: vc.PurgeProtection,
		softDelete:      !vc.SoftDeleteDisabled,
		tags:            maps.Clone(vc.Tags),
		created:         created,
	}
	if !v.softDelete {
		v.retentionDays = 0
	}
	v.host = strings.ToLower(vc.Name) + v.cloud.vaultSuffix
	v.initKeys()
	return v
}

func newHSMFromConfig(hc HSMConfig, sub *subscription, created time.Time) *vault {
	v := &vault{
		kind:            kindHSM,
		name:            hc.Name,
		cloud:           sub.tenant.cloud,
		sub:             sub,
		resourceGroup:   orDefault(hc.ResourceGroup, "keyward-emulator"),
		location:        orDefault(hc.Location, "westeurope"),
		sku:             orDefault(hc.SKU, "Standard_B1"),
		retentionDays:   orDefaultInt(hc.SoftDeleteRetentionDays, 90),
		purgeProtection: hc.PurgeProtection,
		softDelete:      true,
		notActivated:    hc.SecurityDomainNotActivated,
		tags:            maps.Clone(hc.Tags),
		created:         created,
	}
	v.host = strings.ToLower(hc.Name) + v.cloud.hsmSuffix
	v.initKeys()
	return v
}

func (v *vault) initKeys() {
	v.keys = map[string]*keyEntry{}
	v.deleted = map[string]*deletedKey{}
	v.purging = map[string]time.Time{}
	v.policied = map[string]bool{}
}

// addKey stores a key entry under its name. Call with v.mu held.
func (v *vault) addKey(k *keyEntry) {
	lname := strings.ToLower(k.Name)
	v.keys[lname] = k
	v.dirty = true
	if k.Policy != nil {
		v.policied[lname] = true
	}
}

// config returns the vault's configuration, for the state file and the admin API.
func (v *vault) vaultConfig() VaultConfig {
	return VaultConfig{
		Name: v.name, Subscription: v.sub.cfg.ID, ResourceGroup: v.resourceGroup, Location: v.location,
		SKU: v.sku, SoftDeleteRetentionDays: v.retentionDays, PurgeProtection: v.purgeProtection,
		SoftDeleteDisabled: !v.softDelete, Tags: maps.Clone(v.tags),
	}
}

func (v *vault) hsmConfig() HSMConfig {
	return HSMConfig{
		Name: v.name, Subscription: v.sub.cfg.ID, ResourceGroup: v.resourceGroup, Location: v.location,
		SKU: v.sku, SoftDeleteRetentionDays: v.retentionDays, PurgeProtection: v.purgeProtection,
		SecurityDomainNotActivated: v.notActivated, Tags: maps.Clone(v.tags),
	}
}

func (v *vault) kindName() string {
	if v.kind == kindHSM {
		return "managed hsm"
	}
	return "vault"
}

// premium reports whether HSM-protected keys are allowed: Premium vaults and Managed HSM.
func (v *vault) premium() bool { return v.kind == kindHSM || v.sku == "premium" }

// baseURL is the vault URI without a trailing slash, as kids use it. The port is kept when
// the client reached the emulator on a port other than 443, so that kids work as URLs.
func (v *vault) baseURL(port string) string {
	if port == "" || port == "443" {
		return "https://" + v.host
	}
	return "https://" + v.host + ":" + port
}

// recoveryLevel is the DeletionRecoveryLevel for the vault's settings (akv-api.md §7).
func (v *vault) recoveryLevel() string {
	switch {
	case !v.softDelete:
		return "Purgeable"
	case v.purgeProtection && v.retentionDays == 90:
		return "Recoverable"
	case v.purgeProtection:
		return "CustomizedRecoverable"
	case v.retentionDays == 90:
		return "Recoverable+Purgeable"
	default:
		return "CustomizedRecoverable+Purgeable"
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func orDefaultInt(n, d int) int {
	if n == 0 {
		return d
	}
	return n
}
