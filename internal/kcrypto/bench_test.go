package kcrypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

// Benchmarks of the hot path through Key next to the standard library
// doing the same work directly, so that the wrapper's overhead shows.
// Compare with: go test -run=^$ -bench=. -benchmem ./internal/kcrypto

var benchMsg = make([]byte, 64)

func BenchmarkAESGCMEncrypt64(b *testing.B) {
	k := testKey(b, Spec{Type: AES, Bits: 256})
	b.Run("kcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Encrypt(AESGCM, benchMsg, CipherOpts{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		aead := k.m.gcm
		b.ReportAllocs()
		for b.Loop() {
			nonce := make([]byte, GCMIVSize)
			_, _ = rand.Read(nonce)
			_ = aead.Seal(nil, nonce, benchMsg, nil)
		}
	})
}

func BenchmarkAESGCMDecrypt64(b *testing.B) {
	k := testKey(b, Spec{Type: AES, Bits: 256})
	c, _ := k.Encrypt(AESGCM, benchMsg, CipherOpts{})
	sealed := append(append([]byte(nil), c.Data...), c.Tag...)
	b.Run("kcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Decrypt(AESGCM, c, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.m.gcm.Open(nil, c.IV, sealed, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkECDSAP256Sign(b *testing.B) {
	k := testKey(b, Spec{Type: EC, Curve: P256})
	b.Run("kcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Sign(ECDSASHA256, benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kcrypto-raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Sign(ECDSASHA256Raw, benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		priv := k.m.ecPriv
		b.ReportAllocs()
		for b.Loop() {
			d := sha256.Sum256(benchMsg)
			if _, err := ecdsa.SignASN1(rand.Reader, priv, d[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSecp256k1Sign(b *testing.B) {
	k := testKey(b, Spec{Type: EC, Curve: Secp256k1})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(ECDSASHA256Raw, benchMsg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRSA2048Sign(b *testing.B) {
	k := testKey(b, Spec{Type: RSA, Bits: 2048})
	b.Run("kcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Sign(PS256, benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		priv := k.m.rsaPriv
		b.ReportAllocs()
		for b.Loop() {
			d := sha256.Sum256(benchMsg)
			if _, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d[:], pssOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkHMACSHA256_64(b *testing.B) {
	k := testKey(b, Spec{Type: HMAC, Bits: 256})
	b.Run("kcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.MAC(HMACSHA256, benchMsg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		key := k.m.raw
		b.ReportAllocs()
		for b.Loop() {
			h := hmac.New(sha256.New, key)
			h.Write(benchMsg)
			_ = h.Sum(nil)
		}
	})
}
