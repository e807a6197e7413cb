package kcrypto

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"
)

// selfSigned makes a certificate for key, to import.
func selfSigned(t testing.TB, key *Key) []byte {
	t.Helper()
	var signer crypto.Signer
	switch {
	case key.m.rsaPriv != nil:
		signer = key.m.rsaPriv
	case key.m.ecPriv != nil:
		signer = key.m.ecPriv
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: "keyward test", Organization: []string{"Keyward"}},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestExportImportRoundTrip exports every key type to every format it has
// and imports it back, with the type declared and, where the format says
// it, detected.
func TestExportImportRoundTrip(t *testing.T) {
	type item struct {
		name string
		key  *Key
	}
	var items []item
	for _, spec := range allSpecs {
		k := testKey(t, spec)
		items = append(items, item{spec.String(), k})
		if pub, err := k.Public(); err == nil {
			items = append(items, item{"public " + spec.String(), pub})
		}
	}
	for _, spec := range []Spec{{Type: RSA, Bits: 2048}, {Type: EC, Curve: P384}} {
		c, err := Import(selfSigned(t, testKey(t, spec)), ImportOptions{Format: FormatDER})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, item{"certificate " + spec.String(), c})
	}
	formats := []Format{FormatRaw, FormatBase64, FormatHex, FormatPEM, FormatDER, FormatJWK}
	for _, it := range items {
		spec := it.key.Spec()
		for _, f := range formats {
			out, err := it.key.Export(f)
			hasForm := map[Format]bool{
				FormatRaw: spec.Type.symmetric(), FormatBase64: true, FormatHex: true,
				FormatPEM: !spec.Type.symmetric(), FormatDER: !spec.Type.symmetric(), FormatJWK: spec.Type != Certificate,
			}[f]
			if !hasForm {
				if err == nil {
					t.Errorf("%s: Export(%v) succeeded", it.name, f)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: Export(%v): %v", it.name, f, err)
				continue
			}
			got, err := Import(out, ImportOptions{Format: f, Type: spec.Type})
			if err != nil || !got.Equal(it.key) {
				t.Errorf("%s: Import(Export(%v)) with type: %v", it.name, f, err)
			}
			if spec.Type.symmetric() {
				continue
			}
			// Structure alone tells asymmetric keys and certificates apart.
			got, err = Import(out, ImportOptions{Format: f})
			if err != nil || !got.Equal(it.key) {
				t.Errorf("%s: Import(Export(%v)) without type: %v", it.name, f, err)
			}
			if f == FormatPEM || f == FormatDER || f == FormatJWK {
				got, err = Import(out, ImportOptions{})
				if err != nil || !got.Equal(it.key) {
					t.Errorf("%s: Import(Export(%v)) detected: %v", it.name, f, err)
				}
			}
		}
		// The canonical storage form round-trips through Unmarshal.
		raw, err := it.key.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Unmarshal(spec.Type, raw)
		if err != nil || !back.Equal(it.key) {
			t.Errorf("%s: Unmarshal(Marshal()): %v", it.name, err)
		}
	}
}

func TestMarshalForms(t *testing.T) {
	k1 := testKey(t, Spec{Type: EC, Curve: Secp256k1})
	der, _ := k1.Marshal()
	if classifyDER(der) != derPKCS8 {
		t.Error("secp256k1 private key is not stored as PKCS#8")
	}
	pub, _ := k1.Public()
	der, _ = pub.Marshal()
	if classifyDER(der) != derSPKI {
		t.Error("secp256k1 public key is not stored as SPKI")
	}
	aes := testKey(t, Spec{Type: AES, Bits: 256})
	raw, _ := aes.Marshal()
	if len(raw) != 32 || !bytes.Equal(raw, aes.m.raw) {
		t.Error("AES key is not stored raw")
	}
	if _, err := Unmarshal(RSA, der); err == nil || !strings.Contains(err.Error(), "stored RSA key holds public EC secp256k1") {
		t.Errorf("Unmarshal(RSA, EC key) = %v", err)
	}
}

func TestImportEncodings(t *testing.T) {
	aes := testKey(t, Spec{Type: AES, Bits: 256})
	raw := aes.m.raw
	inputs := map[string]string{
		"std padded":       base64.StdEncoding.EncodeToString(raw),
		"std unpadded":     base64.RawStdEncoding.EncodeToString(raw),
		"url padded":       base64.URLEncoding.EncodeToString(raw),
		"url unpadded":     base64.RawURLEncoding.EncodeToString(raw),
		"with line breaks": "  " + base64.StdEncoding.EncodeToString(raw)[:20] + "\r\n" + base64.StdEncoding.EncodeToString(raw)[20:] + "\n",
	}
	for name, in := range inputs {
		k, err := Import([]byte(in), ImportOptions{Format: FormatBase64, Type: AES})
		if err != nil || !k.Equal(aes) {
			t.Errorf("base64 %s: %v", name, err)
		}
	}
	for _, in := range []string{hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)), hex.EncodeToString(raw[:16]) + "\n" + hex.EncodeToString(raw[16:])} {
		k, err := Import([]byte(in), ImportOptions{Format: FormatHex, Type: AES})
		if err != nil || !k.Equal(aes) {
			t.Errorf("hex %q: %v", in, err)
		}
	}
	for _, tt := range []struct {
		name, in string
		opts     ImportOptions
		wantErr  string
	}{
		{"bad base64", "a$b", ImportOptions{Format: FormatBase64, Type: AES}, "not valid base64"},
		{"odd hex", "abc", ImportOptions{Format: FormatHex, Type: AES}, "not valid hex"},
		{"auto raw", string(raw), ImportOptions{Type: AES}, "declare raw, base64 or hex"},
		{"no type", string(raw), ImportOptions{Format: FormatRaw}, "declare AES, HMAC or SECRET"},
		{"AES 20 bytes", string(raw[:20]), ImportOptions{Format: FormatRaw, Type: AES}, "AES key size must be 128, 192 or 256 bits, not 160"},
		{"HMAC 8 bytes", string(raw[:8]), ImportOptions{Format: FormatRaw, Type: HMAC}, "HMAC key size must be 16 to 64 bytes, not 8"},
		{"empty secret", "", ImportOptions{Format: FormatRaw, Type: Secret}, "secret size must be 1 byte to 64 KiB, not 0"},
		{"secret too big", strings.Repeat("x", MaxSecretBytes+1), ImportOptions{Format: FormatRaw, Type: Secret}, "not 65537"},
		{"too big", strings.Repeat("x", MaxImportBytes+1), ImportOptions{Format: FormatRaw, Type: Secret}, "larger than"},
		{"oct JWK without type", `{"kty":"oct","k":"` + base64.RawURLEncoding.EncodeToString(raw) + `"}`, ImportOptions{}, "declare the key type"},
		{"JWK syntax", `{"kty":"oct",`, ImportOptions{Format: FormatJWK}, "not valid JSON"},
		{"oct JWK declared RSA", `{"kty":"oct","k":"AAAA"}`, ImportOptions{Format: FormatJWK, Type: RSA}, "declared RSA key, but the JWK is oct"},
		{"JWK kty", `{"kty":"OKP"}`, ImportOptions{Format: FormatJWK}, `unsupported JWK kty "OKP"`},
		{"wrapped PEM", "x", ImportOptions{Format: FormatPEM, Type: AES, KEK: aes, WrapAlgorithm: AESKWP}, "give it raw, base64 or hex"},
		{"unknown format", "x", ImportOptions{Format: 99, Type: AES}, "unknown format"},
	} {
		_, err := Import([]byte(tt.in), tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Import = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
	// An oct JWK whose alg pins the type needs no declaration.
	k, err := Import([]byte(`{"kty":"oct","alg":"HS256","k":"`+base64.RawURLEncoding.EncodeToString(raw)+`"}`), ImportOptions{})
	if err != nil || k.Spec() != (Spec{Type: HMAC, Bits: 256}) {
		t.Errorf("oct JWK with alg HS256: %v, %v", k, err)
	}
}

// TestImportStructures imports each DER structure and PEM label once.
func TestImportStructures(t *testing.T) {
	r := testKey(t, Spec{Type: RSA, Bits: 2048})
	ec := testKey(t, Spec{Type: EC, Curve: P256})
	sec1, _ := x509.MarshalECPrivateKey(ec.m.ecPriv)
	cases := []struct {
		name string
		data []byte
		want *Key
	}{
		{"PKCS#1 private DER", x509.MarshalPKCS1PrivateKey(r.m.rsaPriv), r},
		{"PKCS#1 private PEM", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(r.m.rsaPriv)}), r},
		{"PKCS#1 public PEM", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(r.m.rsaPub)}), mustPublic(t, r)},
		{"SEC1 DER", sec1, ec},
		{"SEC1 PEM with EC PARAMETERS", append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7}}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...), ec},
		{"PEM with Bag Attributes", append([]byte("Bag Attributes\n    localKeyID: 01\n"), mustExport(t, ec, FormatPEM)...), ec},
	}
	for _, c := range cases {
		got, err := Import(c.data, ImportOptions{})
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// OpenSSL's secp256k1 files in all three forms.
	for _, name := range []string{"secp256k1_pkcs8.pem", "secp256k1_sec1.pem", "secp256k1_spki.pem"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		k, err := Import(data, ImportOptions{Type: EC})
		if err != nil || k.Spec().Curve != Secp256k1 || k.PublicOnly() != strings.Contains(name, "spki") {
			t.Errorf("%s: %v, %v", name, k, err)
		}
	}
}

func mustPublic(t testing.TB, k *Key) *Key {
	t.Helper()
	p, err := k.Public()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustExport(t testing.TB, k *Key, f Format) []byte {
	t.Helper()
	b, err := k.Export(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestImportRefusals checks the errors name what is wrong.
func TestImportRefusals(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p8 := func(k any) []byte { b, err := x509.MarshalPKCS8PrivateKey(k); must(t, err); return b }
	ec := testKey(t, Spec{Type: EC, Curve: P256})
	two := append(mustExport(t, ec, FormatPEM), mustExport(t, testKey(t, Spec{Type: EC, Curve: P384}), FormatPEM)...)
	mislabelled := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p8(ec.m.ecPriv)})
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{0x30, 0}})
	oversizedSEC1, err := asn1.Marshal(ecPrivateKey{Version: 1, PrivateKey: make([]byte, 5000)})
	must(t, err)
	for _, tt := range []struct {
		name    string
		data    []byte
		opts    ImportOptions
		wantErr string
	}{
		{"RSA-1024", p8(rsa1024), ImportOptions{}, "RSA key size must be 2048, 3072 or 4096 bits, not 1024"},
		{"P-224", p8(p224), ImportOptions{}, "unsupported curve P-224"},
		{"Ed25519", p8(edPriv), ImportOptions{}, "unsupported key type ed25519.PrivateKey"},
		{"two PEM blocks", two, ImportOptions{}, "more than one block"},
		{"mislabelled PEM", mislabelled, ImportOptions{}, `PEM block "PUBLIC KEY" does not hold a public key`},
		{"encrypted PEM", encrypted, ImportOptions{}, "encrypted PEM is not supported"},
		{"declared type differs", mustExport(t, ec, FormatPEM), ImportOptions{Type: RSA}, "declared RSA key, but the data holds EC P-256 private"},
		{"garbage", []byte("hello"), ImportOptions{}, "cannot detect the format"},
		// Oversized RSA keys are refused before crypto/x509 validates them
		// (quadratic in the modulus size): its error would be "p * q != n".
		{"RSA-16385 PKCS#1", hugeRSA(t, 16384, false), ImportOptions{}, "RSA key size must be 2048, 3072 or 4096 bits, not 16385"},
		{"RSA-16385 PKCS#8", hugeRSA(t, 16384, true), ImportOptions{}, "RSA key size must be 2048, 3072 or 4096 bits, not 16385"},
		{"RSA-65537 PKCS#1 PEM", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: hugeRSA(t, 65536, false)}), ImportOptions{}, "not 65537"},
		{"oversized SEC1", oversizedSEC1, ImportOptions{}, "larger than 4 KiB"},
		{"not DER", []byte{0x30, 3, 1, 1, 0}, ImportOptions{Format: FormatDER}, "not a DER key or certificate"},
	} {
		_, err := Import(tt.data, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Import = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCertificateInfo(t *testing.T) {
	r := testKey(t, Spec{Type: RSA, Bits: 2048})
	der := selfSigned(t, r)
	c, err := Import(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ImportOptions{Type: Certificate})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.CertificateInfo()
	if err != nil {
		t.Fatal(err)
	}
	want := CertificateInfo{Subject: "CN=keyward test,O=Keyward", Issuer: "CN=keyward test,O=Keyward", SerialNumber: big.NewInt(4242),
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		PublicKey: Spec{Type: RSA, Bits: 2048}}
	if info.Subject != want.Subject || info.Issuer != want.Issuer || info.SerialNumber.Cmp(want.SerialNumber) != 0 ||
		!info.NotBefore.Equal(want.NotBefore) || !info.NotAfter.Equal(want.NotAfter) || info.PublicKey != want.PublicKey {
		t.Errorf("CertificateInfo = %+v, want %+v", info, want)
	}
	if !c.PublicOnly() || c.Spec() != (Spec{Type: Certificate}) || c.String() != "kcrypto.Key(CERTIFICATE (RSA-2048))" {
		t.Errorf("certificate key: %v %v", c.Spec(), c)
	}
	// The certificate verifies what its key signs, and its public key is the key's.
	sig, _ := r.Sign(PS256, []byte("m"))
	if err := c.Verify(PS256, []byte("m"), sig); err != nil {
		t.Errorf("certificate Verify: %v", err)
	}
	if pub, err := c.Public(); err != nil || !pub.Equal(mustPublic(t, r)) {
		t.Errorf("certificate Public: %v", err)
	}
	if _, err := r.CertificateInfo(); err == nil {
		t.Error("CertificateInfo of an RSA key succeeded")
	}
}

// TestJWKForms checks the JWK members, Azure's form, and that both curve
// names for secp256k1 import.
func TestJWKForms(t *testing.T) {
	r := testKey(t, Spec{Type: RSA, Bits: 2048})
	var m map[string]string
	must(t, json.Unmarshal(mustExport(t, r, FormatJWK), &m))
	for _, f := range []string{"kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"} {
		if m[f] == "" || strings.ContainsAny(m[f], "=+/") {
			t.Errorf("RSA JWK member %s = %q", f, m[f])
		}
	}
	if m["e"] != "AQAB" || m["kty"] != "RSA" {
		t.Errorf("RSA JWK kty %q e %q", m["kty"], m["e"])
	}

	k1 := testKey(t, Spec{Type: EC, Curve: Secp256k1})
	std, azure := map[string]string{}, map[string]string{}
	must(t, json.Unmarshal(mustExport(t, k1, FormatJWK), &std))
	az, err := k1.AzureJWK()
	must(t, err)
	must(t, json.Unmarshal(az, &azure))
	if std["crv"] != "secp256k1" || azure["crv"] != "P-256K" || azure["kty"] != "EC" || azure["d"] != std["d"] {
		t.Errorf("secp256k1 JWK crv %q, Azure crv %q", std["crv"], azure["crv"])
	}
	for _, j := range [][]byte{mustExport(t, k1, FormatJWK), az} {
		got, err := Import(j, ImportOptions{})
		if err != nil || !got.Equal(k1) {
			t.Errorf("import %s: %v", j[:40], err)
		}
	}

	// Coordinates keep their leading zeros: find P-256 keys whose x and d
	// start with a zero byte.
	var found int
	for i := 0; i < 5000 && found != 3; i++ {
		k, err := Generate(Spec{Type: EC, Curve: P256})
		must(t, err)
		point, scalar, _ := k.m.ecBytes()
		if point[1] != 0 && point[33] != 0 && scalar[0] != 0 {
			continue
		}
		var j map[string]string
		az, _ := k.AzureJWK()
		must(t, json.Unmarshal(az, &j))
		for _, f := range []string{"x", "y", "d"} {
			if b, _ := base64.RawURLEncoding.DecodeString(j[f]); len(b) != 32 {
				t.Errorf("P-256 JWK %s is %d bytes", f, len(b))
			}
		}
		found |= map[bool]int{true: 1}[point[1] == 0] | map[bool]int{true: 2}[scalar[0] == 0]
	}
	if found != 3 {
		t.Log("no P-256 key with a leading zero found; widths checked on other keys only")
	}

	aes := testKey(t, Spec{Type: AES, Bits: 128})
	az, _ = aes.AzureJWK()
	if !bytes.HasPrefix(az, []byte(`{"kty":"oct","k":"`)) {
		t.Errorf("AES Azure JWK = %s", az)
	}
	if _, err := testKey(t, Spec{Type: Secret, Bits: 8}).AzureJWK(); err == nil {
		t.Error("AzureJWK of a secret succeeded")
	}
}

// jwkMembers returns k's JWK as a map, and a function that encodes a
// modified copy of it.
func jwkMembers(t *testing.T, k *Key) (map[string]string, func(mod func(m map[string]string)) []byte) {
	t.Helper()
	var j map[string]string
	must(t, json.Unmarshal(mustExport(t, k, FormatJWK), &j))
	return j, func(mod func(m map[string]string)) []byte {
		c := maps.Clone(j)
		mod(c)
		b, err := json.Marshal(c)
		must(t, err)
		return b
	}
}

func TestJWKRefusals(t *testing.T) {
	_, enc := jwkMembers(t, testKey(t, Spec{Type: EC, Curve: P256}))
	other, _ := jwkMembers(t, testKey(t, Spec{Type: EC, Curve: Secp256k1}))
	r := testKey(t, Spec{Type: RSA, Bits: 2048})
	_, renc := jwkMembers(t, r)
	for _, tt := range []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"short x", enc(func(m map[string]string) { m["x"] = m["x"][4:] }), "EC JWK x must be 32 bytes for P-256, not 29"},
		{"P-224", enc(func(m map[string]string) { m["crv"] = "P-224" }), `unsupported JWK crv "P-224"`},
		{"off curve", enc(func(m map[string]string) { m["y"] = m["x"] }), "not a point on P-256"},
		{"wrong d", enc(func(m map[string]string) { m["d"] = other["d"] }), "d does not match x and y"},
		{"k1 wrong d", enc(func(m map[string]string) { m["crv"] = "P-256K"; m["x"], m["y"] = other["x"], other["y"] }), "d does not match x and y"},
		{"not base64url", enc(func(m map[string]string) { m["x"] = "+/" + m["x"][2:] }), "not base64url"},
		{"RSA d without primes", renc(func(m map[string]string) { delete(m, "p"); delete(m, "q") }), "needs p and q"},
		{"RSA bad dp", renc(func(m map[string]string) { m["dp"] = m["dq"] }), "inconsistent"},
		{"RSA some CRT", renc(func(m map[string]string) { delete(m, "qi") }), "all or none of dp, dq and qi"},
		{"RSA wrong q", renc(func(m map[string]string) { m["q"] = m["p"] }), "inconsistent"},
	} {
		_, err := Import(tt.data, ImportOptions{Format: FormatJWK})
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Import = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}
	// An RSA JWK without the CRT values gets them computed.
	k, err := Import(renc(func(m map[string]string) { delete(m, "dp"); delete(m, "dq"); delete(m, "qi") }), ImportOptions{})
	if err != nil || !k.Equal(r) {
		t.Errorf("RSA JWK without dp, dq, qi: %v", err)
	}
}

// TestImportWrapped imports keys wrapped by a KEK, as raw, base64 and hex.
func TestImportWrapped(t *testing.T) {
	kek := testKey(t, Spec{Type: AES, Bits: 256})
	for _, ts := range []Spec{{Type: AES, Bits: 128}, {Type: EC, Curve: Secp256k1}, {Type: RSA, Bits: 3072}} {
		target := testKey(t, ts)
		w, err := kek.WrapKey(AESKWP, target)
		must(t, err)
		for f, data := range map[Format][]byte{
			FormatRaw:    w,
			FormatBase64: []byte(base64.StdEncoding.EncodeToString(w)),
			FormatHex:    []byte(hex.EncodeToString(w)),
		} {
			got, err := Import(data, ImportOptions{Format: f, Type: ts.Type, KEK: kek, WrapAlgorithm: AESKWP})
			if err != nil || !got.Equal(target) {
				t.Errorf("%v wrapped, %v: %v", ts, f, err)
			}
		}
		if _, err := Import(w, ImportOptions{Format: FormatRaw, KEK: kek, WrapAlgorithm: AESKWP}); err == nil {
			t.Errorf("%v: wrapped import without a type succeeded", ts)
		}
		if _, err := Import(w, ImportOptions{Format: FormatRaw, Type: ts.Type, KEK: kek, WrapAlgorithm: AESKW}); err == nil {
			t.Errorf("%v: unwrap with the wrong algorithm succeeded", ts)
		}
	}
	// A private key wrapped as PEM text is read too.
	ec := testKey(t, Spec{Type: EC, Curve: P521})
	w, err := kek.Wrap(AESKWP, mustExport(t, ec, FormatPEM))
	must(t, err)
	got, err := Import(w, ImportOptions{Format: FormatRaw, Type: EC, KEK: kek, WrapAlgorithm: AESKWP})
	if err != nil || !got.Equal(ec) {
		t.Errorf("wrapped PEM: %v", err)
	}
}

// hugeRSA encodes an RSA private key whose modulus has bits+1 bits and whose
// other values are those of a real key, as PKCS#1 or PKCS#8.
func hugeRSA(t testing.TB, bits int, pkcs8 bool) []byte {
	t.Helper()
	r := testKey(t, Spec{Type: RSA, Bits: 2048}).m.rsaPriv
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n.Add(n, big.NewInt(1)), E: 65537}, D: r.D, Primes: r.Primes, Precomputed: r.Precomputed}
	der := x509.MarshalPKCS1PrivateKey(k)
	if !pkcs8 {
		return der
	}
	out, err := asn1.Marshal(struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{Algo: pkix.AlgorithmIdentifier{Algorithm: oidRSA, Parameters: asn1.NullRawValue}, PrivateKey: der})
	must(t, err)
	return out
}
