package kcrypto

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// PKCS#8 and SPKI encodings that also know secp256k1.
//
// crypto/x509 refuses the curve in both directions, so these functions handle
// OID 1.3.132.0.10 with encoding/asn1 and hand every other key to crypto/x509
// unchanged. Azure's BYOK transfer needs PKCS#8 for every EC target,
// secp256k1 (P-256K) included.

var (
	oidPublicKeyEC = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1   = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

// pkcs8 is PrivateKeyInfo (RFC 5208 §5); attributes are not used.
type pkcs8 struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// ecPrivateKey is ECPrivateKey (RFC 5915 §3).
type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// spki is SubjectPublicKeyInfo (RFC 5280 §4.1).
type spki struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// secp256k1Algo is the AlgorithmIdentifier id-ecPublicKey with the named curve secp256k1.
func secp256k1Algo() pkix.AlgorithmIdentifier {
	params, _ := asn1.Marshal(oidSecp256k1) // a constant OID always marshals
	return pkix.AlgorithmIdentifier{Algorithm: oidPublicKeyEC, Parameters: asn1.RawValue{FullBytes: params}}
}

// isSecp256k1Algo reports whether algo names an EC key on secp256k1.
func isSecp256k1Algo(algo pkix.AlgorithmIdentifier) bool {
	if !algo.Algorithm.Equal(oidPublicKeyEC) {
		return false
	}
	var curve asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(algo.Parameters.FullBytes, &curve)
	return err == nil && len(rest) == 0 && curve.Equal(oidSecp256k1)
}

// MarshalPKCS8PrivateKey is x509.MarshalPKCS8PrivateKey that also accepts a
// *secp256k1.PrivateKey, encoded as id-ecPublicKey with OID 1.3.132.0.10 and
// an RFC 5915 ECPrivateKey that carries the public key, as OpenSSL writes it.
func MarshalPKCS8PrivateKey(key any) ([]byte, error) {
	k, ok := key.(*secp256k1.PrivateKey)
	if !ok {
		return x509.MarshalPKCS8PrivateKey(key)
	}
	inner, err := marshalSecp256k1ECPrivateKey(k, false)
	if err != nil {
		return nil, err
	}
	defer clear(inner)
	return asn1.Marshal(pkcs8{Algo: secp256k1Algo(), PrivateKey: inner})
}

// marshalSecp256k1ECPrivateKey encodes k as ECPrivateKey, with the curve OID
// inside only for the stand-alone SEC1 form (PKCS#8 names it outside).
func marshalSecp256k1ECPrivateKey(k *secp256k1.PrivateKey, withCurve bool) ([]byte, error) {
	scalar := k.Key.Bytes()
	defer clear(scalar[:])
	pub := k.PubKey().SerializeUncompressed()
	v := ecPrivateKey{Version: 1, PrivateKey: scalar[:], PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}}
	if withCurve {
		v.NamedCurveOID = oidSecp256k1
	}
	return asn1.Marshal(v)
}

// maxKeyDER bounds the DER of a private or public key. The largest key
// Keyward holds, RSA-4096 with its CRT values, is under 2.5 KiB. The bound
// matters: crypto/x509 validates an RSA private key before anyone can look at
// its size, in time that grows with the square of the modulus, so a 1 MiB
// key would cost minutes of CPU.
const maxKeyDER = 4 << 10

var errKeyTooLarge = fmt.Errorf("key DER is larger than %d KiB; no supported key is", maxKeyDER>>10)

// ParsePKCS8PrivateKey is x509.ParsePKCS8PrivateKey that also returns a
// *secp256k1.PrivateKey for the named curve 1.3.132.0.10. Unlike it, it
// refuses DER longer than 4 KiB, larger than any key kcrypto supports.
func ParsePKCS8PrivateKey(der []byte) (any, error) {
	if len(der) > maxKeyDER {
		return nil, errKeyTooLarge
	}
	var p pkcs8
	rest, err := asn1.Unmarshal(der, &p)
	if err == nil && len(rest) == 0 && isSecp256k1Algo(p.Algo) {
		// Return through untyped nils: a nil *secp256k1.PrivateKey in an
		// interface would not compare equal to nil.
		k, err := parseSecp256k1ECPrivateKey(p.PrivateKey, false)
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	return x509.ParsePKCS8PrivateKey(der)
}

// parseSecp256k1ECPrivateKey decodes an RFC 5915 ECPrivateKey on secp256k1.
// needCurve is set for the stand-alone SEC1 form, which must name its curve.
func parseSecp256k1ECPrivateKey(der []byte, needCurve bool) (*secp256k1.PrivateKey, error) {
	var v ecPrivateKey
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("malformed secp256k1 private key")
	}
	defer clear(v.PrivateKey)
	if v.Version != 1 {
		return nil, errors.New("unsupported secp256k1 private key version")
	}
	switch {
	case len(v.NamedCurveOID) == 0 && needCurve:
		return nil, errors.New("ec private key does not name its curve")
	case len(v.NamedCurveOID) != 0 && !v.NamedCurveOID.Equal(oidSecp256k1):
		return nil, errors.New("secp256k1 private key names another curve")
	}
	// RFC 5915 fixes the length at 32 bytes; some encoders drop leading
	// zeros, as crypto/x509 tolerates for the NIST curves.
	if len(v.PrivateKey) == 0 || len(v.PrivateKey) > 32 {
		return nil, errors.New("secp256k1 private key has an invalid length")
	}
	var b [32]byte
	copy(b[32-len(v.PrivateKey):], v.PrivateKey)
	defer clear(b[:])
	k := new(secp256k1.PrivateKey)
	if overflow := k.Key.SetBytes(&b); overflow != 0 || k.Key.IsZero() {
		k.Zero()
		return nil, errors.New("secp256k1 private key is out of range")
	}
	if v.PublicKey.BitLength != 0 {
		pub, err := parseSecp256k1Point(v.PublicKey.RightAlign())
		if err != nil || !pub.IsEqual(k.PubKey()) {
			k.Zero()
			return nil, errors.New("secp256k1 private key does not match its public key")
		}
	}
	return k, nil
}

// parseSecp256k1Point decodes an uncompressed or compressed SEC1 point. It
// rejects the hybrid form, which secp256k1.ParsePubKey accepts but RFC 5480
// does not.
func parseSecp256k1Point(b []byte) (*secp256k1.PublicKey, error) {
	if len(b) == 0 || b[0] != 4 && b[0] != 2 && b[0] != 3 {
		return nil, errors.New("secp256k1 public key is not an uncompressed or compressed point")
	}
	pub, err := secp256k1.ParsePubKey(b)
	if err != nil {
		return nil, errors.New("secp256k1 public key is not a valid point")
	}
	return pub, nil
}

// MarshalPKIXPublicKey is x509.MarshalPKIXPublicKey that also accepts a
// *secp256k1.PublicKey, encoded as an uncompressed point.
func MarshalPKIXPublicKey(pub any) ([]byte, error) {
	k, ok := pub.(*secp256k1.PublicKey)
	if !ok {
		return x509.MarshalPKIXPublicKey(pub)
	}
	point := k.SerializeUncompressed()
	return asn1.Marshal(spki{Algorithm: secp256k1Algo(), PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)}})
}

// ParsePKIXPublicKey is x509.ParsePKIXPublicKey that also returns a
// *secp256k1.PublicKey for the named curve 1.3.132.0.10.
func ParsePKIXPublicKey(der []byte) (any, error) {
	var s spki
	rest, err := asn1.Unmarshal(der, &s)
	if err == nil && len(rest) == 0 && isSecp256k1Algo(s.Algorithm) {
		if s.PublicKey.BitLength%8 != 0 {
			return nil, errors.New("secp256k1 public key has a partial byte")
		}
		k, err := parseSecp256k1Point(s.PublicKey.Bytes)
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	return x509.ParsePKIXPublicKey(der)
}
