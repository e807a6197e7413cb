package service

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// jobsFixture: an account with an admin, an account auditor, a group administrator, a
// group auditor and an outsider member; one job in the group and one of the account.
type jobsFixture struct {
	s                                     *Service
	admin, auditor, gadmin, gaud, outside keyward.Principal
	group                                 string
	groupJob, acctJob                     *keyward.Job
}

const actTestStart keyward.Action = "test.job.start"

func init() { keyward.RegisterAction(actTestStart, false, true, true) }

func newJobsFixture(t *testing.T) *jobsFixture {
	t.Helper()
	ctx := context.Background()
	s, _, _ := newService(t, nil)
	s.Jobs().Register(jobs.Kind{Name: "test.noop", Handler: func(context.Context, *jobs.Run) error { return nil }})
	acct, u, err := s.Bootstrap(ctx, "A", "admin@a.example", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	f := &jobsFixture{s: s, admin: keyward.Principal{Kind: keyward.KindUser, ID: u.ID, Name: u.Email, AccountID: acct.ID, Role: keyward.RoleAdmin}}
	user := func(email string, role keyward.AccountRole) keyward.Principal {
		au, err := s.AddUser(ctx, f.admin, NewUser{Email: email, Password: "long enough password", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return keyward.Principal{Kind: keyward.KindUser, ID: au.User.ID, Name: email, AccountID: acct.ID, Role: role}
	}
	f.auditor, f.gadmin, f.gaud, f.outside = user("aud@a.example", keyward.RoleAuditor), user("gadmin@a.example", keyward.RoleMember),
		user("gaud@a.example", keyward.RoleMember), user("out@a.example", keyward.RoleMember)
	g, err := s.CreateGroup(ctx, f.admin, "g", "")
	if err != nil {
		t.Fatal(err)
	}
	f.group = g.Group.ID
	for p, role := range map[*keyward.Principal]keyward.GroupRole{&f.gadmin: keyward.GroupAdministrator, &f.gaud: keyward.GroupAuditor} {
		if _, err := s.SetGroupMember(ctx, f.admin, f.group, keyward.KindUser, p.ID, role); err != nil {
			t.Fatal(err)
		}
	}
	if f.groupJob, err = s.EnqueueJob(ctx, f.gadmin, actTestStart, jobs.Spec{GroupID: f.group, Kind: "test.noop"}); err != nil {
		t.Fatal(err)
	}
	if f.acctJob, err = s.EnqueueJob(ctx, f.admin, actTestStart, jobs.Spec{Kind: "test.noop"}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestJobVisibilityFollowsGroupRoles(t *testing.T) {
	f := newJobsFixture(t)
	ctx := context.Background()
	if f.groupJob.CreatedBy != f.gadmin.Actor() || f.groupJob.AccountID != f.admin.AccountID {
		t.Fatalf("enqueued job %+v", f.groupJob)
	}
	for name, c := range map[string]struct {
		p    keyward.Principal
		want int
	}{"admin": {f.admin, 2}, "auditor": {f.auditor, 2}, "group admin": {f.gadmin, 1}, "group auditor": {f.gaud, 1}, "outsider": {f.outside, 0}} {
		js, err := f.s.ListJobs(ctx, c.p, JobQuery{})
		if err != nil || len(js) != c.want {
			t.Errorf("%s lists %d jobs (%v), want %d", name, len(js), err, c.want)
		}
	}
	if _, err := f.s.GetJob(ctx, f.gaud, f.groupJob.ID); err != nil {
		t.Errorf("group auditor reads the group's job: %v", err)
	}
	for name, c := range map[string]struct {
		p  keyward.Principal
		id string
	}{"outsider, group job": {f.outside, f.groupJob.ID}, "member, account job": {f.gadmin, f.acctJob.ID}} {
		_, err := f.s.GetJob(ctx, c.p, c.id)
		if !keyward.IsCode(err, keyward.ENOTFOUND) || !keyward.IsDenied(err) {
			t.Errorf("%s: %v, want a hidden refusal", name, err)
		}
	}
	if _, err := f.s.ListJobs(ctx, f.outside, JobQuery{GroupID: f.group}); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Errorf("outsider lists the group's jobs: %v", err)
	}
	if _, err := f.s.ListJobs(ctx, f.admin, JobQuery{States: []keyward.JobState{"paused"}}); !keyward.IsCode(err, keyward.EINVALID) {
		t.Errorf("unknown state: %v", err)
	}
}

// Cancelling needs the group's administrator (or an account admin) and is audited, refused
// or not.
func TestCancelJobIsAuthorizedAndAudited(t *testing.T) {
	f := newJobsFixture(t)
	ctx := context.Background()
	for _, p := range []keyward.Principal{f.gaud, f.auditor} {
		if _, err := f.s.CancelJob(ctx, p, f.groupJob.ID); !keyward.IsCode(err, keyward.EFORBIDDEN) {
			t.Errorf("%s cancels: %v", p.Name, err)
		}
	}
	j, err := f.s.CancelJob(ctx, f.gadmin, f.groupJob.ID)
	if err != nil || j.State != keyward.JobCancelled {
		t.Fatalf("group administrator cancels: %+v %v", j, err)
	}
	if _, err := f.s.CancelJob(ctx, f.gadmin, f.groupJob.ID); !keyward.IsCode(err, keyward.EPRECONDITION) {
		t.Fatalf("second cancel: %v", err)
	}
	recs, err := f.s.ListAudit(ctx, f.admin, keyward.AuditFilter{Action: keyward.ActJobCancel, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Outcome+" "+r.Actor+" "+r.Target)
	}
	target := " job:" + f.groupJob.ID
	want := []string{"denied " + f.gaud.Actor() + target, "denied " + f.auditor.Actor() + target, "success " + f.gadmin.Actor() + target}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("audit of cancels: %q, want %q", got, want)
	}
	starts, _ := f.s.ListAudit(ctx, f.admin, keyward.AuditFilter{Action: actTestStart, Limit: 100})
	if len(starts) != 2 || !strings.Contains(starts[0].Detail, f.groupJob.ID) {
		t.Fatalf("enqueues audited as %+v", starts)
	}
}

func TestServiceLogListAndExport(t *testing.T) {
	f := newJobsFixture(t)
	ctx := context.Background()
	err := f.s.store.Update(ctx, func(tx keyward.Tx) error {
		for i, l := range []keyward.LogLevel{keyward.LogInfo, keyward.LogWarn, keyward.LogError} {
			e := &keyward.ServiceLogEntry{AccountID: f.admin.AccountID, GroupID: f.group, Time: f.s.clock.Now(), Level: l,
				Message: "event, \"quoted\"", JobID: f.groupJob.ID, Detail: strings.Repeat("d", i)}
			if err := tx.AppendServiceLog(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	es, err := f.s.ListServiceLog(ctx, f.gaud, f.group, keyward.ServiceLogFilter{Levels: []keyward.LogLevel{keyward.LogWarn, keyward.LogError}})
	if err != nil || len(es) != 2 || es[0].Level != keyward.LogError {
		t.Fatalf("group auditor lists WARN+ERROR: %+v %v", es, err)
	}
	if _, err := f.s.ListServiceLog(ctx, f.outside, f.group, keyward.ServiceLogFilter{}); !keyward.IsCode(err, keyward.ENOTFOUND) {
		t.Fatalf("outsider reads the log: %v", err)
	}
	var csvOut, jsonOut bytes.Buffer
	if err := f.s.ExportServiceLog(ctx, f.auditor, f.group, keyward.ServiceLogFilter{}, "csv", &csvOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if len(lines) != 4 || lines[0] != "seq,time,level,message,job_id,detail" || !strings.Contains(lines[1], `,INFO,"event, ""quoted""",`+f.groupJob.ID) {
		t.Fatalf("csv export:\n%s", csvOut.String())
	}
	if err := f.s.ExportServiceLog(ctx, f.admin, f.group, keyward.ServiceLogFilter{JobID: f.groupJob.ID}, "jsonl", &jsonOut); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(jsonOut.String(), "\n"); n != 3 || !strings.HasPrefix(jsonOut.String(), `{"seq":`) {
		t.Fatalf("jsonl export:\n%s", jsonOut.String())
	}
	if err := f.s.ExportServiceLog(ctx, f.admin, f.group, keyward.ServiceLogFilter{}, "xml", &jsonOut); !keyward.IsCode(err, keyward.EINVALID) {
		t.Fatalf("xml export: %v", err)
	}
}
