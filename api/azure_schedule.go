package api

import (
	"net/http"
	"time"
)

// SyncSchedule is when an Azure group syncs with its vault on its own. Each run is an
// ordinary sync job (listed with the group's jobs), skipped while the previous one runs.
type SyncSchedule struct {
	Rule      string     `json:"rule"` // every 6h, daily 02:30, weekly mon 02:30, monthly 1 02:30 (UTC)
	StartAt   time.Time  `json:"start_at"`
	NextRunAt time.Time  `json:"next_run_at"`
	LastRunAt *time.Time `json:"last_run_at,omitempty"`
	LastJobID string     `json:"last_job_id,omitempty"` // the last run's job; empty when it was skipped
	Enabled   bool       `json:"enabled"`
}

// SyncScheduleInput sets a group's sync schedule, replacing the one it had.
type SyncScheduleInput struct {
	Rule     string     `json:"rule"`               // every 6h, daily 02:30, weekly mon 02:30, monthly 1 02:30 (UTC)
	StartAt  *time.Time `json:"start_at,omitempty"` // no run before; intervals count from it (default: now)
	Disabled bool       `json:"disabled,omitempty"` // keep it, run nothing
}

// Validate checks the request's shape.
func (r *SyncScheduleInput) Validate() error { return required("rule", r.Rule) }

func init() {
	Routes = append(Routes,
		Route{ID: "getSyncSchedule", Method: http.MethodGet, Path: "/v1/groups/{id}/azure/sync-schedule", Tag: "azure", Summary: "Get when a group syncs with its vault on its own", Auth: AuthUser, Response: SyncSchedule{}, Status: 200},
		Route{ID: "setSyncSchedule", Method: http.MethodPut, Path: "/v1/groups/{id}/azure/sync-schedule", Tag: "azure", Summary: "Sync a group with its vault on a schedule (replaces its schedule)", Auth: AuthUser, Request: &SyncScheduleInput{}, Response: SyncSchedule{}, Status: 200},
		Route{ID: "deleteSyncSchedule", Method: http.MethodDelete, Path: "/v1/groups/{id}/azure/sync-schedule", Tag: "azure", Summary: "Stop a group's scheduled syncs", Auth: AuthUser, Status: 204},
	)
}
