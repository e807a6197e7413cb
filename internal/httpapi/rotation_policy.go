package httpapi

import (
	"net/http"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func toRotationPolicy(rp *service.RotationPolicy) api.RotationPolicy {
	sc := rp.Schedule
	out := api.RotationPolicy{Rule: sc.Rule.String(), DeactivateOld: rp.DeactivateOld, AzureCopies: rp.AzureCopies,
		StartAt: sc.StartAt, NextRunAt: sc.NextRunAt, LastJobID: sc.LastJobID, Enabled: sc.Enabled, Owner: sc.CreatedBy}
	if !sc.LastRunAt.IsZero() {
		out.LastRunAt = &sc.LastRunAt
	}
	return out
}

func (s *Server) rotationPolicyHandlers(m map[string]handler) {
	m["getRotationPolicy"] = func(r *http.Request, p keyward.Principal) (any, error) {
		rp, err := s.svc.GetRotationPolicy(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toRotationPolicy(rp), nil
	}
	m["setRotationPolicy"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.RotationPolicyInput
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		var start time.Time
		if in.StartAt != nil {
			start = *in.StartAt
		}
		rp, err := s.svc.SetRotationPolicy(r.Context(), p, r.PathValue("id"), service.RotationPolicyInput{Rule: in.Rule, StartAt: start,
			DeactivateOld: in.DeactivateOld, AzureCopies: in.AzureCopies, Disabled: in.Disabled})
		if err != nil {
			return nil, err
		}
		return toRotationPolicy(rp), nil
	}
	m["deleteRotationPolicy"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.DeleteRotationPolicy(r.Context(), p, r.PathValue("id"))
	}
}
