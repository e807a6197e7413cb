package kcrypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"math/big"
)

// pssOpts fixes the PSS salt to the hash length, as JOSE and Azure do, in
// signing and in verifying.
var pssOpts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// Sign hashes message with the algorithm's hash and signs the digest.
func (k *Key) Sign(alg Algorithm, message []byte) ([]byte, error) {
	m, err := k.prepare(alg, useSign, "signing", true)
	if err != nil {
		return nil, err
	}
	return m.signDigest(alg, digest(alg.hash(), message))
}

// SignDigest signs a digest computed by the caller with the algorithm's
// hash; its length must match the hash.
func (k *Key) SignDigest(alg Algorithm, digest []byte) ([]byte, error) {
	m, err := k.prepare(alg, useSign, "signing", true)
	if err != nil {
		return nil, err
	}
	if err := checkDigest(alg, digest); err != nil {
		return nil, err
	}
	return m.signDigest(alg, digest)
}

// Verify hashes message and checks sig over it; a signature that does not
// verify is ErrSignature.
func (k *Key) Verify(alg Algorithm, message, sig []byte) error {
	m, err := k.prepare(alg, useSign, "verification", false)
	if err != nil {
		return err
	}
	return m.verifyDigest(alg, digest(alg.hash(), message), sig)
}

// VerifyDigest checks sig over a digest computed by the caller.
func (k *Key) VerifyDigest(alg Algorithm, digest, sig []byte) error {
	m, err := k.prepare(alg, useSign, "verification", false)
	if err != nil {
		return err
	}
	if err := checkDigest(alg, digest); err != nil {
		return err
	}
	return m.verifyDigest(alg, digest, sig)
}

func checkDigest(alg Algorithm, d []byte) error {
	if n := alg.hash().Size(); len(d) != n {
		return fmt.Errorf("%s digest must be %d bytes, not %d", alg, n, len(d))
	}
	return nil
}

// digest hashes msg; the fixed-size Sum functions avoid a hash.Hash allocation.
func digest(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256(msg)
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	}
	d := sha512.Sum512(msg)
	return d[:]
}

func (m *material) signDigest(alg Algorithm, d []byte) ([]byte, error) {
	switch alg {
	case PS256, PS384, PS512:
		return rsa.SignPSS(rand.Reader, m.rsaPriv, alg.hash(), d, pssOpts)
	case RS256, RS384, RS512:
		return rsa.SignPKCS1v15(nil, m.rsaPriv, alg.hash(), d)
	}
	raw := alg == ECDSASHA256Raw || alg == ECDSASHA384Raw || alg == ECDSASHA512Raw
	if m.k1Priv != nil {
		r, s := signSecp256k1(m.k1Priv, d)
		if raw {
			return rawSignature(r, s, 32), nil
		}
		return derSignature(r, s)
	}
	sig, err := ecdsa.SignASN1(rand.Reader, m.ecPriv, d)
	if err != nil || !raw {
		return sig, err
	}
	r, s, err := parseDERSignature(sig)
	if err != nil {
		return nil, err
	}
	return rawSignature(r, s, m.spec.Curve.byteLen()), nil
}

func (m *material) verifyDigest(alg Algorithm, d, sig []byte) error {
	var ok bool
	switch alg {
	case PS256, PS384, PS512:
		ok = rsa.VerifyPSS(m.rsaPub, alg.hash(), d, sig, pssOpts) == nil
	case RS256, RS384, RS512:
		ok = rsa.VerifyPKCS1v15(m.rsaPub, alg.hash(), d, sig) == nil
	default:
		ok = m.verifyECDSA(alg, d, sig)
	}
	if !ok {
		return ErrSignature
	}
	return nil
}

func (m *material) verifyECDSA(alg Algorithm, d, sig []byte) bool {
	raw := alg == ECDSASHA256Raw || alg == ECDSASHA384Raw || alg == ECDSASHA512Raw
	var r, s *big.Int
	var err error
	if raw {
		r, s, err = parseRawSignature(sig, m.spec.Curve.byteLen())
	} else {
		r, s, err = parseDERSignature(sig)
	}
	if err != nil {
		return false
	}
	if m.k1Pub != nil {
		return verifySecp256k1(m.k1Pub, d, r, s)
	}
	if !raw {
		// The DER was parsed strictly above; crypto/ecdsa parses it again.
		return ecdsa.VerifyASN1(m.ecPub, d, sig)
	}
	der, err := derSignature(r, s)
	return err == nil && ecdsa.VerifyASN1(m.ecPub, d, der)
}
