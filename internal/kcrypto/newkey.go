package kcrypto

// Constructors: every Key is made here, so that the checks on type, size
// and curve and the one-time parsing (AES block, GCM, HMAC states, RSA CRT
// values) happen in one place whatever the key came from.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// newSymmetric makes an AES, HMAC or secret key and takes ownership of b.
func newSymmetric(t KeyType, b []byte) (*Key, error) {
	spec := Spec{Type: t, Bits: 8 * len(b)}
	if !t.symmetric() {
		return nil, fmt.Errorf("%s keys are not plain bytes", t)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	m := &material{spec: spec, keySpec: spec, raw: b}
	if t == HMAC {
		m.macs = keyedHMACs(b)
	}
	if t == AES {
		// Build the block cipher and GCM once: the hot path only uses them.
		var err error
		if m.block, err = aes.NewCipher(b); err != nil {
			return nil, err
		}
		if m.gcm, err = cipher.NewGCM(m.block); err != nil {
			return nil, err
		}
	}
	return &Key{m: m}, nil
}

// rsaSpec checks that pub is an RSA key Keyward supports and returns its spec.
func rsaSpec(pub *rsa.PublicKey) (Spec, error) {
	spec := Spec{Type: RSA, Bits: pub.N.BitLen()}
	if err := spec.Validate(); err != nil {
		return Spec{}, err
	}
	// Exponents below 3 or even are no RSA keys; crypto/rsa also caps E.
	if pub.E < 3 || pub.E%2 == 0 {
		return Spec{}, fmt.Errorf("RSA public exponent %d is not an odd number ≥ 3", pub.E)
	}
	return spec, nil
}

func newRSAPrivate(priv *rsa.PrivateKey) (*Key, error) {
	spec, err := rsaSpec(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	if len(priv.Primes) != 2 {
		return nil, errors.New("RSA private key must have exactly two primes")
	}
	// Precompute first: parsed keys already have the CRT values and skip it,
	// keys from a JWK get them, and Validate then finds them consistent
	// instead of computing them a second time.
	priv.Precompute()
	if err := priv.Validate(); err != nil {
		return nil, errors.New("RSA private key is inconsistent")
	}
	return &Key{m: &material{spec: spec, keySpec: spec, rsaPriv: priv, rsaPub: &priv.PublicKey}}, nil
}

func newRSAPublic(pub *rsa.PublicKey) (*Key, error) {
	spec, err := rsaSpec(pub)
	if err != nil {
		return nil, err
	}
	return &Key{m: &material{spec: spec, keySpec: spec, public: true, rsaPub: pub}}, nil
}

// ecCurve maps a standard library curve to ours; P-224 and others are refused.
func ecCurve(pub *ecdsa.PublicKey) (Curve, error) {
	if pub.Curve == nil {
		return 0, errors.New("EC key has no curve")
	}
	c, err := ParseCurve(pub.Curve.Params().Name)
	if err != nil || c == Secp256k1 {
		return 0, fmt.Errorf("unsupported curve %s: want P-256, P-384, P-521 or secp256k1", pub.Curve.Params().Name)
	}
	return c, nil
}

func newECPrivate(priv *ecdsa.PrivateKey) (*Key, error) {
	c, err := ecCurve(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	spec := Spec{Type: EC, Bits: c.Bits(), Curve: c}
	return &Key{m: &material{spec: spec, keySpec: spec, ecPriv: priv, ecPub: &priv.PublicKey}}, nil
}

func newECPublic(pub *ecdsa.PublicKey) (*Key, error) {
	c, err := ecCurve(pub)
	if err != nil {
		return nil, err
	}
	spec := Spec{Type: EC, Bits: c.Bits(), Curve: c}
	return &Key{m: &material{spec: spec, keySpec: spec, public: true, ecPub: pub}}, nil
}

var secp256k1Spec = Spec{Type: EC, Bits: 256, Curve: Secp256k1}

func newSecp256k1Private(priv *secp256k1.PrivateKey) *Key {
	return &Key{m: &material{spec: secp256k1Spec, keySpec: secp256k1Spec, k1Priv: priv, k1Pub: priv.PubKey()}}
}

func newSecp256k1Public(pub *secp256k1.PublicKey) *Key {
	return &Key{m: &material{spec: secp256k1Spec, keySpec: secp256k1Spec, public: true, k1Pub: pub}}
}

// newParsed wraps a key from a parser (crypto/x509, ours) in a Key,
// refusing key types Keyward does not hold.
func newParsed(key any) (*Key, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return newRSAPrivate(k)
	case *rsa.PublicKey:
		return newRSAPublic(k)
	case *ecdsa.PrivateKey:
		return newECPrivate(k)
	case *ecdsa.PublicKey:
		return newECPublic(k)
	case *secp256k1.PrivateKey:
		return newSecp256k1Private(k), nil
	case *secp256k1.PublicKey:
		return newSecp256k1Public(k), nil
	}
	return nil, fmt.Errorf("unsupported key type %T: want RSA or EC", key)
}
