package kcrypto

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Export encodes the key for outside use. Raw, base64 and hex carry the raw
// bytes of a symmetric key, or the DER of other keys (as Marshal gives it);
// DER and PEM write PKCS#8 for private keys, SPKI for public keys and the
// certificate itself; JWK writes RFC 7517 (secp256k1 as "secp256k1"). For the
// public part of an asymmetric key, export Public(). The caller owns the
// result and should clear it when done.
func (k *Key) Export(f Format) ([]byte, error) {
	m, err := k.live()
	if err != nil {
		return nil, err
	}
	symmetric := m.spec.Type.symmetric()
	switch f {
	case FormatJWK:
		return m.appendJWK(false)
	case FormatRaw, FormatBase64, FormatHex:
		if f == FormatRaw && !symmetric {
			return nil, fmt.Errorf("%s has no raw form: export DER, PEM or JWK", m.describe())
		}
	case FormatDER, FormatPEM:
		if symmetric {
			return nil, fmt.Errorf("%s has no %s form: export raw, base64, hex or JWK", m.describe(), f)
		}
	default:
		return nil, fmt.Errorf("cannot export to format %s", f)
	}
	b, err := k.Marshal()
	if err != nil {
		return nil, err
	}
	defer clear(b)
	switch f {
	case FormatBase64:
		return base64.StdEncoding.AppendEncode(nil, b), nil
	case FormatHex:
		return hex.AppendEncode(nil, b), nil
	case FormatPEM:
		return pemBlock(m.pemType(), b), nil
	}
	return append([]byte(nil), b...), nil
}

// pemType is the PEM label of the key's canonical DER.
func (m *material) pemType() string {
	switch {
	case m.spec.Type == Certificate:
		return "CERTIFICATE"
	case m.public:
		return "PUBLIC KEY"
	}
	return "PRIVATE KEY"
}

// AzureJWK returns the key as Azure Key Vault's JsonWebKey JSON, for key
// import: RSA n, e (and d, p, q, dp, dq, qi), EC crv, x, y (and d) with
// crv P-256, P-384, P-521 or P-256K and full-width coordinates, oct k; all
// base64url without padding. kty is RSA, EC or oct: the caller adds -HSM
// where it wants HSM protection.
func (k *Key) AzureJWK() ([]byte, error) {
	m, err := k.live()
	if err != nil {
		return nil, err
	}
	if t := m.spec.Type; t == Secret || t == Certificate {
		return nil, fmt.Errorf("an Azure Key Vault key cannot hold %s", m.describe())
	}
	return m.appendJWK(true)
}
