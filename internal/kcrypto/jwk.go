package kcrypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// JSON Web Keys (RFC 7517, RFC 7518 §6) for RSA, EC (with secp256k1 as in
// RFC 8812, and Azure's name for it, P-256K) and oct.

// b64url is a JWK member: base64url bytes. Padding is tolerated on input.
type b64url []byte

func (b *b64url) UnmarshalJSON(data []byte) error {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errors.New("member is not a string")
	}
	s := bytes.TrimRight(data[1:len(data)-1], "=")
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(s)))
	n, err := base64.RawURLEncoding.Strict().Decode(out, s)
	if err != nil {
		clear(out)
		return errors.New("member is not base64url")
	}
	*b = out[:n]
	return nil
}

// jwk holds the members Keyward reads; others are ignored, as RFC 7517 §4 asks.
type jwk struct {
	Kty string          `json:"kty"`
	Alg string          `json:"alg"`
	Crv string          `json:"crv"`
	N   b64url          `json:"n"`
	E   b64url          `json:"e"`
	D   b64url          `json:"d"`
	P   b64url          `json:"p"`
	Q   b64url          `json:"q"`
	DP  b64url          `json:"dp"`
	DQ  b64url          `json:"dq"`
	QI  b64url          `json:"qi"`
	Oth json.RawMessage `json:"oth"`
	X   b64url          `json:"x"`
	Y   b64url          `json:"y"`
	K   b64url          `json:"k"`
}

func (j *jwk) wipe() {
	clear(j.D)
	clear(j.P)
	clear(j.Q)
	clear(j.DP)
	clear(j.DQ)
	clear(j.QI)
	clear(j.K)
}

// parseJWK parses one JWK. declared is needed for oct keys unless "alg" names
// an AES or HMAC algorithm, since the bytes alone do not say which they are.
func parseJWK(data []byte, declared KeyType) (*Key, error) {
	var j jwk
	defer j.wipe()
	if err := json.Unmarshal(data, &j); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("JWK is not valid JSON at offset %d", se.Offset)
		}
		return nil, fmt.Errorf("invalid JWK: %v", err)
	}
	switch j.Kty {
	case "RSA", "RSA-HSM":
		return j.rsaKey()
	case "EC", "EC-HSM":
		return j.ecKey()
	case "oct", "oct-HSM":
		return j.octKey(declared)
	case "":
		return nil, errors.New("JWK has no kty")
	}
	return nil, fmt.Errorf("unsupported JWK kty %q: want RSA, EC or oct", j.Kty)
}

func (j *jwk) rsaKey() (*Key, error) {
	if len(j.N) == 0 || len(j.E) == 0 {
		return nil, errors.New("RSA JWK needs n and e")
	}
	if len(j.E) > 4 {
		return nil, errors.New("RSA JWK public exponent is too large")
	}
	e := int(new(big.Int).SetBytes(j.E).Int64())
	pub := rsa.PublicKey{N: new(big.Int).SetBytes(j.N), E: e}
	if j.D == nil {
		return newRSAPublic(&pub)
	}
	if len(j.Oth) != 0 {
		return nil, errors.New("RSA JWK with more than two primes is not supported")
	}
	if j.P == nil || j.Q == nil {
		return nil, errors.New("RSA JWK with d needs p and q")
	}
	priv := &rsa.PrivateKey{PublicKey: pub, D: new(big.Int).SetBytes(j.D),
		Primes: []*big.Int{new(big.Int).SetBytes(j.P), new(big.Int).SetBytes(j.Q)}}
	if j.DP != nil || j.DQ != nil || j.QI != nil {
		if j.DP == nil || j.DQ == nil || j.QI == nil {
			return nil, errors.New("RSA JWK must have all or none of dp, dq and qi")
		}
		// Given CRT values are checked against the key by Validate.
		priv.Precomputed = rsa.PrecomputedValues{Dp: new(big.Int).SetBytes(j.DP),
			Dq: new(big.Int).SetBytes(j.DQ), Qinv: new(big.Int).SetBytes(j.QI)}
	}
	return newRSAPrivate(priv)
}

// jwkCurves maps the crv names JWKs use to curves; RFC 8812 registers
// "secp256k1", Azure Key Vault writes "P-256K".
var jwkCurves = map[string]Curve{"P-256": P256, "P-384": P384, "P-521": P521, "secp256k1": Secp256k1, "P-256K": Secp256k1}

func stdCurve(c Curve) elliptic.Curve {
	switch c {
	case P256:
		return elliptic.P256()
	case P384:
		return elliptic.P384()
	case P521:
		return elliptic.P521()
	}
	return nil
}

func (j *jwk) ecKey() (*Key, error) {
	c, ok := jwkCurves[j.Crv]
	if !ok {
		return nil, fmt.Errorf("unsupported JWK crv %q: want P-256, P-384, P-521, secp256k1 or P-256K", j.Crv)
	}
	// RFC 7518 §6.2.1.2 and §6.2.2.1: coordinates and d are full width.
	n := c.byteLen()
	for _, f := range []struct {
		name string
		v    []byte
	}{{"x", j.X}, {"y", j.Y}, {"d", j.D}} {
		if (f.v != nil || f.name != "d") && len(f.v) != n {
			return nil, fmt.Errorf("EC JWK %s must be %d bytes for %s, not %d", f.name, n, c, len(f.v))
		}
	}
	point := append(append([]byte{4}, j.X...), j.Y...)
	if c == Secp256k1 {
		return secp256k1FromJWK(point, j.D)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(stdCurve(c), point)
	if err != nil {
		return nil, fmt.Errorf("EC JWK x, y is not a point on %s", c)
	}
	if j.D == nil {
		return newECPublic(pub)
	}
	priv, err := ecdsa.ParseRawPrivateKey(stdCurve(c), j.D)
	if err != nil {
		return nil, fmt.Errorf("EC JWK d is out of range for %s", c)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, errors.New("EC JWK d does not match x and y")
	}
	return newECPrivate(priv)
}

func secp256k1FromJWK(point, d []byte) (*Key, error) {
	pub, err := parseSecp256k1Point(point)
	if err != nil {
		return nil, errors.New("EC JWK x, y is not a point on secp256k1")
	}
	if d == nil {
		return newSecp256k1Public(pub), nil
	}
	priv := new(secp256k1.PrivateKey)
	if overflow := priv.Key.SetByteSlice(d); overflow || priv.Key.IsZero() {
		return nil, errors.New("EC JWK d is out of range for secp256k1")
	}
	if !priv.PubKey().IsEqual(pub) {
		priv.Zero()
		return nil, errors.New("EC JWK d does not match x and y")
	}
	return newSecp256k1Private(priv), nil
}

// octAlgTypes maps JWA "alg" values that pin an oct key to AES or HMAC.
var octAlgTypes = map[string]KeyType{
	"A128KW": AES, "A192KW": AES, "A256KW": AES, "A128GCM": AES, "A192GCM": AES, "A256GCM": AES,
	"A128GCMKW": AES, "A192GCMKW": AES, "A256GCMKW": AES, "HS256": HMAC, "HS384": HMAC, "HS512": HMAC,
}

func (j *jwk) octKey(declared KeyType) (*Key, error) {
	if len(j.K) == 0 {
		return nil, errors.New("oct JWK needs k")
	}
	t := declared
	if t == 0 {
		t = octAlgTypes[j.Alg]
	}
	if t == 0 {
		return nil, errors.New("oct JWK could be AES, HMAC or a secret: declare the key type")
	}
	if !t.symmetric() {
		return nil, fmt.Errorf("declared %s key, but the JWK is oct", t)
	}
	return newSymmetric(t, append([]byte(nil), j.K...))
}
