package kcrypto

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

func readTestdata(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }

func readPEM(t testing.TB, name string) []byte {
	t.Helper()
	data, err := readTestdata(name)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	return blk.Bytes
}

// TestSecp256k1OpenSSL checks byte-for-byte agreement with OpenSSL 3, an
// independent encoder: testdata/secp256k1_*.pem were written by
// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1`,
// `openssl pkey -pubout` and `openssl ec` (SEC1).
func TestSecp256k1OpenSSL(t *testing.T) {
	p8 := readPEM(t, "secp256k1_pkcs8.pem")
	key, err := ParsePKCS8PrivateKey(p8)
	if err != nil {
		t.Fatalf("ParsePKCS8PrivateKey: %v", err)
	}
	k, ok := key.(*secp256k1.PrivateKey)
	if !ok {
		t.Fatalf("ParsePKCS8PrivateKey returned %T", key)
	}
	again, err := MarshalPKCS8PrivateKey(k)
	if err != nil || !bytes.Equal(again, p8) {
		t.Errorf("MarshalPKCS8PrivateKey = %x, %v; want OpenSSL's %x", again, err, p8)
	}

	spkiDER := readPEM(t, "secp256k1_spki.pem")
	pub, err := ParsePKIXPublicKey(spkiDER)
	if err != nil {
		t.Fatalf("ParsePKIXPublicKey: %v", err)
	}
	if p, ok := pub.(*secp256k1.PublicKey); !ok || !p.IsEqual(k.PubKey()) {
		t.Fatalf("ParsePKIXPublicKey returned %T, not the key's public key", pub)
	}
	again, err = MarshalPKIXPublicKey(pub)
	if err != nil || !bytes.Equal(again, spkiDER) {
		t.Errorf("MarshalPKIXPublicKey = %x, %v; want OpenSSL's %x", again, err, spkiDER)
	}

	sec1 := readPEM(t, "secp256k1_sec1.pem")
	k2, err := parseSecp256k1ECPrivateKey(sec1, true)
	if err != nil || !k2.Key.Equals(&k.Key) {
		t.Fatalf("parse SEC1: %v", err)
	}
	again, err = marshalSecp256k1ECPrivateKey(k2, true)
	if err != nil || !bytes.Equal(again, sec1) {
		t.Errorf("marshal SEC1 = %x, %v; want OpenSSL's %x", again, err, sec1)
	}
}

// TestPKCS8OtherKeys checks that keys crypto/x509 knows pass through unchanged.
func TestPKCS8OtherKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []crypto.Signer{rsaKey, ecKey} {
		der, err := MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		if !back.(interface{ Equal(crypto.PrivateKey) bool }).Equal(key) {
			t.Errorf("%T did not round-trip", key)
		}
		pder, err := MarshalPKIXPublicKey(key.Public())
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePKIXPublicKey(pder)
		if err != nil || !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Errorf("%T public key did not round-trip: %v", key, err)
		}
	}
}

func TestSecp256k1Invalid(t *testing.T) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := secp256k1.GeneratePrivateKey()
	pub := k.PubKey().SerializeUncompressed()
	hybrid := append([]byte{6 | pub[64]&1}, pub[1:]...)
	n := secp256k1.Params().N.FillBytes(make([]byte, 32))
	scalar := k.Serialize()
	encode := func(v ecPrivateKey) []byte {
		inner, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		der, err := asn1.Marshal(pkcs8{Algo: secp256k1Algo(), PrivateKey: inner})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	bits := func(b []byte) asn1.BitString { return asn1.BitString{Bytes: b, BitLength: 8 * len(b)} }
	tests := []struct {
		name string
		der  []byte
	}{
		{"zero scalar", encode(ecPrivateKey{Version: 1, PrivateKey: make([]byte, 32)})},
		{"scalar equal to the order", encode(ecPrivateKey{Version: 1, PrivateKey: n})},
		{"33-byte scalar", encode(ecPrivateKey{Version: 1, PrivateKey: append([]byte{1}, scalar...)})},
		{"version 2", encode(ecPrivateKey{Version: 2, PrivateKey: scalar})},
		{"another curve inside", encode(ecPrivateKey{Version: 1, PrivateKey: scalar, NamedCurveOID: asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}})},
		{"public key of another key", encode(ecPrivateKey{Version: 1, PrivateKey: scalar, PublicKey: bits(other.PubKey().SerializeUncompressed())})},
		{"hybrid public key", encode(ecPrivateKey{Version: 1, PrivateKey: scalar, PublicKey: bits(hybrid)})},
		{"trailing data", append(encode(ecPrivateKey{Version: 1, PrivateKey: scalar}), 0)},
	}
	for _, tt := range tests {
		if key, err := ParsePKCS8PrivateKey(tt.der); err == nil {
			t.Errorf("%s: ParsePKCS8PrivateKey accepted it (%T)", tt.name, key)
		}
	}
	// A short scalar without its public key is accepted, left-padded.
	short := secp256k1.PrivKeyFromBytes([]byte{0, 0, 1, 2, 3})
	got, err := ParsePKCS8PrivateKey(encode(ecPrivateKey{Version: 1, PrivateKey: []byte{1, 2, 3}}))
	if err != nil || !got.(*secp256k1.PrivateKey).Key.Equals(&short.Key) {
		t.Errorf("short scalar: %v", err)
	}
	spkiHybrid, _ := asn1.Marshal(spki{Algorithm: secp256k1Algo(), PublicKey: bits(hybrid)})
	if _, err := ParsePKIXPublicKey(spkiHybrid); err == nil {
		t.Error("ParsePKIXPublicKey accepted a hybrid point")
	}
	compressed, _ := asn1.Marshal(spki{Algorithm: secp256k1Algo(), PublicKey: bits(k.PubKey().SerializeCompressed())})
	if p, err := ParsePKIXPublicKey(compressed); err != nil || !p.(*secp256k1.PublicKey).IsEqual(k.PubKey()) {
		t.Errorf("ParsePKIXPublicKey of a compressed point: %v", err)
	}
}
