package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// The committed document (docs/openapi.json) is what the route table generates.
func TestOpenAPIGolden(t *testing.T) {
	doc, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	const golden = "../docs/openapi.json"
	if *update {
		if err := os.WriteFile(golden, append(doc, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run: go test ./api -update)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(doc)) {
		t.Fatalf("%s is out of date: run go test ./api -update and commit it", golden)
	}
}

func TestOpenAPIIsWellFormed(t *testing.T) {
	doc, _ := OpenAPI()
	var d struct {
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range append(append([]Route{}, Routes...), ServiceRoutes...) {
		op := d.Paths[r.Path][strings.ToLower(r.Method)]
		if op == nil {
			t.Errorf("route %s %s missing from the document", r.Method, r.Path)
			continue
		}
		if ids[r.ID] {
			t.Errorf("operation id %s used twice", r.ID)
		}
		ids[r.ID] = true
		if r.Summary == "" || r.Tag == "" {
			t.Errorf("route %s lacks a summary or tag", r.ID)
		}
	}
	// Every $ref resolves.
	for _, ref := range refs(string(doc)) {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		if d.Components.Schemas[name] == nil {
			t.Errorf("dangling $ref %s", ref)
		}
	}
}

func refs(doc string) []string {
	var out []string
	for _, part := range strings.Split(doc, `"$ref": "`)[1:] {
		out = append(out, part[:strings.Index(part, `"`)])
	}
	return out
}

func TestErrorCodesAreDocumented(t *testing.T) {
	doc, _ := OpenAPI()
	for _, c := range Codes {
		if !strings.Contains(string(doc), c) {
			t.Errorf("error code %s not in the document", c)
		}
	}
}
