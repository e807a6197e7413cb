package httpapi

import (
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
)

// The hot path: each handler decodes, makes one service call and renders.
func (s *Server) cryptoHandlers(m map[string]handler) {
	m["encrypt"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.EncryptRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		res, err := s.svc.Encrypt(r.Context(), p, r.PathValue("id"), in.Alg, in.Plaintext, in.AAD, in.IV)
		if err != nil {
			return nil, err
		}
		return api.EncryptResponse{KeyID: res.KeyID, Ciphertext: res.Ciphertext, IV: res.IV, Tag: res.Tag}, nil
	}
	m["decrypt"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.DecryptRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		pt, err := s.svc.Decrypt(r.Context(), p, r.PathValue("id"), in.Alg, in.Ciphertext, in.IV, in.Tag, in.AAD)
		if err != nil {
			return nil, err
		}
		return api.DecryptResponse{Plaintext: pt}, nil
	}
	m["sign"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.SignRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		data, digest := in.Message, false
		if in.Digest != nil {
			data, digest = in.Digest, true
		}
		sig, err := s.svc.Sign(r.Context(), p, r.PathValue("id"), in.Alg, data, digest)
		if err != nil {
			return nil, err
		}
		return api.SignResponse{KeyID: r.PathValue("id"), Signature: sig}, nil
	}
	m["verify"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.VerifyRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		data, digest := in.Message, false
		if in.Digest != nil {
			data, digest = in.Digest, true
		}
		ok, err := s.svc.Verify(r.Context(), p, r.PathValue("id"), in.Alg, data, in.Signature, digest)
		if err != nil {
			return nil, err
		}
		return api.VerifyResponse{Valid: ok}, nil
	}
	m["wrap"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.WrapRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		w, err := s.svc.Wrap(r.Context(), p, r.PathValue("id"), in.Alg, in.Key)
		if err != nil {
			return nil, err
		}
		return api.WrapResponse{Wrapped: w}, nil
	}
	m["unwrap"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.UnwrapRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		k, err := s.svc.Unwrap(r.Context(), p, r.PathValue("id"), in.Alg, in.Wrapped)
		if err != nil {
			return nil, err
		}
		return api.UnwrapResponse{Key: k}, nil
	}
	m["mac"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.MACRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		mac, err := s.svc.MAC(r.Context(), p, r.PathValue("id"), in.Alg, in.Data)
		if err != nil {
			return nil, err
		}
		return api.MACResponse{MAC: mac}, nil
	}
	m["verifyMAC"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.MACVerifyRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		ok, err := s.svc.VerifyMAC(r.Context(), p, r.PathValue("id"), in.Alg, in.Data, in.MAC)
		if err != nil {
			return nil, err
		}
		return api.VerifyResponse{Valid: ok}, nil
	}
	m["random"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.RandomRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		b, err := s.svc.Random(r.Context(), p, in.Count)
		if err != nil {
			return nil, err
		}
		return api.RandomResponse{Bytes: b}, nil
	}
}
