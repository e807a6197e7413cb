package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// The job kinds of these tests: "test.steps" takes Steps steps, recording each in its
// checkpoint with the attempt that took it; "test.block" waits until it is cancelled.
const actTestJob keyward.Action = "test.job.start"

type stepsParams struct {
	Steps int `json:"steps"`
}

type stepsCheckpoint struct {
	Done []int `json:"done"` // steps taken, in order
	By   []int `json:"by"`   // the attempt that took each
}

// stepsKind stops for good at step blockAt (-1: never), as a process about to be killed.
func stepsKind(blockAt int) jobs.Kind {
	return jobs.Kind{Name: "test.steps", Handler: func(ctx context.Context, run *jobs.Run) error {
		var p stepsParams
		var cp stepsCheckpoint
		if err := run.Params(&p); err != nil {
			return err
		}
		if _, err := run.Checkpoint(&cp); err != nil {
			return err
		}
		for i := len(cp.Done); i < p.Steps; i++ {
			if i == blockAt {
				run.Progress(i, p.Steps, fmt.Sprintf("blocked before step %d", i+1))
				<-ctx.Done()
				return ctx.Err()
			}
			select { // a step takes a moment, so that watchers see it
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			cp.Done, cp.By = append(cp.Done, i), append(cp.By, run.Job().Attempts)
			if err := run.SaveCheckpoint(cp); err != nil {
				return err
			}
			run.Progress(i+1, p.Steps, fmt.Sprintf("step %d done", i+1))
		}
		run.Log(keyward.LogInfo, "all steps done", fmt.Sprintf("%d steps", p.Steps))
		return run.SetResult(cp)
	}}
}

var blockKind = jobs.Kind{Name: "test.block", Handler: func(ctx context.Context, run *jobs.Run) error {
	run.Progress(0, 0, "waiting to be cancelled")
	<-ctx.Done()
	return context.Cause(ctx)
}}

// fastJobs makes a dead node's jobs come back within seconds.
func fastJobs(c *configT) { c.Jobs.Lease, c.Jobs.Poll = 3*time.Second, 100*time.Millisecond }

// childEnv asks the test binary to be a Keyward server (see init) instead of running tests.
const childEnv = "KEYWARD_E2E_JOBS_CHILD"

func init() {
	keyward.RegisterAction(actTestJob, false, true, true)
	if dir := os.Getenv(childEnv); dir != "" {
		os.Exit(runChild(dir, os.Getenv("KEYWARD_E2E_JOBS_DSN")))
	}
}

// childInfo is what the child server prints once it is ready.
type childInfo struct {
	Addr, CACert, Token, Account, Group, Job string
}

// runChild serves from dir with test.steps stopping at step 4, after enqueueing one such
// job, until it is killed.
func runChild(dir, dsn string) int {
	ctx := context.Background()
	cfg := apptest.Config(dir, fastJobs)
	if dsn != "" {
		cfg.Database.Driver, cfg.Database.DSN = "postgres", dsn
	}
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child:", err); return 1 }
	a, err := app.New(ctx, cfg, app.Options{FastPasswordHashing: true})
	if err != nil {
		return fail(err)
	}
	a.Service.Jobs().Register(stepsKind(3)) // registered before Run, as features do
	acct, _, err := a.Service.Bootstrap(ctx, "Acme", "admin@a.example", apptest.Password)
	if err != nil {
		return fail(err)
	}
	login, err := a.Service.Login(ctx, "admin@a.example", apptest.Password, acct.ID)
	if err != nil {
		return fail(err)
	}
	g, err := a.Service.CreateGroup(ctx, login.Principal, "vault-a", "")
	if err != nil {
		return fail(err)
	}
	j, err := a.Service.EnqueueJob(ctx, login.Principal, actTestJob, jobs.Spec{GroupID: g.Group.ID, Kind: "test.steps",
		Title: "Five steps", Params: stepsParams{Steps: 5}})
	if err != nil {
		return fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(childInfo{a.Addr(), a.CACertFile, login.Token, acct.ID, g.Group.ID, j.ID})
	return fail(a.Run(ctx))
}

// startChild starts a child server on dir and returns what it printed and a kill switch.
func startChild(t *testing.T, dir, dsn string) (childInfo, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, "KEYWARD_E2E_JOBS_DSN="+dsn)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	apptest.Check(t, err)
	apptest.Check(t, cmd.Start())
	var once sync.Once
	kill := func() {
		once.Do(func() {
			cmd.Process.Kill() // SIGKILL: no shutdown, no lease released
			cmd.Wait()
		})
	}
	t.Cleanup(kill)
	var info childInfo
	line, err := bufio.NewReader(out).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &info) != nil {
		kill()
		t.Fatalf("child server did not start: %v\n%s", err, stderr.String())
	}
	return info, kill
}

// waitFor polls the job through the API until ok holds.
func waitFor(t *testing.T, c *client.Client, id string, within time.Duration, ok func(*api.Job) bool) *api.Job {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := c.GetJob(ctx, id)
		apptest.Check(t, err)
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s after %s: %+v", id, within, j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A server is killed (SIGKILL) in the middle of a job. Started again on the same data, it
// takes the job over once the dead process's lease expires, resumes after the last step
// the checkpoint recorded, and finishes: every step taken exactly once.
func TestJobSurvivesAKilledServer(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn := ""
			opts := []apptest.Option{fastJobs}
			if db == "postgres" {
				dsn = apptest.PostgresDSN(t)
				opts = append(opts, func(c *configT) { c.Database.Driver, c.Database.DSN = "postgres", dsn })
			}
			dir := t.TempDir()
			info, kill := startChild(t, dir, dsn)
			before, err := client.New(info.Addr, client.WithCACertFile(info.CACert), client.WithToken(info.Token))
			apptest.Check(t, err)
			waitFor(t, before, info.Job, 30*time.Second, func(j *api.Job) bool {
				return j.State == "running" && j.Progress.Done == 3 && strings.HasPrefix(j.Progress.Message, "blocked")
			})
			kill()

			env := apptest.StartIn(t, dir, opts...)
			env.App.Service.Jobs().Register(stepsKind(-1))
			admin := env.Client(info.Token)
			var mu sync.Mutex
			var seen []string
			watched := make(chan *api.Job, 1)
			go func() {
				j, err := admin.WatchJob(ctx, info.Job, 50*time.Millisecond, func(j *api.Job) {
					mu.Lock()
					seen = append(seen, fmt.Sprintf("%s %d/%d", j.State, j.Progress.Done, j.Progress.Total))
					mu.Unlock()
				})
				if err != nil {
					t.Errorf("WatchJob: %v", err)
				}
				watched <- j
			}()
			out, code := runCLI(t, env, info.Token, "job", "watch", info.Job, "--interval", "100ms")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 || !strings.HasPrefix(lines[0], "running 3/5 blocked before step 4") || lines[len(lines)-1] != "succeeded" {
				t.Fatalf("keyward job watch: exit %d\n%s", code, out)
			}
			j := <-watched
			var res stepsCheckpoint
			b, _ := json.Marshal(j.Result)
			json.Unmarshal(b, &res)
			if j.State != "succeeded" || j.Attempts != 2 || fmt.Sprint(res.Done) != "[0 1 2 3 4]" || fmt.Sprint(res.By) != "[1 1 1 2 2]" {
				t.Fatalf("after the restart: %+v, result %+v", j, res)
			}
			mu.Lock()
			if seen[0] != "running 3/5" || seen[len(seen)-1] != "succeeded 5/5" {
				t.Errorf("WatchJob saw %v", seen)
			}
			mu.Unlock()
			checkServiceLog(t, env, info)
		})
	}
}

// checkServiceLog finds both attempts of the killed job in its group's service log, through
// the API and the CLI.
func checkServiceLog(t *testing.T, env *apptest.Env, info childInfo) {
	t.Helper()
	l, err := env.Client(info.Token).ListServiceLog(ctx, info.Group, client.ServiceLogQuery{Job: info.Job, Oldest: true})
	apptest.Check(t, err)
	var msgs []string
	for _, e := range l.Items {
		msgs = append(msgs, e.Level+" "+e.Message)
	}
	want := "INFO Five steps started (attempt 1 of 5)|INFO Five steps started (attempt 2 of 5)|INFO all steps done|INFO Five steps succeeded"
	if strings.Join(msgs, "|") != want {
		t.Fatalf("service log %q\nwant %q", msgs, want)
	}
	out, code := runCLI(t, env, info.Token, "log", "export", "--group", info.Group, "--format", "csv", "--contains", "ALL STEPS")
	if code != 0 || !strings.HasPrefix(out, "seq,time,level,message,job_id,detail\n") || !strings.Contains(out, ",INFO,all steps done,"+info.Job+",5 steps") || strings.Count(out, "\n") != 2 {
		t.Fatalf("keyward log export: exit %d\n%s", code, out)
	}
}

// Cancel through the CLI ends a running job; watch exits non-zero; reads and cancels follow
// the caller's role in the group.
func TestJobCancelAndAccess(t *testing.T) {
	env := apptest.Start(t, fastJobs)
	env.App.Service.Jobs().Register(blockKind)
	acct, admin := env.Bootstrap("Acme", "admin@a.example")
	g, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "vault-a"})
	apptest.Check(t, err)
	audID, aud := env.AddUser(admin, acct, "gaud@a.example", "member")
	_, outsider := env.AddUser(admin, acct, "out@a.example", "member")
	_, err = admin.SetGroupMember(ctx, g.ID, "user", audID, "auditor")
	apptest.Check(t, err)
	p, err := env.App.Service.Authenticate(ctx, admin.Token())
	apptest.Check(t, err)
	j, err := env.App.Service.EnqueueJob(ctx, p, actTestJob, jobs.Spec{GroupID: g.ID, Kind: "test.block", Title: "Wait"})
	apptest.Check(t, err)
	waitFor(t, admin, j.ID, 10*time.Second, func(j *api.Job) bool { return j.State == "running" })

	if _, err := outsider.GetJob(ctx, j.ID); client.ErrorCode(err) != api.CodeNotFound {
		t.Errorf("outsider reads the job: %v", err)
	}
	if l, err := outsider.ListJobs(ctx, client.JobQuery{}); err != nil || len(l.Items) != 0 {
		t.Errorf("outsider lists %v, %v", l, err)
	}
	if _, err := aud.CancelJob(ctx, j.ID); client.ErrorCode(err) != api.CodePermissionDenied {
		t.Errorf("group auditor cancels: %v", err)
	}
	if l, err := aud.ListJobs(ctx, client.JobQuery{Group: g.ID, States: []string{"running"}}); err != nil || len(l.Items) != 1 {
		t.Errorf("group auditor lists %v, %v", l, err)
	}
	out, code := runCLI(t, env, admin.Token(), "job", "list", "--state", "running")
	if code != 0 || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, j.ID) || !strings.Contains(out, "Wait") {
		t.Fatalf("job list: %d\n%s", code, out)
	}

	watchOut := make(chan string, 1)
	go func() {
		out, code := runCLI(t, env, admin.Token(), "job", "watch", j.ID, "--interval", "50ms")
		watchOut <- fmt.Sprintf("exit %d\n%s", code, out)
	}()
	out, code = runCLI(t, env, admin.Token(), "job", "cancel", j.ID)
	if code != 0 || !strings.Contains(out, j.ID) {
		t.Fatalf("job cancel: %d\n%s", code, out)
	}
	if w := <-watchOut; !strings.HasPrefix(w, "exit 1\n") || !strings.Contains(w, "was cancelled") {
		t.Fatalf("job watch of a cancelled job:\n%s", w)
	}
	out, code = runCLI(t, env, admin.Token(), "-o", "json", "job", "show", j.ID)
	var shown api.Job
	if code != 0 || json.Unmarshal([]byte(out), &shown) != nil || shown.State != "cancelled" || shown.Error != "cancelled on request" {
		t.Fatalf("job show: %d\n%s", code, out)
	}
	out, code = runCLI(t, env, aud.Token(), "log", "list", "--group", g.ID, "--level", "warn")
	if code != 0 || !strings.Contains(out, "Wait cancelled") || strings.Contains(out, "started") {
		t.Fatalf("log list: %d\n%s", code, out)
	}
	recs, err := admin.ListAudit(ctx, client.AuditQuery{Action: string(keyward.ActJobCancel)})
	apptest.Check(t, err)
	if len(recs.Items) != 2 || recs.Items[0].Outcome != "denied" || recs.Items[1].Outcome != "success" || recs.Items[1].Target != "job:"+j.ID {
		t.Fatalf("cancels in the audit trail: %+v", recs.Items)
	}
}
