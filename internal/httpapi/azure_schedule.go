package httpapi

import (
	"net/http"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func toSyncSchedule(sc *keyward.Schedule) api.SyncSchedule {
	out := api.SyncSchedule{Rule: sc.Rule.String(), StartAt: sc.StartAt, NextRunAt: sc.NextRunAt, LastJobID: sc.LastJobID, Enabled: sc.Enabled}
	if !sc.LastRunAt.IsZero() {
		out.LastRunAt = &sc.LastRunAt
	}
	return out
}

func (s *Server) azureScheduleHandlers(m map[string]handler) {
	m["getSyncSchedule"] = func(r *http.Request, p keyward.Principal) (any, error) {
		sc, err := s.svc.SyncSchedule(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toSyncSchedule(sc), nil
	}
	m["setSyncSchedule"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.SyncScheduleInput
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		var start time.Time
		if in.StartAt != nil {
			start = *in.StartAt
		}
		sc, err := s.svc.SetSyncSchedule(r.Context(), p, r.PathValue("id"), service.SyncScheduleInput{Rule: in.Rule, StartAt: start, Disabled: in.Disabled})
		if err != nil {
			return nil, err
		}
		return toSyncSchedule(sc), nil
	}
	m["deleteSyncSchedule"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.DeleteSyncSchedule(r.Context(), p, r.PathValue("id"))
	}
}
