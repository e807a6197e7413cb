package service

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// Azure dates have whole seconds: the listing alone cannot show a key that changed in the
// same second as the state the last sync saw, so such keys are looked at again.
func TestSyncChanged(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	seen := func(updated, escrowedAt time.Time, state string) *known {
		o := &keyward.Object{Cloud: &keyward.CloudRef{State: state, Updated: updated}}
		return &known{versions: map[string]*keyward.Object{"v1": o}, current: o, escrowed: true, escrowedAt: escrowedAt}
	}
	item := func(updated time.Time, enabled bool) keyward.CloudKeyItem {
		return keyward.CloudKeyItem{Name: "k", Updated: updated, Enabled: enabled}
	}
	for _, tc := range []struct {
		name string
		k    *known
		it   keyward.CloudKeyItem
		want bool
	}{
		{"new key", nil, item(t0, true), true},
		{"not escrowed", &known{versions: map[string]*keyward.Object{}}, item(t0, true), true},
		{"untouched for long", seen(t0, t0.Add(time.Hour), keyward.CloudEnabled), item(t0, true), false},
		{"updated later", seen(t0, t0.Add(time.Hour), keyward.CloudEnabled), item(t0.Add(2*time.Hour), true), true},
		{"disabled", seen(t0, t0.Add(time.Hour), keyward.CloudEnabled), item(t0, false), true},
		{"same second as the last look", seen(t0, t0.Add(300*time.Millisecond), keyward.CloudEnabled), item(t0, true), true},
		{"within the clock slack", seen(t0, t0.Add(sameSecondSlack), keyward.CloudEnabled), item(t0, true), true},
	} {
		if got := changed(tc.k, tc.it); got != tc.want {
			t.Errorf("%s: changed = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCreatedTogether(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	v := func(created time.Time) keyward.CloudKey { return keyward.CloudKey{Created: created} }
	for _, tc := range []struct {
		name string
		vs   []keyward.CloudKey
		want bool
	}{
		{"one version", []keyward.CloudKey{v(t0)}, false},
		{"distinct", []keyward.CloudKey{v(t0), v(t0.Add(time.Second))}, false},
		{"older ones together", []keyward.CloudKey{v(t0), v(t0), v(t0.Add(time.Second))}, false},
		{"newest together", []keyward.CloudKey{v(t0.Add(time.Second)), v(t0), v(t0.Add(time.Second))}, true},
	} {
		if got := createdTogether(tc.vs); got != tc.want {
			t.Errorf("%s: createdTogether = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A failed sync says how many keys failed and which, with the first reason, and keeps the
// code and Retry-After that decide whether and when the job retries.
func TestKeysFailed(t *testing.T) {
	azureErr := &keyward.Error{Code: keyward.ERATELIMIT, Message: "Azure: Throttled", RetryAfter: 3 * time.Second}
	var names []string
	var errs []error
	for _, n := range []string{"k7", "k1", "k3", "k2", "k6", "k5", "k4"} {
		names = append(names, n)
		errs = append(errs, fmt.Errorf("%s: %w", n, azureErr))
	}
	err := keysFailed(errors.Join(errs...), names)
	var ke *keyward.Error
	if !errors.As(err, &ke) || ke.Code != keyward.ERATELIMIT || ke.RetryAfter != 3*time.Second {
		t.Fatalf("keysFailed = %#v, want ERATELIMIT with Retry-After 3s", err)
	}
	if want := "7 keys could not be synced (k1, k2, k3, k4, k5 and 2 more): Azure: Throttled"; ke.Message != want {
		t.Fatalf("message = %q, want %q", ke.Message, want)
	}
	// A job ending with the server keeps its context error: it is left for the next start.
	stopped := errors.Join(errs[0], context.Canceled)
	if got := keysFailed(stopped, names[:1]); got != stopped {
		t.Fatalf("keysFailed on shutdown = %v, want the error unchanged", got)
	}
}
