package kcrypto

import (
	"encoding/hex"
	"testing"
)

func TestCheckValue(t *testing.T) {
	// The AES KCV of the all-zero 128-bit key is the first three bytes of
	// AES-128(0^128, 0^128) = 66e94bd4ef8a2c3b884cfa59ca342b2e (FIPS-197 test vector).
	zero := make([]byte, 16)
	k, err := Import(zero, ImportOptions{Format: FormatRaw, Type: AES})
	if err != nil {
		t.Fatal(err)
	}
	if kcv, err := k.CheckValue(); err != nil || kcv != "66e94b" {
		t.Fatalf("AES KCV = %q, %v; want 66e94b", kcv, err)
	}
	for _, spec := range []Spec{{Type: RSA, Bits: 2048}, {Type: EC, Curve: P256}, {Type: EC, Curve: Secp256k1}, {Type: HMAC, Bits: 256}} {
		priv, err := Generate(spec)
		if err != nil {
			t.Fatal(err)
		}
		a, err := priv.CheckValue()
		if err != nil || len(a) != 6 {
			t.Fatalf("%s: %q %v", spec, a, err)
		}
		if _, err := hex.DecodeString(a); err != nil {
			t.Fatal(err)
		}
		if spec.Type == HMAC {
			continue
		}
		pub, _ := priv.Public()
		if b, _ := pub.CheckValue(); b != a {
			t.Fatalf("%s: private %s and public %s check values differ", spec, a, b)
		}
		other, _ := Generate(spec)
		if c, _ := other.CheckValue(); c == a {
			t.Logf("%s: two keys share a 24-bit check value (1 in 16 million)", spec)
		}
	}
}
