package e2e

import (
	"bytes"
	"crypto/aes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
	"github.com/keyward/keyward/internal/kcrypto"
)

type keyEnv struct {
	env           *apptest.Env
	admin, app    *client.Client
	other         *client.Client // an app in another group
	group, group2 string
}

func newKeyEnv(t *testing.T) *keyEnv {
	env := apptest.Start(t)
	_, admin := env.Bootstrap("Acme", "admin@a.example")
	g, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "payments"})
	apptest.Check(t, err)
	g2, err := admin.CreateGroup(ctx, api.GroupCreate{Name: "other"})
	apptest.Check(t, err)
	a, err := admin.CreateApp(ctx, api.AppCreate{Name: "billing", Groups: []string{g.ID}})
	apptest.Check(t, err)
	b, err := admin.CreateApp(ctx, api.AppCreate{Name: "stranger", Groups: []string{g2.ID}})
	apptest.Check(t, err)
	return &keyEnv{env: env, admin: admin, app: env.Client(a.APIKey), other: env.Client(b.APIKey), group: g.ID, group2: g2.ID}
}

func (k *keyEnv) create(t *testing.T, name, typ string, size int, curve string, ops ...string) *api.Key {
	t.Helper()
	key, err := k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: api.KeySpec{Name: name, Group: k.group, Ops: ops}, Type: typ, Size: size, Curve: curve})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return key
}

func TestEveryTypeAndOperation(t *testing.T) {
	k := newKeyEnv(t)
	for _, size := range []int{128, 192, 256} {
		key := k.create(t, "aes"+strings.Repeat("x", size/64), "AES", size, "", "ENCRYPT", "DECRYPT", "WRAPKEY", "UNWRAPKEY")
		for _, alg := range []string{"AES-GCM", "AES-CBC"} {
			ct, err := k.app.Encrypt(ctx, key.ID, api.EncryptRequest{Alg: alg, Plaintext: []byte("attack at dawn"), AAD: aadFor(alg)})
			apptest.Check(t, err)
			pt, err := k.app.Decrypt(ctx, key.ID, api.DecryptRequest{Alg: alg, Ciphertext: ct.Ciphertext, IV: ct.IV, Tag: ct.Tag, AAD: aadFor(alg)})
			if err != nil || string(pt.Plaintext) != "attack at dawn" {
				t.Fatalf("AES-%d %s round trip: %q %v", size, alg, pt, err)
			}
		}
		for _, alg := range []string{"AES-KW", "AES-KWP"} {
			w, err := k.app.Wrap(ctx, key.ID, api.WrapRequest{Alg: alg, Key: bytes.Repeat([]byte{7}, 32)})
			apptest.Check(t, err)
			u, err := k.app.Unwrap(ctx, key.ID, api.UnwrapRequest{Alg: alg, Wrapped: w.Wrapped})
			if err != nil || !bytes.Equal(u.Key, bytes.Repeat([]byte{7}, 32)) {
				t.Fatalf("%s round trip: %v", alg, err)
			}
		}
	}
	for _, size := range []int{2048, 3072, 4096} {
		key := k.create(t, "rsa"+strings.Repeat("x", size/1024), "RSA", size, "")
		for _, alg := range []string{"RSA-OAEP", "RSA-OAEP-256"} {
			ct, err := k.app.Encrypt(ctx, key.Name, api.EncryptRequest{Alg: alg, Plaintext: []byte("secret")})
			apptest.Check(t, err)
			pt, err := k.app.Decrypt(ctx, key.Name, api.DecryptRequest{Alg: alg, Ciphertext: ct.Ciphertext})
			if err != nil || string(pt.Plaintext) != "secret" {
				t.Fatalf("RSA-%d %s: %v", size, alg, err)
			}
		}
		for _, alg := range []string{"PS256", "PS384", "PS512", "RS256", "RS384", "RS512"} {
			signVerify(t, k.app, key.ID, alg)
		}
	}
	for _, curve := range []string{"P-256", "P-384", "P-521", "secp256k1"} {
		key := k.create(t, "ec-"+curve, "EC", 0, curve)
		if key.Size == 0 || key.Curve != curve {
			t.Fatalf("EC key: %+v", key)
		}
		for _, alg := range []string{"ECDSA-SHA256", "ECDSA-SHA384-RAW", "ECDSA-SHA512"} {
			signVerify(t, k.app, key.ID, alg)
		}
	}
	hm := k.create(t, "hmac", "HMAC", 256, "")
	for _, alg := range []string{"HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512"} {
		m, err := k.app.MAC(ctx, hm.ID, api.MACRequest{Alg: alg, Data: []byte("msg")})
		apptest.Check(t, err)
		v, err := k.app.VerifyMAC(ctx, hm.ID, api.MACVerifyRequest{Alg: alg, Data: []byte("msg"), MAC: m.MAC})
		if err != nil || !v.Valid {
			t.Fatalf("%s verify: %+v %v", alg, v, err)
		}
		v, _ = k.app.VerifyMAC(ctx, hm.ID, api.MACVerifyRequest{Alg: alg, Data: []byte("msh"), MAC: m.MAC})
		if v.Valid {
			t.Fatalf("%s verified a wrong message", alg)
		}
	}
	sec := k.create(t, "secret", "SECRET", 256, "", "EXPORT")
	if sec.Type != "SECRET" || len(sec.Ops) != 1 {
		t.Fatalf("secret: %+v", sec)
	}
	rnd, err := k.app.Random(ctx, 32)
	if err != nil || len(rnd) != 32 {
		t.Fatalf("random: %d bytes, %v", len(rnd), err)
	}
	// Wrong algorithm for the key, tampered ciphertext: clear 400s naming the field.
	aesKey := k.create(t, "aes-check", "AES", 256, "")
	_, err = k.app.Sign(ctx, aesKey.ID, api.SignRequest{Alg: "PS256", Message: []byte("m")})
	if client.ErrorCode(err) != api.CodePermissionDenied {
		t.Fatalf("signing with an AES key that does not permit SIGN: %v", err)
	}
	ct, _ := k.app.Encrypt(ctx, aesKey.ID, api.EncryptRequest{Alg: "AES-GCM", Plaintext: []byte("x")})
	ct.Ciphertext[0] ^= 1
	_, err = k.app.Decrypt(ctx, aesKey.ID, api.DecryptRequest{Alg: "AES-GCM", Ciphertext: ct.Ciphertext, IV: ct.IV, Tag: ct.Tag})
	var ae *api.Error
	if !asAPIError(err, &ae) || ae.Field != "ciphertext" {
		t.Fatalf("tampered ciphertext: %v", err)
	}
}

func aadFor(alg string) []byte {
	if alg == "AES-GCM" {
		return []byte("context")
	}
	return nil
}

func signVerify(t *testing.T, c *client.Client, id, alg string) {
	t.Helper()
	sig, err := c.Sign(ctx, id, api.SignRequest{Alg: alg, Message: []byte("the message")})
	if err != nil {
		t.Fatalf("%s sign: %v", alg, err)
	}
	v, err := c.Verify(ctx, id, api.VerifyRequest{Alg: alg, Message: []byte("the message"), Signature: sig.Signature})
	if err != nil || !v.Valid {
		t.Fatalf("%s verify: %+v %v", alg, v, err)
	}
	v, _ = c.Verify(ctx, id, api.VerifyRequest{Alg: alg, Message: []byte("another message"), Signature: sig.Signature})
	if v.Valid {
		t.Fatalf("%s verified the wrong message", alg)
	}
	if strings.HasSuffix(alg, "256") || strings.HasSuffix(alg, "256-RAW") {
		d := sha256.Sum256([]byte("the message"))
		dv, err := c.Verify(ctx, id, api.VerifyRequest{Alg: alg, Digest: d[:], Signature: sig.Signature})
		if err != nil || !dv.Valid {
			t.Fatalf("%s verify by digest: %+v %v", alg, dv, err)
		}
	}
}

func TestImportExportCopyRotateDestroy(t *testing.T) {
	k := newKeyEnv(t)
	// Import an RSA key as PEM made here, export it, and get the same key back.
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	imp, err := k.admin.ImportKey(ctx, api.KeyImport{KeySpec: api.KeySpec{Name: "imported-rsa", Group: k.group, Ops: []string{"SIGN", "VERIFY", "EXPORT", "DECRYPT", "ENCRYPT"}}, Material: pemBytes})
	apptest.Check(t, err)
	if imp.Type != "RSA" || imp.Size != 2048 || imp.Origin != "imported" || imp.KCV == "" {
		t.Fatalf("imported: %+v", imp)
	}
	exp, err := k.admin.ExportKey(ctx, imp.ID, api.KeyExport{Format: "pem"})
	apptest.Check(t, err)
	blk, _ := pem.Decode(exp.Material)
	back, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil || !back.(*rsa.PrivateKey).Equal(rsaKey) {
		t.Fatalf("exported key differs: %v", err)
	}
	// Import formats: SEC1 EC, SPKI public (verify only), JWK, hex AES, a certificate.
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ecKey)
	ecImp, err := k.admin.ImportKey(ctx, api.KeyImport{KeySpec: api.KeySpec{Name: "ec-sec1", Group: k.group}, Material: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})})
	if err != nil || ecImp.Curve != "P-384" {
		t.Fatalf("SEC1 import: %+v %v", ecImp, err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	pub, err := k.admin.ImportKey(ctx, api.KeyImport{KeySpec: api.KeySpec{Name: "ec-pub", Group: k.group}, Format: "der", Material: spki})
	if err != nil || !pub.PublicOnly || strings.Contains(strings.Join(pub.Ops, ","), "SIGN") {
		t.Fatalf("SPKI import: %+v %v", pub, err)
	}
	sig, err := k.app.Sign(ctx, ecImp.ID, api.SignRequest{Alg: "ECDSA-SHA384", Message: []byte("m")})
	apptest.Check(t, err)
	if v, err := k.app.Verify(ctx, pub.ID, api.VerifyRequest{Alg: "ECDSA-SHA384", Message: []byte("m"), Signature: sig.Signature}); err != nil || !v.Valid {
		t.Fatalf("verify with the imported public key: %v", err)
	}
	jwk := []byte(`{"kty":"oct","k":"` + strings.Repeat("A", 43) + `"}`)
	if j, err := k.admin.ImportKey(ctx, api.KeyImport{KeySpec: api.KeySpec{Name: "jwk-aes", Group: k.group}, Type: "AES", Format: "jwk", Material: jwk}); err != nil || j.Size != 256 {
		t.Fatalf("JWK import: %+v %v", j, err)
	}
	aesRaw := bytes.Repeat([]byte{0x42}, 16)
	hexImp, err := k.admin.ImportKey(ctx, api.KeyImport{KeySpec: api.KeySpec{Name: "hex-aes", Group: k.group}, Type: "AES", Format: "hex", Material: []byte(hex.EncodeToString(aesRaw))})
	apptest.Check(t, err)
	block, _ := aes.NewCipher(aesRaw)
	var zero, out [16]byte
	block.Encrypt(out[:], zero[:])
	if hexImp.KCV != hex.EncodeToString(out[:3]) {
		t.Fatalf("KCV %s, want %x", hexImp.KCV, out[:3])
	}
	certPEM, _ := selfSigned(t, "imported.example")
	cert, err := k.admin.ImportKey(ctx, api.KeyImport{KeySpec: api.KeySpec{Name: "a-cert", Group: k.group}, Material: []byte(certPEM)})
	if err != nil || cert.Certificate == nil || !strings.Contains(cert.Certificate.Subject, "imported.example") || cert.Certificate.NotAfter.IsZero() {
		t.Fatalf("certificate import: %+v %v", cert, err)
	}

	// Wrapped import: a KEK in Keyward unwraps a key wrapped outside (AES-KWP).
	kek := k.create(t, "kek", "AES", 256, "", "WRAPKEY", "UNWRAPKEY", "EXPORT")
	kekRaw, err := k.admin.ExportKey(ctx, kek.ID, api.KeyExport{Format: "raw"})
	apptest.Check(t, err)
	kb, _ := aes.NewCipher(kekRaw.Material)
	secret := bytes.Repeat([]byte{0x99}, 32)
	wrapped, _ := kcrypto.KeyWrapPad(kb, secret)
	wi, err := k.admin.ImportKey(ctx, api.KeyImport{KeySpec: api.KeySpec{Name: "unwrapped-in-keyward", Group: k.group, Ops: []string{"ENCRYPT", "DECRYPT", "EXPORT"}},
		Type: "AES", Format: "raw", Material: wrapped, KEK: "kek", WrapAlgorithm: "AES-KWP"})
	apptest.Check(t, err)
	// Wrapped export by the same KEK gives back what was wrapped.
	we, err := k.admin.ExportKey(ctx, wi.ID, api.KeyExport{KEK: kek.ID, WrapAlgorithm: "AES-KWP"})
	apptest.Check(t, err)
	if got, err := kcrypto.KeyUnwrapPad(kb, we.Material); err != nil || !bytes.Equal(got, secret) || !we.Wrapped {
		t.Fatalf("wrapped export: %v", err)
	}
	// A key without EXPORT is never exported, copied or shown.
	locked := k.create(t, "locked", "AES", 256, "")
	if _, err := k.admin.ExportKey(ctx, locked.ID, api.KeyExport{Format: "raw"}); client.ErrorCode(err) != api.CodePermissionDenied {
		t.Fatalf("export of a non-exportable key: %v", err)
	}
	if _, err := k.admin.CopyKey(ctx, locked.ID, api.KeyCopy{Group: k.group2}); client.ErrorCode(err) != api.CodePermissionDenied {
		t.Fatalf("copy of a non-exportable key: %v", err)
	}
	add := []string{"ENCRYPT", "EXPORT"}
	if _, err := k.admin.UpdateKey(ctx, locked.ID, api.KeyUpdate{Ops: &add}); client.ErrorCode(err) != api.CodeInvalidArgument {
		t.Fatalf("adding EXPORT later: %v", err)
	}

	// Copies: NAME_copy1, NAME_copy2, with links both ways.
	c1, err := k.admin.CopyKey(ctx, wi.ID, api.KeyCopy{Group: k.group2})
	apptest.Check(t, err)
	c2, err := k.admin.CopyKey(ctx, wi.ID, api.KeyCopy{Group: k.group2})
	apptest.Check(t, err)
	if c1.Name != "unwrapped-in-keyward_copy1" || c2.Name != "unwrapped-in-keyward_copy2" || c1.KCV != wi.KCV || c1.Group != k.group2 {
		t.Fatalf("copies: %s %s", c1.Name, c2.Name)
	}
	ls, err := k.admin.KeyLinks(ctx, wi.ID)
	apptest.Check(t, err)
	if len(ls.Items) != 2 || ls.Items[0].Direction != "copied-to" || ls.Items[0].Other != c1.ID || ls.Items[0].TargetGroup != k.group2 {
		t.Fatalf("source links: %+v", ls.Items)
	}
	ls, _ = k.admin.KeyLinks(ctx, c1.ID)
	if len(ls.Items) != 1 || ls.Items[0].Direction != "copied-from" || ls.Items[0].Other != wi.ID {
		t.Fatalf("copy links: %+v", ls.Items)
	}
	// The copy works for the other group's app, and decrypts what the source encrypted.
	ct, err := k.app.Encrypt(ctx, wi.ID, api.EncryptRequest{Alg: "AES-GCM", Plaintext: []byte("shared")})
	apptest.Check(t, err)
	if pt, err := k.other.Decrypt(ctx, c1.ID, api.DecryptRequest{Alg: "AES-GCM", Ciphertext: ct.Ciphertext, IV: ct.IV, Tag: ct.Tag}); err != nil || string(pt.Plaintext) != "shared" {
		t.Fatalf("decrypt with the copy: %v", err)
	}
	// ...but an app cannot use a key outside its groups: it does not exist for it.
	if _, err := k.other.Encrypt(ctx, wi.ID, api.EncryptRequest{Alg: "AES-GCM", Plaintext: []byte("x")}); client.ErrorCode(err) != api.CodeNotFound {
		t.Fatalf("app using a key of another group: %v", err)
	}
	// Users never perform cryptographic operations.
	if _, err := k.admin.Encrypt(ctx, wi.ID, api.EncryptRequest{Alg: "AES-GCM", Plaintext: []byte("x")}); client.ErrorCode(err) != api.CodePermissionDenied {
		t.Fatalf("admin encrypting: %v", err)
	}

	// Rotation: the name moves to new material; the old key keeps a link and, deactivated,
	// still decrypts but no longer encrypts.
	rot, err := k.admin.RotateKey(ctx, "unwrapped-in-keyward", api.KeyRotate{DeactivateOld: true})
	apptest.Check(t, err)
	if rot.New.Name != "unwrapped-in-keyward" || rot.New.KCV == rot.Old.KCV || !strings.HasPrefix(rot.Old.Name, "unwrapped-in-keyward (rotated ") || rot.Old.State != "deactivated" {
		t.Fatalf("rotation: new %+v old %+v", rot.New, rot.Old)
	}
	if pt, err := k.app.Decrypt(ctx, rot.Old.ID, api.DecryptRequest{Alg: "AES-GCM", Ciphertext: ct.Ciphertext, IV: ct.IV, Tag: ct.Tag}); err != nil || string(pt.Plaintext) != "shared" {
		t.Fatalf("old key decrypting: %v", err)
	}
	if _, err := k.app.Encrypt(ctx, rot.Old.ID, api.EncryptRequest{Alg: "AES-GCM", Plaintext: []byte("x")}); client.ErrorCode(err) != api.CodeFailedPrecondition {
		t.Fatalf("old key encrypting: %v", err)
	}
	if e, err := k.app.Encrypt(ctx, "unwrapped-in-keyward", api.EncryptRequest{Alg: "AES-GCM", Plaintext: []byte("x")}); err != nil || e.KeyID != rot.New.ID {
		t.Fatalf("the name now names the new key: %+v %v", e, err)
	}
	ls, _ = k.admin.KeyLinks(ctx, rot.New.ID)
	if len(ls.Items) != 1 || ls.Items[0].Direction != "replaces" || ls.Items[0].Other != rot.Old.ID {
		t.Fatalf("new key links: %+v", ls.Items)
	}

	// Destroy: the material is gone for good, the metadata stays, nothing works any more.
	d, err := k.admin.SetKeyState(ctx, rot.Old.ID, "destroy")
	if err != nil || d.State != "destroyed" || d.DestroyedAt == nil {
		t.Fatalf("destroy: %+v %v", d, err)
	}
	if _, err := k.app.Decrypt(ctx, rot.Old.ID, api.DecryptRequest{Alg: "AES-GCM", Ciphertext: ct.Ciphertext, IV: ct.IV, Tag: ct.Tag}); client.ErrorCode(err) != api.CodeFailedPrecondition {
		t.Fatalf("decrypt with a destroyed key: %v", err)
	}
	if got, err := k.admin.GetKey(ctx, rot.Old.ID); err != nil || got.KCV != rot.Old.KCV {
		t.Fatalf("metadata after destroy: %v", err)
	}

	// No key material in clear in the database files, and every operation was audited.
	k.env.Stop()
	files, _ := filepath.Glob(filepath.Join(k.env.Dir, "keyward.db*"))
	var all []byte
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	for name, m := range map[string][]byte{"KEK": kekRaw.Material, "unwrapped secret": secret, "RSA private exponent": rsaKey.D.Bytes()[:32], "hex-imported AES": aesRaw} {
		if bytes.Contains(all, m) {
			t.Errorf("%s found in clear in the database files", name)
		}
	}
}
