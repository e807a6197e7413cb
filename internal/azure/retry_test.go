package azure

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/keyward"
)

// TestTransientFaults injects 500s, 503s, resets and timeouts at a rate: every operation
// succeeds after retries.
func TestTransientFaults(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := w.emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: 1, Prefix: "f"}); err != nil {
		t.Fatal(err)
	}
	w.info("kw-standard")
	cases := []struct {
		name   string
		rule   akvemu.FaultRule
		create bool
	}{
		{"503 on reads", akvemu.FaultRule{Operation: "GetKey", Kind: "503", Rate: 0.4}, false},
		{"500 on creates", akvemu.FaultRule{Operation: "CreateKey", Kind: "500", Rate: 0.4}, true},
		{"resets", akvemu.FaultRule{Operation: "*", Kind: "reset", Rate: 0.3}, false},
		{"timeouts", akvemu.FaultRule{Operation: "GetKey", Kind: "timeout", Rate: 0.3, Hang: akvemu.Duration(3 * time.Second)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.rule.Vault = "kw-standard"
			if err := w.emu.SetChaos(akvemu.ChaosConfig{Seed: 7, Faults: []akvemu.FaultRule{tc.rule}}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = w.emu.SetChaos(akvemu.ChaosConfig{}) })
			w.emu.ResetStats()
			// Half a second: short enough to meet the hangs, long enough that a loaded CI
			// machine's honest answers are not taken for timeouts.
			c := w.connector(func(o *Options) { o.Retry.AttemptTimeout = 500 * time.Millisecond; o.Retry.Transient = 8 })
			v := w.open(c, "kw-standard")
			for i := range 20 {
				var err error
				if tc.create {
					_, err = v.CreateKey(ctxT(t), fmt.Sprintf("c%d", i), keyward.CloudKeySpec{KeyType: "EC", Enabled: true})
				} else {
					_, err = v.GetKey(ctxT(t), "f-00001", "")
				}
				if err != nil {
					t.Fatalf("operation %d: %v", i, err)
				}
			}
			if w.emu.Stats().Faulted == 0 {
				t.Error("no fault was injected: the test proves nothing")
			}
			// net/http itself resends a GET whose reused connection was reset, unseen by
			// the client's counters; an attempt that timed out may never have reached the
			// emulator on a loaded machine. Other faults answer, and every attempt is counted.
			switch tc.rule.Kind {
			case "reset":
			case "timeout":
				served := w.emu.Stats().Vaults["kw-standard"].Operations["GetKey"].Requests
				if n := int64(v.Calls()["GetKey"]); served > n || served < 20 {
					t.Errorf("GetKey: Calls %d, emulator served %d", n, served)
				}
			default:
				checkCallsAgree(t, w, "kw-standard", v)
			}
		})
	}
}

// TestPersistentFaults: when faults persist, the error comes back with the right code
// after a bounded number of attempts.
func TestPersistentFaults(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.info("kw-premium")
	cases := []struct {
		name   string
		rule   akvemu.FaultRule
		prefix string
	}{
		{"503", akvemu.FaultRule{Operation: "GetKey", Vault: "kw-premium", Kind: "503", Rate: 1},
			"Azure: ServiceUnavailable: The service is currently unavailable. Please retry the request."},
		{"500", akvemu.FaultRule{Operation: "GetKey", Vault: "kw-premium", Kind: "500", Rate: 1},
			"Azure: InternalServerError: The service encountered an internal error."},
		{"reset", akvemu.FaultRule{Operation: "GetKey", Vault: "kw-premium", Kind: "reset", Rate: 1},
			"Azure: kw-premium.vault.azure.net: connection reset"},
		{"timeout", akvemu.FaultRule{Operation: "GetKey", Vault: "kw-premium", Kind: "timeout", Rate: 1, Hang: akvemu.Duration(5 * time.Second)},
			"Azure: kw-premium.vault.azure.net: request timed out"},
		{"sign-in", akvemu.FaultRule{Operation: "Token", Kind: "503", Rate: 1},
			"Azure: temporarily_unavailable: AADSTS90033: A transient error has occurred."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := w.emu.SetChaos(akvemu.ChaosConfig{Faults: []akvemu.FaultRule{tc.rule}}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = w.emu.SetChaos(akvemu.ChaosConfig{}) })
			c := w.connector(func(o *Options) { o.Retry.AttemptTimeout = 500 * time.Millisecond })
			v := w.open(c, "kw-premium")
			start := time.Now()
			_, err := v.GetKey(ctxT(t), "any", "")
			wantCode(t, err, keyward.EUNAVAILABLE, tc.prefix)
			if time.Since(start) > 15*time.Second { // bounded: four attempts and their backoff
				t.Errorf("gave up after %v", time.Since(start))
			}
			if n := v.Calls()["GetKey"]; tc.rule.Kind != "reset" && tc.rule.Operation == "GetKey" && n != 4 {
				t.Errorf("sent %d requests, want 1 + 3 retries", n)
			}
		})
	}
}

// TestCallerCancels: a deadline before the next retry gets Azure's error and the wait at
// once; a cancellation ends a wait with the context's error.
func TestCallerCancels(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.info("kw-standard")
	if err := w.emu.SetChaos(akvemu.ChaosConfig{Faults: []akvemu.FaultRule{{Operation: "GetKey", Kind: "503", Rate: 1}}}); err != nil {
		t.Fatal(err)
	}
	c := w.connector(func(o *Options) { o.Retry.TransientBackoff, o.Retry.TransientBackoffMax = time.Minute, time.Minute })
	v := w.open(c, "kw-standard")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := v.GetKey(ctx, "k", "")
	e := wantCode(t, err, keyward.EUNAVAILABLE, "Azure: ServiceUnavailable: ")
	if e.RetryAfter < 30*time.Second || time.Since(start) > 2*time.Second {
		t.Errorf("after %v: RetryAfter %v", time.Since(start), e.RetryAfter)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	_, err = v.GetKey(ctx, "k", "")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("after %v: %v", time.Since(start), err)
	}
}
