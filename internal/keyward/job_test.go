package keyward

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateJobKind(t *testing.T) {
	for _, ok := range []string{"azure.sync", "azure.key.import", "test", "rotate_key", "a-b.c-d"} {
		if err := ValidateJobKind("kind", ok); err != nil {
			t.Errorf("ValidateJobKind(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Azure.sync", "azure.", ".sync", "azure..sync", "9lives", "azure sync", strings.Repeat("a", 65)} {
		if err := ValidateJobKind("kind", bad); !IsCode(err, EINVALID) {
			t.Errorf("ValidateJobKind(%q) accepted", bad)
		}
	}
}

func TestValidateJobData(t *testing.T) {
	if err := ValidateJobData("params", []byte(`{"vault":"kv"}`)); err != nil {
		t.Errorf("valid JSON refused: %v", err)
	}
	for name, bad := range map[string][]byte{"not JSON": []byte(`{"a":`), "too large": []byte(`"` + strings.Repeat("a", MaxJobData) + `"`)} {
		if err := ValidateJobData("params", bad); !IsCode(err, EINVALID) {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestJobStates(t *testing.T) {
	for _, s := range JobStates {
		if !s.Valid() {
			t.Errorf("%s not valid", s)
		}
		if want := s != JobQueued && s != JobRunning; s.Ended() != want {
			t.Errorf("%s.Ended() = %v", s, s.Ended())
		}
	}
	if JobState("paused").Valid() {
		t.Error("unknown state valid")
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]LogLevel{"info": LogInfo, " WARN ": LogWarn, "Error": LogError} {
		if got, err := ParseLogLevel("level", in); err != nil || got != want {
			t.Errorf("ParseLogLevel(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseLogLevel("level", "DEBUG"); !IsCode(err, EINVALID) {
		t.Errorf("DEBUG accepted: %v", err)
	}
}

func TestServiceLogEntryTrim(t *testing.T) {
	e := ServiceLogEntry{Message: strings.Repeat("é", MaxLogMessage), Detail: "short"}
	e.Trim()
	if len(e.Message) > MaxLogMessage+len("…") || !utf8.ValidString(e.Message) || !strings.HasSuffix(e.Message, "…") || e.Detail != "short" {
		t.Fatalf("Trim: %d bytes, valid %v, detail %q", len(e.Message), utf8.ValidString(e.Message), e.Detail)
	}
}

// Reading a job follows read on its group, cancelling needs its administrator; jobs of the
// whole account (no group roles) are for account administrators and auditors.
func TestAuthorizeJobs(t *testing.T) {
	admin := Principal{Kind: KindUser, ID: "1", Role: RoleAdmin}
	auditor := Principal{Kind: KindUser, ID: "2", Role: RoleAuditor}
	member := Principal{Kind: KindUser, ID: "3", Role: RoleMember}
	app := Principal{Kind: KindApp, ID: "a"}
	cases := []struct {
		name  string
		p     Principal
		a     Action
		roles []GroupRole
		ok    bool
	}{
		{"admin cancels", admin, ActJobCancel, []GroupRole{""}, true},
		{"admin cancels account jobs", admin, ActJobCancel, nil, true},
		{"auditor reads", auditor, ActJobRead, []GroupRole{""}, true},
		{"auditor reads account jobs", auditor, ActJobRead, nil, true},
		{"auditor never cancels", auditor, ActJobCancel, []GroupRole{GroupAdministrator}, false},
		{"group administrator cancels", member, ActJobCancel, []GroupRole{GroupAdministrator}, true},
		{"group auditor reads", member, ActJobRead, []GroupRole{GroupAuditor}, true},
		{"group auditor reads the log", member, ActServiceLogRead, []GroupRole{GroupAuditor}, true},
		{"group auditor may not cancel", member, ActJobCancel, []GroupRole{GroupAuditor}, false},
		{"outsider reads nothing", member, ActJobRead, []GroupRole{""}, false},
		{"member reads no account jobs", member, ActJobRead, nil, false},
		{"apps read no jobs", app, ActJobRead, []GroupRole{GroupMemberApp}, false},
		{"apps read no logs", app, ActServiceLogRead, []GroupRole{GroupMemberApp}, false},
	}
	for _, c := range cases {
		if err := Authorize(c.p, c.a, c.roles); (err == nil) != c.ok {
			t.Errorf("%s: Authorize = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}
