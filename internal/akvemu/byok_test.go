package akvemu

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	k1ecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// The transfer blobs of these tests are built by code written here from RFC 5649 and the
// BYOK specification, independently of the emulator's (and kcrypto's) key wrap.

// testKWP is AES key wrap with padding, RFC 5649 §4.1, written straight from the RFC.
func testKWP(kek, p []byte) []byte {
	block, err := aes.NewCipher(kek)
	if err != nil {
		panic(err)
	}
	var aiv [8]byte
	copy(aiv[:], []byte{0xA6, 0x59, 0x59, 0xA6})
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(p)))
	padded := append(append([]byte{}, p...), make([]byte, (8-len(p)%8)%8)...)
	if len(padded) == 8 { // a single block: one AES-ECB encryption of AIV | P
		out := make([]byte, 16)
		block.Encrypt(out, append(aiv[:], padded...))
		return out
	}
	n := len(padded) / 8
	r := make([][]byte, n+1)
	for i := 1; i <= n; i++ {
		r[i] = append([]byte{}, padded[8*(i-1):8*i]...)
	}
	a := aiv[:]
	b := make([]byte, 16)
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			block.Encrypt(b, append(append([]byte{}, a...), r[i]...))
			t := uint64(n*j + i)
			msb := binary.BigEndian.Uint64(b[:8]) ^ t
			a = binary.BigEndian.AppendUint64(nil, msb)
			r[i] = append([]byte{}, b[8:]...)
		}
	}
	out := append([]byte{}, a...)
	for i := 1; i <= n; i++ {
		out = append(out, r[i]...)
	}
	return out
}

func TestKWPVectors(t *testing.T) {
	// RFC 5649 §6.
	kek, _ := hex.DecodeString("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
	for _, v := range []struct{ key, wrapped string }{
		{"c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
		{"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
	} {
		key, _ := hex.DecodeString(v.key)
		want, _ := hex.DecodeString(v.wrapped)
		if got := testKWP(kek, key); !bytes.Equal(got, want) {
			t.Errorf("test KWP(%s) = %x, want %x", v.key, got, want)
		}
		// The emulator's implementation agrees both ways.
		if got, err := kwpWrap(kek, key); err != nil || !bytes.Equal(got, want) {
			t.Errorf("kwpWrap(%s) = %x, %v", v.key, got, err)
		}
		if got, err := kwpUnwrap(kek, want); err != nil || !bytes.Equal(got, key) {
			t.Errorf("kwpUnwrap(%s) = %x, %v", v.wrapped, got, err)
		}
	}
	// RFC 3394 §4.1 for plain key wrap.
	kek, _ = hex.DecodeString("000102030405060708090A0B0C0D0E0F")
	data, _ := hex.DecodeString("00112233445566778899AABBCCDDEEFF")
	want, _ := hex.DecodeString("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
	if got, err := kwWrap(kek, data); err != nil || !bytes.Equal(got, want) {
		t.Errorf("kwWrap = %x, %v", got, err)
	}
	if got, err := kwUnwrap(kek, want); err != nil || !bytes.Equal(got, data) {
		t.Errorf("kwUnwrap = %x, %v", got, err)
	}
	bad := append([]byte{}, want...)
	bad[3] ^= 1
	if _, err := kwUnwrap(kek, bad); err == nil {
		t.Error("kwUnwrap accepted a tampered blob")
	}
}

// byokBlob builds a .byok transfer blob: RSA-OAEP-SHA1 of a fresh AES-256 key under the
// KEK, then RFC 5649 of the target.
func byokBlob(t *testing.T, kekKid string, kek *rsa.PublicKey, target []byte) []byte {
	t.Helper()
	aesKey := make([]byte, 32)
	_, _ = rand.Read(aesKey)
	c1, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, kek, aesKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := json.Marshal(map[string]any{
		"schema_version": "1.0.0",
		"header":         map[string]string{"kid": kekKid, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"},
		"ciphertext":     base64.RawURLEncoding.EncodeToString(append(c1, testKWP(aesKey, target)...)),
		"generator":      "keyward tests; software",
	})
	return blob
}

// testSecp256k1PKCS8 encodes a secp256k1 key as PKCS#8 (RFC 5208 around RFC 5915).
func testSecp256k1PKCS8(t *testing.T, k *secp256k1.PrivateKey) []byte {
	type ecPriv struct {
		Version int
		Key     []byte
		Pub     asn1.BitString `asn1:"explicit,tag:1"`
	}
	inner, err := asn1.Marshal(ecPriv{Version: 1, Key: k.Serialize(), Pub: asn1.BitString{Bytes: k.PubKey().SerializeUncompressed(), BitLength: 520}})
	if err != nil {
		t.Fatal(err)
	}
	curve, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 132, 0, 10})
	type algo struct {
		OID    asn1.ObjectIdentifier
		Params asn1.RawValue
	}
	out, err := asn1.Marshal(struct {
		Version int
		Algo    algo
		Key     []byte
	}{0, algo{asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, asn1.RawValue{FullBytes: curve}}, inner})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kek creates a key-exchange key and returns its versioned kid and public key.
func kek(t *testing.T, c *azkeys.Client, name string) (string, *rsa.PublicKey) {
	t.Helper()
	k, err := c.CreateKey(context.Background(), name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM),
		KeySize: to.Ptr[int32](2048), KeyOps: ops("import")}, nil)
	if err != nil {
		t.Fatalf("create KEK: %v", err)
	}
	return string(*k.Key.KID), &rsa.PublicKey{N: new(big.Int).SetBytes(k.Key.N), E: int(new(big.Int).SetBytes(k.Key.E).Int64())}
}

func TestBYOKImport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			c := e.keys(mode, "kw-premium")
			kid, kekPub := kek(t, c, "kek-"+mode)

			rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
			der, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
			got, err := c.ImportKey(ctx, "byok-rsa-"+mode, azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{
				Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeyOps: ops("sign", "verify"), T: byokBlob(t, kid, kekPub, der)}}, nil)
			if err != nil {
				t.Fatalf("import RSA: %v", err)
			}
			if *got.Key.Kty != azkeys.KeyTypeRSAHSM || !bytes.Equal(got.Key.N, rsaKey.N.Bytes()) || *got.Attributes.HSMPlatform != "2" {
				t.Errorf("imported RSA = %+v", got.Key)
			}
			digest := sha256.Sum256([]byte("byok"))
			s, err := c.Sign(ctx, "byok-rsa-"+mode, "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
			if err != nil || rsa.VerifyPKCS1v15(&rsaKey.PublicKey, 5 /* SHA256 */, digest[:], s.Result) != nil {
				t.Errorf("the service does not sign with the imported key: %v", err)
			}

			k1, _ := secp256k1.GeneratePrivateKey()
			got, err = c.ImportKey(ctx, "byok-k1-"+mode, azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{
				Kty: to.Ptr(azkeys.KeyTypeECHSM), Crv: to.Ptr(azkeys.CurveNameP256K), T: byokBlob(t, kid, kekPub, testSecp256k1PKCS8(t, k1))}}, nil)
			if err != nil {
				t.Fatalf("import P-256K: %v", err)
			}
			raw := k1.PubKey().SerializeUncompressed()
			if !bytes.Equal(got.Key.X, raw[1:33]) || !bytes.Equal(got.Key.Y, raw[33:]) {
				t.Error("imported secp256k1 public key differs")
			}
			s, err = c.Sign(ctx, "byok-k1-"+mode, "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256K), Value: digest[:]}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var r, sv secp256k1.ModNScalar
			r.SetByteSlice(s.Result[:32])
			sv.SetByteSlice(s.Result[32:])
			if !k1ecdsa.NewSignature(&r, &sv).Verify(digest[:], k1.PubKey()) {
				t.Error("ES256K signature of the imported key does not verify")
			}
		})
	}
	t.Run("managed hsm AES", func(t *testing.T) {
		c := e.keys("direct", "kw-hsm")
		kid, kekPub := kek(t, c, "hsm-kek")
		aesKey := make([]byte, 32)
		_, _ = rand.Read(aesKey)
		if _, err := c.ImportKey(ctx, "byok-aes", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{
			Kty: to.Ptr(azkeys.KeyTypeOctHSM), KeyOps: ops("encrypt", "decrypt"), T: byokBlob(t, kid, kekPub, aesKey)}}, nil); err != nil {
			t.Fatalf("import AES: %v", err)
		}
		enc, err := c.Encrypt(ctx, "byok-aes", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM), Value: []byte("hello")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := aes.NewCipher(aesKey)
		gcm, _ := cipher.NewGCM(block)
		plain, err := gcm.Open(nil, enc.IV, append(enc.Result, enc.AuthenticationTag...), nil)
		if err != nil || string(plain) != "hello" {
			t.Errorf("service encrypted with another key than the imported one: %v", err)
		}
	})
}

func TestBYOKRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("direct", "kw-premium")
	kid, kekPub := kek(t, c, "kek")
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	good := byokBlob(t, kid, kekPub, ecDER)
	if _, err := c.CreateKey(ctx, "notkek", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeySize: to.Ptr[int32](2048)}, nil); err != nil {
		t.Fatal(err)
	}
	notKekKid := strings.Replace(kid, "/keys/kek/", "/keys/notkek/", 1)
	notKekKid = notKekKid[:strings.LastIndex(notKekKid, "/")]
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	header := func(k, v string) []byte {
		return edit(func(m map[string]any) { m["header"].(map[string]any)[k] = v })
	}
	ct, _ := base64.RawURLEncoding.DecodeString(func() string { var m map[string]any; _ = json.Unmarshal(good, &m); return m["ciphertext"].(string) }())
	tamper := func(i int) []byte {
		b := append([]byte{}, ct...)
		b[i] ^= 0x40
		return edit(func(m map[string]any) { m["ciphertext"] = base64.RawURLEncoding.EncodeToString(b) })
	}
	body := func(kty, crv string, blob []byte, keyHSM string) string {
		if keyHSM == "" {
			keyHSM = base64.RawURLEncoding.EncodeToString(blob)
		}
		m := map[string]any{"kty": kty, "key_hsm": keyHSM}
		if crv != "" {
			m["crv"] = crv
		}
		b, _ := json.Marshal(map[string]any{"key": m})
		return string(b)
	}
	cases := []struct{ name, vault, body string }{
		{"standard_vault", "kw-standard", body("EC-HSM", "P-256", good, "")},
		{"not_base64", "kw-premium", body("EC-HSM", "P-256", nil, "%%%")},
		{"not_json", "kw-premium", body("EC-HSM", "P-256", []byte("not json"), "")},
		{"schema_version", "kw-premium", body("EC-HSM", "P-256", edit(func(m map[string]any) {
			m["schema_version"] = "2.0.0"
			m["header"].(map[string]any)["enc"] = "nope" // the schema is checked first
		}), "")},
		{"enc", "kw-premium", body("EC-HSM", "P-256", header("enc", "RSA_AES_KEY_WRAP_256"), "")},
		{"alg", "kw-premium", body("EC-HSM", "P-256", header("alg", "RSA-OAEP"), "")},
		{"kek_other_vault", "kw-premium", body("EC-HSM", "P-256", header("kid", "https://kw-standard.vault.azure.net/keys/kek/"+strings.Repeat("0", 32)), "")},
		{"kek_missing", "kw-premium", body("EC-HSM", "P-256", header("kid", "https://kw-premium.vault.azure.net/keys/nokek/"+strings.Repeat("0", 32)), "")},
		{"kek_ops", "kw-premium", body("EC-HSM", "P-256", header("kid", notKekKid), "")},
		{"rsa_part_tampered", "kw-premium", body("EC-HSM", "P-256", tamper(10), "")},
		{"kwp_part_tampered", "kw-premium", body("EC-HSM", "P-256", tamper(len(ct)-3), "")},
		{"kty_mismatch", "kw-premium", body("RSA-HSM", "", good, "")},
		{"crv_mismatch", "kw-premium", body("EC-HSM", "P-384", good, "")},
		{"short_ciphertext", "kw-premium", body("EC-HSM", "P-256", edit(func(m map[string]any) { m["ciphertext"] = "AAAA" }), "")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "byok_"+tc.name, e.raw("PUT", tc.vault, "/keys/target", tc.body))
		})
	}
	t.Run("standard base64 with padding is accepted", func(t *testing.T) {
		r := e.raw("PUT", "kw-premium", "/keys/target", body("EC-HSM", "P-256", nil, base64.StdEncoding.EncodeToString(good)))
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("disabled KEK", func(t *testing.T) {
		if _, err := c.UpdateKey(ctx, "kek", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
			t.Fatal(err)
		}
		golden(t, "byok_kek_disabled", e.raw("PUT", "kw-premium", "/keys/target2", body("EC-HSM", "P-256", good, "")))
	})
}
