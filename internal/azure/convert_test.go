package azure

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

func TestCodeForStatus(t *testing.T) {
	cases := map[int]string{400: keyward.EINVALID, 401: keyward.EUNAUTHENTICATED, 403: keyward.EFORBIDDEN,
		404: keyward.ENOTFOUND, 409: keyward.ECONFLICT, 412: keyward.EPRECONDITION, 413: keyward.ETOOLARGE,
		429: keyward.ERATELIMIT, 408: keyward.EUNAVAILABLE, 500: keyward.EUNAVAILABLE, 502: keyward.EUNAVAILABLE,
		503: keyward.EUNAVAILABLE, 504: keyward.EUNAVAILABLE, 501: keyward.ENOTSUPPORTED, 418: keyward.EINVALID}
	for status, want := range cases {
		if got := codeForStatus(status); got != want {
			t.Errorf("codeForStatus(%d) = %s, want %s", status, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "3"}, 3 * time.Second},
		{"date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"past date", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"milliseconds first", map[string]string{"retry-after-ms": "250", "Retry-After": "3"}, 250 * time.Millisecond},
		{"x-ms milliseconds", map[string]string{"x-ms-retry-after-ms": "1500"}, 1500 * time.Millisecond},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.headers {
			h.Set(k, v)
		}
		if got := retryAfter(h, now); got != c.want {
			t.Errorf("%s: retryAfter = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseKID(t *testing.T) {
	cases := []struct{ kid, name, version string }{
		{"https://v.vault.azure.net/keys/k1/0123456789abcdef0123456789abcdef", "k1", "0123456789abcdef0123456789abcdef"},
		{"https://v.vault.azure.net/keys/k1", "k1", ""},
		{"https://h.managedhsm.azure.net:8443/keys/k-2/", "k-2", ""},
		{"https://v.vault.azure.net/deletedkeys/gone", "gone", ""},
		{"::", "", ""},
	}
	for _, c := range cases {
		if n, v := parseKID(c.kid); n != c.name || v != c.version {
			t.Errorf("parseKID(%q) = %q, %q; want %q, %q", c.kid, n, v, c.name, c.version)
		}
	}
	for in, want := range map[string]string{"secp256k1": "P-256K", "P-256K": "P-256K", "p256": "P-256",
		"secp384r1": "P-384", "P-521": "P-521", "X25519": "X25519"} {
		if got := azureCurve(in); got != want {
			t.Errorf("azureCurve(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImportParams(t *testing.T) {
	k, err := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.Secp256k1})
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := k.AzureJWK()
	p, wipe, err := importParams(keyward.CloudImport{JWK: jwk, HSM: true, Ops: []string{"sign"}, Enabled: true,
		Tags: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(p)
	var sent struct {
		HSM *bool `json:"Hsm"`
		Key struct {
			Kty, Crv, D string
			Ops         []string `json:"key_ops"`
		} `json:"key"`
		Tags map[string]string `json:"tags"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.HSM == nil || !*sent.HSM || sent.Key.Kty != "EC" || sent.Key.Crv != "P-256K" || sent.Key.D == "" ||
		len(sent.Key.Ops) != 1 || sent.Tags["a"] != "b" {
		t.Errorf("import body %s", body)
	}
	wipe()
	for _, b := range p.Key.D {
		if b != 0 {
			t.Fatal("wipe left the private scalar")
		}
	}
	for name, imp := range map[string]keyward.CloudImport{
		"neither":  {},
		"both":     {JWK: jwk, BYOK: []byte("{}"), KeyType: "EC-HSM"},
		"byok kty": {BYOK: []byte("{}"), KeyType: "EC"},
		"not json": {JWK: []byte("d=secret")},
		"no kty":   {JWK: []byte(`{"d":"AAAA"}`)},
	} {
		if _, _, err := importParams(imp); !keyward.IsCode(err, keyward.EINVALID) {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	p, _, err = importParams(keyward.CloudImport{BYOK: []byte(`{"schema_version":"1.0.0"}`), KeyType: "EC-HSM", Curve: "secp256k1"})
	if err != nil || string(*p.Key.Kty) != "EC-HSM" || string(*p.Key.Crv) != "P-256K" || string(p.Key.T) != `{"schema_version":"1.0.0"}` || !*p.HSM {
		t.Errorf("BYOK params %+v, %v", p.Key, err)
	}
}

func TestUpdateParams(t *testing.T) {
	none := []string{}
	clearTags := map[string]string{}
	p, err := updateParams(keyward.CloudKeyUpdate{Ops: &none, Tags: &clearTags})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(p)
	if string(body) != `{"key_ops":[],"tags":{}}` {
		t.Errorf("clearing ops and tags sends %s", body)
	}
	zero := time.Time{}
	if _, err := updateParams(keyward.CloudKeyUpdate{Expires: &zero}); !keyward.IsCode(err, keyward.EINVALID) {
		t.Errorf("a zero expiry: %v", err)
	}
}

func TestCertificateAndKey(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	other := testCertOther(t)
	cases := map[string]struct {
		cert, key []byte
	}{
		"no certificate":   {nil, testCert().keyPEM},
		"no key":           {testCert().certPEM, nil},
		"EC key":           {testCert().certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})},
		"another key":      {testCert().certPEM, other},
		"encrypted or bad": {testCert().certPEM, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2}})},
	}
	for name, c := range cases {
		if _, _, err := certificateAndKey(string(c.cert), c.key); !keyward.IsCode(err, keyward.EINVALID) {
			t.Errorf("%s: err = %v, want EINVALID", name, err)
		}
	}
	certs, key, err := certificateAndKey(string(testCert().certPEM), testCert().keyPEM)
	if err != nil || len(certs) != 1 || key == nil {
		t.Errorf("good pair: %v", err)
	}
}

// testCertOther is an RSA key that belongs to no certificate of the test world.
func testCertOther(t *testing.T) []byte {
	k, err := kcrypto.Generate(kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	b, err := k.Export(kcrypto.FormatPEM)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
