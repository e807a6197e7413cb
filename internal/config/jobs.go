package config

import (
	"errors"
	"time"
)

// Jobs configures this node's job runner and scheduler. Every node that shares a database
// runs them unless told not to; jobs and scheduled runs are claimed in the database, so
// each runs once.
type Jobs struct {
	// Disable keeps this node from running jobs and schedules; it still serves the API and
	// enqueues jobs for the other nodes. Zero: this node runs them.
	Disable bool `yaml:"disable"`
	// Workers bounds how many jobs this node runs at once. Zero: 4.
	Workers int `yaml:"workers"`
	// Lease is how long a node holds a running job without renewing its claim (it renews
	// every third of it); the job of a node that died is taken over after it. Zero: 30s.
	Lease time.Duration `yaml:"lease"`
	// Poll is how often an idle node looks for jobs and schedules added by other nodes.
	// Zero: 2s.
	Poll time.Duration `yaml:"poll"`
}

func (j *Jobs) validate() error {
	switch {
	case j.Workers < 0:
		return errors.New("config jobs.workers: must not be negative")
	case j.Lease != 0 && j.Lease < 3*time.Second:
		return errors.New("config jobs.lease: must be at least 3s (the lease is renewed every third of it)")
	case j.Poll < 0:
		return errors.New("config jobs.poll: must not be negative")
	}
	return nil
}
