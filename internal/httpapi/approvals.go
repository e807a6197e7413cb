package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func toApproval(a *keyward.Approval) api.Approval {
	out := api.Approval{ID: a.ID, GroupID: a.GroupID, Action: string(a.Action), Target: a.Target, Reason: a.Reason,
		RequestedBy: a.RequestedBy, RequesterName: a.RequesterName, Required: a.Required, Approvals: a.Approvals(),
		Status: string(a.Status), Note: a.Note, CreatedAt: a.CreatedAt, ExpiresAt: a.ExpiresAt, UpdatedAt: a.UpdatedAt}
	for _, v := range a.Votes {
		out.Votes = append(out.Votes, api.ApprovalVote{UserID: v.UserID, Name: v.Name, Approve: v.Approve, Comment: v.Comment, At: v.At})
	}
	var sp service.ApprovalParams
	if json.Unmarshal(a.Params, &sp) == nil && (sp.Export != nil || sp.Group != nil) {
		out.Params = &api.ApprovalParams{}
		if e := sp.Export; e != nil {
			out.Params.Export = &api.KeyExport{Format: e.Format, KEK: e.KEK, WrapAlgorithm: e.WrapAlgorithm}
		}
		if g := sp.Group; g != nil {
			out.Params.Group = &api.GroupUpdate{Name: g.Name, Description: g.Description}
			if g.Policy != nil {
				out.Params.Group.Policy = toPolicy(g.Policy)
				if out.Params.Group.Policy == nil {
					out.Params.Group.Policy = &api.GroupPolicy{} // removes the policy
				}
			}
		}
	}
	return out
}

func fromApprovalParams(in *api.ApprovalParams) service.ApprovalParams {
	var out service.ApprovalParams
	if in == nil {
		return out
	}
	if e := in.Export; e != nil {
		out.Export = &service.ExportRequest{Format: e.Format, KEK: e.KEK, WrapAlgorithm: e.WrapAlgorithm}
	}
	if g := in.Group; g != nil {
		gp := groupPatch(g)
		out.Group = &gp
	}
	return out
}

func (s *Server) approvalHandlers(m map[string]handler) {
	m["createApproval"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.ApprovalCreate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		var ttl time.Duration
		if in.ExpiresIn != "" {
			d, err := time.ParseDuration(in.ExpiresIn)
			if err != nil {
				return nil, keyward.Invalid("expires_in", "a duration such as 4h or 30m, not %q", in.ExpiresIn)
			}
			ttl = d
		}
		a, err := s.svc.RequestApproval(r.Context(), p, service.NewApproval{Action: keyward.Action(in.Action), Target: in.Target,
			Params: fromApprovalParams(in.Params), Reason: in.Reason, TTL: ttl})
		if err != nil {
			return nil, err
		}
		return toApproval(a), nil
	}
	m["listApprovals"] = func(r *http.Request, p keyward.Principal) (any, error) {
		pg, err := page(r)
		if err != nil {
			return nil, err
		}
		l, err := s.svc.ListApprovals(r.Context(), p, keyward.ApprovalStatus(r.URL.Query().Get("status")), pg)
		if err != nil {
			return nil, err
		}
		out := api.ApprovalList{Items: []api.Approval{}}
		for i := range l {
			out.Items = append(out.Items, toApproval(&l[i]))
		}
		if len(l) == pg.N() {
			out.Next = l[len(l)-1].ID
		}
		return out, nil
	}
	m["getApproval"] = func(r *http.Request, p keyward.Principal) (any, error) {
		a, err := s.svc.GetApproval(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toApproval(a), nil
	}
	vote := func(approve bool) handler {
		return func(r *http.Request, p keyward.Principal) (any, error) {
			var in api.ApprovalAnswer
			if err := decodeBody(r, &in); err != nil {
				return nil, err
			}
			a, err := s.svc.VoteApproval(r.Context(), p, r.PathValue("id"), approve, in.Comment)
			if err != nil {
				return nil, err
			}
			return toApproval(a), nil
		}
	}
	m["approveApproval"], m["denyApproval"] = vote(true), vote(false)
	m["cancelApproval"] = func(r *http.Request, p keyward.Principal) (any, error) {
		a, err := s.svc.CancelApproval(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toApproval(a), nil
	}
	m["executeApproval"] = func(r *http.Request, p keyward.Principal) (any, error) {
		res, err := s.svc.ExecuteApproval(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		out := api.ApprovalExecution{Approval: toApproval(res.Approval)}
		if e := res.Exported; e != nil {
			out.Export = &api.KeyExported{KeyID: e.Object.ID, Format: e.Format, Wrapped: e.Wrapped, Material: e.Material}
		}
		if res.Object != nil {
			k := toKey(res.Object, s.svc.Now())
			out.Key = &k
		}
		if res.Group != nil {
			g := toGroup(res.Group)
			out.Group = &g
		}
		return out, nil
	}
}
