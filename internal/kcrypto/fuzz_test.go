package kcrypto

import (
	"bytes"
	"crypto/aes"
	"encoding/pem"
	"testing"
)

// Fuzz tests for every parser of outside data. They must never panic; where
// a parse succeeds, its result must survive a round trip. Seeds are valid
// encodings of generated keys; crashers found are kept in testdata/fuzz.

// fuzzSeedKeys are keys whose encodings seed the corpora; RSA-2048 only, so
// that seeding stays fast.
func fuzzSeedKeys(f *testing.F) []*Key {
	var keys []*Key
	for _, spec := range []Spec{{Type: AES, Bits: 128}, {Type: HMAC, Bits: 256}, {Type: RSA, Bits: 2048},
		{Type: EC, Curve: P256}, {Type: EC, Curve: P521}, {Type: EC, Curve: Secp256k1}} {
		k := testKey(f, spec)
		keys = append(keys, k)
		if p, err := k.Public(); err == nil {
			keys = append(keys, p)
		}
	}
	c, err := Import(selfSigned(f, testKey(f, Spec{Type: EC, Curve: P256})), ImportOptions{})
	if err != nil {
		f.Fatal(err)
	}
	return append(keys, c)
}

// FuzzImport drives the whole import path: format detection, base64, hex,
// PEM, DER, JWK, and the declared-type checks.
func FuzzImport(f *testing.F) {
	for _, k := range fuzzSeedKeys(f) {
		for format := FormatRaw; format <= FormatJWK; format++ {
			if out, err := k.Export(format); err == nil {
				f.Add(out, uint8(format), uint8(k.Spec().Type))
				f.Add(out, uint8(FormatAuto), uint8(0))
			}
		}
	}
	for _, name := range []string{"secp256k1_pkcs8.pem", "secp256k1_sec1.pem", "secp256k1_spki.pem"} {
		f.Add(readFile(f, name), uint8(FormatAuto), uint8(0))
	}
	// An RSA key with a huge modulus, which once reached crypto/x509's
	// slow validation.
	f.Add(hugeRSA(f, 16384, true), uint8(FormatDER), uint8(RSA))
	f.Fuzz(func(t *testing.T, data []byte, format, typ uint8) {
		k, err := Import(data, ImportOptions{Format: Format(format % 8), Type: KeyType(typ % 8)})
		if err != nil {
			return
		}
		checkRoundTrip(t, k)
	})
}

// checkRoundTrip checks that an imported key marshals and comes back equal:
// a parse that accepts what it cannot reproduce is a bug.
func checkRoundTrip(t *testing.T, k *Key) {
	t.Helper()
	raw, err := k.Marshal()
	if err != nil {
		t.Fatalf("imported %v does not marshal: %v", k, err)
	}
	back, err := Unmarshal(k.Spec().Type, raw)
	if err != nil || !back.Equal(k) {
		t.Fatalf("imported %v does not round-trip: %v", k, err)
	}
}

func readFile(f *testing.F, name string) []byte {
	data, err := readTestdata(name)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

func FuzzParseJWK(f *testing.F) {
	for _, k := range fuzzSeedKeys(f) {
		if out, err := k.Export(FormatJWK); err == nil {
			f.Add(out)
		}
		if out, err := k.AzureJWK(); err == nil {
			f.Add(out)
		}
	}
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ","p":"Aw","q":"BQ","dp":"AQ","dq":"AQ","qi":"AQ"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256K","x":"","y":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range []KeyType{0, AES, HMAC, Secret} {
			if k, err := parseJWK(data, typ); err == nil {
				checkRoundTrip(t, k)
			}
		}
	})
}

// FuzzParseDER covers the DER classifier and every DER parser, PKCS#8 and
// SPKI with secp256k1 included, and PEM around them.
func FuzzParseDER(f *testing.F) {
	for _, k := range fuzzSeedKeys(f) {
		if out, err := k.Export(FormatDER); err == nil {
			f.Add(out)
		}
	}
	for _, name := range []string{"secp256k1_pkcs8.pem", "secp256k1_sec1.pem", "secp256k1_spki.pem"} {
		b, _ := pem.Decode(readFile(f, name))
		f.Add(b.Bytes)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := parseDER(data); err == nil {
			checkRoundTrip(t, k)
		}
		_, _ = ParsePKCS8PrivateKey(data)
		_, _ = ParsePKIXPublicKey(data)
		_, _ = parseSEC1(data)
		for _, typ := range []string{"PRIVATE KEY", "EC PRIVATE KEY", "PUBLIC KEY", "CERTIFICATE"} {
			if k, err := parsePEM(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: data})); err == nil {
				checkRoundTrip(t, k)
			}
		}
	})
}

func FuzzParsePEM(f *testing.F) {
	for _, k := range fuzzSeedKeys(f) {
		if out, err := k.Export(FormatPEM); err == nil {
			f.Add(out)
		}
	}
	f.Add([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := parsePEM(data); err == nil {
			checkRoundTrip(t, k)
		}
	})
}

// FuzzKeyUnwrap feeds wrapped blobs to AES-KW and AES-KWP unwrap; whatever
// unwraps must wrap back to the same blob.
func FuzzKeyUnwrap(f *testing.F) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, n := range []int{1, 7, 8, 9, 16, 24, 40} {
		if w, err := KeyWrapPad(b, bytes.Repeat([]byte{1}, n)); err == nil {
			f.Add(w)
		}
		if w, err := KeyWrap(b, bytes.Repeat([]byte{1}, n)); err == nil {
			f.Add(w)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := KeyUnwrap(b, data); err == nil {
			if w, err := KeyWrap(b, p); err != nil || !bytes.Equal(w, data) {
				t.Fatalf("KW unwrap of %x gave %x, which wraps to %x, %v", data, p, w, err)
			}
		}
		if p, err := KeyUnwrapPad(b, data); err == nil {
			if w, err := KeyWrapPad(b, p); err != nil || !bytes.Equal(w, data) {
				t.Fatalf("KWP unwrap of %x gave %x, which wraps to %x, %v", data, p, w, err)
			}
		}
	})
}

// FuzzRSAAESUnwrap feeds CKM_RSA_AES_KEY_WRAP blobs to the unwrap path,
// and the result to import as each type.
func FuzzRSAAESUnwrap(f *testing.F) {
	kek := testKey(f, Spec{Type: RSA, Bits: 2048})
	for _, ts := range []Spec{{Type: AES, Bits: 256}, {Type: EC, Curve: Secp256k1}} {
		w, err := kek.WrapKey(RSAAESKeyWrap, testKey(f, ts))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(w, uint8(ts.Type))
	}
	f.Fuzz(func(t *testing.T, data []byte, typ uint8) {
		if k, err := kek.UnwrapKey(RSAAESKeyWrap, data, KeyType(typ%8)); err == nil {
			checkRoundTrip(t, k)
		}
	})
}

func FuzzParseBYOK(f *testing.F) {
	kek := testKey(f, Spec{Type: RSA, Bits: 2048})
	for _, ts := range []Spec{{Type: AES, Bits: 128}, {Type: EC, Curve: P256}} {
		b, err := NewBYOK(kek, testKEKID, testKey(f, ts), "")
		if err != nil {
			f.Fatal(err)
		}
		file, _ := b.Marshal()
		f.Add(file)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBYOK(data)
		if err != nil {
			return
		}
		for _, typ := range []KeyType{RSA, EC, AES} {
			if k, err := b.Open(kek, typ); err == nil {
				checkRoundTrip(t, k)
			}
		}
	})
}

// FuzzVerifyECDSA feeds signatures to the DER and raw ECDSA parsers.
func FuzzVerifyECDSA(f *testing.F) {
	keys := []*Key{testKey(f, Spec{Type: EC, Curve: P256}), testKey(f, Spec{Type: EC, Curve: Secp256k1})}
	for _, k := range keys {
		for _, alg := range []Algorithm{ECDSASHA256, ECDSASHA256Raw} {
			sig, _ := k.Sign(alg, []byte("m"))
			f.Add(sig)
		}
	}
	f.Fuzz(func(t *testing.T, sig []byte) {
		for _, k := range keys {
			for _, alg := range []Algorithm{ECDSASHA256, ECDSASHA256Raw} {
				_ = k.Verify(alg, []byte("m"), sig)
			}
		}
	})
}

// FuzzDecryptCBC feeds ciphertexts to CBC decryption and its unpadding.
func FuzzDecryptCBC(f *testing.F) {
	k := testKey(f, Spec{Type: AES, Bits: 128})
	for _, n := range []int{0, 15, 16, 33} {
		c, _ := k.Encrypt(AESCBC, make([]byte, n), CipherOpts{})
		f.Add(c.Data, c.IV)
	}
	f.Fuzz(func(t *testing.T, data, iv []byte) {
		p, err := k.Decrypt(AESCBC, Ciphertext{Data: data, IV: iv}, nil)
		if err != nil {
			return
		}
		c, err := k.Encrypt(AESCBC, p, CipherOpts{IV: iv})
		if err != nil || !bytes.Equal(c.Data, data) {
			t.Fatalf("CBC decrypt then encrypt differs: %v", err)
		}
	})
}
