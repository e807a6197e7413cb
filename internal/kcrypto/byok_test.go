package kcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

const testKEKID = "https://myvault.vault.azure.net/keys/kek/0123456789abcdef0123456789abcdef"

// TestBYOK builds .byok files and opens them by an independent path: the
// JSON read with encoding/json, C1 decrypted with crypto/rsa OAEP-SHA-1,
// C2 unwrapped with the RFC-checked KWP, the PKCS#8 parsed by
// ParsePKCS8PrivateKey, and every length checked against the specification.
func TestBYOK(t *testing.T) {
	targets := []Spec{{Type: RSA, Bits: 2048}, {Type: EC, Curve: P256}, {Type: EC, Curve: Secp256k1}, {Type: AES, Bits: 256}}
	for _, kekSpec := range []Spec{{Type: RSA, Bits: 2048}, {Type: RSA, Bits: 4096}} {
		kek := testKey(t, kekSpec)
		kekPub := mustPublic(t, kek) // the vault hands out only n and e
		for _, ts := range targets {
			target := testKey(t, ts)
			b, err := NewBYOK(kekPub, testKEKID, target, "Keyward test")
			if err != nil {
				t.Fatalf("%v under %v: %v", ts, kekSpec, err)
			}
			file, err := b.Marshal()
			must(t, err)

			var j struct {
				SchemaVersion string `json:"schema_version"`
				Header        struct{ Kid, Alg, Enc string }
				Ciphertext    string
				Generator     string
			}
			must(t, json.Unmarshal(file, &j))
			if j.SchemaVersion != "1.0.0" || j.Header.Kid != testKEKID || j.Header.Alg != "dir" ||
				j.Header.Enc != "CKM_RSA_AES_KEY_WRAP" || j.Generator != "Keyward test" {
				t.Errorf("%v: envelope %+v", ts, j)
			}
			if strings.ContainsAny(j.Ciphertext, "=+/") {
				t.Errorf("%v: ciphertext is not unpadded base64url", ts)
			}
			ct, err := base64.RawURLEncoding.DecodeString(j.Ciphertext)
			must(t, err)

			want, _ := target.Marshal() // PKCS#8 or raw AES bytes
			modLen := kekSpec.Bits / 8
			if wantLen := modLen + 8*((len(want)+7)/8) + 8; len(ct) != wantLen {
				t.Errorf("%v under %v: ciphertext is %d bytes, want %d", ts, kekSpec, len(ct), wantLen)
			}
			if kekSpec.Bits == 4096 && ts.Type == AES && len(ct) != 552 {
				t.Errorf("4096-bit KEK with AES-256 target: %d bytes, want 552", len(ct))
			}
			ephemeral, err := rsa.DecryptOAEP(sha1.New(), nil, kek.m.rsaPriv, ct[:modLen], nil)
			if err != nil || len(ephemeral) != 32 {
				t.Fatalf("%v: C1 is not OAEP-SHA-1 of a 32-byte key: %v", ts, err)
			}
			blk, _ := aes.NewCipher(ephemeral)
			pt, err := KeyUnwrapPad(blk, ct[modLen:])
			if err != nil || !bytes.Equal(pt, want) {
				t.Fatalf("%v: C2 is not KWP of the target: %v", ts, err)
			}
			if ts.Type != AES {
				if _, err := ParsePKCS8PrivateKey(pt); err != nil {
					t.Errorf("%v: target is not PKCS#8: %v", ts, err)
				}
			}

			// And the package's own inverse.
			parsed, err := ParseBYOK(file)
			must(t, err)
			got, err := parsed.Open(kek, ts.Type)
			if err != nil || !got.Equal(target) {
				t.Errorf("%v: Open: %v", ts, err)
			}
		}
	}
}

func TestBYOKRefusals(t *testing.T) {
	kek := testKey(t, Spec{Type: RSA, Bits: 2048})
	ec := testKey(t, Spec{Type: EC, Curve: P256})
	for _, tt := range []struct {
		name    string
		kekID   string
		target  *Key
		wantErr string
	}{
		{"unversioned kid", "https://v.vault.azure.net/keys/kek", ec, "not a versioned key id"},
		{"not a key id", "https://v.vault.azure.net/secrets/kek/1", ec, "not a versioned key id"},
		{"HMAC target", testKEKID, testKey(t, Spec{Type: HMAC, Bits: 256}), "must be an RSA, EC or AES key"},
		{"public target", testKEKID, mustPublic(t, ec), "not secret"},
	} {
		_, err := NewBYOK(kek, tt.kekID, tt.target, "")
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: NewBYOK = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	if _, err := NewBYOK(testKey(t, Spec{Type: AES, Bits: 256}), testKEKID, ec, ""); err == nil {
		t.Error("NewBYOK took an AES KEK")
	}

	b, err := NewBYOK(kek, testKEKID, ec, "")
	must(t, err)
	if b.Generator != DefaultBYOKGenerator {
		t.Errorf("generator = %q", b.Generator)
	}
	file, _ := b.Marshal()
	edit := func(old, new string) []byte { return []byte(strings.Replace(string(file), old, new, 1)) }
	for _, tt := range []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"schema", edit(`"1.0.0"`, `"2.0.0"`), "schema_version"},
		{"alg", edit(`"dir"`, `"RSA-OAEP"`), "header.alg"},
		{"enc", edit(`"CKM_RSA_AES_KEY_WRAP"`, `"RSA_AES_KEY_WRAP_256"`), "header.enc"},
		{"kid", edit(testKEKID, ""), "kid is missing"},
		{"json", file[:20], "not valid JSON"},
		{"trailing data", append(bytes.Clone(file), "{}"...), "not valid JSON"},
		{"ciphertext", edit(`"ciphertext":"`, `"ciphertext":"*`), "not base64"},
	} {
		_, err := ParseBYOK(tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: ParseBYOK = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
	// Padded standard base64, as some producers write, is read.
	std := edit(base64.RawURLEncoding.EncodeToString(b.Ciphertext), base64.StdEncoding.EncodeToString(b.Ciphertext))
	p, err := ParseBYOK(std)
	if err != nil || !bytes.Equal(p.Ciphertext, b.Ciphertext) {
		t.Errorf("standard base64 ciphertext: %v", err)
	}
	if _, err := p.Open(testKey(t, Spec{Type: RSA, Bits: 3072}), EC); err == nil {
		t.Error("Open with another KEK succeeded")
	}
	if _, err := p.Open(kek, RSA); err == nil || !strings.Contains(err.Error(), "declared RSA target, but the blob holds EC P-256") {
		t.Errorf("Open as RSA: %v", err)
	}
	if _, err := p.Open(kek, AES); err == nil {
		t.Error("Open of an EC target as AES succeeded")
	}
	if _, err := p.Open(mustPublic(t, kek), EC); err == nil {
		t.Error("Open with a public KEK succeeded")
	}
}
