package api

import (
	"net/http"
	"time"
)

// RotationPolicy rotates a key on a schedule: new material under the same name, the old
// key optionally deactivated, every live Azure copy optionally given the new material.
type RotationPolicy struct {
	Rule          string     `json:"rule"` // every 90d, monthly 1 02:30, ... (UTC)
	DeactivateOld bool       `json:"deactivate_old"`
	AzureCopies   bool       `json:"azure_copies"`
	StartAt       time.Time  `json:"start_at"`
	NextRunAt     time.Time  `json:"next_run_at"`
	LastRunAt     *time.Time `json:"last_run_at,omitempty"` // the last successful rotation's job ran then
	LastJobID     string     `json:"last_job_id,omitempty"`
	Enabled       bool       `json:"enabled"`
	Owner         string     `json:"owner"` // each run acts as this user or application
}

// RotationPolicyInput sets a key's rotation policy, replacing the one it had.
type RotationPolicyInput struct {
	Rule          string     `json:"rule"`
	StartAt       *time.Time `json:"start_at,omitempty"` // default: now
	DeactivateOld bool       `json:"deactivate_old,omitempty"`
	AzureCopies   bool       `json:"azure_copies,omitempty"`
	Disabled      bool       `json:"disabled,omitempty"`
}

// Validate checks the request's shape.
func (r *RotationPolicyInput) Validate() error { return required("rule", r.Rule) }

func init() {
	Routes = append(Routes,
		Route{ID: "getRotationPolicy", Method: http.MethodGet, Path: "/v1/keys/{id}/rotation-policy", Tag: "keys", Summary: "Get when a key rotates on its own", Auth: AuthAny, Response: RotationPolicy{}, Status: 200},
		Route{ID: "setRotationPolicy", Method: http.MethodPut, Path: "/v1/keys/{id}/rotation-policy", Tag: "keys", Summary: "Rotate a key on a schedule (replaces its policy)", Auth: AuthAny, Request: &RotationPolicyInput{}, Response: RotationPolicy{}, Status: 200},
		Route{ID: "deleteRotationPolicy", Method: http.MethodDelete, Path: "/v1/keys/{id}/rotation-policy", Tag: "keys", Summary: "Stop a key's scheduled rotations", Auth: AuthAny, Status: 204},
	)
}
