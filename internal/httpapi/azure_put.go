package httpapi

import (
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

func azureKeyInput(group, name string, o *api.AzureKeyOptions) service.AzureKeyInput {
	in := service.AzureKeyInput{GroupID: group, AzureName: name, Protection: o.Protection, Ops: o.Ops, Tags: o.Tags}
	if o.NotBefore != nil {
		in.NotBefore = o.NotBefore.UTC()
	}
	if o.Expires != nil {
		in.Expires = o.Expires.UTC()
	}
	return in
}

func (s *Server) azurePutHandlers(m map[string]handler) {
	m["generateAzureKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureKeyGenerate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		j, err := s.svc.GenerateInAzure(r.Context(), p, service.AzureGenerate{AzureKeyInput: azureKeyInput(r.PathValue("id"), in.Name, &in.AzureKeyOptions),
			Type: keyward.ObjectType(in.Type), Size: in.Size, Curve: in.Curve})
		if err != nil {
			return nil, err
		}
		return toJob(j), nil
	}
	m["importAzureKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureKeyImport
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		defer clear(in.Material)
		j, err := s.svc.ImportIntoAzure(r.Context(), p, service.AzureImport{AzureKeyInput: azureKeyInput(r.PathValue("id"), in.Name, &in.AzureKeyOptions),
			ImportRequest: service.ImportRequest{Type: keyward.ObjectType(in.Type), Format: in.Format, Material: in.Material, KEK: in.KEK, WrapAlgorithm: in.WrapAlgorithm}})
		if err != nil {
			return nil, err
		}
		return toJob(j), nil
	}
	m["copyAzureKey"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AzureKeyCopy
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		j, err := s.svc.CopyToAzure(r.Context(), p, service.AzureCopy{AzureKeyInput: azureKeyInput(r.PathValue("id"), in.AzureName, &in.AzureKeyOptions),
			Source: in.Source, Name: in.Name})
		if err != nil {
			return nil, err
		}
		return toJob(j), nil
	}
}
