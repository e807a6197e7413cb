package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

// DevAzure is the Azure emulator `keyward dev` runs in-process: the development world of
// akvemu.DevConfig, its state kept in DATA_DIR/azure-emulator.json so that vaults, keys
// and its CA survive a restart.
type DevAzure struct {
	Emulator *akvemu.Emulator
	// Addr is where it listens (127.0.0.1 and a free port).
	Addr string
	// TLS is how Keyward reaches it: through its CONNECT proxy, trusting its CA. Pass it as
	// Options.AzureTLS; links made by keyward dev say nothing of their own, so a restart on
	// another port needs no change to them.
	TLS keyward.TLSSettings

	cancel context.CancelFunc
	done   chan error
}

// DevAzureStateFile is the emulator's state file in a dev data dir.
const DevAzureStateFile = "azure-emulator.json"

// StartDevAzure starts the emulator for a dev data dir. mutate, if given, changes the
// configuration first (tests shorten its delays).
func StartDevAzure(dataDir string, mutate ...func(*akvemu.Config)) (*DevAzure, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	cfg := akvemu.DevConfig()
	cfg.StatePath = filepath.Join(dataDir, DevAzureStateFile)
	for _, m := range mutate {
		m(&cfg)
	}
	emu, err := akvemu.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("azure emulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		emu.Close()
		return nil, fmt.Errorf("azure emulator: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &DevAzure{Emulator: emu, Addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1),
		TLS: keyward.TLSSettings{ProxyURL: "http://" + ln.Addr().String(), CACertPEM: string(emu.CACertPEM())}}
	go func() { d.done <- emu.Serve(ctx, ln) }()
	return d, nil
}

// Close stops the emulator and saves its state. It waits at most a second for the
// connections still open to end: http.Server.Shutdown counts a connection a client
// opened but never used as busy for five seconds, and nothing is lost by not waiting.
func (d *DevAzure) Close() error {
	if d == nil || d.cancel == nil {
		return nil
	}
	d.cancel()
	d.cancel = nil
	err := d.Emulator.Close()
	select {
	case serr := <-d.done:
		err = errors.Join(serr, err)
	case <-time.After(time.Second):
	}
	return err
}

// DevAzureGroup is one Azure group keyward dev links to a vault of the emulator.
type DevAzureGroup struct {
	Name      string            `json:"name"`
	ID        string            `json:"id"`
	VaultKind keyward.VaultKind `json:"vault_kind"`
	Vault     string            `json:"vault"`
}

// devCredentialName is the cloud credential keyward dev creates for the emulator.
const devCredentialName = "azure-emulator"

// devVaults are the groups keyward dev links, one per vault of akvemu.DevConfig, and the
// keys it creates in each vault (directly in the emulator, as if made in Azure) so that
// the first sync has something to find.
var devVaults = []struct {
	group, vault string
	kind         keyward.VaultKind
	seeds        []akvemu.SeedSpec
}{
	{"kw-standard", "kw-standard", keyward.VaultStandard, []akvemu.SeedSpec{
		{Count: 2, Prefix: "app-ec", Kty: "EC", Crv: "P-256", Versions: 2, Tags: map[string]string{"env": "dev"}, DistinctMaterial: true},
		{Count: 1, Prefix: "app-rsa", Kty: "RSA", Size: 2048, DistinctMaterial: true}}},
	{"kw-premium", "kw-premium", keyward.VaultPremium, []akvemu.SeedSpec{
		{Count: 2, Prefix: "payments-rsa", Kty: "RSA-HSM", Size: 3072, DistinctMaterial: true},
		{Count: 1, Prefix: "payments-ec", Kty: "EC-HSM", Crv: "P-384", DistinctMaterial: true}}},
	{"kw-hsm", "kw-hsm", keyward.VaultManagedHSM, []akvemu.SeedSpec{
		{Count: 2, Prefix: "db-aes", Kty: "oct-HSM", Size: 256, DistinctMaterial: true},
		{Count: 1, Prefix: "signing-rsa", Kty: "RSA-HSM", Size: 2048, DistinctMaterial: true}}},
}

// setUpDevAzure makes sure the dev account has a cloud credential for the emulator and one
// connected Azure group per emulated vault, and that each vault holds keys. Every step
// finds what a previous start made (by name) before it creates anything, so a restart,
// or a start after one that stopped half way, duplicates nothing.
func (a *App) setUpDevAzure(ctx context.Context, p keyward.Principal, az *DevAzure) ([]DevAzureGroup, error) {
	if err := seedDevVaults(az.Emulator); err != nil {
		return nil, err
	}
	cred, err := a.Service.GetCredential(ctx, p, devCredentialName)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		cred, err = a.Service.CreateCredential(ctx, p, service.CredentialInput{Name: devCredentialName,
			Description: "The Azure emulator of keyward dev", Cloud: keyward.CloudPublic,
			TenantID: akvemu.DevTenantID, ClientID: akvemu.DevClientID, SubscriptionID: akvemu.DevSubscriptionID,
			ClientSecret: akvemu.DevClientSecret})
	}
	if err != nil {
		return nil, fmt.Errorf("dev cloud credential: %w", err)
	}
	groups, err := a.Service.ListGroups(ctx, p, keyward.Page{Limit: keyward.MaxPageLimit})
	if err != nil {
		return nil, err
	}
	byName := map[string]service.GroupView{}
	for _, g := range groups {
		byName[g.Group.Name] = g
	}
	var out []DevAzureGroup
	for _, dv := range devVaults {
		g, ok := byName[dv.group]
		if !ok {
			made, err := a.Service.CreateGroup(ctx, p, dv.group, "Linked by keyward dev to the emulator's "+describeDevVault(dv.kind))
			if err != nil {
				return nil, fmt.Errorf("dev group %s: %w", dv.group, err)
			}
			g = *made
		}
		if g.Azure == nil {
			link, err := a.Service.LinkGroup(ctx, p, g.Group.ID, service.LinkInput{Credential: cred.ID, VaultKind: dv.kind, VaultName: dv.vault})
			if err != nil {
				return nil, fmt.Errorf("link dev group %s: %w", dv.group, err)
			}
			if link.Status != keyward.LinkConnected {
				return nil, fmt.Errorf("dev group %s is not connected to the emulator: %s", dv.group, link.Reason)
			}
		}
		out = append(out, DevAzureGroup{Name: dv.group, ID: g.Group.ID, VaultKind: dv.kind, Vault: dv.vault})
	}
	return out, nil
}

// seedDevVaults creates the demo keys in every vault that holds no key yet. The emulator's
// state file keeps them, so this happens on the first start of a data dir only.
func seedDevVaults(emu *akvemu.Emulator) error {
	count := map[string]int{}
	for _, v := range emu.Vaults() {
		count[v.Name] = v.Keys + v.DeletedKeys
	}
	for _, dv := range devVaults {
		if count[dv.vault] > 0 {
			continue
		}
		for _, s := range dv.seeds {
			if err := emu.SeedKeys(dv.vault, s); err != nil {
				return fmt.Errorf("seed %s: %w", dv.vault, err)
			}
		}
	}
	return nil
}

func describeDevVault(k keyward.VaultKind) string {
	switch k {
	case keyward.VaultManagedHSM:
		return "Managed HSM"
	default:
		return strings.ToUpper(string(k[:1])) + string(k[1:]) + " vault"
	}
}
