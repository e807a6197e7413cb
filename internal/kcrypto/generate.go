package kcrypto

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"errors"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Generate creates a new key of the given spec from crypto/rand. RSA keys
// use the public exponent 65537. Certificates cannot be generated.
func Generate(spec Spec) (*Key, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	switch spec.Type {
	case AES, HMAC, Secret:
		b := make([]byte, spec.Bits/8)
		_, _ = rand.Read(b) // never fails; crypto/rand crashes the program instead
		return newSymmetric(spec.Type, b)
	case RSA:
		priv, err := rsa.GenerateKey(rand.Reader, spec.Bits)
		if err != nil {
			return nil, err
		}
		return newRSAPrivate(priv)
	case EC:
		if spec.Curve == Secp256k1 {
			priv, err := secp256k1.GeneratePrivateKey()
			if err != nil {
				return nil, err
			}
			return newSecp256k1Private(priv), nil
		}
		priv, err := ecdsa.GenerateKey(stdCurve(spec.Curve), rand.Reader)
		if err != nil {
			return nil, err
		}
		return newECPrivate(priv)
	}
	return nil, errors.New("certificates are imported, not generated")
}
