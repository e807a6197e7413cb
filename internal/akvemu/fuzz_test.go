package akvemu

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// The fuzzers drive the emulator's handler in-process (no TLS) with a valid token, so
// that inputs reach parsing rather than stopping at authentication. A request must never
// panic, hang or produce a 5xx; every non-empty body must be JSON.

type fuzzWorld struct {
	emu      *Emulator
	vaultTok string
	hsmTok   string
	kekKid   string
	kekPub   *rsa.PublicKey
}

var (
	fuzzOnce sync.Once
	fuzzW    fuzzWorld
)

func fuzzSetup(t testing.TB) *fuzzWorld {
	fuzzOnce.Do(func() {
		cfg := baseConfig(t)
		emu, err := New(cfg)
		if err != nil {
			panic(err)
		}
		a := emu.reg.app(emu.reg.tenant(tenantID), appID)
		fuzzW.emu = emu
		fuzzW.vaultTok, _ = emu.issueAccessToken(a, "https://vault.azure.net", "1")
		fuzzW.hsmTok, _ = emu.issueAccessToken(a, "https://managedhsm.azure.net", "1")
		r := fuzzServe(emu, "POST", "kw-premium.vault.azure.net", "/keys/kek/create?api-version=7.5", fuzzW.vaultTok,
			[]byte(`{"kty":"RSA-HSM","key_ops":["import"]}`))
		var b struct{ Key jwkOut }
		if err := json.Unmarshal(r.Body.Bytes(), &b); err != nil {
			panic(r.Body.String())
		}
		n, _ := decodeB64(b.Key.N)
		fuzzW.kekKid, fuzzW.kekPub = b.Key.Kid, &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
		if err := emu.SeedKeys("kw-premium", SeedSpec{Count: 3, Prefix: "ec"}); err != nil {
			panic(err)
		}
		if err := emu.SeedKeys("kw-hsm", SeedSpec{Count: 1, Prefix: "aes", Kty: "oct-HSM"}); err != nil {
			panic(err)
		}
	})
	return &fuzzW
}

func fuzzServe(emu *Emulator, method, host, target, token string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "https://"+host+"/", bytes.NewReader(body))
	req.Method = method
	if u, err := url.ParseRequestURI(target); err == nil {
		req.URL.Path, req.URL.RawPath, req.URL.RawQuery = u.Path, u.RawPath, u.RawQuery
	} else {
		req.URL.Path = target
	}
	req.Host = host
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	emu.Handler().ServeHTTP(rec, req)
	return rec
}

func checkFuzzResponse(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	if b := rec.Body.Bytes(); len(b) > 0 && rec.Header().Get("Content-Type") == "application/json; charset=utf-8" && !json.Valid(b) {
		t.Fatalf("invalid JSON: %q", b)
	}
}

// fuzzMethods keeps the method from being a free string, which would only test net/http.
var fuzzMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// FuzzDataPlane fuzzes the method, the path with its query, the body and the target.
func FuzzDataPlane(f *testing.F) {
	w := fuzzSetup(f)
	seeds := []struct {
		m    uint8
		path string
		body string
	}{
		{1, "/keys/a/create?api-version=7.5", `{"kty":"EC","crv":"P-256K","key_ops":["sign"],"attributes":{"nbf":1,"exp":2}}`},
		{1, "/keys/a/create?api-version=2025-07-01", `{"kty":"oct-HSM","key_size":128}`},
		{2, "/keys/b?api-version=7.5", `{"Hsm":true,"key":{"kty":"EC","crv":"P-256","d":"AQ","x":"AQ","y":"AQ"}}`},
		{2, "/keys/b?api-version=7.5", `{"key":{"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"}}`},
		{3, "/keys/ec-00001/?api-version=7.5", `{"attributes":{"enabled":false},"tags":{"a":"b"},"key_ops":["verify"]}`},
		{1, "/keys/ec-00002/sign?api-version=7.5", `{"alg":"ES256","value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{1, "/keys/ec-00002/verify?api-version=7.5", `{"alg":"ES256","digest":"AAAA","value":"AAAA"}`},
		{1, "/keys/aes-00001/encrypt?api-version=7.6", `{"alg":"A256GCM","value":"AAAA","aad":"AQ"}`},
		{1, "/keys/aes-00001/decrypt?api-version=7.6", `{"alg":"A256CBCPAD","value":"AAAAAAAAAAAAAAAAAAAAAA","iv":"AAAAAAAAAAAAAAAAAAAAAA"}`},
		{1, "/keys/aes-00001/unwrapkey?api-version=7.6", `{"alg":"CKM_AES_KEY_WRAP_PAD","value":"AAAAAAAAAAAAAAAAAAAAAA"}`},
		{0, "/keys?api-version=7.5&maxresults=2&$skiptoken=eyJOZXh0TWFya2VyIjoiWlhJIiwiVGFyZ2V0TG9jYXRpb24iOjB9", ""},
		{4, "/keys/ec-00003?api-version=7.5", ""},
		{1, "/deletedkeys/ec-00003/recover?api-version=7.5", ""},
		{1, "/keys/restore?api-version=7.5", `{"value":"JkF6dXJlS2V5VmF1bHRLZXlCYWNrdXBWMS5taWNyb3NvZnQuY29tZXlKaGJHY2lPaUprYVhJaWZRLi4uLg"}`},
		{2, "/keys/ec-00001/rotationpolicy?api-version=7.5", `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1Y2M10DT2H30M"},"action":{"type":"rotate"}}],"attributes":{"expiryTime":"P2Y"}}`},
		{1, "/rng?api-version=7.5", `{"count":12}`},
		{1, "/keys/ec-00001/release?api-version=7.5", `{"target":"a.b.c","enc":"RSA_AES_KEY_WRAP_384"}`},
	}
	for _, s := range seeds {
		f.Add(s.m, s.path, []byte(s.body), false)
		f.Add(s.m, s.path, []byte(s.body), true)
	}
	f.Fuzz(func(t *testing.T, m uint8, path string, body []byte, hsm bool) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n#") {
			t.Skip()
		}
		host, tok := "kw-premium.vault.azure.net", w.vaultTok
		if hsm {
			host, tok = "kw-hsm.managedhsm.azure.net", w.hsmTok
		}
		checkFuzzResponse(t, fuzzServe(w.emu, fuzzMethods[int(m)%len(fuzzMethods)], host, path, tok, body))
	})
}

// FuzzBYOKBlob fuzzes the .byok JSON inside key_hsm, seeded with a valid blob.
func FuzzBYOKBlob(f *testing.F) {
	w := fuzzSetup(f)
	target, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(target)
	aesKey := make([]byte, 32)
	c1, _ := rsa.EncryptOAEP(sha1.New(), rand.Reader, w.kekPub, aesKey, nil)
	c2 := testKWP(aesKey, der)
	valid, _ := json.Marshal(map[string]any{"schema_version": "1.0.0",
		"header":     map[string]string{"kid": w.kekKid, "alg": "dir", "enc": "CKM_RSA_AES_KEY_WRAP"},
		"ciphertext": b64url(append(c1, c2...))})
	f.Add(valid, "RSA-HSM", "")
	f.Add([]byte(`{"schema_version":"1.0.0","header":{"kid":"`+w.kekKid+`","alg":"dir","enc":"CKM_RSA_AES_KEY_WRAP"},"ciphertext":"AAAA"}`), "EC-HSM", "P-256K")
	f.Add([]byte(`{}`), "oct-HSM", "")
	f.Fuzz(func(t *testing.T, blob []byte, kty, crv string) {
		body, _ := json.Marshal(map[string]any{"key": map[string]any{"kty": kty, "crv": crv, "key_hsm": base64.RawURLEncoding.EncodeToString(blob)}})
		rec := fuzzServe(w.emu, "PUT", "kw-premium.vault.azure.net", "/keys/fuzzed?api-version=7.5", w.vaultTok, body)
		checkFuzzResponse(t, rec)
		if rec.Code == 200 && !bytes.Equal(blob, valid) {
			// Accepting a different blob is fine only if it still unwraps to a real key.
			var b struct{ Key jwkOut }
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Key.Kty == "" {
				t.Fatalf("accepted blob without a key: %s", rec.Body.String())
			}
		}
	})
}

// FuzzBase64 checks the lenient decoder: both alphabets, padded or not, and nothing else.
func FuzzBase64(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte{0xfb, 0xff}, "+/8=")
	f.Fuzz(func(t *testing.T, data []byte, s string) {
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
			got, err := decodeB64(enc.EncodeToString(data))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("round trip through %v failed: %v", enc, err)
			}
		}
		if b, err := decodeB64(s); err == nil {
			// What decodes must be some encoding of the result; like every base64 decoder
			// in Go (and .NET's), line breaks are skipped.
			std := strings.TrimRight(base64.StdEncoding.EncodeToString(b), "=")
			url := strings.TrimRight(base64.URLEncoding.EncodeToString(b), "=")
			in := strings.TrimRight(strings.NewReplacer("\r", "", "\n", "").Replace(s), "=")
			if in != std && in != url {
				t.Fatalf("decodeB64(%q) = %x, which encodes differently", s, b)
			}
		}
	})
}

// FuzzTokenEndpoint fuzzes the token request form and its client assertion.
func FuzzTokenEndpoint(f *testing.F) {
	w := fuzzSetup(f)
	f.Add("client_credentials", certAppID, "", "eyJhbGciOiJQUzI1NiIsIng1dCNTMjU2IjoiQUFBQSJ9.eyJpc3MiOiJ4In0.AAAA", "https://vault.azure.net/.default openid")
	f.Add("client_credentials", appID, appSecret, "", "https://management.core.windows.net//.default")
	f.Add("password", "", "", "", "")
	f.Fuzz(func(t *testing.T, grant, client, secret, assertion, scope string) {
		form := url.Values{"grant_type": {grant}, "client_id": {client}, "client_secret": {secret}, "scope": {scope}}
		if assertion != "" {
			form.Set("client_assertion", assertion)
			form.Set("client_assertion_type", clientAssertionType)
		}
		rec := fuzzServe(w.emu, "POST", "login.microsoftonline.com", "/"+tenantID+"/oauth2/v2.0/token", "", []byte(form.Encode()))
		checkFuzzResponse(t, rec)
		if rec.Code == 200 && !(client == appID && secret == appSecret) {
			t.Fatalf("token issued to %q with secret %q and assertion %q", client, secret, assertion)
		}
	})
}

// FuzzServicePaths fuzzes paths on the Entra and ARM hosts, where routing is by segment.
func FuzzServicePaths(f *testing.F) {
	w := fuzzSetup(f)
	a := w.emu.reg.app(w.emu.reg.tenant(tenantID), appID)
	armTok, _ := w.emu.issueAccessToken(a, "https://management.azure.com", "1")
	f.Add(false, "/subscriptions/"+subID+"/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kw-premium?api-version=2024-11-01")
	f.Add(false, "/subscriptions/"+subID+"/resources?$filter=resourceType%20eq%20%27x%27&$top=1&$skiptoken=AA&api-version=2015-11-01")
	f.Add(true, "/common/discovery/instance?authorization_endpoint=https%3A%2F%2Flogin.microsoftonline.com%2Fx%2Fy")
	f.Add(true, "/"+tenantID+"/v2.0/.well-known/openid-configuration")
	f.Fuzz(func(t *testing.T, login bool, path string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n#") {
			t.Skip()
		}
		host, tok := "management.azure.com", armTok
		if login {
			host, tok = "login.microsoftonline.com", ""
		}
		checkFuzzResponse(t, fuzzServe(w.emu, "GET", host, path, tok, nil))
	})
}
