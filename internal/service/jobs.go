package service

import (
	"context"
	"fmt"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// jobKinds are the job kinds of Keyward's use cases. A feature registers its handlers from
// an init function in its own file, and New hands them to the runner before it starts:
//
//	func init() {
//		jobKinds = append(jobKinds, func(s *Service) jobs.Kind {
//			return jobs.Kind{Name: "azure.sync", Handler: s.runAzureSync}
//		})
//	}
var jobKinds []func(*Service) jobs.Kind

// setUpJobs gives the service its default runner when it was given none, and registers
// the job kinds on it.
func (s *Service) setUpJobs() {
	if s.jobs == nil {
		s.jobs = jobs.New(jobs.Options{Store: s.store, Clock: s.clock, Log: s.log})
	}
	for _, k := range jobKinds {
		s.jobs.Register(k(s))
	}
}

// Jobs returns the runner that runs the service's jobs: the composition root runs it, and
// tests register kinds of their own on it.
func (s *Service) Jobs() *jobs.Runner { return s.jobs }

// enqueueJob adds a job asked for by p to tx, so that it commits with the change and its
// audit record. Use it inside s.changeAndStart, which starts the job once tx commits.
func (s *Service) enqueueJob(tx keyward.Tx, p keyward.Principal, spec jobs.Spec) (*keyward.Job, error) {
	spec.AccountID, spec.CreatedBy = p.AccountID, p.Actor()
	return s.jobs.Enqueue(tx, spec)
}

// changeAndStart is change for use cases that enqueue jobs: once the transaction commits,
// the runner is woken to start them rather than at its next poll.
func (s *Service) changeAndStart(ctx context.Context, p keyward.Principal, action keyward.Action, target string, fn func(tx keyward.Tx, o *op) error) error {
	err := s.change(ctx, p, action, target, fn)
	if err == nil {
		s.jobs.Poke()
	}
	return err
}

// EnqueueJob runs a use case whose whole work is one job: it authorizes action on the
// job's group (or the account, for a job without one), enqueues the job and audits the
// request in one transaction, and starts it.
func (s *Service) EnqueueJob(ctx context.Context, p keyward.Principal, action keyward.Action, spec jobs.Spec) (*keyward.Job, error) {
	var j *keyward.Job
	target := "account:" + p.AccountID
	if spec.GroupID != "" {
		target = "group:" + spec.GroupID
	}
	err := s.changeAndStart(ctx, p, action, target, func(tx keyward.Tx, o *op) error {
		if spec.GroupID != "" {
			g, err := loadGroup(tx, p, spec.GroupID, action)
			if err != nil {
				return err
			}
			// The caller may name the group; the job belongs to its id (a name here
			// failed the jobs table's foreign key: `keyward azure sync NAME`).
			spec.GroupID = g.Group.ID
		} else if err := keyward.Authorize(p, action, nil); err != nil {
			return err
		}
		var err error
		if j, err = s.enqueueJob(tx, p, spec); err != nil {
			return err
		}
		o.detail = fmt.Sprintf("job %s (%s)", j.ID, j.Kind)
		return nil
	})
	return j, err
}

// jobGroups lists the job's group for keyward.Authorize: none for a job of the account.
func jobGroups(j *keyward.Job) []string {
	if j.GroupID == "" {
		return nil
	}
	return []string{j.GroupID}
}

// loadJob finds a job of the caller's account and checks the action on it. A job in a
// group the caller has no part in is, to them, a job that does not exist.
func loadJob(tx keyward.Tx, p keyward.Principal, id string, a keyward.Action) (*keyward.Job, error) {
	j, err := tx.GetJob(p.AccountID, id)
	if err != nil {
		return nil, err
	}
	roles, err := groupRoles(tx, p, jobGroups(j)...)
	if err != nil {
		return nil, err
	}
	if err := keyward.Authorize(p, a, roles); err != nil {
		if !seesAll(p) && (len(roles) == 0 || roles[0] == "") {
			return nil, keyward.Hidden("job")
		}
		return nil, err
	}
	return j, nil
}

// JobQuery selects jobs; zero values mean any.
type JobQuery struct {
	GroupID string
	States  []keyward.JobState
	Kind    string
	After   string // paging: the last job id of the previous page
	Limit   int
}

// ListJobs lists the jobs the caller may see, newest first: all of the account's for
// account administrators and auditors, those of the caller's groups for members.
func (s *Service) ListJobs(ctx context.Context, p keyward.Principal, q JobQuery) ([]keyward.Job, error) {
	for i, st := range q.States {
		if !st.Valid() {
			return nil, keyward.Invalid(fmt.Sprintf("state[%d]", i), "%q is not a job state", st)
		}
	}
	f := keyward.JobFilter{AccountID: p.AccountID, GroupID: q.GroupID, States: q.States, Kind: q.Kind, After: q.After, Limit: q.Limit}
	target := ""
	if q.GroupID != "" {
		target = "group:" + q.GroupID
	}
	var out []keyward.Job
	err := s.read(ctx, p, keyward.ActJobRead, target, func(tx keyward.Tx) error {
		switch {
		case q.GroupID != "":
			g, err := loadGroup(tx, p, q.GroupID, keyward.ActJobRead)
			if err != nil {
				return err
			}
			f.GroupID = g.Group.ID // the caller may name the group
		case !seesAll(p):
			ms, err := tx.PrincipalGroups(p.Kind, p.ID)
			if err != nil {
				return err
			}
			f.InGroups = []string{}
			for _, m := range ms {
				f.InGroups = append(f.InGroups, m.GroupID)
			}
		}
		var err error
		out, err = tx.ListJobs(f)
		return err
	})
	return out, err
}

// GetJob returns one job.
func (s *Service) GetJob(ctx context.Context, p keyward.Principal, id string) (*keyward.Job, error) {
	var j *keyward.Job
	err := s.read(ctx, p, keyward.ActJobRead, "job:"+id, func(tx keyward.Tx) error {
		var err error
		j, err = loadJob(tx, p, id, keyward.ActJobRead)
		return err
	})
	return j, err
}

// CancelJob asks for a job to end as cancelled (see keyward.JobTx.CancelJob) and audits
// the request. A job running on this node stops at once; on another node, within a third
// of its lease.
func (s *Service) CancelJob(ctx context.Context, p keyward.Principal, id string) (*keyward.Job, error) {
	var j *keyward.Job
	err := s.changeAndStart(ctx, p, keyward.ActJobCancel, "job:"+id, func(tx keyward.Tx, o *op) error {
		if _, err := loadJob(tx, p, id, keyward.ActJobCancel); err != nil {
			return err
		}
		var err error
		if j, err = tx.CancelJob(p.AccountID, id, s.clock.Now()); err != nil {
			return err
		}
		o.detail = fmt.Sprintf("%s job, %s", j.Kind, j.State)
		return nil
	})
	if err == nil {
		s.jobs.NotifyCancel(id)
	}
	return j, err
}
