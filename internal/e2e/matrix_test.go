// Package e2e holds Keyward's end-to-end tests: a real server over real HTTPS, driven
// through the public Go client.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
)

var ctx = context.Background()

// fixture is what one matrix case acts on, made fresh by the administrator so that every
// case starts from the same state.
type fixture struct {
	acct   string
	group  string // administered by "gadmin", audited by "gaud", with app "app" as member
	other  string // a group only the account administrator is in
	app    string // an app in group
	victim string // a member user others may act on
	n      int
}

type op struct {
	name string
	run  func(f fixture, c *client.Client) error
}

var ops = []op{
	{"account.read", func(f fixture, c *client.Client) error { _, err := c.GetAccount(ctx, f.acct); return err }},
	{"account.update", func(f fixture, c *client.Client) error {
		d := "changed"
		_, err := c.UpdateAccount(ctx, f.acct, api.AccountUpdate{Description: &d})
		return err
	}},
	{"user.list", func(f fixture, c *client.Client) error { _, err := c.ListUsers(ctx, "", 0); return err }},
	{"user.create", func(f fixture, c *client.Client) error {
		_, err := c.CreateUser(ctx, api.UserCreate{Email: fmt.Sprintf("new%d@a.example", f.n), Password: apptest.Password, Role: "member"})
		return err
	}},
	{"user.update", func(f fixture, c *client.Client) error {
		_, err := c.UpdateUser(ctx, f.victim, api.UserUpdate{Role: "auditor"})
		return err
	}},
	{"user.remove", func(f fixture, c *client.Client) error { return c.RemoveUser(ctx, f.victim) }},
	{"group.create", func(f fixture, c *client.Client) error {
		_, err := c.CreateGroup(ctx, api.GroupCreate{Name: fmt.Sprintf("created-%d", f.n)})
		return err
	}},
	{"group.read", func(f fixture, c *client.Client) error { _, err := c.GetGroup(ctx, f.group); return err }},
	{"group.read.other", func(f fixture, c *client.Client) error { _, err := c.GetGroup(ctx, f.other); return err }},
	{"group.update", func(f fixture, c *client.Client) error {
		n := fmt.Sprintf("renamed-%d", f.n)
		_, err := c.UpdateGroup(ctx, f.group, api.GroupUpdate{Name: &n})
		return err
	}},
	{"group.delete", func(f fixture, c *client.Client) error { return c.DeleteGroup(ctx, f.group) }},
	{"group.members.list", func(f fixture, c *client.Client) error { _, err := c.ListGroupMembers(ctx, f.group); return err }},
	{"group.members.set", func(f fixture, c *client.Client) error {
		_, err := c.SetGroupMember(ctx, f.group, "user", f.victim, "auditor")
		return err
	}},
	{"app.create", func(f fixture, c *client.Client) error {
		_, err := c.CreateApp(ctx, api.AppCreate{Name: fmt.Sprintf("created-app-%d", f.n), Groups: []string{f.group}})
		return err
	}},
	{"app.read", func(f fixture, c *client.Client) error { _, err := c.GetApp(ctx, f.app); return err }},
	{"app.update", func(f fixture, c *client.Client) error {
		d := "changed"
		_, err := c.UpdateApp(ctx, f.app, api.AppUpdate{Description: &d})
		return err
	}},
	{"app.credential", func(f fixture, c *client.Client) error { _, err := c.RegenerateAPIKey(ctx, f.app); return err }},
	{"app.delete", func(f fixture, c *client.Client) error { return c.DeleteApp(ctx, f.app) }},
	{"audit.read", func(f fixture, c *client.Client) error { _, err := c.ListAudit(ctx, client.AuditQuery{}); return err }},
	{"audit.export", func(f fixture, c *client.Client) error {
		return c.ExportAudit(ctx, io.Discard, "csv", client.AuditQuery{})
	}},
	{"audit.verify", func(f fixture, c *client.Client) error { _, err := c.VerifyAudit(ctx); return err }},
}

// Outcomes: "ok" allowed; "403" refused; "404" refused as not found (the caller has no part
// in the target, so it does not learn that the target exists).
var matrix = map[string]map[string]string{
	"admin": {},
	"auditor": {"account.update": "403", "user.create": "403", "user.update": "403", "user.remove": "403",
		"group.create": "403", "group.update": "403", "group.delete": "403", "group.members.set": "403",
		"app.create": "403", "app.update": "403", "app.credential": "403", "app.delete": "403"},
	"gadmin": {"account.update": "403", "user.list": "403", "user.create": "403", "user.update": "403", "user.remove": "403",
		"group.read.other": "404", "audit.read": "403", "audit.export": "403", "audit.verify": "403"},
	"gaud": {"account.update": "403", "user.list": "403", "user.create": "403", "user.update": "403", "user.remove": "403",
		"group.read.other": "404", "group.update": "403", "group.delete": "403", "group.members.set": "403",
		"app.create": "403", "app.update": "403", "app.credential": "403", "app.delete": "403",
		"audit.read": "403", "audit.export": "403", "audit.verify": "403"},
	"member": {"account.update": "403", "user.list": "403", "user.create": "403", "user.update": "403", "user.remove": "403",
		"group.read": "404", "group.read.other": "404", "group.update": "404", "group.delete": "404",
		"group.members.list": "404", "group.members.set": "404", "app.create": "403", "app.read": "404",
		"app.update": "404", "app.credential": "404", "app.delete": "404",
		"audit.read": "403", "audit.export": "403", "audit.verify": "403"},
	// Applications use keys; they manage nothing. They read their account, their groups and
	// themselves ("app" here is the fixture's app, acting on itself).
	"app": {"account.update": "403", "user.list": "403", "user.create": "403", "user.update": "403", "user.remove": "403",
		"group.create": "403", "group.read.other": "404", "group.update": "403", "group.delete": "403",
		"group.members.list": "403", "group.members.set": "403", "app.create": "403", "app.update": "403",
		"app.credential": "403", "app.delete": "403", "audit.read": "403", "audit.export": "403", "audit.verify": "403"},
	// An administrator of another account sees nothing of this one.
	"other-account-admin": {"account.read": "404", "account.update": "404", "user.update": "404", "user.remove": "404",
		"group.read": "404", "group.read.other": "404", "group.update": "404", "group.delete": "404",
		"group.members.list": "404", "group.members.set": "404", "app.create": "400", "app.read": "404",
		"app.update": "404", "app.credential": "404", "app.delete": "404"},
}

func TestRoleOperationMatrix(t *testing.T) {
	env := apptest.Start(t)
	acct, admin := env.Bootstrap("Acme", "admin@a.example")
	ids := map[string]string{}
	clients := map[string]*client.Client{"admin": admin}
	for _, u := range []struct{ name, role string }{{"auditor", "auditor"}, {"gadmin", "member"}, {"gaud", "member"}, {"member", "member"}} {
		ids[u.name], clients[u.name] = env.AddUser(admin, acct, u.name+"@a.example", u.role)
	}
	_, clients["other-account-admin"] = env.Bootstrap("Other", "admin@b.example")
	other, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "admins-only"})
	apptest.Check(t, err)

	n := 0
	newFixture := func() (fixture, string) {
		n++
		f := fixture{acct: acct, other: other.ID, n: n}
		g, err := admin.CreateGroup(ctx, api.GroupCreate{Name: fmt.Sprintf("g-%d", n)})
		apptest.Check(t, err)
		f.group = g.ID
		_, err = admin.SetGroupMember(ctx, g.ID, "user", ids["gadmin"], "administrator")
		apptest.Check(t, err)
		_, err = admin.SetGroupMember(ctx, g.ID, "user", ids["gaud"], "auditor")
		apptest.Check(t, err)
		created, err := admin.CreateApp(ctx, api.AppCreate{Name: fmt.Sprintf("app-%d", n), Groups: []string{g.ID}})
		apptest.Check(t, err)
		f.app = created.App.ID
		v, err := admin.CreateUser(ctx, api.UserCreate{Email: fmt.Sprintf("victim%d@a.example", n), Password: apptest.Password, Role: "member"})
		apptest.Check(t, err)
		f.victim = v.ID
		return f, created.APIKey
	}
	count := func(outcome, actor string) int64 {
		t.Helper()
		var total, after int64
		for {
			l, err := admin.ListAudit(ctx, client.AuditQuery{Outcome: outcome, Actor: actor, Limit: 1000, AfterSeq: after})
			apptest.Check(t, err)
			total += int64(len(l.Items))
			if l.Next == 0 {
				return total
			}
			after = l.Next
		}
	}

	for role, denials := range matrix {
		for _, o := range ops {
			t.Run(role+"/"+o.name, func(t *testing.T) {
				f, appKey := newFixture()
				c := clients[role]
				actor := ""
				if role == "app" {
					c = env.Client(appKey)
					actor = "app:" + f.app
				} else if id, ok := ids[role]; ok {
					actor = "user:" + id
				}
				var deniedBefore, successBefore int64
				if actor != "" {
					deniedBefore, successBefore = count("denied", actor), count("success", actor)
				}
				err := o.run(f, c)
				want := denials[o.name]
				if want == "" {
					want = "ok"
				}
				got := "ok"
				if err != nil {
					var ae *api.Error
					if !asAPIError(err, &ae) {
						t.Fatalf("%s: non-API error %v", o.name, err)
					}
					got = fmt.Sprint(ae.Status)
				}
				if got != want {
					t.Fatalf("%s by %s: got %s (%v), want %s", o.name, role, got, err, want)
				}
				if actor == "" || got == "ok" || got == "400" {
					return
				}
				// Every refusal leaves a denied record and changes nothing.
				if d := count("denied", actor); d != deniedBefore+1 {
					t.Errorf("denied records for %s: %d, want %d", actor, d, deniedBefore+1)
				}
				if s := count("success", actor); s != successBefore {
					t.Errorf("a refused request wrote %d success records", s-successBefore)
				}
			})
		}
	}
	if t.Failed() {
		return
	}
	v, err := admin.VerifyAudit(ctx)
	apptest.Check(t, err)
	if !v.OK || v.Checked < 100 {
		t.Fatalf("audit chain after the matrix: %+v", v)
	}
}

func asAPIError(err error, out **api.Error) bool {
	ae, ok := err.(*api.Error)
	if ok {
		*out = ae
	}
	return ok && ae.Status >= http.StatusBadRequest
}
