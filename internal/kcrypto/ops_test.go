package kcrypto

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"strings"
	"sync"
	"testing"
)

var (
	signAlgs = map[KeyType][]Algorithm{
		RSA: {PS256, PS384, PS512, RS256, RS384, RS512},
		EC:  {ECDSASHA256, ECDSASHA384, ECDSASHA512, ECDSASHA256Raw, ECDSASHA384Raw, ECDSASHA512Raw},
	}
	encryptAlgs = map[KeyType][]Algorithm{AES: {AESGCM, AESCBC}, RSA: {RSAOAEPSHA1, RSAOAEPSHA256}}
	wrapAlgs    = map[KeyType][]Algorithm{AES: {AESKW, AESKWP}, RSA: {RSAOAEPSHA1, RSAOAEPSHA256, RSAAESKeyWrap}}
	macAlgs     = []Algorithm{HMACSHA256, HMACSHA384, HMACSHA512}
)

func TestSignVerify(t *testing.T) {
	msg := []byte("keyward signs this")
	for _, spec := range allSpecs {
		k := testKey(t, spec)
		pub, _ := k.Public()
		for _, alg := range signAlgs[spec.Type] {
			sig, err := k.Sign(alg, msg)
			if err != nil {
				t.Fatalf("%v %v: Sign: %v", spec, alg, err)
			}
			if err := pub.Verify(alg, msg, sig); err != nil {
				t.Errorf("%v %v: Verify: %v", spec, alg, err)
			}
			d := digest(alg.hash(), msg)
			if err := pub.VerifyDigest(alg, d, sig); err != nil {
				t.Errorf("%v %v: VerifyDigest of Sign: %v", spec, alg, err)
			}
			sig2, err := k.SignDigest(alg, d)
			if err != nil || k.Verify(alg, msg, sig2) != nil {
				t.Errorf("%v %v: SignDigest then Verify: %v", spec, alg, err)
			}
			if _, err := k.SignDigest(alg, d[1:]); err == nil || !strings.Contains(err.Error(), "digest must be") {
				t.Errorf("%v %v: short digest: %v", spec, alg, err)
			}
			if err := pub.VerifyDigest(alg, append(d, 0), sig); err == nil || errors.Is(err, ErrSignature) {
				t.Errorf("%v %v: long digest: %v", spec, alg, err)
			}
			if err := pub.Verify(alg, append(msg, '!'), sig); !errors.Is(err, ErrSignature) {
				t.Errorf("%v %v: Verify of another message = %v", spec, alg, err)
			}
			bad := bytes.Clone(sig)
			bad[len(bad)/2] ^= 1
			if err := pub.Verify(alg, msg, bad); !errors.Is(err, ErrSignature) {
				t.Errorf("%v %v: Verify of a modified signature = %v", spec, alg, err)
			}
			if _, err := pub.Sign(alg, msg); err == nil || !strings.Contains(err.Error(), "needs a private key") {
				t.Errorf("%v %v: Sign with a public key = %v", spec, alg, err)
			}
			if spec.Type == EC && strings.HasSuffix(alg.String(), "RAW") && len(sig) != 2*spec.Curve.byteLen() {
				t.Errorf("%v %v: raw signature is %d bytes", spec, alg, len(sig))
			}
		}
	}
}

func TestEncryptDecrypt(t *testing.T) {
	for _, spec := range allSpecs {
		k := testKey(t, spec)
		for _, alg := range encryptAlgs[spec.Type] {
			for _, n := range []int{0, 1, 15, 16, 17, 64} {
				pt := bytes.Repeat([]byte{0xa5}, n)
				aad := []byte("object-id")
				if alg == AESCBC {
					aad = nil
				}
				c, err := k.Encrypt(alg, pt, CipherOpts{AAD: aad})
				if err != nil {
					t.Fatalf("%v %v len %d: Encrypt: %v", spec, alg, n, err)
				}
				got, err := k.Decrypt(alg, c, aad)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("%v %v len %d: Decrypt = %x, %v", spec, alg, n, got, err)
				}
				if len(c.Data) > 0 {
					bad := c
					bad.Data = bytes.Clone(c.Data)
					bad.Data[0] ^= 1
					if got, err := k.Decrypt(alg, bad, aad); err == nil && bytes.Equal(got, pt) {
						t.Errorf("%v %v len %d: a modified ciphertext decrypted to the plaintext", spec, alg, n)
					} else if alg != AESCBC && !errors.Is(err, ErrDecrypt) {
						// CBC has no integrity: only its padding may catch a change.
						t.Errorf("%v %v len %d: modified ciphertext: %v", spec, alg, n, err)
					}
				}
				if alg == AESGCM {
					if _, err := k.Decrypt(alg, c, []byte("other")); !errors.Is(err, ErrDecrypt) {
						t.Errorf("%v: wrong AAD: %v", spec, err)
					}
					bad := c
					bad.Tag = bytes.Clone(c.Tag)
					bad.Tag[15] ^= 1
					if _, err := k.Decrypt(alg, bad, aad); !errors.Is(err, ErrDecrypt) {
						t.Errorf("%v: modified tag: %v", spec, err)
					}
					if len(c.IV) != GCMIVSize || len(c.Tag) != GCMTagSize || len(c.Data) != n {
						t.Errorf("%v: GCM output sizes %d/%d/%d", spec, len(c.IV), len(c.Data), len(c.Tag))
					}
				}
			}
		}
		if spec.Type == RSA {
			pub, _ := k.Public()
			c, err := pub.Encrypt(RSAOAEPSHA256, []byte("x"), CipherOpts{})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := k.Decrypt(RSAOAEPSHA256, c, nil); err != nil || string(got) != "x" {
				t.Errorf("%v: public encrypt, private decrypt: %v", spec, err)
			}
			if _, err := pub.Decrypt(RSAOAEPSHA256, c, nil); err == nil || !strings.Contains(err.Error(), "needs a private key") {
				t.Errorf("%v: decrypt with a public key: %v", spec, err)
			}
			if _, err := k.Encrypt(RSAOAEPSHA256, make([]byte, spec.Bits/8), CipherOpts{}); err == nil {
				t.Errorf("%v: OAEP of a too-long plaintext succeeded", spec)
			}
		}
	}
}

func TestCipherParams(t *testing.T) {
	k := testKey(t, Spec{Type: AES, Bits: 256})
	if _, err := k.Encrypt(AESGCM, nil, CipherOpts{IV: make([]byte, 12)}); err == nil || !strings.Contains(err.Error(), "nonce reuse") {
		t.Errorf("GCM with a caller IV: %v", err)
	}
	iv := bytes.Repeat([]byte{7}, 16)
	c, err := k.Encrypt(AESCBC, []byte("hello"), CipherOpts{IV: iv})
	if err != nil || !bytes.Equal(c.IV, iv) || len(c.Data) != 16 {
		t.Fatalf("CBC with a caller IV: %+v, %v", c, err)
	}
	c2, _ := k.Encrypt(AESCBC, []byte("hello"), CipherOpts{IV: iv})
	if !bytes.Equal(c.Data, c2.Data) {
		t.Error("CBC with the same IV is not deterministic")
	}
	if _, err := k.Encrypt(AESCBC, nil, CipherOpts{IV: iv[:8]}); err == nil {
		t.Error("CBC accepted an 8-byte IV")
	}
	if _, err := k.Encrypt(AESCBC, nil, CipherOpts{AAD: []byte("x")}); err == nil {
		t.Error("CBC accepted AAD")
	}
	if _, err := testKey(t, Spec{Type: RSA, Bits: 2048}).Encrypt(RSAOAEPSHA256, nil, CipherOpts{IV: iv}); err == nil {
		t.Error("RSA-OAEP accepted an IV")
	}
	g, _ := k.Encrypt(AESGCM, []byte("hello"), CipherOpts{})
	for _, bad := range []Ciphertext{
		{Data: g.Data, IV: g.IV[:8], Tag: g.Tag},
		{Data: g.Data, IV: g.IV, Tag: g.Tag[:12]},
		{Data: g.Data, IV: g.IV},
	} {
		if _, err := k.Decrypt(AESGCM, bad, nil); err == nil || errors.Is(err, ErrDecrypt) {
			t.Errorf("GCM decrypt with IV %d bytes, tag %d bytes: %v", len(bad.IV), len(bad.Tag), err)
		}
	}
	for _, data := range [][]byte{nil, make([]byte, 15), make([]byte, 17)} {
		if _, err := k.Decrypt(AESCBC, Ciphertext{Data: data, IV: iv}, nil); !errors.Is(err, ErrDecrypt) {
			t.Errorf("CBC decrypt of %d bytes: %v", len(data), err)
		}
	}
	// Two GCM encryptions of the same plaintext use different IVs.
	g2, _ := k.Encrypt(AESGCM, []byte("hello"), CipherOpts{})
	if bytes.Equal(g.IV, g2.IV) {
		t.Error("GCM reused an IV")
	}
}

// TestWrongKeyType checks every algorithm against every key type it does
// not fit, and that the error names both.
func TestWrongKeyType(t *testing.T) {
	ops := map[string]func(k *Key, a Algorithm) error{
		"encrypt": func(k *Key, a Algorithm) error { _, err := k.Encrypt(a, []byte("x"), CipherOpts{}); return err },
		"sign":    func(k *Key, a Algorithm) error { _, err := k.Sign(a, []byte("x")); return err },
		"wrap":    func(k *Key, a Algorithm) error { _, err := k.Wrap(a, make([]byte, 16)); return err },
		"mac":     func(k *Key, a Algorithm) error { _, err := k.MAC(a, []byte("x")); return err },
	}
	uses := map[string]use{"encrypt": useEncrypt, "sign": useSign, "wrap": useWrap, "mac": useMAC}
	for _, spec := range allSpecs {
		k := testKey(t, spec)
		for a := Algorithm(1); a < algorithmCount; a++ {
			for name, op := range ops {
				err := op(k, a)
				fits := a.keyType() == spec.Type && a.uses()&uses[name] != 0
				if fits {
					if err != nil {
						t.Errorf("%v %s %v: %v", spec, name, a, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("%v %s %v: succeeded", spec, name, a)
				} else if a.uses()&uses[name] != 0 && !strings.Contains(err.Error(), "needs an "+a.keyType().String()+" key; key is "+spec.Type.String()) {
					t.Errorf("%v %s %v: error %q does not name both types", spec, name, a, err)
				}
			}
		}
	}
	want := "AES-GCM needs an AES key; key is RSA-2048 private"
	if _, err := testKey(t, Spec{Type: RSA, Bits: 2048}).Encrypt(AESGCM, nil, CipherOpts{}); err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if _, err := testKey(t, Spec{Type: AES, Bits: 128}).Sign(AESGCM, nil); err == nil || err.Error() != "AES-GCM is not a signature algorithm" {
		t.Errorf("error = %v", err)
	}
}

func TestMAC(t *testing.T) {
	msg := []byte("keyward")
	k := testKey(t, Spec{Type: HMAC, Bits: 256})
	want := map[Algorithm]int{HMACSHA256: sha256.Size, HMACSHA384: sha512.Size384, HMACSHA512: sha512.Size}
	for _, alg := range macAlgs {
		mac, err := k.MAC(alg, msg)
		if err != nil || len(mac) != want[alg] {
			t.Fatalf("%v: MAC = %x, %v", alg, mac, err)
		}
		if err := k.VerifyMAC(alg, msg, mac); err != nil {
			t.Errorf("%v: VerifyMAC: %v", alg, err)
		}
		for _, bad := range [][]byte{mac[:len(mac)-1], append(bytes.Clone(mac), 0), nil} {
			if err := k.VerifyMAC(alg, msg, bad); !errors.Is(err, ErrMAC) {
				t.Errorf("%v: VerifyMAC of %d bytes = %v", alg, len(bad), err)
			}
		}
		mac[0] ^= 1
		if err := k.VerifyMAC(alg, msg, mac); !errors.Is(err, ErrMAC) {
			t.Errorf("%v: VerifyMAC of a modified MAC = %v", alg, err)
		}
	}
}

func TestWrapUnwrap(t *testing.T) {
	targets := []Spec{{Type: AES, Bits: 256}, {Type: HMAC, Bits: 128}, {Type: EC, Curve: P256}, {Type: EC, Curve: Secp256k1}, {Type: RSA, Bits: 2048}}
	for _, kekSpec := range []Spec{{Type: AES, Bits: 128}, {Type: AES, Bits: 256}, {Type: RSA, Bits: 2048}, {Type: RSA, Bits: 4096}} {
		kek := testKey(t, kekSpec)
		for _, alg := range wrapAlgs[kekSpec.Type] {
			for _, ts := range targets {
				target := testKey(t, ts)
				w, err := kek.WrapKey(alg, target)
				if err != nil {
					// RSA-OAEP cannot hold a private key's PKCS#8, and AES-KW
					// only takes multiples of 8 bytes.
					if strings.HasPrefix(alg.String(), "RSA-OAEP") && (ts.Type == RSA || ts.Type == EC) {
						continue
					}
					if raw, _ := target.Marshal(); alg == AESKW && len(raw)%8 != 0 && strings.Contains(err.Error(), "AES-KWP") {
						continue
					}
					t.Errorf("%v %v %v: WrapKey: %v", kekSpec, alg, ts, err)
					continue
				}
				got, err := kek.UnwrapKey(alg, w, ts.Type)
				if err != nil || !got.Equal(target) {
					t.Errorf("%v %v %v: UnwrapKey: %v", kekSpec, alg, ts, err)
				}
				w[len(w)-1] ^= 1
				if _, err := kek.UnwrapKey(alg, w, ts.Type); !errors.Is(err, ErrUnwrap) {
					t.Errorf("%v %v %v: modified wrapped key: %v", kekSpec, alg, ts, err)
				}
			}
		}
	}
	kek := testKey(t, Spec{Type: AES, Bits: 256})
	pub, _ := testKey(t, Spec{Type: RSA, Bits: 2048}).Public()
	if _, err := kek.WrapKey(AESKWP, pub); err == nil {
		t.Error("WrapKey wrapped a public key")
	}
	if _, err := pub.Unwrap(RSAOAEPSHA256, make([]byte, 256)); err == nil || !strings.Contains(err.Error(), "needs a private key") {
		t.Errorf("Unwrap with a public key: %v", err)
	}
	if _, err := kek.Wrap(AESKW, make([]byte, 20)); err == nil {
		t.Error("AES-KW wrapped 20 bytes")
	}
}

func TestRandom(t *testing.T) {
	a, err := Random(32)
	b, _ := Random(32)
	if err != nil || len(a) != 32 || bytes.Equal(a, b) {
		t.Errorf("Random(32) = %x, %v", a, err)
	}
	for _, n := range []int{0, -1, MaxRandomBytes + 1} {
		if _, err := Random(n); err == nil {
			t.Errorf("Random(%d) succeeded", n)
		}
	}
	if b, err := Random(MaxRandomBytes); err != nil || len(b) != MaxRandomBytes {
		t.Errorf("Random(max): %v", err)
	}
}

// TestConcurrentUse runs operations on shared keys from many goroutines;
// under -race it checks the parsed forms are only read.
func TestConcurrentUse(t *testing.T) {
	aes := testKey(t, Spec{Type: AES, Bits: 256})
	ec := testKey(t, Spec{Type: EC, Curve: P256})
	k1 := testKey(t, Spec{Type: EC, Curve: Secp256k1})
	rsa := testKey(t, Spec{Type: RSA, Bits: 2048})
	hm := testKey(t, Spec{Type: HMAC, Bits: 256})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			msg := []byte{byte(i)}
			for range 20 {
				c, err := aes.Encrypt(AESGCM, msg, CipherOpts{})
				if err == nil {
					_, err = aes.Decrypt(AESGCM, c, nil)
				}
				for _, k := range []*Key{ec, k1} {
					if err == nil {
						var sig []byte
						sig, err = k.Sign(ECDSASHA256Raw, msg)
						if err == nil {
							err = k.Verify(ECDSASHA256Raw, msg, sig)
						}
					}
				}
				if err == nil {
					var mac []byte
					mac, err = hm.MAC(HMACSHA256, msg)
					if err == nil {
						err = hm.VerifyMAC(HMACSHA256, msg, mac)
					}
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
			if _, err := rsa.Sign(PS256, msg); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
