package kcrypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// CheckValue returns a key check value: six hex digits that let people tell whether two
// keys are the same without seeing either. For AES it is the classic KCV, the first three
// bytes of the encryption of a zero block; for HMAC keys and secrets, the first three bytes
// of HMAC-SHA-256 of a zero block under the key; for public keys, private keys and
// certificates, the first three bytes of SHA-256 of the public key's SPKI DER (so a private
// key and its public half match).
func (k *Key) CheckValue() (string, error) {
	m, err := k.live()
	if err != nil {
		return "", err
	}
	var zero [16]byte
	switch {
	case m.block != nil:
		var out [16]byte
		m.block.Encrypt(out[:], zero[:])
		return hex.EncodeToString(out[:3]), nil
	case m.raw != nil && m.cert == nil:
		mac := hmac.New(sha256.New, m.raw)
		mac.Write(zero[:])
		return hex.EncodeToString(mac.Sum(nil)[:3]), nil
	}
	pub, err := k.Public()
	if err != nil {
		return "", err
	}
	der, err := pub.Export(FormatDER)
	if err != nil {
		return "", err
	}
	if m.cert != nil {
		der = m.cert.RawSubjectPublicKeyInfo
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:3]), nil
}
