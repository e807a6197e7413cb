package httpapi

import (
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func toApp(v *service.AppView) api.App {
	a := v.App
	groups := v.Groups
	if groups == nil {
		groups = []string{}
	}
	return api.App{ID: a.ID, Name: a.Name, Description: a.Description, Groups: groups, HasAPIKey: len(a.APIKeyHash) > 0,
		CertFingerprints: a.CertFingerprints, CreatedAt: a.CreatedAt, CreatedBy: a.CreatedBy, Disabled: a.Disabled}
}

func (s *Server) appHandlers(m map[string]handler) {
	m["listApps"] = func(r *http.Request, p keyward.Principal) (any, error) {
		pg, err := page(r)
		if err != nil {
			return nil, err
		}
		as, err := s.svc.ListApps(r.Context(), p, pg)
		if err != nil {
			return nil, err
		}
		out := api.AppList{Items: []api.App{}}
		for i := range as {
			out.Items = append(out.Items, toApp(&as[i]))
		}
		if len(as) == pg.N() {
			out.Next = as[len(as)-1].App.Name
		}
		return out, nil
	}
	m["createApp"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AppCreate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		v, key, err := s.svc.CreateApp(r.Context(), p, service.NewApp{Name: in.Name, Description: in.Description,
			Groups: in.Groups, Certificates: in.Certificates, NoAPIKey: in.NoAPIKey})
		if err != nil {
			return nil, err
		}
		return api.AppCreated{App: toApp(v), APIKey: key}, nil
	}
	m["getApp"] = func(r *http.Request, p keyward.Principal) (any, error) {
		v, err := s.svc.GetApp(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toApp(v), nil
	}
	m["updateApp"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AppUpdate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		v, err := s.svc.UpdateApp(r.Context(), p, r.PathValue("id"), service.AppPatch{Name: in.Name, Description: in.Description,
			Groups: in.Groups, Certificates: in.Certificates, Disabled: in.Disabled})
		if err != nil {
			return nil, err
		}
		return toApp(v), nil
	}
	m["deleteApp"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.DeleteApp(r.Context(), p, r.PathValue("id"))
	}
	m["regenerateAPIKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		key, err := s.svc.RegenerateAPIKey(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return api.APIKey{APIKey: key}, nil
	}
}
