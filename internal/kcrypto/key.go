package kcrypto

import (
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"sync/atomic"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Key is one security object's key material in parsed, ready-to-use form.
//
// The material is unexported and never printed: String and Format show only
// the spec. Compare keys with Equal, not ==. A Key is safe for concurrent use
// by many goroutines; the parsed forms (AES block and GCM, RSA CRT values)
// are built once so the hot path does not parse. Destroy wipes what can be
// wiped once the key is no longer in use.
type Key struct {
	_ [0]func() // not comparable
	// m is behind a pointer so that printing a dereferenced Key by
	// reflection shows an address, not material.
	m *material
}

// material is what a Key holds. Exactly one group of fields is set.
type material struct {
	spec    Spec // the object: for a certificate, Type is Certificate
	keySpec Spec // the key that does the crypto: for a certificate, its public key
	public  bool // only the public part is held (SPKI, public JWK, certificate)

	destroyed atomic.Bool

	raw   []byte // AES, HMAC, secret; DER for a certificate
	block cipher.Block
	gcm   cipher.AEAD
	macs  [len(hmacHashes)]hash.Cloner // keyed HMAC states, see keyedHMACs

	rsaPriv *rsa.PrivateKey
	rsaPub  *rsa.PublicKey
	ecPriv  *ecdsa.PrivateKey
	ecPub   *ecdsa.PublicKey
	k1Priv  *secp256k1.PrivateKey
	k1Pub   *secp256k1.PublicKey
	cert    *x509.Certificate
}

var errDestroyed = errors.New("key is destroyed")

// live returns the material of a key that exists and is not destroyed.
func (k *Key) live() (*material, error) {
	if k == nil || k.m == nil {
		return nil, errors.New("no key")
	}
	if k.m.destroyed.Load() {
		return nil, errDestroyed
	}
	return k.m, nil
}

// Spec returns the key's type and size (for EC, the curve and its size).
// For a certificate it is Spec{Type: Certificate}; see CertificateInfo.
func (k *Key) Spec() Spec {
	if k == nil || k.m == nil {
		return Spec{}
	}
	return k.m.spec
}

// PublicOnly reports whether the key holds only a public key, so that it can
// verify, encrypt and wrap but not sign, decrypt or unwrap. Certificates are
// public only; symmetric keys never are.
func (k *Key) PublicOnly() bool { return k != nil && k.m != nil && k.m.public }

// String describes the key without its material, e.g. "kcrypto.Key(RSA-2048 private)".
func (k *Key) String() string {
	if k == nil || k.m == nil {
		return "kcrypto.Key(nil)"
	}
	return "kcrypto.Key(" + k.m.describe() + ")"
}

// Format prints String for every verb, so that %x, %v, %+v and %#v never show material.
func (k *Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// describe names the key for messages: "AES-256", "public RSA-2048",
// "CERTIFICATE (EC P-256)", "destroyed AES-256".
func (m *material) describe() string {
	s := m.spec.String()
	switch {
	case m.spec.Type == Certificate:
		s += " (" + m.keySpec.String() + ")"
	case m.public:
		s = "public " + s
	case m.spec.Type == RSA || m.spec.Type == EC:
		s += " private"
	}
	if m.destroyed.Load() {
		s = "destroyed " + s
	}
	return s
}

// Equal reports in constant time whether k and o hold the same material of
// the same type. A destroyed key equals nothing.
func (k *Key) Equal(o *Key) bool {
	a, err1 := k.Marshal()
	b, err2 := o.Marshal()
	defer clear(a)
	defer clear(b)
	if err1 != nil || err2 != nil || k.m.spec != o.m.spec || k.m.public != o.m.public {
		return false
	}
	return subtle.ConstantTimeCompare(a, b) == 1
}

// Destroy wipes the key's material as far as Go allows and makes every later
// use fail. It must not run while another goroutine still uses the key.
// What it cannot reach: the AES key schedule inside crypto/aes, the keyed
// HMAC states, and the copies crypto/rsa and crypto/ecdsa keep in
// unexported fields; dropping the references leaves those to the garbage
// collector.
func (k *Key) Destroy() {
	if k == nil || k.m == nil || k.m.destroyed.Swap(true) {
		return
	}
	m := k.m
	clear(m.raw)
	if m.rsaPriv != nil {
		wipeInts(m.rsaPriv.D, m.rsaPriv.Precomputed.Dp, m.rsaPriv.Precomputed.Dq, m.rsaPriv.Precomputed.Qinv)
		wipeInts(m.rsaPriv.Primes...)
	}
	if m.ecPriv != nil {
		//lint:ignore SA1019 D still holds the scalar; the key is never used again, so invalid is fine
		wipeInts(m.ecPriv.D)
	}
	if m.k1Priv != nil {
		m.k1Priv.Zero()
	}
	m.raw, m.block, m.gcm, m.rsaPriv, m.ecPriv, m.k1Priv = nil, nil, nil, nil, nil, nil
	m.macs = [len(hmacHashes)]hash.Cloner{}
}

func wipeInts(xs ...*big.Int) {
	for _, x := range xs {
		if x != nil {
			clear(x.Bits())
			x.SetInt64(0)
		}
	}
}

// Public returns a key that holds only the public part of an RSA or EC key,
// or the public key of a certificate.
func (k *Key) Public() (*Key, error) {
	m, err := k.live()
	if err != nil {
		return nil, err
	}
	switch {
	case m.rsaPub != nil:
		return newRSAPublic(m.rsaPub)
	case m.ecPub != nil:
		return newECPublic(m.ecPub)
	case m.k1Pub != nil:
		return newSecp256k1Public(m.k1Pub), nil
	}
	return nil, fmt.Errorf("%s key has no public part", m.spec.Type)
}
