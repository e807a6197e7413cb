package akvemu

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// claimsOf decodes a token's claims without verifying it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEntraCredentialsThroughSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode+"/secret", func(t *testing.T) {
			tok, err := e.secretCred(mode).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			c := claimsOf(t, tok.Token)
			if c["aud"] != "https://vault.azure.net" || c["tid"] != tenantID || c["appid"] != appID || c["appidacr"] != "1" {
				t.Errorf("claims = %v", c)
			}
			if c["iss"] != "https://sts.windows.net/"+tenantID+"/" {
				t.Errorf("iss = %v", c["iss"])
			}
			if d := time.Until(tok.ExpiresOn); d < 50*time.Minute || d > 61*time.Minute {
				t.Errorf("expires in %v, want about an hour", d)
			}
		})
		t.Run(mode+"/certificate", func(t *testing.T) {
			ca := testCertificate(t)
			for _, chain := range []bool{false, true} {
				cred, err := azidentity.NewClientCertificateCredential(tenantID, certAppID, []*x509.Certificate{ca.cert}, ca.key,
					&azidentity.ClientCertificateCredentialOptions{ClientOptions: e.clientOptions(mode), SendCertificateChain: chain})
				if err != nil {
					t.Fatal(err)
				}
				tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.core.windows.net//.default"}})
				if err != nil {
					t.Fatalf("GetToken (x5c %v): %v", chain, err)
				}
				if c := claimsOf(t, tok.Token); c["aud"] != "https://management.core.windows.net/" || c["appidacr"] != "2" {
					t.Errorf("claims = %v", c)
				}
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		cred, _ := azidentity.NewClientSecretCredential(tenantID, appID, "nope",
			&azidentity.ClientSecretCredentialOptions{ClientOptions: e.clientOptions("direct")})
		_, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://vault.azure.net/.default"}})
		if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Errorf("err = %v, want AADSTS7000215", err)
		}
	})
}

// assertion builds a client assertion by hand, so that each field can be wrong.
type assertion struct {
	alg, thumbHeader string
	thumb            []byte
	encodeThumb      func([]byte) string
	iss, sub         string
	aud              any
	exp, nbf         time.Time
	key              *rsa.PrivateKey
}

func (a assertion) build(t *testing.T) string {
	hdr := map[string]any{"alg": a.alg, "typ": "JWT", a.thumbHeader: a.encodeThumb(a.thumb)}
	claims := map[string]any{"aud": a.aud, "iss": a.iss, "sub": a.sub, "jti": newGUID(), "exp": a.exp.Unix(), "nbf": a.nbf.Unix()}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	signed := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signed))
	var sig []byte
	var err error
	if a.alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, a.key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, sum[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestEntraClientAssertions(t *testing.T) {
	e := newEnv(t)
	ca := testCertificate(t)
	endpoint := "https://login.microsoftonline.com/" + tenantID + "/oauth2/v2.0/token"
	s1 := sha1.Sum(ca.cert.Raw)
	s256 := sha256.Sum256(ca.cert.Raw)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	good := func() assertion {
		return assertion{alg: "PS256", thumbHeader: "x5t#S256", thumb: s256[:], encodeThumb: base64.StdEncoding.EncodeToString,
			iss: certAppID, sub: certAppID, aud: endpoint, exp: time.Now().Add(10 * time.Minute), nbf: time.Now(), key: ca.key}
	}
	post := func(a assertion) response {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {certAppID},
			"client_assertion_type": {clientAssertionType}, "client_assertion": {a.build(t)},
			"scope": {"https://vault.azure.net/.default"}}
		return e.do("POST", endpoint, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	}
	accept := map[string]func(*assertion){
		"PS256 x5t#S256 std base64": func(a *assertion) {},
		"PS256 x5t#S256 url base64": func(a *assertion) { a.encodeThumb = base64.RawURLEncoding.EncodeToString },
		"RS256 x5t sha1":            func(a *assertion) { a.alg, a.thumbHeader, a.thumb = "RS256", "x5t", s1[:] },
		"RS256 x5t sha1 url padded": func(a *assertion) {
			a.alg, a.thumbHeader, a.thumb, a.encodeThumb = "RS256", "x5t", s1[:], base64.URLEncoding.EncodeToString
		},
		"aud as array": func(a *assertion) { a.aud = []string{"https://example.com", endpoint} },
	}
	for name, mut := range accept {
		t.Run("accept "+name, func(t *testing.T) {
			a := good()
			mut(&a)
			if r := post(a); r.status != 200 {
				t.Errorf("status %d: %s", r.status, r.body)
			}
		})
	}
	refuse := map[string]func(*assertion){
		"unknown thumbprint": func(a *assertion) { a.thumb = make([]byte, 32) },
		"bad signature":      func(a *assertion) { a.key = otherKey },
		"wrong audience":     func(a *assertion) { a.aud = "https://login.microsoftonline.com/common/oauth2/v2.0/token" },
		"expired":            func(a *assertion) { a.exp = time.Now().Add(-time.Hour); a.nbf = time.Now().Add(-2 * time.Hour) },
		"issuer mismatch":    func(a *assertion) { a.iss = appID },
		"unsupported alg":    func(a *assertion) { a.alg = "HS256" },
	}
	for name, mut := range refuse {
		t.Run("refuse "+name, func(t *testing.T) {
			a := good()
			mut(&a)
			golden(t, "entra_assertion_"+strings.ReplaceAll(name, " ", "_"), post(a))
		})
	}
}

func TestEntraErrors(t *testing.T) {
	e := newEnv(t)
	base := "https://login.microsoftonline.com/"
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	ok := []string{"grant_type", "client_credentials", "client_id", appID, "client_secret", appSecret,
		"scope", "https://vault.azure.net/.default openid profile offline_access"}
	with := func(k, v string) []string {
		out := append([]string{}, ok...)
		for i := 0; i < len(out); i += 2 {
			if out[i] == k {
				out[i+1] = v
				return out
			}
		}
		return append(out, k, v)
	}
	cases := []struct {
		name, tenant, body string
	}{
		{"unknown_tenant", "00000000-0000-4000-8000-000000000000", form(ok...)},
		{"unknown_app", tenantID, form(with("client_id", "99999999-0000-4000-8000-000000000000")...)},
		{"bad_secret", tenantID, form(with("client_secret", "wrong")...)},
		{"no_credential", tenantID, form(with("client_secret", "")...)},
		{"no_grant_type", tenantID, form(with("grant_type", "")...)},
		{"unsupported_grant", tenantID, form(with("grant_type", "password")...)},
		{"scope_without_default", tenantID, form(with("scope", "https://vault.azure.net/keys.read")...)},
		{"two_resources", tenantID, form(with("scope", "https://vault.azure.net/.default https://management.azure.com/.default")...)},
		{"unknown_resource", tenantID, form(with("scope", "https://storage.azure.com/.default")...)},
		{"missing_scope", tenantID, form(with("scope", "")...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", base+c.tenant+"/oauth2/v2.0/token", "", c.body, "Content-Type", "application/x-www-form-urlencoded")
			golden(t, "entra_"+c.name, r)
		})
	}
	t.Run("basic auth and tenant domain", func(t *testing.T) {
		r := e.do("POST", base+"contoso.onmicrosoft.com/oauth2/v2.0/token", "",
			form("grant_type", "client_credentials", "scope", "https://managedhsm.azure.net/.default"),
			"Content-Type", "application/x-www-form-urlencoded",
			"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(appID+":"+url.QueryEscape(appSecret))))
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("v1 endpoint", func(t *testing.T) {
		r := e.do("POST", base+tenantID+"/oauth2/token", "", form("grant_type", "client_credentials", "client_id", appID,
			"client_secret", appSecret, "resource", "https://vault.azure.net"), "Content-Type", "application/x-www-form-urlencoded")
		var out map[string]any
		_ = json.Unmarshal(r.body, &out)
		if r.status != 200 || out["resource"] != "https://vault.azure.net" || out["expires_in"] != "3599" {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("GET token", func(t *testing.T) {
		golden(t, "entra_get_token", e.do("GET", base+tenantID+"/oauth2/v2.0/token", "", ""))
	})
}

func TestEntraDiscovery(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "https://login.microsoftonline.com/"+tenantID+"/v2.0/.well-known/openid-configuration", "", "")
	golden(t, "entra_openid_configuration", r)
	r = e.do("GET", "https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint="+
		url.QueryEscape("https://login.microsoftonline.com/"+tenantID+"/oauth2/v2.0/authorize"), "", "")
	golden(t, "entra_instance_discovery", r)
	r = e.do("GET", "https://login.microsoftonline.com/nosuchtenant/v2.0/.well-known/openid-configuration", "", "")
	golden(t, "entra_openid_unknown_tenant", r)
	r = e.do("GET", "https://login.microsoftonline.com/"+tenantID+"/discovery/v2.0/keys", "", "")
	var jwks struct {
		Keys []struct{ Kid, N, E string }
	}
	if err := json.Unmarshal(r.body, &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %s", r.body)
	}
	// A token verifies against the published key.
	tok := e.token("https://vault.azure.net")
	j, err := parseJWS(tok)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	if j.headerString("kid") != jwks.Keys[0].Kid || j.verifyRSA(pub) != nil {
		t.Errorf("token does not verify against the published signing key")
	}
}
