package e2e

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/app/apptest"
)

// The document the server serves is the one generated from the route table, and every
// operation in it reaches a handler: no documented route falls through to "no route".
func TestServedOpenAPIMatchesRoutes(t *testing.T) {
	env := apptest.Start(t)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	served, err := admin.OpenAPI(ctx)
	apptest.Check(t, err)
	want, _ := api.OpenAPI()
	if !bytes.Equal(served, want) {
		t.Fatal("served /v1/openapi.json differs from api.OpenAPI()")
	}
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	apptest.Check(t, json.Unmarshal(served, &doc))
	n := 0
	for path, methods := range doc.Paths {
		for method := range methods {
			n++
			concrete := strings.NewReplacer("{id}", "x", "{kind}", "user", "{principal}", "y").Replace(path)
			_, e := rawCall(t, admin, strings.ToUpper(method), concrete, "{}")
			if strings.HasPrefix(e.Message, "no route") {
				t.Errorf("%s %s is documented but not served", strings.ToUpper(method), path)
			}
		}
	}
	if n != len(api.Routes)+len(api.ServiceRoutes) {
		t.Fatalf("document has %d operations, route table %d", n, len(api.Routes)+len(api.ServiceRoutes))
	}
	_, e := rawCall(t, admin, "GET", "/v1/no-such-thing", "")
	if !strings.HasPrefix(e.Message, "no route") || e.Code != api.CodeNotFound {
		t.Fatalf("unknown route: %+v", e)
	}
}
