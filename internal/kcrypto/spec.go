package kcrypto

import (
	"errors"
	"fmt"
	"strings"
)

// KeyType is the kind of a security object.
type KeyType uint8

// The key types Keyward holds.
const (
	AES         KeyType = iota + 1 // AES, 128, 192 or 256 bits
	RSA                            // RSA, 2048, 3072 or 4096 bits
	EC                             // ECDSA on P-256, P-384, P-521 or secp256k1
	HMAC                           // HMAC key, 16 to 64 bytes
	Secret                         // opaque secret, 1 byte to 64 KiB
	Certificate                    // X.509 certificate (public only)
)

var keyTypeNames = [...]string{AES: "AES", RSA: "RSA", EC: "EC", HMAC: "HMAC", Secret: "SECRET", Certificate: "CERTIFICATE"}

func (t KeyType) String() string {
	if t == 0 || int(t) >= len(keyTypeNames) {
		return fmt.Sprintf("KeyType(%d)", uint8(t))
	}
	return keyTypeNames[t]
}

// ParseKeyType maps a name such as "AES" or "rsa" to its KeyType.
func ParseKeyType(s string) (KeyType, error) {
	for t, name := range keyTypeNames {
		if name != "" && strings.EqualFold(s, name) {
			return KeyType(t), nil
		}
	}
	return 0, fmt.Errorf("unknown key type %q", s)
}

// symmetric reports whether keys of type t are plain bytes.
func (t KeyType) symmetric() bool { return t == AES || t == HMAC || t == Secret }

// Curve is an elliptic curve for EC keys.
type Curve uint8

// The curves Keyward supports.
const (
	P256      Curve = iota + 1 // NIST P-256 (secp256r1)
	P384                       // NIST P-384 (secp384r1)
	P521                       // NIST P-521 (secp521r1)
	Secp256k1                  // SEC 2 secp256k1, Azure's P-256K
)

var curveNames = [...]string{P256: "P-256", P384: "P-384", P521: "P-521", Secp256k1: "secp256k1"}

func (c Curve) String() string {
	if c == 0 || int(c) >= len(curveNames) {
		return fmt.Sprintf("Curve(%d)", uint8(c))
	}
	return curveNames[c]
}

// ParseCurve maps a curve name to its Curve. It accepts the JOSE names
// (P-256, P-384, P-521, secp256k1), Azure's P-256K and the SEC 2 names.
func ParseCurve(s string) (Curve, error) {
	switch strings.ToLower(s) {
	case "p-256", "p256", "secp256r1", "prime256v1":
		return P256, nil
	case "p-384", "p384", "secp384r1":
		return P384, nil
	case "p-521", "p521", "secp521r1":
		return P521, nil
	case "secp256k1", "p-256k", "p256k":
		return Secp256k1, nil
	}
	return 0, fmt.Errorf("unsupported curve %q", s)
}

// Bits is the size of the curve's order in bits.
func (c Curve) Bits() int {
	switch c {
	case P256, Secp256k1:
		return 256
	case P384:
		return 384
	case P521:
		return 521
	}
	return 0
}

// byteLen is the length of a field element or scalar in bytes: the width of
// a JWK coordinate and of each half of a raw ECDSA signature.
func (c Curve) byteLen() int { return (c.Bits() + 7) / 8 }

// Limits on sizes, in bytes, for the types with a range.
const (
	MinHMACBytes   = 16
	MaxHMACBytes   = 64
	MinSecretBytes = 1
	MaxSecretBytes = 64 << 10
)

// Spec says what a key is: its type and size, or curve. It is what Generate
// takes and what Key.Spec returns.
type Spec struct {
	Type KeyType
	// Bits is the key size in bits: 128/192/256 for AES, 2048/3072/4096 for
	// RSA, 8·(16…64) for HMAC, 8·(1…65536) for secrets. For EC it may be 0
	// (Key.Spec fills in the curve's size); for certificates it is 0.
	Bits  int
	Curve Curve // EC only
}

// Validate reports whether s is a key Keyward supports, with an error that
// names what is wrong.
func (s Spec) Validate() error {
	if s.Curve != 0 && s.Type != EC {
		return fmt.Errorf("%s keys have no curve", s.Type)
	}
	switch s.Type {
	case AES:
		if s.Bits != 128 && s.Bits != 192 && s.Bits != 256 {
			return fmt.Errorf("AES key size must be 128, 192 or 256 bits, not %d", s.Bits)
		}
	case RSA:
		if s.Bits != 2048 && s.Bits != 3072 && s.Bits != 4096 {
			return fmt.Errorf("RSA key size must be 2048, 3072 or 4096 bits, not %d", s.Bits)
		}
	case EC:
		if s.Curve.Bits() == 0 {
			return errors.New("EC key needs a curve: P-256, P-384, P-521 or secp256k1")
		}
		if s.Bits != 0 && s.Bits != s.Curve.Bits() {
			return fmt.Errorf("EC key on %s has %d bits, not %d", s.Curve, s.Curve.Bits(), s.Bits)
		}
	case HMAC:
		if s.Bits%8 != 0 || s.Bits < 8*MinHMACBytes || s.Bits > 8*MaxHMACBytes {
			return fmt.Errorf("HMAC key size must be %d to %d bytes, not %s", MinHMACBytes, MaxHMACBytes, bitsAsBytes(s.Bits))
		}
	case Secret:
		if s.Bits%8 != 0 || s.Bits < 8*MinSecretBytes || s.Bits > 8*MaxSecretBytes {
			return fmt.Errorf("secret size must be %d byte to %d KiB, not %s", MinSecretBytes, MaxSecretBytes>>10, bitsAsBytes(s.Bits))
		}
	case Certificate:
		if s.Bits != 0 {
			return errors.New("certificate spec has no size")
		}
	default:
		return fmt.Errorf("unknown key type %d", uint8(s.Type))
	}
	return nil
}

func bitsAsBytes(bits int) string {
	if bits%8 != 0 {
		return fmt.Sprintf("%d bits", bits)
	}
	return fmt.Sprintf("%d", bits/8)
}

// String names the spec the way errors and logs show it: "AES-256",
// "RSA-2048", "EC P-256", "HMAC-256", "SECRET-128", "CERTIFICATE".
func (s Spec) String() string {
	switch s.Type {
	case EC:
		return "EC " + s.Curve.String()
	case Certificate:
		return s.Type.String()
	}
	return fmt.Sprintf("%s-%d", s.Type, s.Bits)
}
