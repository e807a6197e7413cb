package httpapi

import (
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func toGroup(v *service.GroupView) api.Group {
	g := v.Group
	return api.Group{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt, CreatedBy: g.CreatedBy,
		MyRole: string(v.MyRole), Azure: groupAzure(v.Azure), Policy: toPolicy(&g.Policy)}
}

func toPolicy(p *keyward.GroupPolicy) *api.GroupPolicy {
	if p.IsZero() {
		return nil
	}
	c, m := &p.Crypto, &p.Metadata
	return &api.GroupPolicy{
		Crypto: api.CryptoPolicy{Types: strs(c.Types), AESSizes: c.AESSizes, RSASizes: c.RSASizes, Curves: c.Curves,
			Operations: strs(c.Operations)},
		Metadata: api.MetadataPolicy{RequiredTags: m.RequiredTags, AllowedTags: m.AllowedTags, RequireActivation: m.RequireActivation,
			RequireDeactivation: m.RequireDeactivation, MaxLifetimeDays: int(m.MaxLifetime), Operations: strs(m.Operations),
			ForbidExport: m.ForbidExportableKeys},
		Quorum: api.QuorumPolicy{Required: p.Quorum.Required, Approvers: p.Quorum.Approvers, Actions: strs(p.Quorum.Actions)},
	}
}

func fromPolicy(p *api.GroupPolicy) *keyward.GroupPolicy {
	if p == nil {
		return nil
	}
	c, m := &p.Crypto, &p.Metadata
	return &keyward.GroupPolicy{
		Crypto: keyward.CryptoPolicy{Types: strsOf[keyward.ObjectType](c.Types), AESSizes: c.AESSizes, RSASizes: c.RSASizes,
			Curves: c.Curves, Operations: strsOf[keyward.Operation](c.Operations)},
		Metadata: keyward.MetadataPolicy{RequiredTags: m.RequiredTags, AllowedTags: m.AllowedTags, RequireActivation: m.RequireActivation,
			RequireDeactivation: m.RequireDeactivation, MaxLifetime: keyward.Days(m.MaxLifetimeDays),
			Operations: strsOf[keyward.Operation](m.Operations), ForbidExportableKeys: m.ForbidExport},
		Quorum: keyward.QuorumPolicy{Required: p.Quorum.Required, Approvers: p.Quorum.Approvers, Actions: strsOf[keyward.Action](p.Quorum.Actions)},
	}
}

func groupPatch(in *api.GroupUpdate) service.GroupPatch {
	return service.GroupPatch{Name: in.Name, Description: in.Description, Policy: fromPolicy(in.Policy)}
}

// strs and strsOf convert between lists of string types.
func strs[T ~string](in []T) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

func strsOf[T ~string](in []string) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}

func toMember(m *keyward.GroupMember) api.GroupMember {
	return api.GroupMember{Kind: string(m.PrincipalKind), PrincipalID: m.PrincipalID, Role: string(m.Role), CreatedAt: m.CreatedAt}
}

func memberKind(r *http.Request) (keyward.PrincipalKind, error) {
	switch k := keyward.PrincipalKind(r.PathValue("kind")); k {
	case keyward.KindUser, keyward.KindApp:
		return k, nil
	}
	return "", keyward.Invalid("kind", "must be user or app")
}

func (s *Server) groupHandlers(m map[string]handler) {
	m["listGroups"] = func(r *http.Request, p keyward.Principal) (any, error) {
		pg, err := page(r)
		if err != nil {
			return nil, err
		}
		gs, err := s.svc.ListGroups(r.Context(), p, pg)
		if err != nil {
			return nil, err
		}
		out := api.GroupList{Items: []api.Group{}}
		for i := range gs {
			out.Items = append(out.Items, toGroup(&gs[i]))
		}
		if len(gs) == pg.N() {
			out.Next = gs[len(gs)-1].Group.Name
		}
		return out, nil
	}
	m["createGroup"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.GroupCreate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		g, err := s.svc.CreateGroup(r.Context(), p, in.Name, in.Description)
		if err != nil {
			return nil, err
		}
		return toGroup(g), nil
	}
	m["getGroup"] = func(r *http.Request, p keyward.Principal) (any, error) {
		g, err := s.svc.GetGroup(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toGroup(g), nil
	}
	m["updateGroup"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.GroupUpdate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		g, err := s.svc.UpdateGroup(r.Context(), p, r.PathValue("id"), groupPatch(&in))
		if err != nil {
			return nil, err
		}
		return toGroup(g), nil
	}
	m["deleteGroup"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.DeleteGroup(r.Context(), p, r.PathValue("id"))
	}
	m["listGroupMembers"] = func(r *http.Request, p keyward.Principal) (any, error) {
		ms, err := s.svc.ListGroupMembers(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		out := api.GroupMemberList{Items: []api.GroupMember{}}
		for i := range ms {
			out.Items = append(out.Items, toMember(&ms[i]))
		}
		return out, nil
	}
	m["setGroupMember"] = func(r *http.Request, p keyward.Principal) (any, error) {
		kind, err := memberKind(r)
		if err != nil {
			return nil, err
		}
		var in api.GroupMemberSet
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		gm, err := s.svc.SetGroupMember(r.Context(), p, r.PathValue("id"), kind, r.PathValue("principal"), keyward.GroupRole(in.Role))
		if err != nil {
			return nil, err
		}
		return toMember(gm), nil
	}
	m["removeGroupMember"] = func(r *http.Request, p keyward.Principal) (any, error) {
		kind, err := memberKind(r)
		if err != nil {
			return nil, err
		}
		return nil, s.svc.RemoveGroupMember(r.Context(), p, r.PathValue("id"), kind, r.PathValue("principal"))
	}
}
