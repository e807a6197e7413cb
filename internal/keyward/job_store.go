package keyward

import "time"

// JobTx stores jobs. A job moves through its states only by compare-and-set in the
// database: ClaimJobs takes a job only while it is still due, and a runner writes progress
// and the outcome only while the job is still leased to it. So runners on several nodes
// sharing one database never run a job twice at once, and a runner that lost its lease (it
// stalled past the expiry and another took over) cannot overwrite the new owner's work.
type JobTx interface {
	// CreateJob stores a new job; ECONFLICT when the id is taken.
	CreateJob(j *Job) error
	// GetJob returns a job of the account or ENOTFOUND.
	GetJob(accountID, id string) (*Job, error)
	// ListJobs returns the account's jobs that match f, newest first.
	ListJobs(f JobFilter) ([]Job, error)
	// CancelJob asks for a job to end as cancelled and returns it as it now stands. A queued
	// job with no checkpoint is cancelled at once. Otherwise CancelRequested is set and the
	// runner ends the job: a running handler sees its context cancelled; a queued job with a
	// checkpoint becomes due now, so that its handler can clean up what it recorded.
	// ENOTFOUND when there is no such job; EPRECONDITION when it has already ended.
	CancelJob(accountID, id string, now time.Time) (*Job, error)

	// ClaimJobs leases up to c.Limit due jobs of c.Kinds to c.Lease until c.Until, oldest
	// due first, and returns them as claimed: running, Attempts counted, StartedAt set on
	// the first run. Each job is taken by a conditional UPDATE that succeeds only while the
	// job is still due, so concurrent claimers never take the same job.
	ClaimJobs(c JobClaim) ([]Job, error)
	// UpdateJobRun extends the lease and records progress or a checkpoint of a running job
	// leased to u.Lease, and reports whether a cancel was requested. EPRECONDITION when the
	// job is no longer running under that lease (it ended, or another runner took it over).
	UpdateJobRun(u JobRunUpdate) (cancelRequested bool, err error)
	// EndJobRun ends the run of a job leased to e.Lease: it queues the job again or moves it
	// to a final state, and clears the lease. EPRECONDITION as for UpdateJobRun.
	EndJobRun(e JobRunEnd) error
}

// JobClaim asks for due jobs to run: queued jobs whose NextRunAt has come, and running jobs
// whose lease expired before Now.
type JobClaim struct {
	Lease string    // written as the lease owner; unique to this claim
	Now   time.Time // due at or before Now
	Until time.Time // the lease's expiry
	Kinds []string  // only kinds this runner has handlers for; none claims nothing
	Limit int
}

// JobRunUpdate is what a runner writes while the handler runs. Zero fields are left as
// they are.
type JobRunUpdate struct {
	ID, Lease  string
	Now        time.Time
	LeaseUntil time.Time    // extend the lease to this time
	Progress   *JobProgress // new progress
	Checkpoint []byte       // new checkpoint
}

// JobRunEnd is what a runner writes when a run ends.
type JobRunEnd struct {
	ID, Lease string
	Now       time.Time
	// State is JobQueued to try again at NextRunAt, or a final state.
	State     JobState
	NextRunAt time.Time
	// Release marks a run that was interrupted, not failed (the runner is shutting down):
	// the job is queued again without counting the attempt, and Error is left as it was.
	Release  bool
	Progress JobProgress
	Result   []byte // for JobSucceeded
	Error    string // caller-safe: why it failed or was cancelled, or why it will be retried
}
