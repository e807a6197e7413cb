package kcrypto

import (
	"errors"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ECDSA signature encodings, and secp256k1 signing, which the standard
// library lacks.

var errSigEncoding = errors.New("malformed ECDSA signature")

// parseDERSignature reads SEQUENCE { INTEGER r, INTEGER s } strictly: DER
// lengths, minimal integers, nothing after. Range checks are the verifier's.
func parseDERSignature(sig []byte) (r, s *big.Int, err error) {
	in := cryptobyte.String(sig)
	var inner cryptobyte.String
	r, s = new(big.Int), new(big.Int)
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) || !inner.Empty() {
		return nil, nil, errSigEncoding
	}
	return r, s, nil
}

func derSignature(r, s *big.Int) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}

// parseRawSignature splits r‖s, each exactly n bytes wide.
func parseRawSignature(sig []byte, n int) (r, s *big.Int, err error) {
	if len(sig) != 2*n {
		return nil, nil, errSigEncoding
	}
	return new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]), nil
}

func rawSignature(r, s *big.Int, n int) []byte {
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out
}

// signSecp256k1 signs a digest with RFC 6979 deterministic nonces; the
// library also makes s low (BIP 62), which verifiers accept either way.
// ECDSA uses the leftmost 256 bits of longer digests (SEC 1 §4.1.3).
func signSecp256k1(priv *secp256k1.PrivateKey, d []byte) (r, s *big.Int) {
	sig := k1ecdsa.Sign(priv, truncate32(d))
	rs, ss := sig.R(), sig.S()
	rb, sb := rs.Bytes(), ss.Bytes()
	return new(big.Int).SetBytes(rb[:]), new(big.Int).SetBytes(sb[:])
}

// verifySecp256k1 checks r and s are in [1, n−1] and verifies.
func verifySecp256k1(pub *secp256k1.PublicKey, d []byte, r, s *big.Int) bool {
	var rs, ss secp256k1.ModNScalar
	if !toScalar(r, &rs) || !toScalar(s, &ss) {
		return false
	}
	return k1ecdsa.NewSignature(&rs, &ss).Verify(truncate32(d), pub)
}

// toScalar sets v to x if 1 ≤ x < n.
func toScalar(x *big.Int, v *secp256k1.ModNScalar) bool {
	if x.Sign() <= 0 || x.BitLen() > 256 {
		return false
	}
	var b [32]byte
	x.FillBytes(b[:])
	overflow := v.SetBytes(&b)
	return overflow == 0 && !v.IsZero()
}

func truncate32(d []byte) []byte {
	if len(d) > 32 {
		return d[:32]
	}
	return d
}
