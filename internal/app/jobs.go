package app

import (
	"context"

	"github.com/keyward/keyward/internal/jobs"
)

// newRunner builds the job runner the service registers its kinds on, as configured.
func (a *App) newRunner() *jobs.Runner {
	c := a.Config.Jobs
	return jobs.New(jobs.Options{Store: a.store, Log: a.Log.With("component", "jobs"), Workers: c.Workers, Lease: c.Lease,
		Poll: c.Poll, StopGrace: a.grace})
}

// startJobs runs the job runner and scheduler until ctx ends, unless this node is
// configured not to. The returned function stops them and waits: handlers still running
// see their context end and their jobs are left queued for the next start (or another
// node), not failed.
func (a *App) startJobs(ctx context.Context) (wait func()) {
	if a.Config.Jobs.Disable {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Service.Jobs().Run(ctx); err != nil {
			a.Log.Error("job runner", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}
