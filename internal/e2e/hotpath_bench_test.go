package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
)

// BenchmarkHotPath measures Keyward's own work on one cryptographic call, in process and
// without TLS or a network: authentication, the key cache, policy, the primitive, JSON, and
// the audit record both spooled and moved into the SQLite chain (the loop ends by flushing
// the spool, so every record's move is in the time). It is the steady measure of what
// `keyward bench crypto` reports as "vs ceiling", free of the noise of a shared machine.
//
//	go test -run '^$' -bench HotPath -benchmem ./internal/e2e
func BenchmarkHotPath(b *testing.B) {
	ctx := context.Background()
	env := apptest.Start(b)
	_, admin := env.Bootstrap("bench", "admin@example.com")
	g, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "hot"})
	apptest.Check(b, err)
	ac, err := admin.CreateApp(ctx, api.AppCreate{Name: "svc", Groups: []string{g.ID}})
	apptest.Check(b, err)
	app := env.Client(ac.APIKey)
	h := env.App.Handler()
	for _, c := range []struct {
		name, op string
		key      api.KeyCreate
		body     any
	}{
		{"aes-gcm-encrypt", "encrypt", api.KeyCreate{Type: "AES", Size: 256, KeySpec: api.KeySpec{Ops: []string{"ENCRYPT"}}},
			api.EncryptRequest{Alg: "AES-GCM", Plaintext: make([]byte, 64)}},
		{"ecdsa-p256-sign", "sign", api.KeyCreate{Type: "EC", Curve: "P-256", KeySpec: api.KeySpec{Ops: []string{"SIGN"}}},
			api.SignRequest{Alg: "ECDSA-SHA256", Message: make([]byte, 64)}},
		{"hmac", "mac", api.KeyCreate{Type: "HMAC", Size: 256, KeySpec: api.KeySpec{Ops: []string{"MACGENERATE"}}},
			api.MACRequest{Alg: "HMAC-SHA256", Data: make([]byte, 64)}},
	} {
		c.key.Name, c.key.Group = c.name, g.ID
		k, err := app.CreateKey(ctx, c.key)
		apptest.Check(b, err)
		body, _ := json.Marshal(c.body)
		path := "/v1/keys/" + k.ID + "/" + c.op
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+ac.APIKey)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s answered %d: %s", path, rec.Code, rec.Body)
				}
			}
			// Reading the trail flushes the spool: the records' move is part of the time.
			_, err := admin.ListAudit(ctx, client.AuditQuery{Limit: 1})
			apptest.Check(b, err)
		})
	}
}
