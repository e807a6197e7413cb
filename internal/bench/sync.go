package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/keyward"
)

// SyncOptions configure `keyward bench sync`.
type SyncOptions struct {
	Keys     int           // keys in the vault
	Versions int           // versions per key
	Latency  time.Duration // added to every Azure request
	Window   time.Duration // Azure's throttling window (10 s)
	Progress func(string)
}

// SyncReport is the whole run.
type SyncReport struct {
	Keys, Versions int
	LatencyMillis  int64 `json:"latency_ms"`
	First          SyncRun
	Again          SyncRun
}

// SyncRun is one sync: how long it took, the calls it made, and the least time Azure's
// limits allow for those calls.
type SyncRun struct {
	Seconds       float64          `json:"seconds"`
	Calls         map[string]int64 `json:"calls"`          // data-plane requests the vault answered, by operation
	Total         int64            `json:"total"`          // all of them
	PerKeyCalls   int64            `json:"per_key_calls"`  // requests about one key (versions, gets, backups)
	Throttled     int64            `json:"throttled"`      // 429s Azure answered
	BoundSeconds  float64          `json:"bound_seconds"`  // the least time Azure allows: its limits for Total, the listing's pages in turn
	VsBound       float64          `json:"vs_bound"`       // Seconds / BoundSeconds
	VersionsAdded int              `json:"versions_added"` // virtual keys the sync created
	Escrowed      int              `json:"escrowed"`       // backups it escrowed
	JobState      string           `json:"job_state"`
	JobError      string           `json:"job_error,omitempty"`
}

// softwareBudget is Azure's budget for non-create transactions on software RSA-2048 keys,
// per vault and window (akv-api.md §6.1): what every call of this benchmark costs 1 of.
const softwareBudget = 4000

// listOps are the calls that are not about one key.
var listOps = map[string]bool{"GetKeys": true, "GetDeletedKeys": true}

// Sync builds an emulator vault of o.Keys × o.Versions software RSA-2048 keys with Azure's
// throttling and o.Latency, links a fresh in-process Keyward to it through the emulator's
// proxy, and measures a first sync and a second one of the unchanged vault.
func Sync(ctx context.Context, o SyncOptions) (*SyncReport, error) {
	dir, err := os.MkdirTemp("", "keyward-bench-sync-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	say := func(s string) {
		if o.Progress != nil {
			o.Progress(s)
		}
	}
	emu, addr, stop, err := startEmulator(ctx, o)
	if err != nil {
		return nil, err
	}
	defer stop()
	say(fmt.Sprintf("seeding %d keys x %d versions", o.Keys, o.Versions))
	// The keys are a day old, as in a vault that existed before Keyward: a key changed in
	// the last seconds before a sync is read again by the next one (Azure's timestamps
	// have whole seconds), which is right for a live vault but is not the unchanged
	// vault the second sync measures.
	if err := emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: o.Keys, Versions: o.Versions, Kty: "RSA", Size: 2048, Prefix: "bench",
		Age: akvemu.Duration(24 * time.Hour)}); err != nil {
		return nil, fmt.Errorf("seed the vault: %w", err)
	}
	cfg := app.DevConfig("127.0.0.1:0", filepath.Join(dir, "keyward"))
	a, err := app.New(ctx, cfg, app.Options{Log: slog.New(slog.DiscardHandler),
		AzureTLS: &keyward.TLSSettings{ProxyURL: "http://" + addr, CACertPEM: string(emu.CACertPEM())}})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.Run(runCtx)
	c, group, err := linkBenchGroup(ctx, a)
	if err != nil {
		return nil, err
	}
	rep := &SyncReport{Keys: o.Keys, Versions: o.Versions, LatencyMillis: o.Latency.Milliseconds()}
	for i, r := range []*SyncRun{&rep.First, &rep.Again} {
		say([]string{"first sync", "second sync of the unchanged vault"}[i])
		emu.ResetStats()
		if err := timeSync(ctx, c, group, emu, o, r, say); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func startEmulator(ctx context.Context, o SyncOptions) (*akvemu.Emulator, string, func(), error) {
	ec := akvemu.DevConfig()
	ec.Timing = akvemu.TimingConfig{}
	ec.Chaos.Latency = akvemu.Duration(o.Latency)
	ec.Throttle.Window = akvemu.Duration(o.Window)
	emu, err := akvemu.New(ec)
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	go emu.Serve(sctx, ln)
	return emu, ln.Addr().String(), func() { cancel(); emu.Close() }, nil
}

// linkBenchGroup sets up an account, a credential and a group linked to the vault, and
// returns a client of the administrator and the group.
func linkBenchGroup(ctx context.Context, a *app.App) (*client.Client, string, error) {
	const pw = "bench password 1234"
	acct, _, err := a.Service.Bootstrap(ctx, "Bench", "bench@keyward.dev", pw)
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(a.Addr(), client.WithCACertFile(a.CACertFile), client.WithTimeout(10*time.Minute))
	if err != nil {
		return nil, "", err
	}
	if _, err := c.Login(ctx, api.LoginRequest{Email: "bench@keyward.dev", Password: pw, Account: acct.ID}); err != nil {
		return nil, "", err
	}
	if _, err := c.CreateCloudCredential(ctx, api.CloudCredentialInput{Name: "emulator", TenantID: akvemu.DevTenantID,
		ClientID: akvemu.DevClientID, SubscriptionID: akvemu.DevSubscriptionID, ClientSecret: akvemu.DevClientSecret}); err != nil {
		return nil, "", err
	}
	g, err := c.CreateGroup(ctx, api.GroupCreate{Name: "bench"})
	if err != nil {
		return nil, "", err
	}
	l, err := c.LinkGroup(ctx, g.ID, api.AzureLinkInput{Credential: "emulator", VaultKind: "standard", Vault: "kw-standard"})
	if err != nil {
		return nil, "", err
	}
	if l.Status != keyward.LinkConnected {
		return nil, "", fmt.Errorf("link to the emulator: %s", l.Reason)
	}
	return c, g.ID, nil
}

func timeSync(ctx context.Context, c *client.Client, group string, emu *akvemu.Emulator, o SyncOptions, r *SyncRun, say func(string)) error {
	start := time.Now()
	j, err := c.SyncGroup(ctx, group)
	if err != nil {
		return err
	}
	last := ""
	j, err = c.WatchJob(ctx, j.ID, 200*time.Millisecond, func(j *api.Job) {
		if line := fmt.Sprintf("%d/%d %s", j.Progress.Done, j.Progress.Total, j.Progress.Message); line != last && j.Progress.Total > 0 {
			last = line
			say(line)
		}
	})
	if err != nil {
		return err
	}
	r.Seconds = time.Since(start).Seconds()
	r.JobState, r.JobError = j.State, j.Error
	var res struct {
		VersionsAdded int `json:"versions_added"`
		Escrowed      int `json:"escrowed"`
	}
	if err := decodeJSON(j.Result, &res); err != nil {
		return fmt.Errorf("read the sync's result: %w", err)
	}
	r.VersionsAdded, r.Escrowed = res.VersionsAdded, res.Escrowed
	vs := emu.Stats().Vaults["kw-standard"]
	r.Calls, r.Throttled = map[string]int64{}, vs.Throttled
	for op, st := range vs.Operations {
		n := st.Requests - st.Throttled
		r.Calls[op] = n
		r.Total += n
		if !listOps[op] {
			r.PerKeyCalls += n
		}
	}
	window := o.Window
	if window <= 0 {
		window = 10 * time.Second
	}
	// The listing's pages come one after another (each names the next), so a sync can
	// never be quicker than their round trips either.
	pages := r.Total - r.PerKeyCalls
	r.BoundSeconds = max(throttleBound(r.Total, softwareBudget, window, o.Latency), time.Duration(pages)*o.Latency).Seconds()
	if r.BoundSeconds > 0 {
		r.VsBound = r.Seconds / r.BoundSeconds
	}
	return nil
}

// throttleBound is the least time a sliding window of budget calls per window allows for n
// calls: budget of them at once, the next budget one window later, and so on, plus one
// round trip for the last.
func throttleBound(n, budget int64, window, latency time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	full := int64(math.Ceil(float64(n)/float64(budget))) - 1
	return time.Duration(full)*window + latency
}
