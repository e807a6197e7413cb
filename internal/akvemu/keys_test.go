package akvemu

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// statusOf returns the HTTP status of an SDK error, or 0.
func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// wantStatus fails unless err is an Azure response error with the status and code.
func wantStatus(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want HTTP %d %s", err, status, code)
	}
	if re.StatusCode != status || (code != "" && re.ErrorCode != code) {
		t.Fatalf("got HTTP %d %s, want %d %s", re.StatusCode, re.ErrorCode, status, code)
	}
}

func ops(names ...string) []*azkeys.KeyOperation {
	out := make([]*azkeys.KeyOperation, len(names))
	for i, n := range names {
		out[i] = to.Ptr(azkeys.KeyOperation(n))
	}
	return out
}

func opNames(o []*azkeys.KeyOperation) []string {
	out := make([]string, len(o))
	for i, x := range o {
		out[i] = string(*x)
	}
	return out
}

func TestKeyLifecycleThroughSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			c := e.keys(mode, "kw-standard")
			name := "crud-" + mode
			nbf := time.Now().Add(-time.Hour).Truncate(time.Second)
			exp := time.Now().Add(240 * time.Hour).Truncate(time.Second)
			created, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA),
				KeySize: to.Ptr[int32](3072), Tags: map[string]*string{"team": to.Ptr("kms")},
				KeyAttributes: &azkeys.KeyAttributes{NotBefore: &nbf, Expires: &exp}}, nil)
			if err != nil {
				t.Fatalf("CreateKey: %v", err)
			}
			kid := *created.Key.KID
			if kid.Name() != name || len(kid.Version()) != 32 || !strings.HasPrefix(string(kid), "https://kw-standard.vault.azure.net/keys/") {
				t.Errorf("kid = %s", kid)
			}
			if len(created.Key.N) != 384 || *created.Key.Kty != azkeys.KeyTypeRSA || !created.Attributes.NotBefore.Equal(nbf) {
				t.Errorf("created = %+v %+v", created.Key, created.Attributes)
			}
			if *created.Attributes.RecoveryLevel != "CustomizedRecoverable+Purgeable" || *created.Attributes.RecoverableDays != 7 ||
				*created.Attributes.HSMPlatform != "0" {
				t.Errorf("attributes = %+v", created.Attributes)
			}
			second, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			latest, err := c.GetKey(ctx, name, "", nil)
			if err != nil || *latest.Key.KID != *second.Key.KID || latest.Tags != nil {
				t.Fatalf("GetKey latest: %v %v", err, latest.Key)
			}
			first, err := c.GetKey(ctx, name, kid.Version(), nil)
			if err != nil || *first.Tags["team"] != "kms" {
				t.Fatalf("GetKey version: %v", err)
			}
			updated, err := c.UpdateKey(ctx, name, kid.Version(), azkeys.UpdateKeyParameters{
				KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}, Tags: map[string]*string{"env": to.Ptr("test")},
				KeyOps: ops("sign", "verify")}, nil)
			if err != nil {
				t.Fatalf("UpdateKey: %v", err)
			}
			if *updated.Attributes.Enabled || updated.Tags["team"] != nil || *updated.Tags["env"] != "test" ||
				!slices.Equal(opNames(updated.Key.KeyOps), []string{"sign", "verify"}) {
				t.Errorf("updated = %+v tags %v", updated.Attributes, updated.Tags)
			}
			var versions []string
			for p := c.NewListKeyPropertiesVersionsPager(name, nil); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, kp := range page.Value {
					versions = append(versions, kp.KID.Version())
				}
			}
			if len(versions) != 2 || !slices.IsSorted(versions) {
				t.Errorf("versions = %v", versions)
			}
			found := false
			for p := c.NewListKeyPropertiesPager(nil); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, kp := range page.Value {
					if kp.KID.Name() == name {
						found = kp.KID.Version() == ""
					}
				}
			}
			if !found {
				t.Error("key missing from the listing, or listed with a version")
			}
			del, err := c.DeleteKey(ctx, name, nil)
			if err != nil {
				t.Fatalf("DeleteKey: %v", err)
			}
			if *del.RecoveryID != "https://kw-standard.vault.azure.net/deletedkeys/"+name ||
				del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 7*24*time.Hour || !del.Attributes.Updated.Equal(*second.Attributes.Updated) {
				t.Errorf("deleted = %+v", del.DeletedKey)
			}
			if _, err := c.GetKey(ctx, name, "", nil); statusOf(err) != 404 {
				t.Errorf("get after delete: %v", err)
			}
			if _, err := c.GetDeletedKey(ctx, name, nil); err != nil {
				t.Errorf("GetDeletedKey: %v", err)
			}
			_, err = c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil)
			wantStatus(t, err, 409, "Conflict")
			if _, err := c.RecoverDeletedKey(ctx, name, nil); err != nil {
				t.Fatalf("RecoverDeletedKey: %v", err)
			}
			if got, err := c.GetKey(ctx, name, kid.Version(), nil); err != nil || *got.Attributes.Enabled {
				t.Fatalf("recovered version: %v", err)
			}
			if _, err := c.DeleteKey(ctx, name, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := c.PurgeDeletedKey(ctx, name, nil); err != nil {
				t.Fatalf("PurgeDeletedKey: %v", err)
			}
			if _, err := c.GetDeletedKey(ctx, name, nil); statusOf(err) != 404 {
				t.Errorf("deleted key after purge: %v", err)
			}
			if _, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC),
				Curve: to.Ptr(azkeys.CurveNameP256K)}, nil); err != nil {
				t.Errorf("name not reusable after purge: %v", err)
			}
		})
	}
}

// raw is a data-plane request with a vault token, returning the response.
func (e *env) raw(method, vault, path, body string, api ...string) response {
	e.t.Helper()
	v := "2025-07-01"
	if len(api) > 0 {
		v = api[0]
	}
	resource := "https://vault.azure.net"
	host := vault + ".vault.azure.net"
	if strings.Contains(vault, "hsm") {
		resource, host = "https://managedhsm.azure.net", vault+".managedhsm.azure.net"
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return e.do(method, "https://"+host+path+sep+"api-version="+v, e.token(resource), body)
}

func TestKeyDefaultsAndShapes(t *testing.T) {
	e := newEnv(t)
	type bundle struct {
		Key        jwkOut
		Attributes map[string]any
	}
	decode := func(r response) bundle {
		var b bundle
		if err := json.Unmarshal(r.body, &b); err != nil || r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return b
	}
	r := e.raw("POST", "kw-standard", "/keys/defaults/create", `{"kty":"RSA"}`)
	b := decode(r)
	if b.Key.E != "AQAB" || len(b.Key.N) != 342 || !slices.Equal(b.Key.KeyOps, defaultKeyOps("RSA", false)) {
		t.Errorf("RSA defaults: %+v", b.Key)
	}
	if _, ok := b.Attributes["nbf"]; ok || b.Attributes["exportable"] != false || b.Attributes["hsmPlatform"] != "0" {
		t.Errorf("attributes: %v", b.Attributes)
	}
	// The member order of a vault KeyBundle, as recorded from Azure.
	if i, j, k := strings.Index(string(r.body), `"key"`), strings.Index(string(r.body), `"attributes"`), strings.Index(string(r.body), `"kid"`); !(i < k && k < j) {
		t.Errorf("member order: %s", r.body)
	}
	r = e.raw("POST", "kw-premium", "/keys/ec-hsm/create", `{"kty":"EC-HSM"}`)
	b = decode(r)
	if b.Key.Crv != "P-256" || !slices.Equal(b.Key.KeyOps, []string{"sign", "verify"}) || b.Attributes["hsmPlatform"] != "2" {
		t.Errorf("EC-HSM defaults: %+v %v", b.Key, b.Attributes)
	}
	r = e.raw("POST", "kw-premium", "/keys/ec-74/create", `{"kty":"EC"}`, "7.4")
	b = decode(r)
	if _, ok := b.Attributes["hsmPlatform"]; ok || r.status != 200 {
		t.Errorf("7.4 response has hsmPlatform: %s", r.body)
	}
	r = e.raw("POST", "kw-hsm", "/keys/coerced/create", `{"kty":"RSA","key_size":2048}`)
	b = decode(r)
	if b.Key.Kty != "RSA-HSM" || b.Attributes["hsmPlatform"] != nil || r.header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("MHSM RSA: %+v %v", b.Key, b.Attributes)
	}
	if !strings.HasPrefix(string(r.body), `{"attributes":{"created":`) {
		t.Errorf("MHSM JSON members are not sorted: %s", r.body)
	}
	r = e.raw("POST", "kw-hsm", "/keys/ec/create", `{"kty":"EC","crv":"P-256K"}`)
	b = decode(r)
	if b.Key.Kty != "EC-HSM" || !slices.Contains(b.Key.KeyOps, "deriveKey") {
		t.Errorf("MHSM EC: %+v", b.Key)
	}
	if r.header.Get("x-ms-server-latency") == "" || r.header.Get("x-ms-keyvault-service-version") != "" {
		t.Errorf("MHSM headers: %v", r.header)
	}
	r = e.raw("GET", "kw-standard", "/KEYS/DEFAULTS/", "")
	if r.status != 200 || r.header.Get("x-ms-keyvault-service-version") == "" || r.header.Get("Expires") != "-1" {
		t.Errorf("case-insensitive path with trailing slash: %d %v", r.status, r.header)
	}
}

func TestTierRules(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ name, vault, path, body string }{
		{"standard_rsa_hsm", "kw-standard", "/keys/t/create", `{"kty":"RSA-HSM"}`},
		{"standard_import_hsm", "kw-standard", "/keys/t", `{"Hsm":true,"key":{"kty":"EC","crv":"P-256","d":"AQ","x":"AQ","y":"AQ"}}`},
		{"standard_oct", "kw-standard", "/keys/t/create", `{"kty":"oct"}`},
		{"premium_oct_hsm", "kw-premium", "/keys/t/create", `{"kty":"oct-HSM"}`},
		{"hsm_oct_512", "kw-hsm", "/keys/t/create", `{"kty":"oct-HSM","key_size":512}`},
		{"rsa_1024", "kw-premium", "/keys/t/create", `{"kty":"RSA","key_size":1024}`},
		{"bad_curve", "kw-premium", "/keys/t/create", `{"kty":"EC","crv":"P-192"}`},
		{"bad_kty", "kw-premium", "/keys/t/create", `{"kty":"DSA"}`},
		{"exportable_standard", "kw-standard", "/keys/t/create", `{"kty":"RSA","attributes":{"exportable":true}}`},
		{"exportable_no_policy", "kw-premium", "/keys/t/create", `{"kty":"RSA-HSM","attributes":{"exportable":true}}`},
		{"import_op_not_alone", "kw-premium", "/keys/t/create", `{"kty":"RSA-HSM","key_ops":["import","sign"]}`},
		{"import_op_software", "kw-premium", "/keys/t/create", `{"kty":"RSA","key_ops":["import"]}`},
		{"bad_key_op", "kw-premium", "/keys/t/create", `{"kty":"RSA","key_ops":["fly"]}`},
		{"nbf_after_exp", "kw-premium", "/keys/t/create", `{"kty":"EC","attributes":{"nbf":2000000000,"exp":1000000000}}`},
		{"malformed_json", "kw-premium", "/keys/t/create", `{"kty":`},
		{"missing_kty", "kw-premium", "/keys/t/create", `{}`},
		{"invalid_name", "kw-premium", "/keys/bad_name/create", `{"kty":"EC"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			golden(t, "tier_"+c.name, e.raw("POST", c.vault, c.path, c.body))
		})
	}
	t.Run("hsm accepts all AES sizes and all curves", func(t *testing.T) {
		for _, body := range []string{`{"kty":"oct-HSM","key_size":128}`, `{"kty":"oct","key_size":192}`, `{"kty":"oct-HSM"}`,
			`{"kty":"EC-HSM","crv":"P-384"}`, `{"kty":"EC-HSM","crv":"P-521"}`} {
			if r := e.raw("POST", "kw-hsm", "/keys/ok/create", body); r.status != 200 {
				t.Errorf("%s: %d %s", body, r.status, r.body)
			}
		}
	})
	t.Run("premium P-256K HSM and software", func(t *testing.T) {
		for _, body := range []string{`{"kty":"EC-HSM","crv":"P-256K"}`, `{"kty":"EC","crv":"P-256K"}`} {
			if r := e.raw("POST", "kw-premium", "/keys/k1/create", body); r.status != 200 {
				t.Errorf("%s: %d %s", body, r.status, r.body)
			}
		}
	})
}

func TestChallengeAndAuth(t *testing.T) {
	e := newEnv(t)
	post := func(host, token string, headers ...string) response {
		return e.do("POST", "https://"+host+"/keys/k/create?api-version=2025-07-01", token, "", append(headers, "Content-Length", "0")...)
	}
	r := post("kw-standard.vault.azure.net", "")
	golden(t, "auth_vault_missing_token", r)
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer authorization="https://login.microsoftonline.com/`+tenantID+`", resource="https://vault.azure.net"` {
		t.Errorf("challenge = %s", got)
	}
	r = post("kw-hsm.managedhsm.azure.net", "")
	if r.status != 401 || len(r.body) != 0 || r.header.Get("WWW-Authenticate") != `Bearer authorization="https://login.microsoftonline.com/`+tenantID+`", resource="https://managedhsm.azure.net"` {
		t.Errorf("MHSM 401: %d %q %v", r.status, r.body, r.header)
	}
	r = post("kw-standard.vault.azure.net", "", "Host", "kw-standard.vault.azure.net:8443")
	if got := r.header.Get("WWW-Authenticate"); !strings.HasSuffix(got, `resource="https://vault.azure.net:8443"`) {
		t.Errorf("challenge with a port = %s", got)
	}
	armTok := e.token("https://management.azure.com")
	golden(t, "auth_vault_wrong_audience", post("kw-standard.vault.azure.net", armTok))
	other := e.tokenFor(otherTID, otherApp, "https://vault.azure.net")
	golden(t, "auth_vault_wrong_tenant", post("kw-standard.vault.azure.net", other))
	noGrant := e.tokenFor(tenantID, noGrantID, "https://vault.azure.net")
	golden(t, "auth_vault_no_role", post("kw-standard.vault.azure.net", noGrant))
	golden(t, "auth_vault_malformed", post("kw-standard.vault.azure.net", "abc.def"))
	vaultTok := e.token("https://vault.azure.net")
	golden(t, "auth_hsm_vault_token", post("kw-hsm.managedhsm.azure.net", vaultTok))
	golden(t, "auth_vault_expired", post("kw-standard.vault.azure.net", e.expiredToken("https://vault.azure.net")))
	golden(t, "auth_hsm_expired", post("kw-hsm.managedhsm.azure.net", e.expiredToken("https://managedhsm.azure.net")))

	tok := e.token("https://vault.azure.net")
	for _, c := range []struct{ name, query string }{
		{"api_missing", ""}, {"api_unknown", "?api-version=2016-10-01"}, {"api_old_preview", "?api-version=2024-01-01-preview"},
	} {
		golden(t, "auth_"+c.name, e.do("GET", "https://kw-standard.vault.azure.net/keys"+c.query, tok, ""))
	}
	for _, v := range []string{"7.4", "7.5", "7.6", "2025-07-01", "2025-06-01-preview", "2026-01-01-preview", "2027-03-01-preview"} {
		if r := e.do("GET", "https://kw-standard.vault.azure.net/keys?api-version="+v, tok, ""); r.status != 200 {
			t.Errorf("api-version %s: %d %s", v, r.status, r.body)
		}
	}
	golden(t, "route_not_emulated", e.do("GET", "https://kw-standard.vault.azure.net/secrets?api-version=7.5", tok, ""))
	golden(t, "route_method", e.do("DELETE", "https://kw-standard.vault.azure.net/keys?api-version=7.5", tok, ""))
	r = e.do("POST", "https://kw-standard.vault.azure.net/keys/tunnel?api-version=7.5", tok, "",
		"X-HTTP-Method", "GET")
	if r.status != 404 {
		t.Errorf("X-HTTP-Method GET of a missing key: %d %s", r.status, r.body)
	}
	if _, err := e.client("direct").Get("https://nosuchvault.vault.azure.net/keys"); err == nil ||
		!strings.Contains(err.Error(), "no such host") {
		t.Errorf("unknown vault: %v", err)
	}
	req, _ := http.NewRequest("GET", "https://nosuchvault.vault.azure.net/keys", nil)
	pc := e.client("proxy")
	if _, err := pc.Do(req); err == nil {
		t.Error("proxy tunnelled to an unknown vault")
	}
}
