package httpapi

import (
	"context"
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
)

// azureLifecycleHandlers serve the lifecycle and rotation of keys in Azure. Each change
// Azure makes answers 202 with the job that makes it.
func (s *Server) azureLifecycleHandlers(m map[string]handler) {
	jobOf := func(j *keyward.Job, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return toJob(j), nil
	}
	plain := func(call func(ctx context.Context, p keyward.Principal, ref string) (*keyward.Job, error)) handler {
		return func(r *http.Request, p keyward.Principal) (any, error) {
			return jobOf(call(r.Context(), p, r.PathValue("id")))
		}
	}
	confirmed := func(call func(ctx context.Context, p keyward.Principal, ref string, confirm bool) (*keyward.Job, error)) handler {
		return func(r *http.Request, p keyward.Principal) (any, error) {
			var in api.AzureKeyConfirm
			if err := decodeOptionalBody(r, &in); err != nil {
				return nil, err
			}
			return jobOf(call(r.Context(), p, r.PathValue("id"), in.Confirm))
		}
	}
	m["setAzureKeyTags"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureKeyTags
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return jobOf(s.svc.TagAzureKey(r.Context(), p, r.PathValue("id"), in.Tags))
	}
	m["deactivateAzureKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return jobOf(s.svc.SetAzureKeyEnabled(r.Context(), p, r.PathValue("id"), false))
	}
	m["activateAzureKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return jobOf(s.svc.SetAzureKeyEnabled(r.Context(), p, r.PathValue("id"), true))
	}
	m["deleteAzureKey"] = confirmed(s.svc.DeleteAzureKey)
	m["recoverAzureKey"] = plain(s.svc.RecoverAzureKey)
	m["purgeAzureKey"] = confirmed(s.svc.PurgeAzureKey)
	m["restoreAzureKey"] = plain(s.svc.RestoreAzureKey)
	m["reimportAzureKey"] = plain(s.svc.ReimportAzureKey)
	m["rotateAzureKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureKeyRotate
		if err := decodeOptionalBody(r, &in); err != nil {
			return nil, err
		}
		return jobOf(s.svc.RotateAzureKey(r.Context(), p, r.PathValue("id"), in.From))
	}
	m["removeAzureKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureKeyConfirm
		if err := decodeOptionalBody(r, &in); err != nil {
			return nil, err
		}
		res, err := s.svc.RemoveAzureKey(r.Context(), p, r.PathValue("id"), in.Confirm)
		if err != nil {
			return nil, err
		}
		t := s.svc.Now()
		out := api.AzureKeyRemoved{Removed: []api.Key{}, EscrowRemoved: res.EscrowRemoved}
		for i := range res.Removed {
			out.Removed = append(out.Removed, toKey(&res.Removed[i], t))
		}
		return out, nil
	}
	m["listAzureCopies"] = func(r *http.Request, p keyward.Principal) (any, error) {
		_, cs, err := s.svc.AzureCopies(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		t := s.svc.Now()
		out := api.AzureCopyList{Items: []api.Key{}}
		for i := range cs {
			out.Items = append(out.Items, toKey(&cs[i], t))
		}
		return out, nil
	}
}
