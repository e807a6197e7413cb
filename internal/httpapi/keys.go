package httpapi

import (
	"net/http"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func opsOf(in []string) []keyward.Operation {
	if in == nil {
		return nil
	}
	out := make([]keyward.Operation, len(in))
	for i, s := range in {
		out[i] = keyward.Operation(s)
	}
	return out
}

func toKey(o *keyward.Object, now time.Time) api.Key {
	k := api.Key{ID: o.ID, Name: o.Name, Description: o.Description, Group: o.GroupID, Type: string(o.Type), Size: o.Size,
		Curve: o.Curve, PublicOnly: o.PublicOnly, Ops: []string{}, State: string(o.EffectiveState(now)),
		ActivationDate: timePtr(o.ActivationDate), DeactivationDate: timePtr(o.DeactivationDate),
		CompromisedAt: timePtr(o.CompromisedAt), DestroyedAt: timePtr(o.DestroyedAt), Tags: o.Tags,
		Origin: o.Origin, KCV: o.KCV, CreatedAt: o.CreatedAt, CreatedBy: o.CreatedBy, UpdatedAt: o.UpdatedAt}
	for _, op := range o.Ops {
		k.Ops = append(k.Ops, string(op))
	}
	if c := o.Cert; c != nil {
		k.Certificate = &api.CertificateInfo{Subject: c.Subject, Issuer: c.Issuer, Serial: c.Serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyType: c.KeyType}
	}
	if c := o.Cloud; c != nil {
		k.Azure = &api.KeyAzure{Vault: c.Vault, KeyName: c.KeyName, Version: c.Version, KID: c.KID, Protection: c.Protection,
			Source: c.Source, SourceKey: c.SourceObjectID, KeyType: c.KeyType, State: c.State, Current: c.Current, Ops: c.Ops,
			NotBefore: timePtr(c.NotBefore), Expires: timePtr(c.Expires), Created: timePtr(c.Created), Updated: timePtr(c.Updated),
			RecoveryLevel: c.RecoveryLevel, DeletedAt: timePtr(c.DeletedAt), ScheduledPurge: timePtr(c.ScheduledPurge)}
	}
	return k
}

func keySpec(in *api.KeySpec) service.ObjectSpec {
	sp := service.ObjectSpec{GroupID: in.Group, Name: in.Name, Description: in.Description, Ops: opsOf(in.Ops), Tags: in.Tags}
	if in.ActivationDate != nil {
		sp.ActivationDate = in.ActivationDate.UTC()
	}
	if in.DeactivationDate != nil {
		sp.DeactivationDate = in.DeactivationDate.UTC()
	}
	return sp
}

func objectFilter(r *http.Request) (keyward.ObjectFilter, error) {
	q := r.URL.Query()
	pg, err := page(r)
	if err != nil {
		return keyward.ObjectFilter{}, err
	}
	f := keyward.ObjectFilter{Type: keyward.ObjectType(q.Get("type")), State: keyward.State(q.Get("state")),
		Tag: q.Get("tag"), NamePrefix: q.Get("name_prefix"), Name: q.Get("name"), Page: pg}
	if g := q.Get("group"); g != "" {
		f.GroupIDs = []string{g}
	}
	if f.Type != "" && !contains(keyward.ObjectTypes, f.Type) {
		return f, keyward.Invalid("type", "must be one of %v", keyward.ObjectTypes)
	}
	if f.State != "" && !contains(keyward.States, f.State) {
		return f, keyward.Invalid("state", "must be one of %v", keyward.States)
	}
	return f, nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (s *Server) keyHandlers(m map[string]handler) {
	now := s.svc.Now
	m["listKeys"] = func(r *http.Request, p keyward.Principal) (any, error) {
		f, err := objectFilter(r)
		if err != nil {
			return nil, err
		}
		os, err := s.svc.ListObjects(r.Context(), p, f)
		if err != nil {
			return nil, err
		}
		out := api.KeyList{Items: []api.Key{}}
		t := now()
		for i := range os {
			out.Items = append(out.Items, toKey(&os[i], t))
		}
		if len(os) == f.Page.N() {
			out.Next = os[len(os)-1].Name
		}
		return out, nil
	}
	m["createKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.KeyCreate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		o, err := s.svc.GenerateObject(r.Context(), p, keySpec(&in.KeySpec), keyward.ObjectType(in.Type), in.Size, in.Curve)
		if err != nil {
			return nil, err
		}
		return toKey(o, now()), nil
	}
	m["importKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.KeyImport
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		o, err := s.svc.ImportObject(r.Context(), p, keySpec(&in.KeySpec), service.ImportRequest{Type: keyward.ObjectType(in.Type),
			Format: in.Format, Material: in.Material, KEK: in.KEK, WrapAlgorithm: in.WrapAlgorithm})
		if err != nil {
			return nil, err
		}
		return toKey(o, now()), nil
	}
	m["getKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		o, err := s.svc.GetObject(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toKey(o, now()), nil
	}
	m["updateKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.KeyUpdate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		patch := service.ObjectPatch{Name: in.Name, Description: in.Description, Tags: in.Tags, ActivationDate: in.ActivationDate, DeactivationDate: in.DeactivationDate}
		if in.Ops != nil {
			ops := opsOf(*in.Ops)
			patch.Ops = &ops
		}
		o, err := s.svc.UpdateObject(r.Context(), p, r.PathValue("id"), patch)
		if err != nil {
			return nil, err
		}
		return toKey(o, now()), nil
	}
	m["exportKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.KeyExport
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		e, err := s.svc.ExportObject(r.Context(), p, r.PathValue("id"), service.ExportRequest{Format: in.Format, KEK: in.KEK, WrapAlgorithm: in.WrapAlgorithm})
		if err != nil {
			return nil, err
		}
		return api.KeyExported{KeyID: e.Object.ID, Format: e.Format, Wrapped: e.Wrapped, Material: e.Material}, nil
	}
	m["copyKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.KeyCopy
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		o, err := s.svc.CopyObject(r.Context(), p, r.PathValue("id"), service.CopyRequest{GroupID: in.Group, Name: in.Name})
		if err != nil {
			return nil, err
		}
		return toKey(o, now()), nil
	}
	m["rotateKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.KeyRotate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		res, err := s.svc.RotateObjectAndCopies(r.Context(), p, r.PathValue("id"), in.DeactivateOld, in.AzureCopies)
		if err != nil {
			return nil, err
		}
		t := now()
		out := api.KeyRotated{New: toKey(res.New, t), Old: toKey(res.Old, t)}
		for i := range res.Jobs {
			out.Jobs = append(out.Jobs, toJob(&res.Jobs[i]))
		}
		return out, nil
	}
	for id, t := range map[string]service.Transition{"activateKey": service.Activate, "deactivateKey": service.Deactivate, "compromiseKey": service.Compromise} {
		m[id] = func(r *http.Request, p keyward.Principal) (any, error) {
			o, err := s.svc.ChangeState(r.Context(), p, r.PathValue("id"), t)
			if err != nil {
				return nil, err
			}
			return toKey(o, now()), nil
		}
	}
	m["destroyKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		o, err := s.svc.DestroyObject(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toKey(o, now()), nil
	}
	m["keyLinks"] = func(r *http.Request, p keyward.Principal) (any, error) {
		o, ls, err := s.svc.ObjectLinks(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		out := api.KeyLinks{Items: []api.KeyLink{}}
		for _, l := range ls {
			out.Items = append(out.Items, toLink(o.ID, l))
		}
		return out, nil
	}
}

// toLink shows a link from one side: a copy is copied-to on the source and copied-from on
// the copy; a rotation is replaced-by on the old key and replaces on the new one.
func toLink(self string, l keyward.Link) api.KeyLink {
	out := api.KeyLink{ID: l.ID, Kind: string(l.Kind), TargetGroup: l.TargetGroup, CreatedAt: l.CreatedAt, CreatedBy: l.CreatedBy}
	outgoing := l.SourceID == self
	switch {
	case l.Kind == keyward.LinkCopy && outgoing:
		out.Direction, out.Other = "copied-to", l.TargetID
	case l.Kind == keyward.LinkCopy:
		out.Direction, out.Other = "copied-from", l.SourceID
	case outgoing:
		out.Direction, out.Other = "replaced-by", l.TargetID
	default:
		out.Direction, out.Other = "replaces", l.SourceID
	}
	return out
}
