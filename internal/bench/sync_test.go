package bench

import (
	"context"
	"testing"
	"time"
)

// TestSyncReport runs `keyward bench sync` small: it checks what the report says, not how
// fast: a first sync records every version and escrows every key, a second one of the
// unchanged vault makes no per-key request.
func TestSyncReport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Sync(ctx, SyncOptions{Keys: 30, Versions: 2, Latency: time.Millisecond, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f, a := rep.First, rep.Again
	if f.JobState != "succeeded" || f.VersionsAdded != 60 || f.Escrowed != 30 {
		t.Errorf("first sync: %+v", f)
	}
	// Per key: its versions, each version's public part, its backup.
	if f.PerKeyCalls != 30*4 || f.Total <= f.PerKeyCalls || f.BoundSeconds <= 0 || f.VsBound <= 0 {
		t.Errorf("first sync's calls: %+v", f)
	}
	if a.JobState != "succeeded" || a.PerKeyCalls != 0 || a.VersionsAdded != 0 || a.Total == 0 {
		t.Errorf("second sync of an unchanged vault: %+v", a)
	}
}
