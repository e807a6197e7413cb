package kcrypto

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// derKind is the structure a DER blob has. Each is recognised by the tags of
// its first two elements, which no two of them share, so detection is
// unambiguous and a malformed blob gets the error of the parser it was meant for.
// oidRSA is rsaEncryption (RFC 8017 appendix C).
var oidRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

type derKind uint8

const (
	derUnknown     derKind = iota
	derPKCS8               // SEQUENCE { INTEGER, SEQUENCE, OCTET STRING }
	derPKCS1Priv           // SEQUENCE { INTEGER 0, INTEGER n, INTEGER e, ... }
	derPKCS1Pub            // SEQUENCE { INTEGER n, INTEGER e }
	derSEC1                // SEQUENCE { INTEGER 1, OCTET STRING, ... }
	derSPKI                // SEQUENCE { SEQUENCE, BIT STRING }
	derCertificate         // SEQUENCE { SEQUENCE tbs, SEQUENCE alg, BIT STRING }
)

var derKindNames = [...]string{derPKCS8: "PKCS#8", derPKCS1Priv: "PKCS#1 private key", derPKCS1Pub: "PKCS#1 public key",
	derSEC1: "SEC1 EC private key", derSPKI: "SPKI public key", derCertificate: "X.509 certificate"}

func (d derKind) String() string { return derKindNames[d] }

// class is what the structure holds, as a PEM label says it.
func (d derKind) class() string {
	switch d {
	case derPKCS8, derPKCS1Priv, derSEC1:
		return "private key"
	case derPKCS1Pub, derSPKI:
		return "public key"
	case derCertificate:
		return "certificate"
	}
	return "known structure"
}

// classifyDER recognises the structure of der without parsing the key.
func classifyDER(der []byte) derKind {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return derUnknown
	}
	var first, second cryptobyte.String
	var tag1, tag2 cbasn1.Tag
	if !seq.ReadAnyASN1(&first, &tag1) || !seq.ReadAnyASN1(&second, &tag2) {
		return derUnknown
	}
	switch {
	case tag1 == cbasn1.INTEGER && tag2 == cbasn1.SEQUENCE:
		return derPKCS8
	case tag1 == cbasn1.INTEGER && tag2 == cbasn1.OCTET_STRING:
		return derSEC1
	case tag1 == cbasn1.INTEGER && tag2 == cbasn1.INTEGER && seq.Empty():
		return derPKCS1Pub
	case tag1 == cbasn1.INTEGER && tag2 == cbasn1.INTEGER:
		return derPKCS1Priv
	case tag1 == cbasn1.SEQUENCE && tag2 == cbasn1.BIT_STRING && seq.Empty():
		return derSPKI
	case tag1 == cbasn1.SEQUENCE && tag2 == cbasn1.SEQUENCE:
		return derCertificate
	}
	return derUnknown
}

// parseDER parses any of the DER structures Keyward imports.
func parseDER(der []byte) (*Key, error) {
	kind := classifyDER(der)
	if kind == derUnknown {
		return nil, errors.New("data is not a DER key or certificate (PKCS#8, PKCS#1, SEC1, SPKI or X.509)")
	}
	return parseDERKind(kind, der)
}

// parseDERKind parses der as the given structure; PEM block types name it.
func parseDERKind(kind derKind, der []byte) (*Key, error) {
	if bits, ok := rsaModulusBits(der); ok && (kind == derPKCS8 || kind == derPKCS1Priv) {
		// Refuse unsupported sizes before crypto/x509 validates the key,
		// which costs time quadratic in the modulus size.
		if err := (Spec{Type: RSA, Bits: bits}).Validate(); err != nil {
			return nil, err
		}
	}
	if kind != derCertificate && len(der) > maxKeyDER {
		return nil, errKeyTooLarge
	}
	var key any
	var err error
	switch kind {
	case derPKCS8:
		key, err = ParsePKCS8PrivateKey(der)
	case derPKCS1Priv:
		key, err = x509.ParsePKCS1PrivateKey(der)
	case derPKCS1Pub:
		key, err = x509.ParsePKCS1PublicKey(der)
	case derSEC1:
		key, err = parseSEC1(der)
	case derSPKI:
		key, err = ParsePKIXPublicKey(der)
	case derCertificate:
		return newCertificate(append([]byte(nil), der...))
	default:
		return nil, errors.New("unknown DER structure")
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", kind, err)
	}
	return newParsed(key)
}

// parseSEC1 parses an RFC 5915 ECPrivateKey that names its curve; crypto/x509
// does the NIST curves, parseSecp256k1ECPrivateKey the one it refuses.
func parseSEC1(der []byte) (any, error) {
	var v ecPrivateKey
	if rest, err := asn1.Unmarshal(der, &v); err == nil && len(rest) == 0 && v.NamedCurveOID.Equal(oidSecp256k1) {
		clear(v.PrivateKey)
		k, err := parseSecp256k1ECPrivateKey(der, true)
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	return x509.ParseECPrivateKey(der)
}

// rsaModulusBits reads the modulus size of an RSA private key, PKCS#1 or
// inside PKCS#8, without parsing the rest. ok is false for other PKCS#8
// keys; the caller knows der is one of the two private key forms.
func rsaModulusBits(der []byte) (bits int, ok bool) {
	in := cryptobyte.String(der)
	var seq, n cryptobyte.String
	var tag cbasn1.Tag
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.SkipASN1(cbasn1.INTEGER) || !seq.PeekASN1Tag(cbasn1.SEQUENCE) && !seq.PeekASN1Tag(cbasn1.INTEGER) {
		return 0, false
	}
	if seq.PeekASN1Tag(cbasn1.SEQUENCE) { // PKCS#8: AlgorithmIdentifier, then the key in an OCTET STRING
		var algo, inner cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !seq.ReadASN1(&algo, cbasn1.SEQUENCE) || !algo.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidRSA) ||
			!seq.ReadASN1(&inner, cbasn1.OCTET_STRING) {
			return 0, false
		}
		return rsaModulusBits(inner)
	}
	if !seq.ReadAnyASN1(&n, &tag) || tag != cbasn1.INTEGER || len(n) == 0 || n[0]&0x80 != 0 {
		return 0, false
	}
	return new(big.Int).SetBytes(n).BitLen(), true
}
