package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/azure"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// azureWorld is the emulator's development world, served on a loopback port, as Keyward
// and an Azure user (through the Azure SDK) both reach it.
type azureWorld struct {
	t    *testing.T
	emu  *akvemu.Emulator
	addr string
	tls  keyward.TLSSettings
	// backups records every backup blob Azure handed Keyward, by key name.
	backups *backupTap
	// attemptTimeout bounds one request of Keyward's; zero means 2 seconds.
	attemptTimeout time.Duration
}

func newAzureWorld(t *testing.T, mutate ...func(*akvemu.Config)) *azureWorld {
	t.Helper()
	cfg := akvemu.DevConfig()
	cfg.Timing = akvemu.TimingConfig{} // deletes, recovers and purges take effect at once
	for _, m := range mutate {
		m(&cfg)
	}
	emu, err := akvemu.New(cfg)
	apptest.Check(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	apptest.Check(t, err)
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		emu.Close()
		// Serve's shutdown waits five seconds for a connection opened but never used;
		// the test need not.
		select {
		case <-done:
		case <-time.After(200 * time.Millisecond):
		}
	})
	return &azureWorld{t: t, emu: emu, addr: ln.Addr().String(), backups: &backupTap{blobs: map[string][]string{}},
		tls: keyward.TLSSettings{ProxyURL: "http://" + ln.Addr().String(), CACertPEM: string(emu.CACertPEM())}}
}

// connectorOptions are Keyward's Azure connector with waits in milliseconds, and with a
// tap on the backups it receives.
func (w *azureWorld) connectorOptions() azure.Options {
	timeout := w.attemptTimeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	return azure.Options{
		Retry: azure.RetryOptions{
			ThrottleBackoff:  []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond},
			TransientBackoff: 5 * time.Millisecond, TransientBackoffMax: 40 * time.Millisecond,
			AttemptTimeout: timeout, PollInterval: 10 * time.Millisecond, SettleTimeout: 10 * time.Second,
		},
		WrapTransport: w.backups.wrap,
	}
}

// appOptions wire a Keyward server to the world.
func (w *azureWorld) appOptions() app.Options {
	return app.Options{Cloud: azure.New(w.connectorOptions()), AzureTLS: &w.tls}
}

// keys is an Azure SDK client of a vault, signed in as the dev world's app: what another
// Azure user (or the portal) does to the vault, behind Keyward's back.
func (w *azureWorld) keys(vault string) *azkeys.Client {
	w.t.Helper()
	opts := azcore.ClientOptions{Transport: w.emu.DirectClient(w.addr)}
	cred, err := azidentity.NewClientSecretCredential(akvemu.DevTenantID, akvemu.DevClientID, akvemu.DevClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts})
	apptest.Check(w.t, err)
	uri, err := w.emu.VaultURL(vault)
	apptest.Check(w.t, err)
	c, err := azkeys.NewClient(uri, cred, &azkeys.ClientOptions{ClientOptions: opts})
	apptest.Check(w.t, err)
	return c
}

// azureGroup is a Keyward server with an account whose group is linked to a vault.
type azureGroup struct {
	env     *apptest.Env
	admin   *client.Client
	account string
	group   string // id
	vault   string
}

// linkAzureGroup bootstraps an account on env, creates a cloud credential for the dev
// world and links a new group to vault.
func linkAzureGroup(t *testing.T, env *apptest.Env, kind, vault string) *azureGroup {
	t.Helper()
	acct, admin := env.Bootstrap("Acme", "admin@a.example")
	_, err := admin.CreateCloudCredential(ctx, api.CloudCredentialInput{Name: "emulator", TenantID: akvemu.DevTenantID,
		ClientID: akvemu.DevClientID, SubscriptionID: akvemu.DevSubscriptionID, ClientSecret: akvemu.DevClientSecret})
	apptest.Check(t, err)
	g, err := admin.CreateGroup(ctx, api.GroupCreate{Name: vault})
	apptest.Check(t, err)
	l, err := admin.LinkGroup(ctx, g.ID, api.AzureLinkInput{Credential: "emulator", VaultKind: kind, Vault: vault})
	apptest.Check(t, err)
	if l.Status != "connected" {
		t.Fatalf("link: %s (%s)", l.Status, l.Reason)
	}
	return &azureGroup{env: env, admin: admin, account: acct, group: g.ID, vault: vault}
}

// versionsIn lists every version of every key in a vault (not deleted), as name/version.
func versionsIn(t *testing.T, kc *azkeys.Client) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	keys := kc.NewListKeyPropertiesPager(nil)
	for keys.More() {
		page, err := keys.NextPage(ctx)
		apptest.Check(t, err)
		for _, k := range page.Value {
			name := k.KID.Name()
			vs := kc.NewListKeyPropertiesVersionsPager(name, nil)
			for vs.More() {
				vp, err := vs.NextPage(ctx)
				apptest.Check(t, err)
				for _, v := range vp.Value {
					out[name+"/"+v.KID.Version()] = true
				}
			}
		}
	}
	return out
}

// virtualVersions returns the group's virtual keys by name/version, failing on a version
// held twice.
func (g *azureGroup) virtualVersions(t *testing.T) map[string]api.Key {
	t.Helper()
	out := map[string]api.Key{}
	for _, k := range groupKeys(t, g.admin, g.group) {
		if k.Azure == nil {
			t.Fatalf("key %s of an Azure group is not virtual", k.Name)
		}
		v := k.Azure.KeyName + "/" + k.Azure.Version
		if _, dup := out[v]; dup {
			t.Fatalf("Azure key version %s is held twice", v)
		}
		out[v] = k
	}
	return out
}

// checkHolds fails unless the group holds exactly one virtual key for each version the
// vault has (and maybe more for keys gone from the vault, when gone is true).
func (g *azureGroup) checkHolds(t *testing.T, want map[string]bool, gone bool) map[string]api.Key {
	t.Helper()
	got := g.virtualVersions(t)
	for v := range want {
		if _, ok := got[v]; !ok {
			t.Fatalf("version %s of the vault has no virtual key (%d held, %d in the vault)", v, len(got), len(want))
		}
	}
	if !gone && len(got) != len(want) {
		t.Fatalf("%d virtual keys for %d versions in the vault", len(got), len(want))
	}
	return got
}

// checkEscrows fails unless every named key has an escrowed backup that is sealed under
// the root key, bound to its group and key name, and opens to a blob Azure handed out
// (as far as tap saw; nil skips that check).
func (g *azureGroup) checkEscrows(t *testing.T, tap *backupTap, names []string) {
	t.Helper()
	kr, err := seal.LoadKeyFile(filepath.Join(g.env.Dir, "root.key"), nil)
	apptest.Check(t, err)
	sealer, err := seal.New(kr)
	apptest.Check(t, err)
	apptest.Check(t, g.env.App.Store().View(ctx, func(tx keyward.Tx) error {
		for _, name := range names {
			e, err := tx.GetEscrow(g.account, g.group, name)
			if err != nil {
				t.Fatalf("escrow of %s: %v", name, err)
			}
			clear, err := sealer.Open(e.Blob, seal.Bind("escrow", g.group+"/"+name))
			if err != nil {
				t.Fatalf("escrow of %s does not open under its binding: %v", name, err)
			}
			if tap != nil && !tap.gave(name, clear) {
				t.Fatalf("escrow of %s opens to %d bytes Azure never handed out", name, len(clear))
			}
			if bytes.Contains(e.Blob, clear) {
				t.Fatalf("escrow of %s holds the backup in clear", name)
			}
			if _, err := sealer.Open(e.Blob, seal.Bind("escrow", g.group+"/another-key")); err == nil {
				t.Fatalf("escrow of %s opens under another key's binding", name)
			}
		}
		return nil
	}))
}

// backupTap sees Keyward's traffic to Azure (as TLS terminates, like a debugging proxy
// would) and keeps each backup blob the vault returned.
type backupTap struct {
	mu    sync.Mutex
	blobs map[string][]string // key name -> base64url values, in order
}

func (b *backupTap) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		res, err := rt.RoundTrip(r)
		p := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if err != nil || r.Method != http.MethodPost || res.StatusCode != http.StatusOK || len(p) != 3 || p[0] != "keys" || p[2] != "backup" {
			return res, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		res.Body = io.NopCloser(bytes.NewReader(body))
		var v struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(body, &v) == nil && v.Value != "" {
			b.mu.Lock()
			b.blobs[p[1]] = append(b.blobs[p[1]], v.Value)
			b.mu.Unlock()
		}
		return res, nil
	})
}

// gave reports whether Azure handed out this backup of the key.
func (b *backupTap) gave(name string, blob []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range b.blobs[name] {
		if d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "=")); err == nil && bytes.Equal(d, blob) {
			return true
		}
	}
	return false
}

// all returns every backup handed out, decoded, and as sent.
func (b *backupTap) all() (decoded [][]byte, encoded []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, vs := range b.blobs {
		for _, v := range vs {
			d, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
			decoded, encoded = append(decoded, d), append(encoded, v)
		}
	}
	return decoded, encoded
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
