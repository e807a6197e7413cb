package config

import (
	"strings"
	"testing"
	"time"
)

func TestJobsConfig(t *testing.T) {
	c, err := Load(write(t, "jobs:\n  workers: 8\n  lease: 1m\n  poll: 5s\n"))
	if err != nil || c.Jobs.Workers != 8 || c.Jobs.Lease != time.Minute || c.Jobs.Poll != 5*time.Second || c.Jobs.Disable {
		t.Fatalf("jobs: %+v, %v", c.Jobs, err)
	}
	for body, want := range map[string]string{
		"jobs:\n  workers: -1\n": "jobs.workers",
		"jobs:\n  lease: 1s\n":   "jobs.lease",
		"jobs:\n  poll: -1s\n":   "jobs.poll",
		"jobs:\n  threads: 2\n":  "threads",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %s", body, err, want)
		}
	}
}
