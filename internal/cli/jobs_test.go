package cli

import (
	"testing"
	"time"

	"github.com/keyward/keyward/api"
)

func TestWatchLines(t *testing.T) {
	next := time.Date(2026, 11, 23, 10, 0, 5, 0, time.Local)
	cases := []struct {
		name     string
		job      api.Job
		line     string
		barWidth int
		bar      string
	}{
		{"running with a total", api.Job{State: "running", Progress: api.JobProgress{Done: 3, Total: 12, Message: "syncing keys"}},
			"running 3/12 syncing keys", 8, "[##------] 3/12  25%  syncing keys"},
		{"running without a total", api.Job{State: "running", Progress: api.JobProgress{Done: 7}}, "running 7", 8, "running 7"},
		{"cancel requested", api.Job{State: "running", CancelRequested: true}, "running (cancel requested)", 8, "running (cancel requested)"},
		{"waiting for a retry", api.Job{State: "queued", Attempts: 1, MaxAttempts: 5, Error: "vault unavailable", NextRunAt: &next},
			"queued: attempt 1 of 5 failed (vault unavailable); next try at 10:00:05", 8, "queued: attempt 1 of 5 failed (vault unavailable); next try at 10:00:05"},
		{"done beyond total", api.Job{State: "running", Progress: api.JobProgress{Done: 9, Total: 4}}, "running 9/4", 4, "[####] 4/4 100%  "},
		{"failed", api.Job{State: "failed", Error: "gave up after 5 attempts: x"}, "failed: gave up after 5 attempts: x", 8, "failed: gave up after 5 attempts: x"},
		{"succeeded", api.Job{State: "succeeded", Progress: api.JobProgress{Done: 4, Total: 4}}, "succeeded", 8, "succeeded"},
	}
	for _, c := range cases {
		if got := watchLine(&c.job); got != c.line {
			t.Errorf("%s: watchLine = %q, want %q", c.name, got, c.line)
		}
		if got := progressBar(&c.job, c.barWidth); got != c.bar {
			t.Errorf("%s: progressBar = %q, want %q", c.name, got, c.bar)
		}
	}
}
