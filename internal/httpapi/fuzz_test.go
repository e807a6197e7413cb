package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/store/sqlite"
)

func newTestServer(t testing.TB) (*Server, string) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, _ := seal.NewKeyring(time.Now())
	sl, _ := seal.New(kr)
	svc, err := service.New(ctx, service.Options{Store: st, Sealer: sl, FastPasswordHashing: true, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	acct, _, err := svc.Bootstrap(ctx, "Fuzz", "admin@fuzz.example", "a long fuzz password")
	if err != nil {
		t.Fatal(err)
	}
	login, err := svc.Login(ctx, "admin@fuzz.example", "a long fuzz password", acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Service: svc, MaxBodyBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return srv, login.Token
}

// FuzzRequests sends arbitrary methods, paths and bodies through the whole handler stack as
// an administrator: the server never panics and never answers 500, and every error has the
// documented shape.
func FuzzRequests(f *testing.F) {
	srv, token := newTestServer(f)
	for _, r := range api.Routes {
		path := strings.NewReplacer("{id}", "x", "{kind}", "user", "{principal}", "y").Replace(r.Path)
		f.Add(r.Method, path, `{"name":"n","role":"member","email":"a@b.example","password":"0123456789abc","groups":["g"]}`)
	}
	f.Add("POST", "/v1/groups", `{"name":"\u0000"}`)
	f.Add("POST", "/v1/apps", `{"name":"a","certificates":["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"]}`)
	f.Add("GET", "/v1/audit?from=2026-01-01T00:00:00Z&limit=999999999999999999999", ``)
	f.Add("PATCH", "/v1/apps/x", `{"groups":null,"certificates":[null]}`)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t") {
			return // not a request line net/http would hand us
		}
		req, err := http.NewRequest(method, "http://keyward"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code == http.StatusInternalServerError {
			t.Fatalf("%s %s %q: 500: %s", method, path, body, rec.Body.String())
		}
		if rec.Code >= 400 && rec.Header().Get("Content-Type") == "application/json" {
			var er api.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.Error.Code == "" || er.Error.RequestID == "" {
				t.Fatalf("%s %s: error body %q", method, path, rec.Body.String())
			}
		}
	})
}

// FuzzDecodeBody feeds arbitrary bytes to the strict decoder for every request type.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"name":"x"}`))
	f.Add([]byte(`{"email":"a@b","password":"p","account":"a"}`))
	f.Add([]byte(`{"groups":["a","b"],"certificates":[]}`))
	f.Add([]byte(`{"name":"x"} `))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, r := range api.Routes {
			if r.Request == nil {
				continue
			}
			v := newOf(r.Request)
			req := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
			err := decodeBody(req, v)
			if err != nil && toAPIError(err, "r", slog.New(slog.DiscardHandler)).Code == "internal" {
				t.Fatalf("%s: decode error is internal: %v", r.ID, err)
			}
		}
	})
}
