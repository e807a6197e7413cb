package keyward

import (
	"encoding/json"
	"regexp"
	"time"
)

// JobState is where a job is in its life. Queued and running jobs are live; the other three
// are final.
type JobState string

const (
	JobQueued    JobState = "queued"    // waiting for its first run, or for its next try after a failure
	JobRunning   JobState = "running"   // leased to a runner, which is running its handler
	JobSucceeded JobState = "succeeded" // the handler finished; Result holds what it reported
	JobFailed    JobState = "failed"    // a permanent error, or the last attempt failed; Error says why
	JobCancelled JobState = "cancelled" // cancelled on request
)

// JobStates lists the states in the order of a job's life.
var JobStates = []JobState{JobQueued, JobRunning, JobSucceeded, JobFailed, JobCancelled}

// Valid reports whether s is a known state.
func (s JobState) Valid() bool {
	for _, v := range JobStates {
		if s == v {
			return true
		}
	}
	return false
}

// Ended reports whether s is final.
func (s JobState) Ended() bool { return s == JobSucceeded || s == JobFailed || s == JobCancelled }

// JobProgress is how far a job has come, as its handler last reported it.
type JobProgress struct {
	Done, Total int // Total 0: unknown
	Message     string
}

// Job is a durable piece of background work, such as every call Keyward makes to Azure. It
// survives restarts: a runner leases it, runs the handler registered for its Kind, and
// records the outcome; when the process dies mid-run the lease expires and another runner
// (or the same one after a restart) takes it over and resumes from its Checkpoint.
//
// Params, Checkpoint and Result are JSON stored in clear and shown to whoever may read the
// job: they hold ids and names, never key material or secrets.
type Job struct {
	ID         string
	AccountID  string
	GroupID    string // "" for a job of the whole account
	ScheduleID string // the schedule that enqueued it, or ""
	Kind       string // the handler that runs it, e.g. "azure.sync"
	Title      string // what it does, for people ("Sync vault kv-prod")
	Params     json.RawMessage

	State       JobState
	Progress    JobProgress
	Attempts    int       // runs started so far, including the current one
	MaxAttempts int       // after this many failed attempts the job fails
	NextRunAt   time.Time // a queued job is not run before this time

	// LeaseOwner names the runner that holds the job while it runs, until LeaseUntil. A
	// runner extends its lease while the handler runs; a lease left to expire means the
	// runner died, and the job may be claimed again.
	LeaseOwner      string
	LeaseUntil      time.Time
	CancelRequested bool

	// Checkpoint is what the handler recorded between steps so that a later attempt can
	// resume or clean up, e.g. the id of a key-exchange key created before an import.
	Checkpoint json.RawMessage
	Result     json.RawMessage
	Error      string // caller-safe reason of the last failure, or of the end

	CreatedBy  string // actor, or "schedule:ID"
	CreatedAt  time.Time
	StartedAt  time.Time // first run; zero until then
	FinishedAt time.Time // zero until the job ends
	UpdatedAt  time.Time
}

// Limits on what a job carries.
const (
	// MaxJobData bounds Params, Checkpoint and Result, in bytes of JSON.
	MaxJobData = 64 << 10
	// DefaultJobAttempts is how often a job is tried when neither it nor its kind says.
	DefaultJobAttempts = 5
	// MaxJobAttempts bounds MaxAttempts.
	MaxJobAttempts = 100
)

var jobKindRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$`)

// ValidateJobKind checks a job kind: lower-case dotted words ("azure.sync"), at most 64 bytes.
func ValidateJobKind(field, kind string) error {
	if len(kind) == 0 || len(kind) > 64 || !jobKindRE.MatchString(kind) {
		return Invalid(field, "%q is not a job kind (lower-case dotted words such as azure.sync)", kind)
	}
	return nil
}

// ValidateJobData checks that b is one JSON value of at most MaxJobData bytes.
func ValidateJobData(field string, b []byte) error {
	switch {
	case len(b) > MaxJobData:
		return Invalid(field, "must be at most %d bytes of JSON, not %d", MaxJobData, len(b))
	case !json.Valid(b):
		return Invalid(field, "must be valid JSON")
	}
	return nil
}

// JobFilter selects jobs of one account. Zero values mean "any". Jobs are listed newest
// first (job ids sort by creation time).
type JobFilter struct {
	AccountID  string
	GroupID    string
	InGroups   []string // when not nil, only jobs in one of these groups
	States     []JobState
	Kind       string
	ScheduleID string
	After      string // paging: jobs older than this job id
	Limit      int    // 0 means DefaultPageLimit
}

// Actions on jobs and service logs. Reading a job or a group's service log needs a role in
// the group; cancelling needs its administrator. Jobs of the whole account (no group) are
// for account administrators and auditors.
const (
	ActJobRead        Action = "job.read"
	ActJobCancel      Action = "job.cancel"
	ActServiceLogRead Action = "servicelog.read"
)

func init() {
	RegisterAction(ActJobRead, false, false, true)
	RegisterAction(ActJobCancel, false, true, true)
	RegisterAction(ActServiceLogRead, false, false, true)
}
