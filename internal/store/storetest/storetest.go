// Package storetest is the one conformance suite every keyward.Store must pass.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keyward"
)

// Harness opens a fresh, empty store for one test and runs raw SQL against it (to play an
// attacker who edits the database directly).
type Harness struct {
	Open func(t *testing.T) keyward.Store
	Exec func(t *testing.T, s keyward.Store, sql string)
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, keyward.Store, Harness)
	}{
		{"Meta", testMeta},
		{"Accounts", testAccounts},
		{"Users", testUsers},
		{"AccountMembers", testAccountMembers},
		{"Sessions", testSessions},
		{"Groups", testGroups},
		{"Apps", testApps},
		{"AccountIsolation", testIsolation},
		{"DeleteAccountCascades", testDeleteAccount},
		{"Rollback", testRollback},
		{"Audit", testAudit},
		{"AuditConcurrentAppends", testAuditConcurrent},
		{"AuditTamperDetected", testAuditTamper},
		{"RewrapSealed", testRewrap},
		{"Objects", testObjects},
		{"ListObjects", testListObjects},
		{"Links", testLinks},
		{"CloudCredentials", testCloudCredentials},
		{"AzureLinks", testAzureLinks},
		{"VirtualKeysAndEscrow", testVirtualKeysAndEscrow},
		{"CloudRewrap", testCloudRewrap},
		{"DeleteVirtualKeys", testDeleteVirtualKeys},
		{"Jobs", testJobsSuite},
		{"JobSecrets", testJobSecrets},
		{"Approvals", testApprovals},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := h.Open(t)
			tc.fn(t, s, h)
		})
	}
}

var ctx = context.Background()

var now = time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)

func update(t testing.TB, s keyward.Store, fn func(keyward.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t *testing.T, s keyward.Store, fn func(keyward.Tx) error) {
	t.Helper()
	if err := s.View(ctx, fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// wantTxCode runs fn in its own transaction and wants it to fail with code and write nothing.
func wantTxCode(t *testing.T, s keyward.Store, code string, fn func(keyward.Tx) error) {
	t.Helper()
	wantCode(t, s.Update(ctx, fn), code)
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := keyward.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

// seed creates an account with one admin user, a group and an app.
type seeded struct {
	acct  *keyward.Account
	user  *keyward.User
	group *keyward.Group
	app   *keyward.App
}

func seed(t testing.TB, s keyward.Store, tag string) seeded {
	t.Helper()
	var sd seeded
	update(t, s, func(tx keyward.Tx) error {
		sd.acct = &keyward.Account{ID: "acct-" + tag, Name: "Account " + tag, CreatedAt: now, CreatedBy: "operator"}
		sd.user = &keyward.User{ID: "user-" + tag, Email: tag + "@example.com", PasswordHash: "$argon2id$x", CreatedAt: now}
		sd.group = &keyward.Group{ID: "group-" + tag, AccountID: sd.acct.ID, Name: "payments", CreatedAt: now, CreatedBy: "user:" + sd.user.ID}
		sd.app = &keyward.App{ID: "app-" + tag, AccountID: sd.acct.ID, Name: "billing", APIKeyHash: []byte("hash-" + tag),
			CertFingerprints: []string{"fp-" + tag}, CreatedAt: now, CreatedBy: "user:" + sd.user.ID}
		return errors.Join(
			tx.CreateAccount(sd.acct),
			tx.CreateUser(sd.user),
			tx.PutAccountMember(&keyward.AccountMember{AccountID: sd.acct.ID, UserID: sd.user.ID, Role: keyward.RoleAdmin, CreatedAt: now}),
			tx.CreateGroup(sd.group),
			tx.CreateApp(sd.app),
			tx.PutGroupMember(&keyward.GroupMember{GroupID: sd.group.ID, PrincipalKind: keyward.KindApp, PrincipalID: sd.app.ID, Role: keyward.GroupMemberApp, CreatedAt: now}),
			tx.PutGroupMember(&keyward.GroupMember{GroupID: sd.group.ID, PrincipalKind: keyward.KindUser, PrincipalID: sd.user.ID, Role: keyward.GroupAdministrator, CreatedAt: now}),
		)
	})
	return sd
}

func testMeta(t *testing.T, s keyward.Store, _ Harness) {
	view(t, s, func(tx keyward.Tx) error {
		_, err := tx.GetMeta("missing")
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
	update(t, s, func(tx keyward.Tx) error { return tx.PutMeta("k", []byte("v1")) })
	update(t, s, func(tx keyward.Tx) error { return tx.PutMeta("k", []byte("v2")) })
	view(t, s, func(tx keyward.Tx) error {
		v, err := tx.GetMeta("k")
		if err != nil || string(v) != "v2" {
			t.Fatalf("GetMeta = %q, %v; want v2", v, err)
		}
		return nil
	})
}

func testAccounts(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "a")
	update(t, s, func(tx keyward.Tx) error {
		got, err := tx.GetAccount(sd.acct.ID)
		if err != nil || got.Name != sd.acct.Name || !got.CreatedAt.Equal(now) || got.CreatedBy != "operator" {
			t.Fatalf("GetAccount = %+v, %v", got, err)
		}
		got.Name, got.Description = "Renamed", "desc"
		if err := tx.UpdateAccount(got); err != nil {
			t.Fatal(err)
		}
		again, _ := tx.GetAccount(sd.acct.ID)
		if again.Name != "Renamed" || again.Description != "desc" {
			t.Fatalf("after update: %+v", again)
		}
		_, err = tx.GetAccount("nope")
		wantCode(t, err, keyward.ENOTFOUND)
		wantCode(t, tx.UpdateAccount(&keyward.Account{ID: "nope"}), keyward.ENOTFOUND)
		return nil
	})
}

func testUsers(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "u")
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		return tx.CreateUser(&keyward.User{ID: "other", Email: sd.user.Email, PasswordHash: "x", CreatedAt: now})
	})
	update(t, s, func(tx keyward.Tx) error {
		if _, err := tx.GetUser("other"); !keyward.IsCode(err, keyward.ENOTFOUND) {
			t.Fatalf("failed create left a user behind: %v", err)
		}
		u, err := tx.GetUserByEmail(sd.user.Email)
		if err != nil || u.ID != sd.user.ID || u.Disabled {
			t.Fatalf("GetUserByEmail = %+v, %v", u, err)
		}
		u.Disabled, u.PasswordHash = true, "$argon2id$new"
		if err := tx.UpdateUser(u); err != nil {
			t.Fatal(err)
		}
		u2, _ := tx.GetUser(u.ID)
		if !u2.Disabled || u2.PasswordHash != "$argon2id$new" {
			t.Fatalf("after update: %+v", u2)
		}
		if err := tx.DeleteUser(u.ID); err != nil {
			t.Fatal(err)
		}
		_, err = tx.GetUser(u.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		if m, _ := tx.ListGroupMembers(sd.group.ID); len(m) != 1 || m[0].PrincipalKind != keyward.KindApp {
			t.Fatalf("deleted user still in group: %+v", m)
		}
		return nil
	})
}

func testAccountMembers(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "m")
	update(t, s, func(tx keyward.Tx) error {
		u2 := &keyward.User{ID: "user-2", Email: "two@example.com", PasswordHash: "x", CreatedAt: now}
		must(t, tx.CreateUser(u2))
		must(t, tx.PutAccountMember(&keyward.AccountMember{AccountID: sd.acct.ID, UserID: u2.ID, Role: keyward.RoleMember, CreatedAt: now}))
		must(t, tx.PutGroupMember(&keyward.GroupMember{GroupID: sd.group.ID, PrincipalKind: keyward.KindUser, PrincipalID: u2.ID, Role: keyward.GroupAuditor, CreatedAt: now}))
		must(t, tx.CreateSession(&keyward.Session{ID: "s2", TokenHash: []byte("h2"), UserID: u2.ID, AccountID: sd.acct.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		if n, err := tx.CountAccountAdmins(sd.acct.ID); err != nil || n != 1 {
			t.Fatalf("CountAccountAdmins = %d, %v", n, err)
		}
		must(t, tx.PutAccountMember(&keyward.AccountMember{AccountID: sd.acct.ID, UserID: u2.ID, Role: keyward.RoleAdmin, CreatedAt: now}))
		if n, _ := tx.CountAccountAdmins(sd.acct.ID); n != 2 {
			t.Fatalf("after promotion: %d admins", n)
		}
		ms, err := tx.ListAccountMembers(sd.acct.ID, keyward.Page{Limit: 1})
		if err != nil || len(ms) != 1 || ms[0].UserID != "user-2" {
			t.Fatalf("page 1 = %+v, %v", ms, err)
		}
		ms, _ = tx.ListAccountMembers(sd.acct.ID, keyward.Page{After: ms[0].UserID, Limit: 1})
		if len(ms) != 1 || ms[0].UserID != sd.user.ID {
			t.Fatalf("page 2 = %+v", ms)
		}
		accts, _ := tx.ListUserAccounts(u2.ID)
		if len(accts) != 1 || accts[0].Role != keyward.RoleAdmin {
			t.Fatalf("ListUserAccounts = %+v", accts)
		}
		must(t, tx.DeleteAccountMember(sd.acct.ID, u2.ID))
		_, err = tx.GetAccountMember(sd.acct.ID, u2.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		_, err = tx.GetSessionByTokenHash([]byte("h2"))
		wantCode(t, err, keyward.ENOTFOUND)
		if g, _ := tx.PrincipalGroups(keyward.KindUser, u2.ID); len(g) != 0 {
			t.Fatalf("removed member still in groups: %+v", g)
		}
		if _, err := tx.GetUser(u2.ID); err != nil {
			t.Fatalf("removing from an account must keep the user: %v", err)
		}
		return nil
	})
}

func testSessions(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "s")
	update(t, s, func(tx keyward.Tx) error {
		must(t, tx.CreateSession(&keyward.Session{ID: "live", TokenHash: []byte("hash-live"), UserID: sd.user.ID, AccountID: sd.acct.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		must(t, tx.CreateSession(&keyward.Session{ID: "old", TokenHash: []byte("hash-old"), UserID: sd.user.ID, AccountID: sd.acct.ID, CreatedAt: now, ExpiresAt: now.Add(-time.Second)}))
		got, err := tx.GetSessionByTokenHash([]byte("hash-live"))
		if err != nil || got.ID != "live" || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("GetSessionByTokenHash = %+v, %v", got, err)
		}
		if n, err := tx.DeleteExpiredSessions(now); err != nil || n != 1 {
			t.Fatalf("DeleteExpiredSessions = %d, %v", n, err)
		}
		must(t, tx.DeleteSession("live"))
		wantCode(t, tx.DeleteSession("live"), keyward.ENOTFOUND)
		return nil
	})
}

func testGroups(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "g")
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		return tx.CreateGroup(&keyward.Group{ID: "dup", AccountID: sd.acct.ID, Name: "payments", CreatedAt: now})
	})
	update(t, s, func(tx keyward.Tx) error {
		for i := range 5 {
			must(t, tx.CreateGroup(&keyward.Group{ID: fmt.Sprintf("g%d", i), AccountID: sd.acct.ID, Name: fmt.Sprintf("team-%d", i), CreatedAt: now}))
		}
		var names []string
		after := ""
		for {
			page, err := tx.ListGroups(sd.acct.ID, keyward.Page{After: after, Limit: 2})
			must(t, err)
			for _, g := range page {
				names = append(names, g.Name)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].Name
		}
		if fmt.Sprint(names) != "[payments team-0 team-1 team-2 team-3 team-4]" {
			t.Fatalf("paged names = %v", names)
		}
		g, err := tx.GetGroupByName(sd.acct.ID, "team-3")
		if err != nil || g.ID != "g3" {
			t.Fatalf("GetGroupByName = %+v, %v", g, err)
		}
		return nil
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		return tx.UpdateGroup(&keyward.Group{ID: "g3", AccountID: sd.acct.ID, Name: "payments"})
	})
	update(t, s, func(tx keyward.Tx) error {
		g, err := tx.GetGroup(sd.acct.ID, "g2")
		must(t, err)
		g.Policy = keyward.GroupPolicy{Crypto: keyward.CryptoPolicy{Types: []keyward.ObjectType{keyward.TypeRSA}, RSASizes: []int{3072}},
			Metadata: keyward.MetadataPolicy{RequiredTags: []string{"owner"}, MaxLifetime: 90}}
		must(t, tx.UpdateGroup(g))
		back, err := tx.GetGroup(sd.acct.ID, "g2")
		must(t, err)
		if fmt.Sprintf("%+v", back.Policy) != fmt.Sprintf("%+v", g.Policy) || back.Name != "team-2" {
			t.Fatalf("policy round trip: %+v, want %+v", back.Policy, g.Policy)
		}
		if fresh, _ := tx.GetGroup(sd.acct.ID, "g1"); !fresh.Policy.IsZero() {
			t.Fatalf("a new group has a policy: %+v", fresh.Policy)
		}
		return nil
	})
	update(t, s, func(tx keyward.Tx) error {
		ms, err := tx.ListGroupMembers(sd.group.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("members = %+v, %v", ms, err)
		}
		must(t, tx.PutGroupMember(&keyward.GroupMember{GroupID: sd.group.ID, PrincipalKind: keyward.KindUser, PrincipalID: sd.user.ID, Role: keyward.GroupAuditor, CreatedAt: now}))
		pg, _ := tx.PrincipalGroups(keyward.KindUser, sd.user.ID)
		if len(pg) != 1 || pg[0].Role != keyward.GroupAuditor {
			t.Fatalf("PrincipalGroups after role change = %+v", pg)
		}
		must(t, tx.DeleteGroup(sd.acct.ID, sd.group.ID))
		if pg, _ := tx.PrincipalGroups(keyward.KindApp, sd.app.ID); len(pg) != 0 {
			t.Fatalf("memberships survive group deletion: %+v", pg)
		}
		wantCode(t, tx.DeleteGroup(sd.acct.ID, sd.group.ID), keyward.ENOTFOUND)
		return nil
	})
}

func testApps(t *testing.T, s keyward.Store, _ Harness) {
	sd := seed(t, s, "p")
	update(t, s, func(tx keyward.Tx) error {
		got, err := tx.GetAppByID(sd.app.ID)
		if err != nil || !bytes.Equal(got.APIKeyHash, []byte("hash-p")) || fmt.Sprint(got.CertFingerprints) != "[fp-p]" {
			t.Fatalf("GetAppByID = %+v, %v", got, err)
		}
		byCert, err := tx.GetAppByCertFingerprint("fp-p")
		if err != nil || byCert.ID != sd.app.ID {
			t.Fatalf("GetAppByCertFingerprint = %+v, %v", byCert, err)
		}
		return nil
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		return tx.CreateApp(&keyward.App{ID: "app-2", AccountID: sd.acct.ID, Name: "other", APIKeyHash: []byte{}, CertFingerprints: []string{"fp-p"}, CreatedAt: now})
	})
	wantTxCode(t, s, keyward.ECONFLICT, func(tx keyward.Tx) error {
		return tx.CreateApp(&keyward.App{ID: "app-3", AccountID: sd.acct.ID, Name: "billing", APIKeyHash: []byte{}, CreatedAt: now})
	})
	update(t, s, func(tx keyward.Tx) error {
		a, _ := tx.GetApp(sd.acct.ID, sd.app.ID)
		a.CertFingerprints = []string{"fp-new-1", "fp-new-2"}
		a.APIKeyHash = []byte("rotated")
		must(t, tx.UpdateApp(a))
		_, err := tx.GetAppByCertFingerprint("fp-p")
		wantCode(t, err, keyward.ENOTFOUND)
		b, _ := tx.GetAppByCertFingerprint("fp-new-2")
		if b == nil || b.ID != a.ID || string(b.APIKeyHash) != "rotated" {
			t.Fatalf("after update: %+v", b)
		}
		apps, _ := tx.ListApps(sd.acct.ID, keyward.Page{})
		if len(apps) != 1 { // the failed creates above wrote nothing
			t.Fatalf("ListApps = %+v", apps)
		}
		must(t, tx.DeleteApp(sd.acct.ID, a.ID))
		if pg, _ := tx.PrincipalGroups(keyward.KindApp, a.ID); len(pg) != 0 {
			t.Fatalf("deleted app still in groups: %+v", pg)
		}
		_, err = tx.GetAppByCertFingerprint("fp-new-1")
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
}

// Nothing of one account is reachable through another account's id.
func testIsolation(t *testing.T, s keyward.Store, _ Harness) {
	a, b := seed(t, s, "iso-a"), seed(t, s, "iso-b")
	update(t, s, func(tx keyward.Tx) error {
		_, err := tx.GetGroup(b.acct.ID, a.group.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		_, err = tx.GetApp(b.acct.ID, a.app.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		wantCode(t, tx.DeleteGroup(b.acct.ID, a.group.ID), keyward.ENOTFOUND)
		wantCode(t, tx.DeleteApp(b.acct.ID, a.app.ID), keyward.ENOTFOUND)
		g := *a.group
		g.AccountID, g.Name = b.acct.ID, "hijacked"
		wantCode(t, tx.UpdateGroup(&g), keyward.ENOTFOUND)
		gs, _ := tx.ListGroups(b.acct.ID, keyward.Page{})
		if len(gs) != 1 || gs[0].ID != b.group.ID {
			t.Fatalf("ListGroups(b) = %+v", gs)
		}
		// Same group name in two accounts is fine.
		if a.group.Name != b.group.Name {
			t.Fatal("seed should reuse the group name")
		}
		_, err = tx.GetAccountMember(b.acct.ID, a.user.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
}

func testDeleteAccount(t *testing.T, s keyward.Store, _ Harness) {
	a, b := seed(t, s, "del-a"), seed(t, s, "del-b")
	update(t, s, func(tx keyward.Tx) error {
		return audit.Append(tx, keyward.AuditRecord{AccountID: a.acct.ID, Time: now, Actor: "operator", Action: keyward.ActAccountCreate, Outcome: keyward.OutcomeSuccess})
	})
	update(t, s, func(tx keyward.Tx) error { return tx.DeleteAccount(a.acct.ID) })
	view(t, s, func(tx keyward.Tx) error {
		_, err := tx.GetGroup(a.acct.ID, a.group.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		_, err = tx.GetAppByID(a.app.ID)
		wantCode(t, err, keyward.ENOTFOUND)
		if ms, _ := tx.ListUserAccounts(a.user.ID); len(ms) != 0 {
			t.Fatalf("memberships survive: %+v", ms)
		}
		if _, err := tx.GetUser(a.user.ID); err != nil {
			t.Fatalf("users outlive accounts: %v", err)
		}
		if _, err := tx.GetGroup(b.acct.ID, b.group.ID); err != nil {
			t.Fatalf("other account touched: %v", err)
		}
		recs, _ := tx.ListAudit(keyward.AuditFilter{AccountID: a.acct.ID})
		if len(recs) != 1 {
			t.Fatalf("audit records must outlive the account, got %d", len(recs))
		}
		return nil
	})
}

func testRollback(t *testing.T, s keyward.Store, _ Harness) {
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx keyward.Tx) error {
		must(t, tx.CreateAccount(&keyward.Account{ID: "rb", Name: "rb", CreatedAt: now, CreatedBy: "x"}))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update err = %v, want boom", err)
	}
	view(t, s, func(tx keyward.Tx) error {
		_, err := tx.GetAccount("rb")
		wantCode(t, err, keyward.ENOTFOUND)
		return nil
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
