package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
)

// Quorum approvals end to end, through the CLI over HTTPS on both stores: a group holds
// exports and its own changes for 2 of 2 approvers; a direct export is refused; the
// request, both approvals and the execution give the requester the key once; the audit
// trail has every step.
func TestQuorumApprovalsThroughTheCLI(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			var opts []apptest.Option
			if store == "postgres" {
				opts = append(opts, apptest.WithPostgres(t))
			}
			env := apptest.Start(t, opts...)
			acct, admin := env.Bootstrap("acme", "admin@acme.example")
			_, ann := env.AddUser(admin, acct, "ann@acme.example", "admin")
			_, bob := env.AddUser(admin, acct, "bob@acme.example", "member")
			cli := func(c *client.Client, args ...string) (string, int) { return runCLI(t, env, c.Token(), args...) }
			mustCLI := func(c *client.Client, args ...string) string {
				t.Helper()
				out, code := cli(c, args...)
				if code != 0 {
					t.Fatalf("keyward %s: exit %d: %s", strings.Join(args, " "), code, out)
				}
				return out
			}
			mustCLI(admin, "group", "create", "vault")
			mustCLI(admin, "key", "create", "signer", "--group", "vault", "--type", "EC", "--curve", "P-256", "--ops", "SIGN,VERIFY,EXPORT")
			mustCLI(admin, "group", "policy", "set", "vault", "--quorum", "2", "--approvers", "ann@acme.example,bob@acme.example",
				"--quorum-actions", "object.export,group.update")
			if out := mustCLI(admin, "group", "policy", "show", "vault"); !strings.Contains(out, "2 of 2 approvers (ann@acme.example, bob@acme.example)") {
				t.Fatalf("policy show:\n%s", out)
			}

			out, code := cli(admin, "key", "export", "signer", "--format", "pem")
			if code == 0 || !strings.Contains(out, "keyward approval request object.export") {
				t.Fatalf("direct export: exit %d: %s", code, out)
			}
			out, code = cli(admin, "group", "policy", "clear", "vault")
			if code == 0 || !strings.Contains(out, "holds group.update") {
				t.Fatalf("clearing the quorum without approval: exit %d: %s", code, out)
			}

			var a api.Approval
			out = mustCLI(admin, "approval", "request", "object.export", "signer", "--format", "pem", "--reason", "escrow", "-o", "json")
			if err := json.Unmarshal([]byte(out), &a); err != nil || a.Status != "pending" || a.Required != 2 {
				t.Fatalf("request: %v %s", err, out)
			}
			if out, code := cli(admin, "approval", "approve", a.ID); code == 0 || !strings.Contains(out, "not an approver") {
				t.Fatalf("the requester approved: exit %d: %s", code, out)
			}
			mustCLI(ann, "approval", "approve", a.ID, "--comment", "ok")
			if out, code := cli(admin, "approval", "execute", a.ID); code == 0 || !strings.Contains(out, "1 of the 2 approvals") {
				t.Fatalf("execute with one approval: exit %d: %s", code, out)
			}
			if out := mustCLI(bob, "approval", "list", "--status", "pending"); !strings.Contains(out, a.ID) || !strings.Contains(out, "1/2") {
				t.Fatalf("bob's pending list:\n%s", out)
			}
			mustCLI(bob, "approval", "approve", a.ID)

			pemFile := filepath.Join(t.TempDir(), "signer.pem")
			mustCLI(admin, "approval", "execute", a.ID, "--out", pemFile)
			pem, err := os.ReadFile(pemFile)
			apptest.Check(t, err)
			if !strings.Contains(string(pem), "PRIVATE KEY") {
				t.Fatalf("executed export wrote %q", pem)
			}
			if out, code := cli(admin, "approval", "execute", a.ID); code == 0 || !strings.Contains(out, "executed") {
				t.Fatalf("second execution: exit %d: %s", code, out)
			}
			if out := mustCLI(ann, "approval", "show", a.ID); !strings.Contains(out, "executed") || !strings.Contains(out, "2 of 2") {
				t.Fatalf("show after execution:\n%s", out)
			}

			l, err := admin.ListAudit(ctx, client.AuditQuery{Action: "approval.", Limit: 100})
			apptest.Check(t, err)
			got := map[string]int{}
			for _, r := range l.Items {
				got[r.Action+" "+r.Outcome]++
			}
			if got["approval.request success"] != 1 || got["approval.approve success"] != 2 || got["approval.approve denied"] != 1 {
				t.Fatalf("audit of the approvals: %v", got)
			}
			ex, err := admin.ListAudit(ctx, client.AuditQuery{Action: "object.export", Limit: 100})
			apptest.Check(t, err)
			outcomes := map[string]int{}
			for _, r := range ex.Items {
				outcomes[r.Outcome]++
			}
			if outcomes["success"] != 1 || outcomes["denied"] < 1 {
				t.Fatalf("audit of the exports: %v", outcomes)
			}
		})
	}
}
