package kcrypto

import (
	"errors"
	"fmt"
)

// Marshal returns the key's canonical storage encoding, the bytes Keyward
// seals in its database: the raw bytes of an AES, HMAC or secret key,
// PKCS#8 DER of an RSA or EC private key (secp256k1 included), SPKI DER of a
// public key, and the DER of a certificate. Unmarshal reverses it. The caller
// owns the result and should clear it when done.
func (k *Key) Marshal() ([]byte, error) {
	m, err := k.live()
	if err != nil {
		return nil, err
	}
	switch {
	case m.raw != nil: // symmetric and certificate
		return append([]byte(nil), m.raw...), nil
	case m.rsaPriv != nil:
		return MarshalPKCS8PrivateKey(m.rsaPriv)
	case m.ecPriv != nil:
		return MarshalPKCS8PrivateKey(m.ecPriv)
	case m.k1Priv != nil:
		return MarshalPKCS8PrivateKey(m.k1Priv)
	case m.rsaPub != nil:
		return MarshalPKIXPublicKey(m.rsaPub)
	case m.ecPub != nil:
		return MarshalPKIXPublicKey(m.ecPub)
	case m.k1Pub != nil:
		return MarshalPKIXPublicKey(m.k1Pub)
	}
	return nil, errors.New("key holds no material")
}

// Unmarshal decodes a canonical storage encoding of a key of type t, as
// Marshal wrote it. For RSA and EC it takes PKCS#8 or SPKI DER.
func Unmarshal(t KeyType, data []byte) (*Key, error) {
	switch t {
	case AES, HMAC, Secret:
		return newSymmetric(t, append([]byte(nil), data...))
	case Certificate:
		return newCertificate(append([]byte(nil), data...))
	case RSA, EC:
		k, err := parseDERKey(data)
		if err != nil {
			return nil, err
		}
		if k.m.spec.Type != t {
			return nil, fmt.Errorf("stored %s key holds %s", t, k.m.describe())
		}
		return k, nil
	}
	return nil, fmt.Errorf("unknown key type %d", uint8(t))
}

// parseDERKey parses PKCS#8 or SPKI, the two canonical asymmetric forms.
func parseDERKey(der []byte) (*Key, error) {
	if len(der) > maxKeyDER {
		return nil, errKeyTooLarge
	}
	if priv, err := ParsePKCS8PrivateKey(der); err == nil {
		return newParsed(priv)
	}
	if pub, err := ParsePKIXPublicKey(der); err == nil {
		return newParsed(pub)
	}
	return nil, errors.New("key is neither PKCS#8 nor SPKI DER")
}
