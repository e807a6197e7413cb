package akvemu

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

func TestRSAOperations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("proxy", "kw-standard")
	k, err := c.CreateKey(ctx, "rsa", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(k.Key.N), E: int(new(big.Int).SetBytes(k.Key.E).Int64())}
	ver := k.Key.KID.Version()
	secret := []byte("a 32-byte data encryption key!!!")
	for _, alg := range []azkeys.EncryptionAlgorithm{azkeys.EncryptionAlgorithmRSA15, azkeys.EncryptionAlgorithmRSAOAEP, azkeys.EncryptionAlgorithmRSAOAEP256} {
		t.Run(string(alg), func(t *testing.T) {
			enc, err := c.Encrypt(ctx, "rsa", ver, azkeys.KeyOperationParameters{Algorithm: &alg, Value: secret}, nil)
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			dec, err := c.Decrypt(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: &alg, Value: enc.Result}, nil)
			if err != nil || !bytes.Equal(dec.Result, secret) {
				t.Fatalf("Decrypt: %v", err)
			}
			// Encrypt locally with the public key: the service must decrypt it.
			var local []byte
			switch alg {
			case azkeys.EncryptionAlgorithmRSA15:
				//lint:ignore SA1019 Azure's RSA1_5
				local, _ = rsa.EncryptPKCS1v15(rand.Reader, pub, secret)
			case azkeys.EncryptionAlgorithmRSAOAEP:
				local, _ = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, secret, nil)
			default:
				local, _ = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, secret, nil)
			}
			unw, err := c.UnwrapKey(ctx, "rsa", ver, azkeys.KeyOperationParameters{Algorithm: &alg, Value: local}, nil)
			if err != nil || !bytes.Equal(unw.Result, secret) {
				t.Fatalf("UnwrapKey of a locally wrapped key: %v", err)
			}
			if _, err := c.WrapKey(ctx, "rsa", ver, azkeys.KeyOperationParameters{Algorithm: &alg, Value: secret}, nil); err != nil {
				t.Fatalf("WrapKey: %v", err)
			}
		})
	}
	hashes := map[azkeys.SignatureAlgorithm]crypto.Hash{
		azkeys.SignatureAlgorithmRS256: crypto.SHA256, azkeys.SignatureAlgorithmRS384: crypto.SHA384, azkeys.SignatureAlgorithmRS512: crypto.SHA512,
		azkeys.SignatureAlgorithmPS256: crypto.SHA256, azkeys.SignatureAlgorithmPS384: crypto.SHA384, azkeys.SignatureAlgorithmPS512: crypto.SHA512,
	}
	for alg, h := range hashes {
		t.Run(string(alg), func(t *testing.T) {
			hh := h.New()
			hh.Write([]byte("message"))
			digest := hh.Sum(nil)
			s, err := c.Sign(ctx, "rsa", ver, azkeys.SignParameters{Algorithm: &alg, Value: digest}, nil)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if alg[0] == 'P' {
				err = rsa.VerifyPSS(pub, h, digest, s.Result, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
			} else {
				err = rsa.VerifyPKCS1v15(pub, h, digest, s.Result)
			}
			if err != nil {
				t.Errorf("local verification: %v", err)
			}
			v, err := c.Verify(ctx, "rsa", ver, azkeys.VerifyParameters{Algorithm: &alg, Digest: digest, Signature: s.Result}, nil)
			if err != nil || !*v.Value {
				t.Errorf("Verify: %v", err)
			}
			s.Result[0] ^= 1
			if v, err := c.Verify(ctx, "rsa", ver, azkeys.VerifyParameters{Algorithm: &alg, Digest: digest, Signature: s.Result}, nil); err != nil || *v.Value {
				t.Errorf("tampered signature verified: %v", err)
			}
		})
	}
	t.Run("RSNULL", func(t *testing.T) {
		raw := []byte("pre-built DigestInfo or any short value")
		s, err := c.Sign(ctx, "rsa", ver, azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithm("RSNULL")), Value: raw}, nil)
		if err != nil || rsa.VerifyPKCS1v15(pub, 0, raw, s.Result) != nil {
			t.Errorf("RSNULL: %v", err)
		}
	})
	golden(t, "crypto_alg_mismatch", e.raw("POST", "kw-standard", "/keys/rsa/sign", `{"alg":"ES256","value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))
	golden(t, "crypto_digest_length", e.raw("POST", "kw-standard", "/keys/rsa/sign", `{"alg":"RS256","value":"AAAA"}`))
	golden(t, "crypto_bad_base64", e.raw("POST", "kw-standard", "/keys/rsa/encrypt", `{"alg":"RSA-OAEP","value":"!!"}`))
}

func TestECOperations(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("direct", "kw-premium")
	for _, tc := range []struct {
		crv azkeys.CurveName
		alg azkeys.SignatureAlgorithm
		h   func() []byte
	}{
		{azkeys.CurveNameP256, azkeys.SignatureAlgorithmES256, func() []byte { s := sha256.Sum256([]byte("m")); return s[:] }},
		{azkeys.CurveNameP384, azkeys.SignatureAlgorithmES384, func() []byte { s := sha512.Sum384([]byte("m")); return s[:] }},
		{azkeys.CurveNameP521, azkeys.SignatureAlgorithmES512, func() []byte { s := sha512.Sum512([]byte("m")); return s[:] }},
		{azkeys.CurveNameP256K, azkeys.SignatureAlgorithmES256K, func() []byte { s := sha256.Sum256([]byte("m")); return s[:] }},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			name := "ec-" + string(tc.alg)
			k, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeECHSM), Curve: &tc.crv}, nil)
			if err != nil {
				t.Fatal(err)
			}
			digest := tc.h()
			s, err := c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: &tc.alg, Value: digest}, nil)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			half := len(s.Result) / 2
			r, sv := new(big.Int).SetBytes(s.Result[:half]), new(big.Int).SetBytes(s.Result[half:])
			if tc.crv == azkeys.CurveNameP256K {
				pub, err := secp256k1.ParsePubKey(append([]byte{4}, append(k.Key.X, k.Key.Y...)...))
				if err != nil {
					t.Fatal(err)
				}
				var rs, ss secp256k1.ModNScalar
				rs.SetByteSlice(s.Result[:32])
				ss.SetByteSlice(s.Result[32:])
				if !k1ecdsa.NewSignature(&rs, &ss).Verify(digest, pub) {
					t.Error("secp256k1 signature does not verify locally")
				}
			} else {
				pub, err := ecdsa.ParseUncompressedPublicKey(curves[string(tc.crv)], append(append([]byte{4}, k.Key.X...), k.Key.Y...))
				if err != nil {
					t.Fatal(err)
				}
				if !ecdsa.Verify(pub, digest, r, sv) {
					t.Error("signature does not verify locally")
				}
			}
			v, err := c.Verify(ctx, name, "", azkeys.VerifyParameters{Algorithm: &tc.alg, Digest: digest, Signature: s.Result}, nil)
			if err != nil || !*v.Value {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestAESAndHMACOnManagedHSM(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("proxy", "kw-hsm")
	if _, err := c.CreateKey(ctx, "aes", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeOctHSM), KeySize: to.Ptr[int32](256),
		KeyOps: ops("encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify")}, nil); err != nil {
		t.Fatal(err)
	}
	plain := []byte("sixteen byte msg and some more bytes")
	t.Run("A256GCM", func(t *testing.T) {
		aad := []byte("context")
		enc, err := c.Encrypt(ctx, "aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM),
			Value: plain, AdditionalAuthenticatedData: aad}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc.IV) != 12 || len(enc.AuthenticationTag) != 16 {
			t.Fatalf("iv %d tag %d", len(enc.IV), len(enc.AuthenticationTag))
		}
		dec, err := c.Decrypt(ctx, "aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM),
			Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: aad}, nil)
		if err != nil || !bytes.Equal(dec.Result, plain) {
			t.Fatalf("Decrypt: %v", err)
		}
		enc.AuthenticationTag[0] ^= 1
		_, err = c.Decrypt(ctx, "aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM),
			Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: aad}, nil)
		wantStatus(t, err, 400, "BadParameter")
	})
	for _, alg := range []azkeys.EncryptionAlgorithm{azkeys.EncryptionAlgorithmA256CBCPAD, azkeys.EncryptionAlgorithmA256CBC} {
		t.Run(string(alg), func(t *testing.T) {
			in := plain
			if alg == azkeys.EncryptionAlgorithmA256CBC {
				in = plain[:32]
			}
			iv := []byte("0123456789ABCDEF")
			enc, err := c.Encrypt(ctx, "aes", "", azkeys.KeyOperationParameters{Algorithm: &alg, Value: in, IV: iv}, nil)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := c.Decrypt(ctx, "aes", "", azkeys.KeyOperationParameters{Algorithm: &alg, Value: enc.Result, IV: iv}, nil)
			if err != nil || !bytes.Equal(dec.Result, in) {
				t.Fatalf("Decrypt: %v %q", err, dec.Result)
			}
		})
	}
	for _, alg := range []azkeys.EncryptionAlgorithm{azkeys.EncryptionAlgorithmA256KW, azkeys.EncryptionAlgorithmCKMAESKEYWRAP, azkeys.EncryptionAlgorithmCKMAESKEYWRAPPAD} {
		t.Run(string(alg), func(t *testing.T) {
			dek := []byte("0123456789abcdef0123456789abcdef")
			if alg == azkeys.EncryptionAlgorithmCKMAESKEYWRAPPAD {
				dek = dek[:20]
			}
			w, err := c.WrapKey(ctx, "aes", "", azkeys.KeyOperationParameters{Algorithm: &alg, Value: dek}, nil)
			if err != nil {
				t.Fatal(err)
			}
			u, err := c.UnwrapKey(ctx, "aes", "", azkeys.KeyOperationParameters{Algorithm: &alg, Value: w.Result}, nil)
			if err != nil || !bytes.Equal(u.Result, dek) {
				t.Fatalf("UnwrapKey: %v", err)
			}
		})
	}
	t.Run("HS256", func(t *testing.T) {
		s, err := c.Sign(ctx, "aes", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmHS256), Value: []byte("data")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Verify(ctx, "aes", "", azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmHS256), Digest: []byte("data"), Signature: s.Result}, nil)
		if err != nil || !*v.Value || len(s.Result) != 32 {
			t.Fatalf("Verify: %v", err)
		}
		// The MAC is HMAC-SHA-256 of the value under the key: check it against an import.
		key := []byte("0123456789abcdef0123456789abcdef")
		if _, err := c.ImportKey(ctx, "known", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{Kty: to.Ptr(azkeys.KeyTypeOctHSM), K: key,
			KeyOps: ops("sign", "verify")}}, nil); err != nil {
			t.Fatal(err)
		}
		s, err = c.Sign(ctx, "known", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmHS256), Value: []byte("data")}, nil)
		m := hmac.New(sha256.New, key)
		m.Write([]byte("data"))
		if err != nil || !hmac.Equal(s.Result, m.Sum(nil)) {
			t.Errorf("HS256 is not HMAC-SHA-256: %v", err)
		}
	})
	golden(t, "crypto_aes_size_mismatch", e.raw("POST", "kw-hsm", "/keys/aes/encrypt", `{"alg":"A128GCM","value":"AAAA"}`))
	golden(t, "crypto_kw_for_encrypt", e.raw("POST", "kw-hsm", "/keys/aes/encrypt", `{"alg":"A256KW","value":"AAAAAAAAAAAAAAAAAAAAAA"}`))
	golden(t, "crypto_ckm_needs_76", e.raw("POST", "kw-hsm", "/keys/aes/wrapkey", `{"alg":"CKM_AES_KEY_WRAP","value":"AAAAAAAAAAAAAAAAAAAAAA"}`, "7.5"))
}

func TestKeyStateEnforcement(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("direct", "kw-standard")
	if _, err := c.CreateKey(ctx, "signer", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeyOps: ops("sign", "verify")}, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "op_not_permitted", e.raw("POST", "kw-standard", "/keys/signer/encrypt", `{"alg":"RSA-OAEP","value":"AAAA"}`))
	if _, err := c.UpdateKey(ctx, "signer", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "op_disabled_key", e.raw("POST", "kw-standard", "/keys/signer/sign", `{"alg":"RS256","value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`))

	past := time.Now().Add(-time.Hour)
	k, err := c.CreateKey(ctx, "expired", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA),
		KeyAttributes: &azkeys.KeyAttributes{NotBefore: to.Ptr(past.Add(-time.Hour)), Expires: &past}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(k.Key.N), E: 65537}
	golden(t, "op_expired_key", e.raw("POST", "kw-standard", "/keys/expired/encrypt", `{"alg":"RSA-OAEP","value":"AAAA"}`))
	ct, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, []byte("still readable"), nil)
	if d, err := c.Decrypt(ctx, "expired", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: ct}, nil); err != nil || string(d.Result) != "still readable" {
		t.Errorf("decrypt with an expired key must work: %v", err)
	}
	future := time.Now().Add(24 * time.Hour)
	if _, err := c.CreateKey(ctx, "early", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA),
		KeyAttributes: &azkeys.KeyAttributes{NotBefore: &future}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sign(ctx, "early", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: make([]byte, 32)}, nil)
	wantStatus(t, err, 403, "Forbidden")
	// Moving the emulator's clock past nbf makes the key usable.
	e.clock.Advance(25 * time.Hour)
	if _, err := c.Sign(ctx, "early", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: make([]byte, 32)}, nil); err != nil {
		t.Errorf("sign after nbf: %v", err)
	}
}
