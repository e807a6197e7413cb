package api

import "net/http"

// EncryptRequest encrypts with AES-GCM (IV generated; optional AAD), AES-CBC (PKCS#7; IV
// given or generated) or RSA-OAEP / RSA-OAEP-256.
type EncryptRequest struct {
	Alg       string `json:"alg"`
	Plaintext []byte `json:"plaintext"`
	AAD       []byte `json:"aad,omitempty"`
	IV        []byte `json:"iv,omitempty"`
}

// Validate checks the request's shape.
func (r *EncryptRequest) Validate() error { return required("alg", r.Alg) }

// EncryptResponse is a ciphertext with what decrypting it needs.
type EncryptResponse struct {
	KeyID      string `json:"key_id"`
	Ciphertext []byte `json:"ciphertext"`
	IV         []byte `json:"iv,omitempty"`
	Tag        []byte `json:"tag,omitempty"`
}

// DecryptRequest reverses an encryption.
type DecryptRequest struct {
	Alg        string `json:"alg"`
	Ciphertext []byte `json:"ciphertext"`
	IV         []byte `json:"iv,omitempty"`
	Tag        []byte `json:"tag,omitempty"`
	AAD        []byte `json:"aad,omitempty"`
}

// Validate checks the request's shape.
func (r *DecryptRequest) Validate() error {
	if err := required("alg", r.Alg); err != nil {
		return err
	}
	if len(r.Ciphertext) == 0 {
		return FieldError("ciphertext", "is required")
	}
	return nil
}

// DecryptResponse is a plaintext.
type DecryptResponse struct {
	Plaintext []byte `json:"plaintext"`
}

// SignRequest signs a message (hashed by Keyward) or a digest of the algorithm's hash.
type SignRequest struct {
	Alg     string `json:"alg"` // PS256.., RS256.., ECDSA-SHA256 (DER), ECDSA-SHA256-RAW (r||s), ...
	Message []byte `json:"message,omitempty"`
	Digest  []byte `json:"digest,omitempty"`
}

// Validate checks the request's shape.
func (r *SignRequest) Validate() error {
	if err := required("alg", r.Alg); err != nil {
		return err
	}
	return oneInput(r.Message, r.Digest)
}

func oneInput(message, digest []byte) error {
	if (message == nil) == (digest == nil) {
		return FieldError("message", "give exactly one of message and digest")
	}
	return nil
}

// SignResponse is a signature.
type SignResponse struct {
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// VerifyRequest checks a signature over a message or a digest.
type VerifyRequest struct {
	Alg       string `json:"alg"`
	Message   []byte `json:"message,omitempty"`
	Digest    []byte `json:"digest,omitempty"`
	Signature []byte `json:"signature"`
}

// Validate checks the request's shape.
func (r *VerifyRequest) Validate() error {
	if err := required("alg", r.Alg); err != nil {
		return err
	}
	if len(r.Signature) == 0 {
		return FieldError("signature", "is required")
	}
	return oneInput(r.Message, r.Digest)
}

// VerifyResponse says whether a signature or MAC is valid.
type VerifyResponse struct {
	Valid bool `json:"valid"`
}

// WrapRequest wraps key material with AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256.
type WrapRequest struct {
	Alg string `json:"alg"`
	Key []byte `json:"key"`
}

// Validate checks the request's shape.
func (r *WrapRequest) Validate() error {
	if err := required("alg", r.Alg); err != nil {
		return err
	}
	if len(r.Key) == 0 {
		return FieldError("key", "is required")
	}
	return nil
}

// WrapResponse is wrapped key material.
type WrapResponse struct {
	Wrapped []byte `json:"wrapped"`
}

// UnwrapRequest unwraps key material.
type UnwrapRequest struct {
	Alg     string `json:"alg"`
	Wrapped []byte `json:"wrapped"`
}

// Validate checks the request's shape.
func (r *UnwrapRequest) Validate() error {
	if err := required("alg", r.Alg); err != nil {
		return err
	}
	if len(r.Wrapped) == 0 {
		return FieldError("wrapped", "is required")
	}
	return nil
}

// UnwrapResponse is unwrapped key material.
type UnwrapResponse struct {
	Key []byte `json:"key"`
}

// MACRequest computes an HMAC (HMAC-SHA256, HMAC-SHA384, HMAC-SHA512).
type MACRequest struct {
	Alg  string `json:"alg"`
	Data []byte `json:"data"`
}

// Validate checks the request's shape.
func (r *MACRequest) Validate() error { return required("alg", r.Alg) }

// MACResponse is a MAC.
type MACResponse struct {
	MAC []byte `json:"mac"`
}

// MACVerifyRequest checks a MAC in constant time.
type MACVerifyRequest struct {
	Alg  string `json:"alg"`
	Data []byte `json:"data"`
	MAC  []byte `json:"mac"`
}

// Validate checks the request's shape.
func (r *MACVerifyRequest) Validate() error {
	if err := required("alg", r.Alg); err != nil {
		return err
	}
	if len(r.MAC) == 0 {
		return FieldError("mac", "is required")
	}
	return nil
}

// RandomRequest asks for random bytes.
type RandomRequest struct {
	Count int `json:"count"`
}

// Validate checks the request's shape.
func (r *RandomRequest) Validate() error {
	if r.Count < 1 {
		return FieldError("count", "must be at least 1")
	}
	return nil
}

// RandomResponse holds random bytes.
type RandomResponse struct {
	Bytes []byte `json:"bytes"`
}

func init() {
	op := func(id, path, summary string, req, resp any) Route {
		return Route{ID: id, Method: http.MethodPost, Path: path, Tag: "crypto", Summary: summary, Auth: AuthApp, Request: req, Response: resp, Status: 200}
	}
	Routes = append(Routes,
		op("encrypt", "/v1/keys/{id}/encrypt", "Encrypt with a key (applications only)", &EncryptRequest{}, EncryptResponse{}),
		op("decrypt", "/v1/keys/{id}/decrypt", "Decrypt with a key (applications only)", &DecryptRequest{}, DecryptResponse{}),
		op("sign", "/v1/keys/{id}/sign", "Sign a message or digest (applications only)", &SignRequest{}, SignResponse{}),
		op("verify", "/v1/keys/{id}/verify", "Verify a signature (applications only)", &VerifyRequest{}, VerifyResponse{}),
		op("wrap", "/v1/keys/{id}/wrap", "Wrap key material (applications only)", &WrapRequest{}, WrapResponse{}),
		op("unwrap", "/v1/keys/{id}/unwrap", "Unwrap key material (applications only)", &UnwrapRequest{}, UnwrapResponse{}),
		op("mac", "/v1/keys/{id}/mac", "Compute an HMAC (applications only)", &MACRequest{}, MACResponse{}),
		op("verifyMAC", "/v1/keys/{id}/mac/verify", "Verify an HMAC (applications only)", &MACVerifyRequest{}, VerifyResponse{}),
		op("random", "/v1/random", "Random bytes from the server's CSPRNG (applications only)", &RandomRequest{}, RandomResponse{}),
	)
}
