package kcrypto

import (
	"crypto"
	"fmt"
	"strings"
)

// Algorithm names one cryptographic operation with all its parameters, so
// that a request cannot leave a choice (hash, padding, signature encoding)
// to a default.
type Algorithm uint8

// Algorithms. Each fits one key type; the operation says which use it is for.
const (
	// AESGCM encrypts with AES in GCM mode: 96-bit IV generated inside,
	// 128-bit tag, optional associated data.
	AESGCM Algorithm = iota + 1
	// AESCBC encrypts with AES in CBC mode with PKCS#7 padding; 128-bit IV,
	// from the caller or generated.
	AESCBC
	// RSAOAEPSHA1 is RSAES-OAEP with SHA-1 and MGF1-SHA-1 (Azure "RSA-OAEP").
	RSAOAEPSHA1
	// RSAOAEPSHA256 is RSAES-OAEP with SHA-256 and MGF1-SHA-256 (Azure "RSA-OAEP-256").
	RSAOAEPSHA256
	// AESKW is AES key wrap, RFC 3394.
	AESKW
	// AESKWP is AES key wrap with padding, RFC 5649.
	AESKWP
	// RSAAESKeyWrap is PKCS#11 CKM_RSA_AES_KEY_WRAP as Azure BYOK uses it: a
	// fresh 256-bit AES key under RSA-OAEP-SHA-1 (empty label), then AES-KWP
	// of the payload under that key.
	RSAAESKeyWrap

	// PS256, PS384 and PS512 are RSASSA-PSS with SHA-2, MGF1 with the same
	// hash and a salt as long as the hash (as JOSE and Azure use them).
	PS256
	PS384
	PS512
	// RS256, RS384 and RS512 are RSASSA-PKCS1-v1_5 with SHA-2.
	RS256
	RS384
	RS512
	// ECDSASHA256, ECDSASHA384 and ECDSASHA512 are ECDSA with a DER
	// (ASN.1 SEQUENCE of two INTEGERs) signature, on any supported curve.
	ECDSASHA256
	ECDSASHA384
	ECDSASHA512
	// ECDSASHA256Raw, ECDSASHA384Raw and ECDSASHA512Raw are ECDSA with a raw
	// r‖s signature, each half as wide as the curve (IEEE P1363, JOSE, and
	// Azure's ES256/ES384/ES512/ES256K).
	ECDSASHA256Raw
	ECDSASHA384Raw
	ECDSASHA512Raw

	// HMACSHA256, HMACSHA384 and HMACSHA512 are HMAC with SHA-2, full-length tags.
	HMACSHA256
	HMACSHA384
	HMACSHA512

	algorithmCount
)

var algorithmNames = [...]string{
	AESGCM: "AES-GCM", AESCBC: "AES-CBC",
	RSAOAEPSHA1: "RSA-OAEP", RSAOAEPSHA256: "RSA-OAEP-256",
	AESKW: "AES-KW", AESKWP: "AES-KWP", RSAAESKeyWrap: "CKM_RSA_AES_KEY_WRAP",
	PS256: "PS256", PS384: "PS384", PS512: "PS512",
	RS256: "RS256", RS384: "RS384", RS512: "RS512",
	ECDSASHA256: "ECDSA-SHA256", ECDSASHA384: "ECDSA-SHA384", ECDSASHA512: "ECDSA-SHA512",
	ECDSASHA256Raw: "ECDSA-SHA256-RAW", ECDSASHA384Raw: "ECDSA-SHA384-RAW", ECDSASHA512Raw: "ECDSA-SHA512-RAW",
	HMACSHA256: "HMAC-SHA256", HMACSHA384: "HMAC-SHA384", HMACSHA512: "HMAC-SHA512",
}

func (a Algorithm) String() string {
	if a == 0 || a >= algorithmCount {
		return fmt.Sprintf("Algorithm(%d)", uint8(a))
	}
	return algorithmNames[a]
}

// ParseAlgorithm maps a name as String returns it (case-insensitive) to its Algorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	for a := Algorithm(1); a < algorithmCount; a++ {
		if strings.EqualFold(s, algorithmNames[a]) {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown algorithm %q", s)
}

// hash is the digest an RSA or ECDSA signature algorithm, an HMAC or an
// RSA-OAEP algorithm uses; 0 for the others.
func (a Algorithm) hash() crypto.Hash {
	switch a {
	case RSAOAEPSHA1, RSAAESKeyWrap:
		return crypto.SHA1
	case RSAOAEPSHA256, PS256, RS256, ECDSASHA256, ECDSASHA256Raw, HMACSHA256:
		return crypto.SHA256
	case PS384, RS384, ECDSASHA384, ECDSASHA384Raw, HMACSHA384:
		return crypto.SHA384
	case PS512, RS512, ECDSASHA512, ECDSASHA512Raw, HMACSHA512:
		return crypto.SHA512
	}
	return 0
}

// use is what an algorithm does, to check that it is asked for the right operation.
type use uint8

const (
	useEncrypt use = 1 << iota
	useSign
	useWrap
	useMAC
)

var useNames = map[use]string{useEncrypt: "encryption", useSign: "signature", useWrap: "key wrapping", useMAC: "MAC"}

// uses is the set of operations a may serve.
func (a Algorithm) uses() use {
	switch a {
	case AESGCM, AESCBC:
		return useEncrypt
	case RSAOAEPSHA1, RSAOAEPSHA256:
		return useEncrypt | useWrap
	case AESKW, AESKWP, RSAAESKeyWrap:
		return useWrap
	case PS256, PS384, PS512, RS256, RS384, RS512,
		ECDSASHA256, ECDSASHA384, ECDSASHA512, ECDSASHA256Raw, ECDSASHA384Raw, ECDSASHA512Raw:
		return useSign
	case HMACSHA256, HMACSHA384, HMACSHA512:
		return useMAC
	}
	return 0
}

// keyType is the type of key an algorithm needs.
func (a Algorithm) keyType() KeyType {
	switch a {
	case AESGCM, AESCBC, AESKW, AESKWP:
		return AES
	case RSAOAEPSHA1, RSAOAEPSHA256, RSAAESKeyWrap, PS256, PS384, PS512, RS256, RS384, RS512:
		return RSA
	case ECDSASHA256, ECDSASHA384, ECDSASHA512, ECDSASHA256Raw, ECDSASHA384Raw, ECDSASHA512Raw:
		return EC
	case HMACSHA256, HMACSHA384, HMACSHA512:
		return HMAC
	}
	return 0
}
