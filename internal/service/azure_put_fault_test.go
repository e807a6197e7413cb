package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// Imports, copies and BYOK transfers while the emulator throttles (429 with Retry-After),
// fails (500, 503), hangs until the client gives up, and resets connections: every job ends
// succeeded or failed with a reason; each job that succeeded has exactly one virtual key;
// every key Keyward made in a vault is recorded (none lost); no key-exchange key is left.
func TestPutSurvivesFaults(t *testing.T) {
	e := newAzureEnv(t, func(c *envConfig) {
		// The emulator enforces Azure's limits in a short window and the connector does not
		// budget ahead, so that creates meet real 429s.
		c.emu.Throttle = akvemu.ThrottleConfig{} // Azure's 10-second window: the Premium vault takes 10 HSM creates in it
		c.conn.Throttle.Disabled = true
	})
	ctx := context.Background()
	var plainKeys []string
	for i := range 4 {
		name := fmt.Sprintf("src-%d", i)
		if _, err := e.s.GenerateObject(ctx, e.admin, ObjectSpec{GroupID: e.plain, Name: name,
			Ops: []keyward.Operation{keyward.OpSign, keyward.OpVerify, keyward.OpExport}}, keyward.TypeEC, 0, "P-256"); err != nil {
			t.Fatal(err)
		}
		plainKeys = append(plainKeys, name)
	}
	aes, _ := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.AES, Bits: 256})
	aesRaw, _ := aes.Marshal()
	rsa, _ := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048})
	rsaDER, _ := rsa.Marshal()

	faults := []akvemu.FaultRule{
		{Operation: "ImportKey", Kind: "503", Rate: 0.35},
		{Operation: "CreateKey", Kind: "reset", Rate: 0.3},
		{Operation: "DeleteKey", Kind: "timeout", Rate: 0.3, Hang: akvemu.Duration(300 * time.Millisecond)},
		{Operation: "PurgeDeletedKey", Kind: "500", Rate: 0.3},
		{Operation: "GetKey", Kind: "reset", Rate: 0.2},
		{Operation: "GetDeletedKey", Kind: "503", Rate: 0.2},
	}
	if err := e.emu.SetChaos(akvemu.ChaosConfig{Seed: 42, Faults: faults}); err != nil {
		t.Fatal(err)
	}
	type started struct {
		job  *keyward.Job
		kind keyward.VaultKind
	}
	var mu sync.Mutex
	var all []started
	add := func(kind keyward.VaultKind, j *keyward.Job, err error) {
		if err != nil {
			t.Errorf("enqueue: %v", err)
			return
		}
		mu.Lock()
		all = append(all, started{j, kind})
		mu.Unlock()
	}
	prem, hsm, std := e.groups[keyward.VaultPremium], e.groups[keyward.VaultManagedHSM], e.groups[keyward.VaultStandard]
	for i := range 4 {
		j, err := e.s.ImportIntoAzure(ctx, e.admin, AzureImport{ImportRequest: ImportRequest{Type: keyward.TypeAES, Format: "raw", Material: aesRaw},
			AzureKeyInput: AzureKeyInput{GroupID: hsm, AzureName: fmt.Sprintf("f-aes-%d", i)}})
		add(keyward.VaultManagedHSM, j, err)
		j, err = e.s.ImportIntoAzure(ctx, e.admin, AzureImport{ImportRequest: ImportRequest{Format: "der", Material: rsaDER},
			AzureKeyInput: AzureKeyInput{GroupID: prem, AzureName: fmt.Sprintf("f-rsa-%d", i)}})
		add(keyward.VaultPremium, j, err)
	}
	for i, name := range plainKeys {
		g, kind := []string{std, prem, hsm, prem}[i], []keyward.VaultKind{keyward.VaultStandard, keyward.VaultPremium, keyward.VaultManagedHSM, keyward.VaultPremium}[i]
		j, err := e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: name, AzureKeyInput: AzureKeyInput{GroupID: g}})
		add(kind, j, err)
	}
	for i := range 6 { // with the imports and copies, more HSM creates than the window takes
		j, err := e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{GroupID: prem, AzureName: fmt.Sprintf("f-gen-%d", i)}})
		add(keyward.VaultPremium, j, err)
	}
	succeeded := map[keyward.VaultKind]map[string]bool{}
	for _, st := range all {
		j := e.wait(st.job)
		switch j.State {
		case keyward.JobSucceeded:
			var res PutResult
			if err := jobResult(j, &res); err != nil || res.ObjectID == "" {
				t.Fatalf("%s: result %+v %v", j.Title, res, err)
			}
			if succeeded[st.kind] == nil {
				succeeded[st.kind] = map[string]bool{}
			}
			succeeded[st.kind][res.AzureName] = true
		case keyward.JobFailed:
			if j.Error == "" || strings.Contains(j.Error, "internal error") {
				t.Errorf("%s failed without a clear reason: %q", j.Title, j.Error)
			}
			t.Logf("%s failed: %s", j.Title, j.Error)
		default:
			t.Fatalf("%s ended %s", j.Title, j.State)
		}
	}
	stats := e.emu.Stats()
	t.Logf("emulator: %d requests, %d throttled, %d faulted", stats.Requests, stats.Throttled, stats.Faulted)
	if stats.Faulted == 0 || stats.Throttled == 0 {
		t.Fatalf("the test injected too little: %d faults, %d 429s", stats.Faulted, stats.Throttled)
	}
	if err := e.emu.SetChaos(akvemu.ChaosConfig{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kind := range []keyward.VaultKind{keyward.VaultStandard, keyward.VaultPremium, keyward.VaultManagedHSM} {
		objs := map[string]int{}
		if err := e.st.View(ctx, func(tx keyward.Tx) error {
			os, err := tx.ListCloudObjects(e.admin.AccountID, e.groups[kind], "")
			for _, o := range os {
				objs[o.Cloud.KeyName]++
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for name := range succeeded[kind] {
			if objs[name] != 1 {
				t.Errorf("%s: %d virtual keys for %s, want 1", kind, objs[name], name)
			}
			n++
		}
		for _, name := range e.vaultKeys(kind) {
			if !strings.HasPrefix(name, "keyward-kek") && objs[name] == 0 {
				t.Errorf("%s holds %s, which Keyward made but did not record", kind, name)
			}
		}
	}
	if n < len(all)/2 {
		t.Errorf("only %d of %d jobs succeeded: the faults are too many for the retries to be tested", n, len(all))
	}
	e.noKEKs()
}

// loseAnswers lets requests whose path contains one of the markers reach Azure, then
// drops the answer, the first time each, as a connection that breaks on the way back.
type loseAnswers struct {
	next    http.RoundTripper
	mu      sync.Mutex
	markers map[string]bool // marker -> already lost once
}

func (l *loseAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for m, done := range l.markers {
		if !done && strings.Contains(r.URL.Path, m) && (r.Method == http.MethodPut || r.Method == http.MethodPost) {
			l.markers[m] = true
			resp.Body.Close()
			return nil, errors.New("connection reset by peer (answer lost on the way back)")
		}
	}
	return resp, nil
}

// When Azure made the key but its answer was lost, the next attempt of the job finds the
// version it made (by its keyward-job tag) and records it: one key in Azure, one virtual
// key, no second import. A BYOK import whose answer is lost also removes its exchange key.
func TestPutAdoptsWhatALostAnswerMade(t *testing.T) {
	lose := &loseAnswers{markers: map[string]bool{"/keys/lost-gen": false, "/keys/lost-byok": false, "/keys/lost-jwk": false}}
	e := newAzureEnv(t, func(c *envConfig) {
		c.conn.Retry.Transient = -1 // the connector gives up at once: the job retries
		c.conn.WrapTransport = func(next http.RoundTripper) http.RoundTripper { lose.next = next; return lose }
	})
	ctx := context.Background()
	rsa, _ := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048})
	der, _ := rsa.Marshal()
	jobs := []struct {
		kind keyward.VaultKind
		name string
		run  func(g string) (*keyward.Job, error)
	}{
		{keyward.VaultPremium, "lost-gen", func(g string) (*keyward.Job, error) {
			return e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeEC, AzureKeyInput: AzureKeyInput{GroupID: g, AzureName: "lost-gen"}})
		}},
		{keyward.VaultManagedHSM, "lost-byok", func(g string) (*keyward.Job, error) {
			return e.s.ImportIntoAzure(ctx, e.admin, AzureImport{ImportRequest: ImportRequest{Material: der}, AzureKeyInput: AzureKeyInput{GroupID: g, AzureName: "lost-byok"}})
		}},
		{keyward.VaultStandard, "lost-jwk", func(g string) (*keyward.Job, error) {
			return e.s.ImportIntoAzure(ctx, e.admin, AzureImport{ImportRequest: ImportRequest{Material: der}, AzureKeyInput: AzureKeyInput{GroupID: g, AzureName: "lost-jwk"}})
		}},
	}
	for _, tc := range jobs {
		j, err := tc.run(e.groups[tc.kind])
		res := e.succeeded(j, err)
		done := e.wait(j)
		if !res.Resumed || done.Attempts != 2 {
			t.Fatalf("%s: result %+v after %d attempts, want it resumed on attempt 2", tc.name, res, done.Attempts)
		}
		v, _, _ := e.s.vaultOf(ctx, e.admin.AccountID, e.groups[tc.kind])
		versions := 0
		if err := v.ListVersions(ctx, tc.name, func(keyward.CloudKey) error { versions++; return nil }); err != nil || versions != 1 {
			t.Fatalf("%s: %d versions in Azure (%v), want 1", tc.name, versions, err)
		}
	}
	for m, lost := range lose.markers {
		if !lost {
			t.Errorf("no answer to %s was lost: the test tested nothing", m)
		}
	}
	e.noKEKs()
}

// A BYOK import cancelled while Azure holds the import ends cancelled, and on its way out
// deletes its key-exchange key and its material; no virtual key is made.
func TestCancelledBYOKImportCleansUp(t *testing.T) {
	e := newAzureEnv(t)
	ctx := context.Background()
	if err := e.emu.SetChaos(akvemu.ChaosConfig{Faults: []akvemu.FaultRule{{Operation: "ImportKey", Kind: "timeout", Rate: 1, Hang: akvemu.Duration(time.Minute)}}}); err != nil {
		t.Fatal(err)
	}
	rsa, _ := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048})
	der, _ := rsa.Marshal()
	j, err := e.s.ImportIntoAzure(ctx, e.admin, AzureImport{ImportRequest: ImportRequest{Material: der},
		AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultPremium], AzureName: "cancel-me"}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cur, err := e.s.GetJob(ctx, e.admin, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(cur.Progress.Message, "importing the BYOK transfer blob") {
			break
		}
		if time.Now().After(deadline) || cur.State.Ended() {
			t.Fatalf("the import never started: %+v", cur)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(keksIn(e.vaultKeys(keyward.VaultPremium))) != 1 {
		t.Fatalf("no key-exchange key while the import waits: %v", e.vaultKeys(keyward.VaultPremium))
	}
	// While it runs, its name is taken: a second job would make a second version.
	_, err = e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultPremium], AzureName: "Cancel-Me"}})
	wantInvalid(t, err, "name", "is already putting a key named")
	if _, err := e.s.CancelJob(ctx, e.admin, j.ID); err != nil {
		t.Fatal(err)
	}
	done := e.wait(j)
	if err := e.emu.SetChaos(akvemu.ChaosConfig{}); err != nil {
		t.Fatal(err)
	}
	if done.State != keyward.JobCancelled {
		t.Fatalf("job %s, want cancelled: %s", done.State, done.Error)
	}
	e.noKEKs()
	if err := e.st.View(ctx, func(tx keyward.Tx) error {
		if _, err := tx.JobSecret(e.admin.AccountID, j.ID); !keyward.IsCode(err, keyward.ENOTFOUND) {
			t.Errorf("the cancelled job's material is still held: %v", err)
		}
		os, err := tx.ListCloudObjects(e.admin.AccountID, e.groups[keyward.VaultPremium], "cancel-me")
		if len(os) != 0 {
			t.Errorf("a cancelled import made virtual keys: %+v", os)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func keksIn(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "keyward-kek") {
			out = append(out, n)
		}
	}
	return out
}

// When the connector itself repeats a create or import whose answer was lost, Azure holds
// two versions made by the job; both become virtual keys of the job's source (the older
// one not current), so a later sync does not take one for a key born in Azure.
func TestPutRecordsVersionsARepeatedCallMade(t *testing.T) {
	lose := &loseAnswers{markers: map[string]bool{"/keys/twice-gen": false, "/keys/twice-copy": false}}
	e := newAzureEnv(t, func(c *envConfig) {
		c.conn.WrapTransport = func(next http.RoundTripper) http.RoundTripper { lose.next = next; return lose }
	})
	ctx := context.Background()
	src, err := e.s.GenerateObject(ctx, e.admin, ObjectSpec{GroupID: e.plain, Name: "twice",
		Ops: []keyward.Operation{keyward.OpSign, keyward.OpVerify, keyward.OpExport}}, keyward.TypeEC, 0, "P-256")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, source string
		run          func() (*keyward.Job, error)
	}{
		{"twice-gen", SourceAzure, func() (*keyward.Job, error) {
			return e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeEC, AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultStandard], AzureName: "twice-gen"}})
		}},
		{"twice-copy", SourceKeyward, func() (*keyward.Job, error) {
			return e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: src.ID, AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultPremium], AzureName: "twice-copy"}})
		}},
	} {
		res := e.succeeded(tc.run())
		if res.EarlierVersions != 1 {
			t.Fatalf("%s: result %+v, want one earlier version", tc.name, res)
		}
		kind := keyward.VaultStandard
		if tc.source == SourceKeyward {
			kind = keyward.VaultPremium
		}
		var objs []keyward.Object
		if err := e.st.View(ctx, func(tx keyward.Tx) error {
			var err error
			objs, err = tx.ListCloudObjects(e.admin.AccountID, e.groups[kind], tc.name)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		current := 0
		for _, o := range objs {
			if o.Cloud.Source != tc.source || o.Tags[jobTag] == "" {
				t.Errorf("%s: version %s recorded as %+v", tc.name, o.Cloud.Version, o.Cloud)
			}
			if o.Cloud.Current {
				current++
				if o.ID != res.ObjectID {
					t.Errorf("%s: the current version is not the job's result", tc.name)
				}
			}
		}
		if len(objs) != 2 || current != 1 {
			t.Fatalf("%s: %d virtual keys, %d current; want 2 and 1", tc.name, len(objs), current)
		}
	}
	e.noKEKs()
}

// A key-exchange key that an ended job left (its runner died in its last attempt, so no
// attempt came to delete it) is deleted by the next BYOK import into the vault; one whose
// job Keyward does not know is left alone.
func TestBYOKSweepsKEKsOfEndedJobs(t *testing.T) {
	e := newAzureEnv(t)
	ctx := context.Background()
	prem := e.groups[keyward.VaultPremium]
	rsa, _ := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048})
	der, _ := rsa.Marshal()
	importAs := func(name string) *keyward.Job {
		j, err := e.s.ImportIntoAzure(ctx, e.admin, AzureImport{ImportRequest: ImportRequest{Material: der}, AzureKeyInput: AzureKeyInput{GroupID: prem, AzureName: name}})
		e.succeeded(j, err)
		return j
	}
	first := importAs("first")
	v, _, err := e.s.vaultOf(ctx, e.admin.AccountID, prem)
	if err != nil {
		t.Fatal(err)
	}
	left := kekPrefix + strings.ReplaceAll(first.ID, "-", "") + "-9"
	foreign := kekPrefix + strings.Repeat("ab", 16) + "-1"
	for _, name := range []string{left, foreign} {
		if _, err := v.CreateKey(ctx, name, keyward.CloudKeySpec{KeyType: "RSA-HSM", Size: 2048, Ops: []string{"import"}, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	importAs("second")
	got := keksIn(e.vaultKeys(keyward.VaultPremium))
	if len(got) != 1 || got[0] != foreign {
		t.Fatalf("key-exchange keys after the sweep: %v, want only %s", got, foreign)
	}
	if id, ok := kekJob(left); !ok || id != first.ID {
		t.Fatalf("kekJob(%s) = %s, %v", left, id, ok)
	}
}
