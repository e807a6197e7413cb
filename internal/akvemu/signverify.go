package akvemu

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"math/big"
	"net/http"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Sign and verify (akv-api.md §1.4). Key Vault signs a digest the caller computed; it
// never hashes (except HMAC, which takes the data). ES* signatures are raw r‖s.

// signParams is KeySignParameters; verify adds digest.
type signParams struct {
	Alg    string `json:"alg"`
	Value  string `json:"value"`
	Digest string `json:"digest"`
}

type signResult struct {
	Alg   string `json:"alg,omitempty"`
	Kid   string `json:"kid"`
	Value string `json:"value"`
}

// sigAlgs describes each signature algorithm: the family of key it needs, the hash whose
// size the digest must have, and for ES* the curve.
var sigAlgs = map[string]struct {
	family string
	hash   crypto.Hash
	crv    string
	pss    bool
}{
	"RS256": {"RSA", crypto.SHA256, "", false}, "RS384": {"RSA", crypto.SHA384, "", false},
	"RS512": {"RSA", crypto.SHA512, "", false}, "RSNULL": {"RSA", 0, "", false},
	"PS256": {"RSA", crypto.SHA256, "", true}, "PS384": {"RSA", crypto.SHA384, "", true},
	"PS512": {"RSA", crypto.SHA512, "", true},
	"ES256": {"EC", crypto.SHA256, "P-256", false}, "ES384": {"EC", crypto.SHA384, "P-384", false},
	"ES512": {"EC", crypto.SHA512, "P-521", false}, "ES256K": {"EC", crypto.SHA256, "P-256K", false},
	"HS256": {"oct", crypto.SHA256, "", false}, "HS384": {"oct", crypto.SHA384, "", false},
	"HS512": {"oct", crypto.SHA512, "", false},
}

// checkSigAlg validates alg against the key and the digest length.
func checkSigAlg(rc *reqCtx, kv *keyVersion, alg string, digest []byte) *kvErr {
	a, ok := sigAlgs[alg]
	if !ok {
		return badParam("Invalid signature algorithm '%s'.", alg)
	}
	if a.family != kv.Material.family() || (a.crv != "" && a.crv != kv.Material.curveName()) {
		return badParam("Algorithm %s is not supported for key type %s.", alg, describeKey(kv))
	}
	if a.family == "oct" {
		if !rc.api.atLeast(7, 6) {
			return badParam("Algorithm %s requires api-version 7.6 or later.", alg)
		}
		return nil
	}
	if a.hash != 0 && len(digest) != a.hash.Size() {
		return badParam("Invalid digest length %d for algorithm %s: expected %d bytes.", len(digest), alg, a.hash.Size())
	}
	return nil
}

func describeKey(kv *keyVersion) string {
	if c := kv.Material.curveName(); c != "" {
		return kv.Kty + " " + c
	}
	return kv.Kty
}

// signOp serves POST .../sign.
func (e *Emulator) signOp(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var p signParams
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	value, err := decodeB64(p.Value)
	if err != nil || p.Alg == "" {
		return 0, nil, badParam("The parameters 'alg' and 'value' (base64url) are required.")
	}
	name, kv, kerr := e.usableVersion(rc, rt)
	if kerr != nil {
		return 0, nil, kerr
	}
	if kerr := checkSigAlg(rc, &kv, p.Alg, value); kerr != nil {
		return 0, nil, kerr
	}
	sig, err := sign(&kv.Material, p.Alg, value)
	if err != nil {
		return 0, nil, internalError(err)
	}
	res := signResult{Kid: rc.kid(name, kv.ID), Value: b64url(sig)}
	if rc.v.kind == kindHSM {
		res.Alg = p.Alg
	}
	return http.StatusOK, res, nil
}

// verifyOp serves POST .../verify; a wrong signature is {"value": false}, not an error.
func (e *Emulator) verifyOp(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var p signParams
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	digest, err1 := decodeB64(p.Digest)
	sig, err2 := decodeB64(p.Value)
	if err1 != nil || err2 != nil || p.Alg == "" {
		return 0, nil, badParam("The parameters 'alg', 'digest' and 'value' (base64url) are required.")
	}
	_, kv, kerr := e.usableVersion(rc, rt)
	if kerr != nil {
		return 0, nil, kerr
	}
	if kerr := checkSigAlg(rc, &kv, p.Alg, digest); kerr != nil {
		return 0, nil, kerr
	}
	return http.StatusOK, map[string]bool{"value": verify(&kv.Material, p.Alg, digest, sig)}, nil
}

// sign produces a signature over a digest (or, for HMAC, over the data).
func sign(m *keyMaterial, alg string, digest []byte) ([]byte, error) {
	a := sigAlgs[alg]
	switch {
	case m.rsa != nil && a.pss:
		return rsa.SignPSS(rand.Reader, m.rsa, a.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case m.rsa != nil:
		return rsa.SignPKCS1v15(nil, m.rsa, a.hash, digest)
	case m.ec != nil:
		r, s, err := ecdsa.Sign(rand.Reader, m.ec, digest)
		if err != nil {
			return nil, err
		}
		size := (m.ec.Curve.Params().BitSize + 7) / 8
		return append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...), nil
	case m.k1 != nil:
		sig := k1ecdsa.Sign(m.k1, digest)
		r, s := sig.R(), sig.S()
		rb, sb := r.Bytes(), s.Bytes()
		return append(rb[:], sb[:]...), nil
	default:
		mac := hmac.New(hmacHash(alg), m.oct)
		mac.Write(digest)
		return mac.Sum(nil), nil
	}
}

// verify checks a signature; any malformation is simply a failed verification.
func verify(m *keyMaterial, alg string, digest, sig []byte) bool {
	a := sigAlgs[alg]
	switch {
	case m.rsa != nil && a.pss:
		return rsa.VerifyPSS(&m.rsa.PublicKey, a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	case m.rsa != nil:
		return rsa.VerifyPKCS1v15(&m.rsa.PublicKey, a.hash, digest, sig) == nil
	case m.ec != nil:
		size := (m.ec.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(&m.ec.PublicKey, digest, r, s)
	case m.k1 != nil:
		if len(sig) != 64 {
			return false
		}
		var r, s secp256k1.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
			return false
		}
		return k1ecdsa.NewSignature(&r, &s).Verify(digest, m.k1.PubKey())
	default:
		mac := hmac.New(hmacHash(alg), m.oct)
		mac.Write(digest)
		return subtle.ConstantTimeCompare(mac.Sum(nil), sig) == 1
	}
}

func hmacHash(alg string) func() hash.Hash {
	switch alg {
	case "HS384":
		return sha512.New384
	case "HS512":
		return sha512.New
	}
	return sha256.New
}
