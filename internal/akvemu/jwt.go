package akvemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A small JWS compact-serialisation codec: the emulator signs its access tokens (RS256) and
// verifies client assertions (RS256, PS256). It is written out rather than taken from a JWT
// library so that each failure can be mapped to the exact Entra or Key Vault error.

// jws is a parsed, not yet verified, compact JWS.
type jws struct {
	header     map[string]any
	payload    []byte
	signed     string // header.payload, the signing input
	signature  []byte
	headerJSON []byte
}

var errMalformedJWT = errors.New("malformed jwt")

// parseJWS splits and decodes a compact JWS. It accepts either base64 alphabet, padded or
// not, because some producers (and assertion headers) are loose about it.
func parseJWS(token string) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errMalformedJWT
	}
	hb, err := decodeB64(parts[0])
	if err != nil {
		return nil, errMalformedJWT
	}
	pb, err := decodeB64(parts[1])
	if err != nil {
		return nil, errMalformedJWT
	}
	sig, err := decodeB64(parts[2])
	if err != nil {
		return nil, errMalformedJWT
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil || h == nil {
		return nil, errMalformedJWT
	}
	if !json.Valid(pb) {
		return nil, errMalformedJWT
	}
	return &jws{header: h, payload: pb, signed: parts[0] + "." + parts[1], signature: sig, headerJSON: hb}, nil
}

// headerString returns a string header parameter, or "".
func (j *jws) headerString(name string) string {
	s, _ := j.header[name].(string)
	return s
}

// verifyRSA checks the signature with an RSA public key for alg RS256 or PS256.
func (j *jws) verifyRSA(pub *rsa.PublicKey) error {
	sum := sha256.Sum256([]byte(j.signed))
	switch j.headerString("alg") {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], j.signature)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], j.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return fmt.Errorf("unsupported alg %q", j.headerString("alg"))
	}
}

// signRS256 builds a compact JWS over the claims with the key, adding kid and x5t headers.
func signRS256(key *rsa.PrivateKey, kid string, extraHeader map[string]any, claims any) (string, error) {
	h := map[string]any{"typ": "JWT", "alg": "RS256"}
	if kid != "" {
		h["kid"] = kid
		h["x5t"] = kid
	}
	for k, v := range extraHeader {
		h[k] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := b64url(hb) + "." + b64url(pb)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return signed + "." + b64url(sig), nil
}

// keyThumbprint is the kid the emulator gives its token-signing key: base64url of the SHA-1
// of the public key, the same shape as Entra's x5t/kid values.
func keyThumbprint(pub *rsa.PublicKey) string {
	sum := sha1.Sum(pub.N.Bytes())
	return b64url(sum[:])
}
