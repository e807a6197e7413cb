package akvemu

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// Seeded keys can be dated in the past, as the keys of a vault that existed before.
func TestSeedAge(t *testing.T) {
	e := newEnv(t)
	if err := e.emu.SeedKeys("kw-standard", SeedSpec{Count: 1, Prefix: "old", Age: Duration(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SeedKeys("kw-standard", SeedSpec{Count: 1, Prefix: "bad", Age: Duration(-time.Hour)}); err == nil {
		t.Error("a negative age was accepted")
	}
	r := e.do("GET", "https://kw-standard.vault.azure.net/keys/old-00001?api-version=7.5", e.token("https://vault.azure.net"), "")
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	var b struct {
		Attributes struct{ Created, Updated int64 } `json:"attributes"`
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	age := time.Since(time.Unix(b.Attributes.Created, 0))
	if age < 47*time.Hour || age > 49*time.Hour || b.Attributes.Updated != b.Attributes.Created {
		t.Fatalf("created %v ago, attributes %+v", age, b.Attributes)
	}
}
