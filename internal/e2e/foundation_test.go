package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
)

// After writing known secrets, the raw database files hold none of them in clear.
func TestSecretsNeverInDatabaseFiles(t *testing.T) {
	env := apptest.Start(t)
	acct, admin := env.Bootstrap("Acme", "admin@a.example")
	const userPW = "a-very-particular-password-42"
	_, err := admin.CreateUser(ctx, api.UserCreate{Email: "bob@a.example", Password: userPW, Role: "member"})
	apptest.Check(t, err)
	bob := env.Client("")
	res, err := bob.Login(ctx, api.LoginRequest{Email: "bob@a.example", Password: userPW, Account: acct})
	apptest.Check(t, err)
	g, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "g"})
	apptest.Check(t, err)
	created, err := admin.CreateApp(ctx, api.AppCreate{Name: "a", Groups: []string{"g", g.ID}}) // by name and id: one group
	apptest.Check(t, err)
	if len(created.App.Groups) != 1 || created.App.Groups[0] != g.ID {
		t.Fatalf("app groups = %v, want [%s]", created.App.Groups, g.ID)
	}
	regen, err := admin.RegenerateAPIKey(ctx, created.App.ID)
	apptest.Check(t, err)
	env.Stop() // flush and close, so the files are complete

	secrets := map[string]string{
		"admin password":  apptest.Password,
		"user password":   userPW,
		"session token":   strings.TrimPrefix(res.Token, "kws_"),
		"first API key":   created.APIKey[strings.Index(created.APIKey, ".")+1:],
		"current API key": regen.APIKey[strings.Index(regen.APIKey, ".")+1:],
		"seal sentinel":   "keyward seal check v1",
	}
	files, _ := filepath.Glob(filepath.Join(env.Dir, "keyward.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		apptest.Check(t, err)
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("bob@a.example")) {
		t.Fatal("scan is blind: a value stored in clear (an email) was not found")
	}
	for name, s := range secrets {
		if bytes.Contains(all, []byte(s)) {
			t.Errorf("%s found in clear in the database files", name)
		}
	}
}

// Bad input gets a 400 (or 413) that names the field, and nothing is written.
func TestBadInputIsRefusedAndWritesNothing(t *testing.T) {
	env := apptest.Start(t, func(c *configT) { c.MaxBodyBytes = 4096 })
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	before := auditCount(t, admin)
	cases := []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"unknown field", "POST", "/v1/groups", `{"name":"x","colour":"red"}`, 400, "colour"},
		{"wrong type", "POST", "/v1/groups", `{"name":42}`, 400, "name"},
		{"missing field", "POST", "/v1/groups", `{"description":"no name"}`, 400, "name"},
		{"blank name", "POST", "/v1/groups", `{"name":"  "}`, 400, "name"},
		{"control char", "POST", "/v1/groups", `{"name":"a\u0001b"}`, 400, "name"},
		{"not json", "POST", "/v1/groups", `name=x`, 400, ""},
		{"empty body", "POST", "/v1/groups", ``, 400, ""},
		{"two objects", "POST", "/v1/groups", `{"name":"a"}{"name":"b"}`, 400, ""},
		{"array", "POST", "/v1/groups", `[{"name":"a"}]`, 400, ""},
		{"truncated", "POST", "/v1/groups", `{"name":"a"`, 400, ""},
		{"too large", "POST", "/v1/groups", `{"name":"` + strings.Repeat("a", 5000) + `"}`, 413, ""},
		{"bad email", "POST", "/v1/users", `{"email":"not-an-email","password":"long enough password","role":"member"}`, 400, "email"},
		{"short password", "POST", "/v1/users", `{"email":"c@a.example","password":"short","role":"member"}`, 400, "password"},
		{"bad role", "POST", "/v1/users", `{"email":"c@a.example","password":"long enough password","role":"king"}`, 400, "role"},
		{"bad group role", "PUT", "/v1/groups/x/members/user/y", `{"role":"owner"}`, 400, "role"},
		{"bad member kind", "PUT", "/v1/groups/x/members/robot/y", `{"role":"member"}`, 400, "kind"},
		{"bad cert", "POST", "/v1/apps", `{"name":"a","certificates":["nope"]}`, 400, "certificates[0]"},
		{"unknown group", "POST", "/v1/apps", `{"name":"a","groups":["no-such-group"]}`, 400, "groups[0]"},
		{"bad limit", "GET", "/v1/groups?limit=-1", ``, 400, "limit"},
		{"bad time", "GET", "/v1/audit?from=yesterday", ``, 400, "from"},
		{"bad export format", "GET", "/v1/audit/export?format=xml", ``, 400, "format"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, e := rawCall(t, admin, tc.method, tc.path, tc.body)
			if status != tc.status || e.Field != tc.field || e.RequestID == "" || e.Message == "" {
				t.Fatalf("%s %s: status %d, error %+v; want %d naming %q", tc.method, tc.path, status, e, tc.status, tc.field)
			}
		})
	}
	if after := auditCount(t, admin); after != before {
		t.Fatalf("bad requests wrote %d audit records", after-before)
	}
	gs, err := admin.ListGroups(ctx, "", 0)
	apptest.Check(t, err)
	if len(gs.Items) != 0 {
		t.Fatalf("bad requests created groups: %+v", gs.Items)
	}
}

func auditCount(t *testing.T, c *client.Client) int {
	l, err := c.ListAudit(ctx, client.AuditQuery{Limit: 1000})
	apptest.Check(t, err)
	return len(l.Items)
}

// rawCall sends a request as c's principal and decodes the error body.
func rawCall(t *testing.T, c *client.Client, method, path, body string) (int, api.Error) {
	t.Helper()
	req, err := http.NewRequest(method, c.Addr()+path, strings.NewReader(body))
	apptest.Check(t, err)
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := c.HTTPClient().Do(req)
	apptest.Check(t, err)
	defer resp.Body.Close()
	var er api.ErrorResponse
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &er)
	return resp.StatusCode, er.Error
}

// An attacker edits a record in the database file; verification names it, through the API
// and the CLI.
func TestAuditTamperingIsCaught(t *testing.T) {
	env := apptest.Start(t)
	acct, admin := env.Bootstrap("Acme", "admin@a.example")
	for i := range 5 {
		_, err := admin.CreateGroup(ctx, api.GroupCreate{Name: fmt.Sprint("g", i)})
		apptest.Check(t, err)
	}
	v, err := admin.VerifyAudit(ctx)
	apptest.Check(t, err)
	if !v.OK {
		t.Fatalf("fresh chain fails: %+v", v)
	}
	db, err := sql.Open("sqlite", filepath.Join(env.Dir, "keyward.db"))
	apptest.Check(t, err)
	defer db.Close()
	res, err := db.Exec(`UPDATE audit_records SET detail = 'name innocent' WHERE account_id = ? AND seq = 4`, acct)
	apptest.Check(t, err)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper updated %d rows", n)
	}
	v, err = admin.VerifyAudit(ctx)
	apptest.Check(t, err)
	if v.OK || v.FirstBad != 4 || !strings.Contains(v.Reason, "altered") {
		t.Fatalf("verify after tampering: %+v", v)
	}
	out, code := runCLI(t, env, admin.Token(), "audit", "verify")
	if code != 1 || !strings.Contains(out, "BROKEN at record 4") {
		t.Fatalf("keyward audit verify: exit %d, output:\n%s", code, out)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	env := apptest.Start(t)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	apptest.Check(t, admin.Logout(ctx))
	_, err := admin.Session(ctx)
	if client.ErrorCode(err) != api.CodeUnauthenticated {
		t.Fatalf("session after logout: %v", err)
	}
	_, err = env.Client("kws_forged").Session(ctx)
	if client.ErrorCode(err) != api.CodeUnauthenticated {
		t.Fatalf("forged token: %v", err)
	}
	_, err = env.Client("").Session(ctx)
	if client.ErrorCode(err) != api.CodeUnauthenticated {
		t.Fatalf("no token: %v", err)
	}
	wrong := env.Client("")
	_, err = wrong.Login(ctx, api.LoginRequest{Email: "admin@a.example", Password: "wrong password!"})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Code != api.CodeUnauthenticated || ae.Status != 401 {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestRegeneratedAPIKeyReplacesTheOld(t *testing.T) {
	env := apptest.Start(t)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	created, err := admin.CreateApp(ctx, api.AppCreate{Name: "a"})
	apptest.Check(t, err)
	s, err := env.Client(created.APIKey).Session(ctx)
	if err != nil || s.Kind != "app" || s.ID != created.App.ID {
		t.Fatalf("app session: %+v %v", s, err)
	}
	k, err := admin.RegenerateAPIKey(ctx, created.App.ID)
	apptest.Check(t, err)
	if _, err := env.Client(created.APIKey).Session(ctx); client.ErrorCode(err) != api.CodeUnauthenticated {
		t.Fatalf("old key still works: %v", err)
	}
	if _, err := env.Client(k.APIKey).Session(ctx); err != nil {
		t.Fatalf("new key: %v", err)
	}
	// A key with the right app id and a wrong secret is refused and audited, like the old
	// key above.
	forged := k.APIKey[:strings.Index(k.APIKey, ".")+1] + "AAAA"
	if _, err := env.Client(forged).Session(ctx); client.ErrorCode(err) != api.CodeUnauthenticated {
		t.Fatalf("forged key: %v", err)
	}
	l, err := admin.ListAudit(ctx, client.AuditQuery{Actor: "app:" + created.App.ID, Outcome: "denied"})
	apptest.Check(t, err)
	if len(l.Items) != 2 {
		t.Fatalf("wrong-key attempts audited: %d, want 2 (old key, forged key)", len(l.Items))
	}
}

func TestPostgresEndToEnd(t *testing.T) {
	env := apptest.Start(t, apptest.WithPostgres(t))
	acct, admin := env.Bootstrap("Acme", "admin@a.example")
	_, member := env.AddUser(admin, acct, "m@a.example", "member")
	g, err := member.CreateGroup(ctx, api.GroupCreate{Name: "team"})
	apptest.Check(t, err)
	if _, err := member.CreateApp(ctx, api.AppCreate{Name: "svc", Groups: []string{g.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := member.ListUsers(ctx, "", 0); client.ErrorCode(err) != api.CodePermissionDenied {
		t.Fatalf("member listing users: %v", err)
	}
	v, err := admin.VerifyAudit(ctx)
	apptest.Check(t, err)
	if !v.OK || v.Checked < 6 {
		t.Fatalf("audit on postgres: %+v", v)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	env := apptest.Start(t)
	c := env.Client("")
	for _, ready := range []bool{false, true} {
		h, err := c.Health(ctx, ready)
		if err != nil || h.Status != "ok" {
			t.Fatalf("health(ready=%v) = %+v, %v", ready, h, err)
		}
	}
	resp, err := c.HTTPClient().Get(env.Addr + "/metrics")
	apptest.Check(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `keyward_http_requests_total{code="200",route="readyz"} 1`) {
		t.Fatalf("metrics lack the request counter:\n%.2000s", b)
	}
}
