package azure

import (
	"testing"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/keyward"
)

// A listing page that fails is asked for again, and the listing goes on from there: azcore's
// Pager stops for good after a failed fetch, so a retry on the same pager never reached
// Azure and every transient failure of a page failed the whole listing.
func TestListingRetriesFailedPages(t *testing.T) {
	w := newWorld(t)
	if err := w.emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: 80, Prefix: "k"}); err != nil {
		t.Fatal(err)
	}
	v := w.open(w.connector(), "kw-standard")
	for _, kind := range []string{"503", "reset", "429"} {
		t.Run(kind, func(t *testing.T) {
			if err := w.emu.SetChaos(akvemu.ChaosConfig{Seed: 7, Faults: []akvemu.FaultRule{{Operation: "GetKeys", Kind: kind, Rate: 0.4}}}); err != nil {
				t.Fatal(err)
			}
			before := w.emu.Stats().Faulted
			seen := map[string]int{}
			if err := v.ListKeys(ctxT(t), func(it keyward.CloudKeyItem) error { seen[it.Name]++; return nil }); err != nil {
				t.Fatalf("ListKeys: %v", err)
			}
			if w.emu.Stats().Faulted == before {
				t.Fatal("no page failed: the test tests nothing")
			}
			if len(seen) != 80 {
				t.Fatalf("listed %d keys, want 80", len(seen))
			}
			for name, n := range seen {
				if n != 1 {
					t.Fatalf("%s listed %d times", name, n)
				}
			}
		})
	}
}
