package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// rawOrNil passes stored JSON through to the response as is.
func rawOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

func toJob(j *keyward.Job) api.Job {
	out := api.Job{ID: j.ID, Kind: j.Kind, Title: j.Title, GroupID: j.GroupID, ScheduleID: j.ScheduleID, State: string(j.State),
		Progress: api.JobProgress{Done: j.Progress.Done, Total: j.Progress.Total, Message: j.Progress.Message},
		Attempts: j.Attempts, MaxAttempts: j.MaxAttempts, CancelRequested: j.CancelRequested,
		Params: rawOrNil(j.Params), Result: rawOrNil(j.Result), Error: j.Error, CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt,
		StartedAt: timeOrNil(j.StartedAt), FinishedAt: timeOrNil(j.FinishedAt), UpdatedAt: j.UpdatedAt}
	if j.State == keyward.JobQueued {
		out.NextRunAt = timeOrNil(j.NextRunAt)
	}
	return out
}

// queryList reads a comma-separated query parameter.
func queryList(r *http.Request, name string) []string {
	var out []string
	for _, v := range strings.Split(r.URL.Query().Get(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func jobQuery(r *http.Request) (service.JobQuery, error) {
	q := r.URL.Query()
	jq := service.JobQuery{GroupID: q.Get("group"), Kind: q.Get("kind"), After: q.Get("after")}
	for _, s := range queryList(r, "state") {
		if st := keyward.JobState(s); !st.Valid() {
			return jq, keyward.Invalid("state", "%q is not a job state (one of %s)", s, strings.Join(api.JobStates, ", "))
		}
		jq.States = append(jq.States, keyward.JobState(s))
	}
	n, err := queryInt(r, "limit", keyward.MaxPageLimit)
	jq.Limit = int(n)
	return jq, err
}

func (s *Server) jobHandlers(m map[string]handler) {
	m["listJobs"] = func(r *http.Request, p keyward.Principal) (any, error) {
		q, err := jobQuery(r)
		if err != nil {
			return nil, err
		}
		js, err := s.svc.ListJobs(r.Context(), p, q)
		if err != nil {
			return nil, err
		}
		out := api.JobList{Items: []api.Job{}}
		for i := range js {
			out.Items = append(out.Items, toJob(&js[i]))
		}
		if len(js) > 0 && len(js) == (keyward.Page{Limit: q.Limit}).N() {
			out.Next = js[len(js)-1].ID
		}
		return out, nil
	}
	m["getJob"] = func(r *http.Request, p keyward.Principal) (any, error) {
		j, err := s.svc.GetJob(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toJob(j), nil
	}
	m["cancelJob"] = func(r *http.Request, p keyward.Principal) (any, error) {
		j, err := s.svc.CancelJob(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toJob(j), nil
	}
	m["listServiceLog"] = func(r *http.Request, p keyward.Principal) (any, error) {
		f, err := serviceLogFilter(r)
		if err != nil {
			return nil, err
		}
		switch r.URL.Query().Get("order") {
		case "", "newest":
		case "oldest":
			f.Oldest = true
		default:
			return nil, keyward.Invalid("order", "must be newest or oldest")
		}
		if f.Cursor, err = queryInt(r, "cursor", 1<<62); err != nil {
			return nil, err
		}
		n, err := queryInt(r, "limit", keyward.MaxPageLimit)
		if err != nil {
			return nil, err
		}
		f.Limit = int(n)
		es, err := s.svc.ListServiceLog(r.Context(), p, r.PathValue("id"), f)
		if err != nil {
			return nil, err
		}
		out := api.ServiceLogList{Items: []api.ServiceLogEntry{}}
		for _, e := range es {
			out.Items = append(out.Items, api.ServiceLogEntry{Seq: e.Seq, Time: e.Time, Level: string(e.Level), Message: e.Message, JobID: e.JobID, Detail: e.Detail})
		}
		if len(es) > 0 && len(es) == (keyward.Page{Limit: f.Limit}).N() {
			out.Next = es[len(es)-1].Seq
		}
		return out, nil
	}
}

// serviceLogFilter reads the filters shared by listing and export.
func serviceLogFilter(r *http.Request) (keyward.ServiceLogFilter, error) {
	q := r.URL.Query()
	f := keyward.ServiceLogFilter{JobID: q.Get("job"), Contains: q.Get("contains")}
	for _, l := range queryList(r, "level") {
		lvl, err := keyward.ParseLogLevel("level", l)
		if err != nil {
			return f, err
		}
		f.Levels = append(f.Levels, lvl)
	}
	var err error
	if f.Since, err = queryTime(r, "since"); err != nil {
		return f, err
	}
	f.Until, err = queryTime(r, "until")
	return f, err
}

// queryTime reads an optional RFC 3339 time query parameter.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, keyward.Invalid(name, "must be an RFC 3339 time such as 2026-11-23T10:00:00Z")
	}
	return t, nil
}

// exportServiceLog streams the export; errors found before the first byte become a normal
// error response.
func (s *Server) exportServiceLog(w http.ResponseWriter, r *http.Request, p keyward.Principal) error {
	f, err := serviceLogFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "jsonl":
		w.Header().Set("Content-Type", "application/x-ndjson")
		format = "jsonl"
	case "csv":
		w.Header().Set("Content-Type", "text/csv")
	default:
		return keyward.Invalid("format", "must be jsonl or csv")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="keyward-service-log-%s.%s"`, safeName(r.PathValue("id")), format))
	return s.svc.ExportServiceLog(r.Context(), p, r.PathValue("id"), f, format, w)
}

// safeName keeps a path value fit for a header's quoted file name.
func safeName(s string) string {
	return strings.Map(func(c rune) rune {
		if c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return c
		}
		return -1
	}, s)
}
