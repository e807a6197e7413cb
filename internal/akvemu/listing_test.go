package akvemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestListingPaging(t *testing.T) {
	e := newEnv(t)
	if err := e.emu.SeedKeys("kw-standard", SeedSpec{Count: 60, Prefix: "page"}); err != nil {
		t.Fatal(err)
	}
	tok := e.token("https://vault.azure.net")
	next := "https://kw-standard.vault.azure.net/keys?api-version=7.5&maxresults=7"
	var names []string
	pages := 0
	for next != "" {
		r := e.do("GET", next, tok, "")
		var page struct {
			Value []struct {
				Kid string `json:"kid"`
			} `json:"value"`
			NextLink *string `json:"nextLink"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if !strings.Contains(string(r.body), `"nextLink":`) {
			t.Fatal("nextLink must be present, null on the last page")
		}
		pages++
		if len(page.Value) > 7 {
			t.Fatalf("page of %d items, maxresults 7", len(page.Value))
		}
		for _, it := range page.Value {
			names = append(names, it.Kid[strings.LastIndex(it.Kid, "/")+1:])
		}
		next = ""
		if page.NextLink != nil {
			u, err := url.Parse(*page.NextLink)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("api-version") != "7.5" || q.Get("maxresults") != "7" || q.Get("$skiptoken") == "" {
				t.Fatalf("nextLink = %s", *page.NextLink)
			}
			next = *page.NextLink
		}
	}
	if len(names) != 60 || pages != 9 || !slices.IsSorted(names) || slices.Compact(slices.Clone(names))[59] != names[59] {
		t.Errorf("%d names in %d pages", len(names), pages)
	}
	for _, bad := range []string{"0", "26", "x"} {
		golden(t, "list_maxresults_"+bad, e.do("GET", "https://kw-standard.vault.azure.net/keys?api-version=7.5&maxresults="+bad, tok, ""))
	}
	golden(t, "list_bad_skiptoken", e.do("GET", "https://kw-standard.vault.azure.net/keys?api-version=7.5&$skiptoken=garbage!", tok, ""))

	if err := e.emu.SeedKeys("kw-standard", SeedSpec{Count: 1, Prefix: "many", Versions: 30}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := e.keys("direct", "kw-standard")
	var versions []string
	for p := c.NewListKeyPropertiesVersionsPager("many-00001", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, kp := range page.Value {
			versions = append(versions, kp.KID.Version())
		}
	}
	if len(versions) != 30 || !slices.IsSorted(versions) {
		t.Errorf("versions: %d", len(versions))
	}
	for i := 1; i <= 30; i++ {
		if _, err := c.DeleteKey(ctx, fmt.Sprintf("page-%05d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	deleted := 0
	for p := c.NewListDeletedKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			if d.RecoveryID == nil || d.ScheduledPurgeDate == nil {
				t.Fatalf("deleted item = %+v", d)
			}
			deleted++
		}
	}
	if deleted != 30 {
		t.Errorf("deleted keys listed: %d", deleted)
	}
}

// TestListTenThousandKeys pages through a 10,000-key vault with the SDK's pager, in both
// modes: every name once, in order.
func TestListTenThousandKeys(t *testing.T) {
	e := newEnv(t)
	if err := e.emu.SeedKeys("kw-premium", SeedSpec{Count: 10000, Prefix: "bulk", Kty: "RSA-HSM"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			c := e.keys(mode, "kw-premium")
			names := make([]string, 0, 10000)
			pages := 0
			for p := c.NewListKeyPropertiesPager(nil); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatalf("page %d: %v", pages, err)
				}
				pages++
				for _, kp := range page.Value {
					names = append(names, kp.KID.Name())
				}
			}
			if len(names) != 10000 || pages != 400 {
				t.Fatalf("%d keys in %d pages", len(names), pages)
			}
			for i, n := range names {
				if want := fmt.Sprintf("bulk-%05d", i+1); n != want {
					t.Fatalf("key %d = %s, want %s", i, n, want)
				}
			}
		})
	}
}
