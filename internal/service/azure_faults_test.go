package service

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/azure"
	"github.com/keyward/keyward/internal/keyward"
)

// faultyChaos fails a share of every data-plane request to the vaults with 500s, 503s,
// connection resets and hung connections.
func faultyChaos(seed uint64, vaults ...string) akvemu.ChaosConfig {
	c := akvemu.ChaosConfig{Seed: seed}
	for _, v := range vaults {
		c.Faults = append(c.Faults,
			akvemu.FaultRule{Operation: "*", Vault: v, Kind: "503", Rate: 0.12},
			akvemu.FaultRule{Operation: "*", Vault: v, Kind: "500", Rate: 0.08},
			akvemu.FaultRule{Operation: "*", Vault: v, Kind: "reset", Rate: 0.08},
			akvemu.FaultRule{Operation: "*", Vault: v, Kind: "timeout", Rate: 0.04, Hang: akvemu.Duration(150 * time.Millisecond)})
	}
	return c
}

// settled waits for a job and checks that it either succeeded or failed with a reason a
// person can act on. It reports whether it succeeded.
func (w *azWorld) settled(j *keyward.Job, err error) bool {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("enqueue under faults: %v", err)
	}
	got := w.wait(j)
	switch got.State {
	case keyward.JobSucceeded:
		return true
	case keyward.JobFailed:
		if got.Error == "" || strings.Contains(got.Error, "internal error") {
			w.t.Errorf("job %s (%s) failed without a clear reason: %q", got.ID, got.Title, got.Error)
		}
		w.t.Logf("job %s (%s) failed: %s", got.ID, got.Title, got.Error)
		es, _ := w.s.ListServiceLog(w.ctx, w.admin, got.GroupID, keyward.ServiceLogFilter{JobID: got.ID, Oldest: true, Limit: 100})
		for _, e := range es {
			w.t.Logf("  %s %s %s", e.Level, e.Message, e.Detail)
		}
		return false
	}
	w.t.Fatalf("job %s ended %s", got.ID, got.State)
	return false
}

// checkConsistent checks, with Azure healthy again and after a sync, that every key's
// versions in Azure are exactly the group's live virtual keys, with Azure's current
// version current, and that every live key's backup is escrowed.
func (w *azWorld) checkConsistent(vault string) map[string]int {
	w.t.Helper()
	w.sync(vault)
	v := w.vault(vault)
	counts := map[string]int{}
	var names []string
	if err := v.ListKeys(w.ctx, func(it keyward.CloudKeyItem) error {
		names = append(names, it.Name)
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	for _, name := range names {
		ids, err := versionIDs(w.ctx, v, name)
		if err != nil {
			w.t.Fatal(err)
		}
		cur, err := v.GetKey(w.ctx, name, "")
		if err != nil {
			w.t.Fatal(err)
		}
		var have []string
		currents := 0
		for _, o := range w.versions(vault, name) {
			if o.Cloud.State == keyward.CloudPurged {
				continue
			}
			have = append(have, o.Cloud.Version)
			if o.Cloud.Current {
				currents++
				if o.Cloud.Version != cur.Version {
					w.t.Errorf("%s/%s: Keyward's current version %s, Azure's %s", vault, name, o.Cloud.Version, cur.Version)
				}
			}
		}
		slices.Sort(ids)
		slices.Sort(have)
		if !slices.Equal(ids, have) {
			w.t.Errorf("%s/%s: Azure has versions %v, Keyward %v", vault, name, ids, have)
		}
		if currents != 1 {
			w.t.Errorf("%s/%s: %d current virtual keys", vault, name, currents)
		}
		if _, err := w.escrow(vault, name); err != nil {
			w.t.Errorf("%s/%s: no escrow: %v", vault, name, err)
		}
		counts[name] = len(ids)
	}
	return counts
}

// TestAzureJobsUnderFaults: rotations (native, to a Keyward key, BYOK) and lifecycle
// calls with 5xx, resets and hung connections injected: every job succeeds or fails with
// a clear reason, and afterwards no virtual key is lost or duplicated and no escrow lost.
func TestAzureJobsUnderFaults(t *testing.T) {
	for _, seed := range []uint64{20261123, 7, 4242} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { testJobsUnderFaults(t, seed) })
	}
}

func testJobsUnderFaults(t *testing.T, seed uint64) {
	w := newAzWorld(t, []string{"kw-std", "kw-prem"})
	ctx, s, p := w.ctx, w.s, w.admin
	for i, kty := range []string{"RSA", "EC", "RSA", "EC"} {
		w.createInAzure("kw-std", fmt.Sprint("k", i+1), kty, 1)
	}
	w.createInAzure("kw-prem", "h1", "RSA-HSM", 1)
	w.sync("kw-std")
	w.sync("kw-prem")
	src := w.keywardKey("src-rsa", keyward.TypeRSA, 2048, "")
	hsrc := w.keywardKey("src-hsm", keyward.TypeRSA, 2048, "")
	if err := w.emu.SetChaos(faultyChaos(seed, "kw-std", "kw-prem")); err != nil {
		t.Fatal(err)
	}

	// k1: native rotations, one after the other.
	rotated := 0
	for range 3 {
		if w.settled(s.RotateAzureKey(ctx, p, "k1", "")) {
			rotated++
		}
	}
	// k3: rotated to a Keyward key; h1: the same by BYOK on Premium.
	toKeyward := w.settled(s.RotateAzureKey(ctx, p, "k3", src.ID))
	byok := w.settled(s.RotateAzureKey(ctx, p, "h1", hsrc.ID))
	// k2: tags and deactivation.
	tagged := w.settled(s.TagAzureKey(ctx, p, "k2", map[string]string{"owner": "ops"}))
	w.settled(s.SetAzureKeyEnabled(ctx, p, "k2", false))
	// k4: delete, recover, delete, purge, restore.
	k4 := w.current("kw-std", "k4").ID
	steps := []func() (*keyward.Job, error){
		func() (*keyward.Job, error) { return s.DeleteAzureKey(ctx, p, k4, true) },
		func() (*keyward.Job, error) { return s.RecoverAzureKey(ctx, p, k4) },
		func() (*keyward.Job, error) { return s.DeleteAzureKey(ctx, p, k4, true) },
		func() (*keyward.Job, error) { return s.PurgeAzureKey(ctx, p, k4, true) },
		func() (*keyward.Job, error) { return s.RestoreAzureKey(ctx, p, k4) },
	}
	for i, step := range steps {
		if !w.settled(step()) {
			t.Logf("k4 stopped at step %d", i)
			break
		}
	}
	st := w.emu.Stats()
	if st.Faulted == 0 {
		t.Fatal("no fault was injected")
	}
	t.Logf("%d requests, %d faulted", st.Requests, st.Faulted)

	if err := w.emu.SetChaos(akvemu.ChaosConfig{}); err != nil {
		t.Fatal(err)
	}
	counts := w.checkConsistent("kw-std")
	w.checkConsistent("kw-prem")
	// The emulator's faults never apply the request, so each successful rotation made
	// exactly one version: none was made twice by a retry.
	if counts["k1"] != 1+rotated {
		t.Errorf("k1 has %d versions after %d successful rotations", counts["k1"], rotated)
	}
	if toKeyward {
		if c := w.current("kw-std", "k3"); c.Cloud.SourceObjectID != src.ID || c.KCV != src.KCV {
			t.Errorf("k3 rotated to Keyward: source %s kcv %s", c.Cloud.SourceObjectID, c.KCV)
		}
	}
	if byok {
		if c := w.current("kw-prem", "h1"); c.Cloud.SourceObjectID != hsrc.ID || c.KCV != hsrc.KCV {
			t.Errorf("h1 rotated by BYOK: source %s kcv %s", c.Cloud.SourceObjectID, c.KCV)
		}
	}
	if tagged {
		if c := w.current("kw-std", "k2"); c.Tags["owner"] != "ops" {
			t.Errorf("k2 tags %v", c.Tags)
		}
	}
	// A key-exchange key left behind is one whose delete failed: the service log says so.
	w.checkKEKsReported("kw-prem")
}

// checkKEKsReported fails for a key-exchange key left in the vault that the group's
// service log does not report.
func (w *azWorld) checkKEKsReported(vault string) {
	w.t.Helper()
	var left []string
	if err := w.vault(vault).ListKeys(w.ctx, func(it keyward.CloudKeyItem) error {
		if strings.HasPrefix(it.Name, "keyward-kek-") {
			left = append(left, it.Name)
		}
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	for _, name := range left {
		es, err := w.s.ListServiceLog(w.ctx, w.admin, w.group[vault], keyward.ServiceLogFilter{Contains: name, Levels: []keyward.LogLevel{keyward.LogWarn}})
		if err != nil || len(es) == 0 {
			w.t.Errorf("key-exchange key %s left in %s without a warning (%v)", name, vault, err)
		}
	}
}

// lostAnswers drops Azure's answer to the first n requests that match: the request is
// done in Azure, the caller sees a broken connection. It models the failure a retry
// cannot see through.
type lostAnswers struct {
	next  http.RoundTripper
	match func(*http.Request) bool
	mu    sync.Mutex
	n     int
	lost  int
}

func (l *lostAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(r)
	if err != nil || !l.match(r) {
		return res, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost >= l.n || res.StatusCode >= 300 {
		return res, err
	}
	l.lost++
	res.Body.Close()
	return nil, errors.New("read: connection reset by peer")
}

// TestAzureRotationAdoptsLostVersion: when Azure made the version but its answer was lost
// and the connector does not retry, the job's next attempt finds the version it made
// instead of making another.
func TestAzureRotationAdoptsLostVersion(t *testing.T) {
	lost := &lostAnswers{n: 2, match: func(r *http.Request) bool {
		return (r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/rotate")) ||
			(r.Method == http.MethodPut && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 1) // import
	}}
	w := newAzWorld(t, []string{"kw-std"}, func(_ *akvemu.Config, o *azure.Options) {
		o.Retry.Transient = -1
		o.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { lost.next = rt; return lost }
	})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-std", "adopt", "RSA", 1)
	w.sync("kw-std")
	j := w.ok(s.RotateAzureKey(ctx, p, "adopt", ""))
	if j.Attempts < 2 {
		t.Fatalf("the lost answer did not fail an attempt (%d attempts)", j.Attempts)
	}
	src := w.keywardKey("adopt-src", keyward.TypeRSA, 2048, "")
	j = w.ok(s.RotateAzureKey(ctx, p, "adopt", src.ID))
	if j.Attempts < 2 || lost.lost != 2 {
		t.Fatalf("attempts %d, answers lost %d", j.Attempts, lost.lost)
	}
	counts := w.checkConsistent("kw-std")
	if counts["adopt"] != 3 {
		t.Fatalf("%d versions after two rotations, want 3: a retry made a duplicate", counts["adopt"])
	}
	if c := w.current("kw-std", "adopt"); c.Cloud.Source != SourceKeyward || c.KCV != src.KCV {
		t.Fatalf("adopted version: source %s kcv %s", c.Cloud.Source, c.KCV)
	}
}

// TestAzureRotationThrottled: more rotations than Azure's create budget allows; Azure's
// 429s go back to the jobs with Retry-After, and every rotation ends done, once.
func TestAzureRotationThrottled(t *testing.T) {
	w := newAzWorld(t, []string{"kw-std"}, func(c *akvemu.Config, o *azure.Options) {
		c.Throttle = akvemu.ThrottleConfig{Disabled: true}
		o.Throttle = azure.ThrottleOptions{Disabled: true} // Keyward's own budget off: meet Azure's 429s
		o.Retry.ThrottleBackoff = []time.Duration{5 * time.Millisecond}
		o.Retry.MaxRetryAfter = time.Millisecond // every Retry-After goes back to the job
	})
	ctx, s, p := w.ctx, w.s, w.admin
	const n = 26
	for i := range n {
		w.createInAzure("kw-std", fmt.Sprintf("t%02d", i), "EC", 1)
	}
	w.sync("kw-std")
	if err := w.emu.SetThrottle(akvemu.ThrottleConfig{Window: akvemu.Duration(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	w.emu.ResetStats()
	var js []*keyward.Job
	for i := range n {
		j, err := s.RotateAzureKey(ctx, p, fmt.Sprintf("t%02d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, j)
	}
	retried := 0
	for _, j := range js {
		got := w.ok(j, nil)
		if got.Attempts > 1 {
			retried++
		}
	}
	if th := w.emu.Stats().Throttled; th == 0 || retried == 0 {
		t.Fatalf("%d requests throttled, %d jobs retried: the test did not meet Azure's limit", th, retried)
	}
	if err := w.emu.SetThrottle(akvemu.ThrottleConfig{Disabled: true}); err != nil {
		t.Fatal(err)
	}
	for name, c := range w.checkConsistent("kw-std") {
		if c != 2 {
			t.Errorf("%s has %d versions after one rotation", name, c)
		}
	}
}

// TestAzureJobsFailClearly: when Azure keeps failing, jobs give up with Azure's reason and
// leave Keyward as it was: no version recorded that Azure did not make, and a key whose
// backup cannot be escrowed is not deleted.
func TestAzureJobsFailClearly(t *testing.T) {
	w := newAzWorld(t, []string{"kw-std"})
	ctx, s, p := w.ctx, w.s, w.admin
	w.createInAzure("kw-std", "stuck", "EC", 1)
	w.sync("kw-std")
	before, err := w.escrow("kw-std", "stuck")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.emu.SetChaos(akvemu.ChaosConfig{Faults: []akvemu.FaultRule{
		{Operation: "RotateKey", Kind: "503", Rate: 1},
		{Operation: "BackupKey", Kind: "reset", Rate: 1},
	}}); err != nil {
		t.Fatal(err)
	}
	for name, start := range map[string]func() (*keyward.Job, error){
		"rotate": func() (*keyward.Job, error) { return s.RotateAzureKey(ctx, p, "stuck", "") },
		"delete": func() (*keyward.Job, error) { return s.DeleteAzureKey(ctx, p, "stuck", true) },
	} {
		j, err := start()
		if err != nil {
			t.Fatal(err)
		}
		got := w.wait(j)
		if got.State != keyward.JobFailed || !strings.Contains(got.Error, "gave up after") || !strings.Contains(got.Error, "Azure") {
			t.Errorf("%s: job %s, error %q: want a failure with Azure's reason", name, got.State, got.Error)
		}
		if got.Attempts != got.MaxAttempts {
			t.Errorf("%s: %d attempts of %d", name, got.Attempts, got.MaxAttempts)
		}
		es, _ := s.ListServiceLog(ctx, p, w.group["kw-std"], keyward.ServiceLogFilter{JobID: got.ID, Levels: []keyward.LogLevel{keyward.LogError}})
		if len(es) == 0 {
			t.Errorf("%s: no ERROR line in the service log", name)
		}
	}
	if err := w.emu.SetChaos(akvemu.ChaosConfig{}); err != nil {
		t.Fatal(err)
	}
	if ck, err := w.vault("kw-std").GetKey(ctx, "stuck", ""); err != nil || !ck.Enabled {
		t.Fatalf("the key was deleted without its backup: %v, %v", ck, err)
	}
	after, err := w.escrow("kw-std", "stuck")
	if err != nil || string(after.Blob) != string(before.Blob) {
		t.Fatalf("escrow changed or lost: %v", err)
	}
	if counts := w.checkConsistent("kw-std"); counts["stuck"] != 1 {
		t.Fatalf("%d versions after failed rotations", counts["stuck"])
	}
}
