package keyward

import "testing"

func TestUsersNeverPerformCrypto(t *testing.T) {
	const act Action = "test.crypto.encrypt"
	RegisterAction(act, true, false, false)
	for _, role := range AccountRoles {
		for _, gr := range []GroupRole{"", GroupAdministrator, GroupAuditor, GroupMemberApp} {
			p := Principal{Kind: KindUser, ID: "u", Role: role}
			if err := Authorize(p, act, []GroupRole{gr}); !IsCode(err, EFORBIDDEN) {
				t.Errorf("user %s with group role %q may encrypt: %v", role, gr, err)
			}
		}
	}
	app := Principal{Kind: KindApp, ID: "a"}
	if err := Authorize(app, act, []GroupRole{GroupMemberApp}); err != nil {
		t.Errorf("member app refused: %v", err)
	}
	for name, roles := range map[string][]GroupRole{"no group": nil, "not a member": {""}, "member of one of two": {GroupMemberApp, ""}} {
		if err := Authorize(app, act, roles); !IsCode(err, EFORBIDDEN) {
			t.Errorf("app (%s) may encrypt: %v", name, err)
		}
	}
}

func TestAuthorizeGroupScope(t *testing.T) {
	admin := Principal{Kind: KindUser, ID: "1", Role: RoleAdmin}
	auditor := Principal{Kind: KindUser, ID: "2", Role: RoleAuditor}
	member := Principal{Kind: KindUser, ID: "3", Role: RoleMember}
	cases := []struct {
		name  string
		p     Principal
		a     Action
		roles []GroupRole
		ok    bool
	}{
		{"admin writes anywhere", admin, ActGroupUpdate, []GroupRole{""}, true},
		{"auditor reads anywhere", auditor, ActGroupRead, []GroupRole{""}, true},
		{"auditor never writes", auditor, ActGroupUpdate, []GroupRole{GroupAdministrator}, false},
		{"member administrator writes", member, ActGroupUpdate, []GroupRole{GroupAdministrator}, true},
		{"member group auditor reads", member, ActGroupRead, []GroupRole{GroupAuditor}, true},
		{"member group auditor may not write", member, ActGroupUpdate, []GroupRole{GroupAuditor}, false},
		{"write needs every group", member, ActAppUpdate, []GroupRole{GroupAdministrator, ""}, false},
		{"read needs any group", member, ActAppRead, []GroupRole{"", GroupAuditor}, true},
		{"no groups, no write", member, ActAppCreate, nil, false},
		{"outsider reads nothing", member, ActGroupRead, []GroupRole{""}, false},
		{"member creates groups", member, ActGroupCreate, nil, true},
		{"auditor creates no groups", auditor, ActGroupCreate, nil, false},
		{"member lists no users", member, ActUserList, nil, false},
		{"app manages nothing", Principal{Kind: KindApp, ID: "a"}, ActGroupUpdate, []GroupRole{GroupMemberApp}, false},
		{"app reads its group", Principal{Kind: KindApp, ID: "a"}, ActGroupRead, []GroupRole{GroupMemberApp}, true},
	}
	for _, c := range cases {
		err := Authorize(c.p, c.a, c.roles)
		if (err == nil) != c.ok {
			t.Errorf("%s: Authorize = %v, want ok=%v", c.name, err, c.ok)
		}
	}
	if err := Authorize(admin, "no.such.action", nil); !IsCode(err, EINTERNAL) {
		t.Errorf("unknown action: %v", err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{" Alice@Example.COM ": "alice@example.com", "a.b+c@d.example": "a.b+c@d.example"} {
		if got, err := NormalizeEmail("email", in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "nobody", "Alice <a@b.example>", "a@", "@b"} {
		if _, err := NormalizeEmail("email", bad); !IsCode(err, EINVALID) {
			t.Errorf("NormalizeEmail(%q) accepted", bad)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, bad := range []string{"", " x", "x ", "a\nb", string(make([]byte, 200))} {
		if err := ValidateName("name", bad); err == nil {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
	if err := ValidateName("name", "Payments – EU"); err != nil {
		t.Errorf("ValidateName: %v", err)
	}
}
