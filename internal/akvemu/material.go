package akvemu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// keyMaterial is the private material of one key version. Exactly one field is set. It is
// never rendered into a response; only its public part is.
type keyMaterial struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey // P-256, P-384, P-521
	k1  *secp256k1.PrivateKey
	oct []byte
}

// curves maps Key Vault curve names to the standard library's curves; P-256K is handled
// by secp256k1 separately.
var curves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

// curveName returns the Key Vault name of the material's curve, or "".
func (m *keyMaterial) curveName() string {
	switch {
	case m.k1 != nil:
		return "P-256K"
	case m.ec != nil:
		return m.ec.Curve.Params().Name
	}
	return ""
}

// family is "RSA", "EC" or "oct".
func (m *keyMaterial) family() string {
	switch {
	case m.rsa != nil:
		return "RSA"
	case m.ec != nil, m.k1 != nil:
		return "EC"
	}
	return "oct"
}

// bits is the RSA modulus size or AES key size in bits; 0 for EC.
func (m *keyMaterial) bits() int {
	switch {
	case m.rsa != nil:
		return m.rsa.N.BitLen()
	case m.oct != nil:
		return len(m.oct) * 8
	}
	return 0
}

// generateMaterial makes new material of a family with a size (RSA, oct) or curve (EC).
func generateMaterial(family string, size int, crv string) (keyMaterial, error) {
	switch family {
	case "RSA":
		k, err := rsa.GenerateKey(rand.Reader, size)
		if err != nil {
			return keyMaterial{}, fmt.Errorf("generate rsa key: %w", err)
		}
		return keyMaterial{rsa: k}, nil
	case "EC":
		if crv == "P-256K" {
			k, err := secp256k1.GeneratePrivateKey()
			if err != nil {
				return keyMaterial{}, fmt.Errorf("generate secp256k1 key: %w", err)
			}
			return keyMaterial{k1: k}, nil
		}
		k, err := ecdsa.GenerateKey(curves[crv], rand.Reader)
		if err != nil {
			return keyMaterial{}, fmt.Errorf("generate ec key: %w", err)
		}
		return keyMaterial{ec: k}, nil
	default:
		b := make([]byte, size/8)
		_, _ = rand.Read(b)
		return keyMaterial{oct: b}, nil
	}
}

// publicJWK fills the public members of a JWK: n and e, or crv, x and y. Symmetric keys
// have no public part.
func (m *keyMaterial) publicJWK(j *jwkOut) {
	switch {
	case m.rsa != nil:
		j.N = b64url(m.rsa.N.Bytes())
		j.E = b64url(big.NewInt(int64(m.rsa.E)).Bytes())
	case m.ec != nil:
		raw, _ := m.ec.PublicKey.Bytes() // 0x04 | X | Y, both padded to the field size
		size := (len(raw) - 1) / 2
		j.Crv = m.ec.Curve.Params().Name
		j.X = b64url(raw[1 : 1+size])
		j.Y = b64url(raw[1+size:])
	case m.k1 != nil:
		raw := m.k1.PubKey().SerializeUncompressed()
		j.Crv = "P-256K"
		j.X = b64url(raw[1:33])
		j.Y = b64url(raw[33:65])
	}
}

// materialJSON is how material is written to the state file: PKCS#8 for RSA and the NIST
// curves, the raw scalar for secp256k1 (which PKCS#8 in the standard library rejects), raw
// bytes for AES.
type materialJSON struct {
	Kind string `json:"kind"`
	DER  []byte `json:"der,omitempty"`
	Raw  []byte `json:"raw,omitempty"`
}

// MarshalJSON encodes the material for the state file, which is written with mode 0600.
func (m keyMaterial) MarshalJSON() ([]byte, error) {
	var out materialJSON
	switch {
	case m.rsa != nil, m.ec != nil:
		var key any = m.rsa
		out.Kind = "rsa"
		if m.ec != nil {
			key, out.Kind = m.ec, "ec"
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		out.DER = der
	case m.k1 != nil:
		out.Kind, out.Raw = "secp256k1", m.k1.Serialize()
	default:
		out.Kind, out.Raw = "oct", m.oct
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes material written by MarshalJSON.
func (m *keyMaterial) UnmarshalJSON(b []byte) error {
	var in materialJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	switch in.Kind {
	case "rsa", "ec":
		k, err := x509.ParsePKCS8PrivateKey(in.DER)
		if err != nil {
			return fmt.Errorf("key material: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			m.rsa = k
		case *ecdsa.PrivateKey:
			m.ec = k
		default:
			return errors.New("key material: unexpected key type")
		}
	case "secp256k1":
		if len(in.Raw) != 32 {
			return errors.New("key material: bad secp256k1 scalar")
		}
		m.k1 = secp256k1.PrivKeyFromBytes(in.Raw)
	case "oct":
		m.oct = in.Raw
	default:
		return fmt.Errorf("key material: unknown kind %q", in.Kind)
	}
	return nil
}
