package kcrypto

import (
	"encoding/base64"
	"errors"
	"math/big"
)

// appendJWK writes the key as a JWK. azure selects Azure Key Vault's curve
// name for secp256k1 (P-256K) instead of RFC 8812's. Members are written by
// hand rather than by encoding/json so that private material lands only in
// the returned buffer, which the caller can clear.
func (m *material) appendJWK(azure bool) ([]byte, error) {
	// Size the buffer once: growing it would leave copies of the material behind.
	w := jwkWriter{buf: make([]byte, 0, 4096+2*len(m.raw))}
	switch {
	case m.spec.Type == Certificate:
		return nil, errors.New("certificates have no JWK form; export the public key")
	case m.raw != nil:
		w.str("kty", "oct")
		w.bytes("k", m.raw)
	case m.rsaPub != nil:
		w.str("kty", "RSA")
		w.bytes("n", m.rsaPub.N.Bytes())
		w.bytes("e", big.NewInt(int64(m.rsaPub.E)).Bytes())
		if p := m.rsaPriv; p != nil {
			w.secret("d", p.D)
			w.secret("p", p.Primes[0])
			w.secret("q", p.Primes[1])
			w.secret("dp", p.Precomputed.Dp)
			w.secret("dq", p.Precomputed.Dq)
			w.secret("qi", p.Precomputed.Qinv)
		}
	default:
		crv := m.spec.Curve.String()
		if azure && m.spec.Curve == Secp256k1 {
			crv = "P-256K"
		}
		point, scalar, err := m.ecBytes()
		if err != nil {
			return nil, err
		}
		defer clear(scalar)
		n := m.spec.Curve.byteLen()
		w.str("kty", "EC")
		w.str("crv", crv)
		w.bytes("x", point[1:1+n])
		w.bytes("y", point[1+n:])
		if scalar != nil {
			w.bytes("d", scalar)
		}
	}
	return append(w.buf, '}'), nil
}

// ecBytes returns the uncompressed public point and, for a private key, the
// fixed-width scalar (which the caller clears).
func (m *material) ecBytes() (point, scalar []byte, err error) {
	switch {
	case m.k1Pub != nil:
		point = m.k1Pub.SerializeUncompressed()
		if m.k1Priv != nil {
			b := m.k1Priv.Key.Bytes()
			scalar = append([]byte(nil), b[:]...)
			clear(b[:])
		}
		return point, scalar, nil
	case m.ecPub != nil:
		if point, err = m.ecPub.Bytes(); err != nil {
			return nil, nil, err
		}
		if m.ecPriv != nil {
			if scalar, err = m.ecPriv.Bytes(); err != nil {
				return nil, nil, err
			}
		}
		return point, scalar, nil
	}
	return nil, nil, errors.New("key holds no EC material")
}

// jwkWriter appends JSON members; names and string values are constants.
type jwkWriter struct{ buf []byte }

func (w *jwkWriter) sep(name string) {
	if len(w.buf) == 0 {
		w.buf = append(w.buf, '{')
	} else {
		w.buf = append(w.buf, ',')
	}
	w.buf = append(append(append(w.buf, '"'), name...), `":"`...)
}

func (w *jwkWriter) str(name, v string) { w.sep(name); w.buf = append(append(w.buf, v...), '"') }

func (w *jwkWriter) bytes(name string, v []byte) {
	w.sep(name)
	w.buf = append(base64.RawURLEncoding.AppendEncode(w.buf, v), '"')
}

func (w *jwkWriter) secret(name string, v *big.Int) {
	b := v.Bytes()
	w.bytes(name, b)
	clear(b)
}
