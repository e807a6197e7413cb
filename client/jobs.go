package client

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/api"
)

// JobQuery filters jobs; zero values mean any.
type JobQuery struct {
	Group  string
	States []string // queued, running, succeeded, failed, cancelled
	Kind   string
	After  string // the previous page's Next
	Limit  int
}

func (q JobQuery) values() url.Values {
	v := pageQuery(q.After, q.Limit)
	setIf(v, "group", q.Group)
	setIf(v, "state", strings.Join(q.States, ","))
	setIf(v, "kind", q.Kind)
	return v
}

func setIf(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

// ListJobs lists a page of the jobs the caller may see, newest first.
func (c *Client) ListJobs(ctx context.Context, q JobQuery) (*api.JobList, error) {
	var out api.JobList
	return &out, c.do(ctx, "GET", "/v1/jobs", q.values(), nil, &out)
}

// GetJob gets a job.
func (c *Client) GetJob(ctx context.Context, id string) (*api.Job, error) {
	var out api.Job
	return &out, c.do(ctx, "GET", "/v1/jobs/"+url.PathEscape(id), nil, nil, &out)
}

// CancelJob asks for a job to end as cancelled and returns it as it now stands: cancelled,
// or still running with CancelRequested until its runner stops it.
func (c *Client) CancelJob(ctx context.Context, id string) (*api.Job, error) {
	var out api.Job
	return &out, c.do(ctx, "POST", "/v1/jobs/"+url.PathEscape(id)+"/cancel", nil, nil, &out)
}

// WatchJob polls a job every interval (zero: one second) until it ends, calls fn with the
// first state it reads and with every change after it, and returns the job as it ended.
func (c *Client) WatchJob(ctx context.Context, id string, interval time.Duration, fn func(*api.Job)) (*api.Job, error) {
	if interval <= 0 {
		interval = time.Second
	}
	var last *api.Job
	for {
		j, err := c.GetJob(ctx, id)
		if err != nil {
			return last, err
		}
		if last == nil || j.State != last.State || j.Progress != last.Progress || j.Attempts != last.Attempts ||
			j.Error != last.Error || j.CancelRequested != last.CancelRequested {
			fn(j)
		}
		if j.Ended() {
			return j, nil
		}
		last = j
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// ServiceLogQuery filters a group's service log; zero values mean any.
type ServiceLogQuery struct {
	Levels       []string // INFO, WARN, ERROR
	Since, Until time.Time
	Job          string
	Contains     string
	Oldest       bool  // list oldest first (listing only; exports are always oldest first)
	Cursor       int64 // the previous page's Next (listing only)
	Limit        int   // listing only
}

func (q ServiceLogQuery) values() url.Values {
	v := url.Values{}
	setIf(v, "level", strings.Join(q.Levels, ","))
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339))
	}
	setIf(v, "job", q.Job)
	setIf(v, "contains", q.Contains)
	return v
}

// ListServiceLog lists a page of a group's service log, newest first unless q.Oldest.
func (c *Client) ListServiceLog(ctx context.Context, groupID string, q ServiceLogQuery) (*api.ServiceLogList, error) {
	v := q.values()
	if q.Oldest {
		v.Set("order", "oldest")
	}
	if q.Cursor > 0 {
		v.Set("cursor", strconv.FormatInt(q.Cursor, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out api.ServiceLogList
	return &out, c.do(ctx, "GET", "/v1/groups/"+url.PathEscape(groupID)+"/service-log", v, nil, &out)
}

// ExportServiceLog streams a group's matching service log entries to w, oldest first, as
// "jsonl" or "csv".
func (c *Client) ExportServiceLog(ctx context.Context, w io.Writer, groupID, format string, q ServiceLogQuery) error {
	v := q.values()
	v.Set("format", format)
	resp, err := c.send(ctx, "GET", "/v1/groups/"+url.PathEscape(groupID)+"/service-log/export", v, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
