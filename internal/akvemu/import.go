package akvemu

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"math/big"
	"net/http"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// importKey serves PUT /keys/{name}: a plain JWK (software, or HSM with "Hsm": true) or a
// BYOK transfer blob in key.key_hsm, which only Premium vaults and Managed HSM accept.
func (e *Emulator) importKey(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var p keyImportParams
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	if p.Key == nil {
		return 0, nil, badParam("The parameter 'key' is required.")
	}
	if p.Key.Kty == "" {
		return 0, nil, badParam("The parameter 'key.kty' is required.")
	}
	byok := p.Key.KeyHSM != ""
	kty, kerr := tierKty(rc.v, p.Key.Kty, byok || (p.Hsm != nil && *p.Hsm))
	if kerr != nil {
		return 0, nil, kerr
	}
	var mat keyMaterial
	if byok {
		mat, kerr = e.unwrapTransferBlob(rc, p.Key, kty)
	} else {
		mat, kerr = jwkMaterial(p.Key, strings.TrimSuffix(kty, "-HSM"))
	}
	if kerr != nil {
		return 0, nil, kerr
	}
	spec, kerr := specOfMaterial(rc.v, kty, mat)
	if kerr != nil {
		return 0, nil, kerr
	}
	ops, rp, kerr := versionRules(rc, spec, p.Key.KeyOps, p.Attributes, p.ReleasePolicy)
	if kerr != nil {
		return 0, nil, kerr
	}
	return e.storeVersion(rc, rt.name, newVersion(rc, spec, mat, ops, p.Attributes, p.Tags, rp))
}

// specOfMaterial checks imported material against the tier's sizes and curves.
func specOfMaterial(v *vault, kty string, mat keyMaterial) (keySpec, *kvErr) {
	s := keySpec{kty: kty, family: mat.family(), size: mat.bits(), crv: mat.curveName()}
	if s.family != strings.TrimSuffix(kty, "-HSM") {
		return s, badParam("The key material does not match the key type '%s'.", kty)
	}
	switch s.family {
	case "RSA":
		if s.size != 2048 && s.size != 3072 && s.size != 4096 {
			return s, badParam("The RSA key size %d is not supported. Supported sizes are 2048, 3072 and 4096.", s.size)
		}
	case "oct":
		if v.kind != kindHSM {
			return s, badParam("Symmetric keys are supported on Managed HSM only.")
		}
		if s.size != 128 && s.size != 192 && s.size != 256 {
			return s, badParam("The AES key size %d is not supported. Supported sizes are 128, 192 and 256.", s.size)
		}
	}
	return s, nil
}

// jwkMaterial builds private material from the members of an imported JWK.
func jwkMaterial(j *jwkIn, family string) (keyMaterial, *kvErr) {
	field := func(name, val string) ([]byte, *kvErr) {
		if val == "" {
			return nil, badParam("The JSON Web Key is missing the required member '%s'.", name)
		}
		b, err := decodeB64(val)
		if err != nil || len(b) == 0 {
			return nil, badParam("The JSON Web Key member '%s' is not valid base64url.", name)
		}
		return b, nil
	}
	var mat keyMaterial
	var err error
	switch family {
	case "RSA":
		mat, err = rsaFromJWK(j, field)
	case "EC":
		mat, err = ecFromJWK(j, field)
	default:
		k, kerr := field("k", j.K)
		if kerr != nil {
			return mat, kerr
		}
		mat = keyMaterial{oct: k}
	}
	var kerr *kvErr
	if errors.As(err, &kerr) {
		return mat, kerr
	}
	if err != nil {
		return mat, badParam("The JSON Web Key is not a valid %s private key: %v.", family, err)
	}
	return mat, nil
}

type jwkField func(name, val string) ([]byte, *kvErr)

func rsaFromJWK(j *jwkIn, field jwkField) (keyMaterial, error) {
	vals := map[string]*big.Int{}
	for _, m := range []struct{ name, val string }{{"n", j.N}, {"e", j.E}, {"d", j.D}, {"p", j.P}, {"q", j.Q}} {
		b, kerr := field(m.name, m.val)
		if kerr != nil {
			return keyMaterial{}, kerr
		}
		vals[m.name] = new(big.Int).SetBytes(b)
	}
	if !vals["e"].IsInt64() || vals["e"].Int64() > 1<<31-1 {
		return keyMaterial{}, errors.New("public exponent out of range")
	}
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: vals["n"], E: int(vals["e"].Int64())},
		D:         vals["d"],
		Primes:    []*big.Int{vals["p"], vals["q"]},
	}
	if err := k.Validate(); err != nil {
		return keyMaterial{}, err
	}
	k.Precompute()
	return keyMaterial{rsa: k}, nil
}

func ecFromJWK(j *jwkIn, field jwkField) (keyMaterial, error) {
	d, kerr := field("d", j.D)
	if kerr != nil {
		return keyMaterial{}, kerr
	}
	x, kerr := field("x", j.X)
	if kerr != nil {
		return keyMaterial{}, kerr
	}
	y, kerr := field("y", j.Y)
	if kerr != nil {
		return keyMaterial{}, kerr
	}
	var mat keyMaterial
	switch crv := j.Crv; {
	case crv == "P-256K":
		if len(d) != 32 {
			return mat, errors.New("d must be 32 bytes")
		}
		var s secp256k1.ModNScalar
		if overflow := s.SetByteSlice(d); overflow || s.IsZero() {
			return mat, errors.New("d is out of range")
		}
		mat.k1 = secp256k1.NewPrivateKey(&s)
	case curves[crv] != nil:
		k, err := ecdsa.ParseRawPrivateKey(curves[crv], d)
		if err != nil {
			return mat, err
		}
		mat.ec = k
	default:
		return mat, badParam("Invalid curve name '%s'. Valid curves are: P-256, P-384, P-521, P-256K.", crv)
	}
	var pub jwkOut
	mat.publicJWK(&pub)
	if !sameCoord(pub.X, x) || !sameCoord(pub.Y, y) {
		return mat, errors.New("x and y do not match d")
	}
	return mat, nil
}

// sameCoord compares a rendered coordinate with one given by the client, ignoring
// leading zero bytes the client may have dropped.
func sameCoord(rendered string, given []byte) bool {
	r, err := decodeB64(rendered)
	if err != nil {
		return false
	}
	return new(big.Int).SetBytes(r).Cmp(new(big.Int).SetBytes(given)) == 0
}

// internalError wraps an unexpected failure as a 500.
func internalError(err error) *kvErr {
	return &kvErr{status: http.StatusInternalServerError, code: "InternalServerError", msg: err.Error()}
}
