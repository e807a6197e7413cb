package api

import (
	"net/http"
	"time"
)

func init() { Routes = append(Routes, jobRoutes...) }

var jobRoutes = []Route{
	{ID: "listJobs", Method: http.MethodGet, Path: "/v1/jobs", Tag: "jobs", Summary: "List the jobs the caller may see, newest first", Auth: AuthUser, Response: JobList{}, Status: 200, Query: jobParams},
	{ID: "getJob", Method: http.MethodGet, Path: "/v1/jobs/{id}", Tag: "jobs", Summary: "Get a job: state, progress, attempts, and its result or the reason it failed", Auth: AuthUser, Response: Job{}, Status: 200},
	{ID: "cancelJob", Method: http.MethodPost, Path: "/v1/jobs/{id}/cancel", Tag: "jobs", Summary: "Ask for a job to end as cancelled; returns the job as it now stands", Auth: AuthUser, Response: Job{}, Status: 200},

	{ID: "listServiceLog", Method: http.MethodGet, Path: "/v1/groups/{id}/service-log", Tag: "service log", Summary: "List a group's service log, newest first unless order=oldest", Auth: AuthUser, Response: ServiceLogList{}, Status: 200,
		Query: append(append([]Param{}, serviceLogParams...), Param{"order", "string", "newest (default) or oldest"}, Param{"cursor", "integer", "the previous page's next"}, Param{"limit", "integer", "page size, 1..1000 (default 100)"})},
	{ID: "exportServiceLog", Method: http.MethodGet, Path: "/v1/groups/{id}/service-log/export", Tag: "service log", Summary: "Export a group's service log, oldest first, as JSON lines or CSV", Auth: AuthUser, Status: 200,
		Query: append([]Param{{"format", "string", "jsonl (default) or csv"}}, serviceLogParams...), Produces: []string{"application/x-ndjson", "text/csv"}},
}

var jobParams = []Param{
	{"group", "string", "only jobs of this group"},
	{"state", "string", "only jobs in these states, comma-separated: queued, running, succeeded, failed, cancelled"},
	{"kind", "string", "only jobs of this kind (azure.sync, ...)"},
	{"after", "string", "return jobs older than this job id (the previous page's next)"},
	{"limit", "integer", "page size, 1..1000 (default 100)"},
}

var serviceLogParams = []Param{
	{"level", "string", "only these levels, comma-separated: INFO, WARN, ERROR"},
	{"since", "string", "RFC 3339 time, inclusive"},
	{"until", "string", "RFC 3339 time, exclusive"},
	{"job", "string", "only entries written by this job"},
	{"contains", "string", "only entries whose message or detail contains this text (ignoring case)"},
}

// JobStates are the states of a job, in the order of its life.
var JobStates = []string{"queued", "running", "succeeded", "failed", "cancelled"}

// Job is a durable piece of background work, such as a call to Azure.
type Job struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Title      string `json:"title,omitempty"`
	GroupID    string `json:"group_id,omitempty"`
	ScheduleID string `json:"schedule_id,omitempty"`
	// State is one of JobStates. A queued job with attempts > 0 waits for its next try,
	// at NextRunAt, and Error says why the last one failed.
	State           string      `json:"state"`
	Progress        JobProgress `json:"progress"`
	Attempts        int         `json:"attempts"`
	MaxAttempts     int         `json:"max_attempts"`
	NextRunAt       *time.Time  `json:"next_run_at,omitempty"`
	CancelRequested bool        `json:"cancel_requested,omitempty"`
	Params          any         `json:"params,omitempty"`
	Result          any         `json:"result,omitempty"`
	Error           string      `json:"error,omitempty"`
	CreatedBy       string      `json:"created_by"`
	CreatedAt       time.Time   `json:"created_at"`
	StartedAt       *time.Time  `json:"started_at,omitempty"`
	FinishedAt      *time.Time  `json:"finished_at,omitempty"`
	UpdatedAt       time.Time   `json:"updated_at"`
}

// Ended reports whether the job is in a final state.
func (j *Job) Ended() bool {
	return j.State == "succeeded" || j.State == "failed" || j.State == "cancelled"
}

// JobProgress is how far a job has come: Done of Total items (Total 0: unknown).
type JobProgress struct {
	Done    int    `json:"done"`
	Total   int    `json:"total"`
	Message string `json:"message,omitempty"`
}

// JobList is a page of jobs; pass Next as after for the next page.
type JobList struct {
	Items []Job  `json:"items"`
	Next  string `json:"next,omitempty"`
}

// ServiceLogEntry is one event in a group's service log.
type ServiceLogEntry struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Level   string    `json:"level"` // INFO, WARN or ERROR
	Message string    `json:"message"`
	JobID   string    `json:"job_id,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// ServiceLogList is a page of a service log; pass Next as cursor (with the same order) for
// the next page.
type ServiceLogList struct {
	Items []ServiceLogEntry `json:"items"`
	Next  int64             `json:"next,omitempty"`
}
