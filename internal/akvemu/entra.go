package akvemu

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Microsoft Entra: instance discovery, OpenID configuration, signing keys and the token
// endpoint for the client-credentials grant (akv-api.md §4.2, §4.3).

// entraOp names the Entra operation a path asks for, for stats and fault rules.
func entraOp(segs []string) string {
	n := len(segs)
	switch {
	case n == 3 && eq(segs[1], "discovery") && eq(segs[2], "instance"):
		return "InstanceDiscovery"
	case n == 4 && eq(segs[1], "v2.0") && eq(segs[2], ".well-known") && eq(segs[3], "openid-configuration"),
		n == 3 && eq(segs[1], ".well-known") && eq(segs[2], "openid-configuration"):
		return "OpenIDConfiguration"
	case n == 4 && eq(segs[1], "oauth2") && eq(segs[2], "v2.0") && eq(segs[3], "token"),
		n == 3 && eq(segs[1], "oauth2") && eq(segs[2], "token"):
		return "Token"
	case n == 4 && eq(segs[1], "discovery") && eq(segs[2], "v2.0") && eq(segs[3], "keys"),
		n == 3 && eq(segs[1], "discovery") && eq(segs[2], "keys"):
		return "SigningKeys"
	}
	return "Unknown"
}

func (e *Emulator) serveEntra(w http.ResponseWriter, r *http.Request, cl *cloud) {
	segs := splitPath(r.URL.Path)
	op := entraOp(segs)
	e.instrument(w, r, svcLogin, op, "", func(w http.ResponseWriter) {
		w.Header().Set("Cache-Control", "no-store, no-cache")
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("x-ms-request-id", newGUID())
		switch op {
		case "InstanceDiscovery":
			e.instanceDiscovery(w, r)
		case "OpenIDConfiguration":
			e.openIDConfiguration(w, r, segs[0], len(segs) == 4)
		case "Token":
			e.token(w, r, segs[0], len(segs) == 4)
		case "SigningKeys":
			e.signingKeys(w)
		default:
			http.NotFound(w, r)
		}
	})
}

// entraError writes an error in Entra's shape, with the AADSTS code in the description.
func entraError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, msg string) {
	now := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	trace, corr := newGUID(), r.Header.Get("client-request-id")
	if corr == "" {
		corr = newGUID()
	}
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, msg, trace, corr, now)
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": desc,
		"error_codes":       []int{aadsts},
		"timestamp":         now,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://%s/error?code=%d", hostOnly(r.Host), aadsts),
	})
}

func tenantNotFound(w http.ResponseWriter, r *http.Request, t string) {
	entraError(w, r, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make "+
		"sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription "+
		"administrator, this may happen if there are no active subscriptions for the tenant.", t))
}

// instanceDiscovery answers /common/discovery/instance, which MSAL calls for authority
// hosts it does not know.
func (e *Emulator) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	ae := r.URL.Query().Get("authorization_endpoint")
	u, err := url.Parse(ae)
	segs := []string{}
	if err == nil {
		segs = splitPath(u.Path)
	}
	if ae == "" || err != nil || len(segs) == 0 {
		entraError(w, r, http.StatusBadRequest, "invalid_instance", 50049, "Unknown or invalid instance.")
		return
	}
	kind, cl, _ := classifyHost(hostOnly(u.Host))
	if kind != svcLogin {
		entraError(w, r, http.StatusBadRequest, "invalid_instance", 50049, "Unknown or invalid instance.")
		return
	}
	var metadata []map[string]any
	for _, c := range clouds {
		metadata = append(metadata, map[string]any{
			"preferred_network": c.loginHosts[0],
			"preferred_cache":   c.loginHosts[min(1, len(c.loginHosts)-1)],
			"aliases":           c.loginHosts,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + cl.loginHosts[0] + "/" + segs[0] + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  metadata,
	})
}

// openIDConfiguration serves the tenant's OpenID configuration, v2 or v1.
func (e *Emulator) openIDConfiguration(w http.ResponseWriter, r *http.Request, tid string, v2 bool) {
	t := e.reg.tenant(tid)
	if t == nil {
		tenantNotFound(w, r, tid)
		return
	}
	base := "https://" + strings.ToLower(r.Host) + "/" + t.id
	cfg := map[string]any{
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"request_uri_parameter_supported":       false,
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   strings.TrimPrefix(t.cloud.loginHosts[0], "login."),
	}
	if v2 {
		cfg["token_endpoint"] = base + "/oauth2/v2.0/token"
		cfg["authorization_endpoint"] = base + "/oauth2/v2.0/authorize"
		cfg["device_authorization_endpoint"] = base + "/oauth2/v2.0/devicecode"
		cfg["end_session_endpoint"] = base + "/oauth2/v2.0/logout"
		cfg["jwks_uri"] = base + "/discovery/v2.0/keys"
		cfg["issuer"] = base + "/v2.0"
	} else {
		cfg["token_endpoint"] = base + "/oauth2/token"
		cfg["authorization_endpoint"] = base + "/oauth2/authorize"
		cfg["end_session_endpoint"] = base + "/oauth2/logout"
		cfg["jwks_uri"] = base + "/discovery/keys"
		cfg["issuer"] = t.cloud.issuer(t.id)
	}
	writeJSON(w, http.StatusOK, cfg)
}

// signingKeys publishes the public key that signs the emulator's access tokens, so that
// anyone can verify them as they would Entra's.
func (e *Emulator) signingKeys(w http.ResponseWriter) {
	pub := &e.signer.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "use": "sig", "kid": e.signer.kid, "x5t": e.signer.kid,
		"n": b64url(pub.N.Bytes()), "e": b64url(bigEndian(pub.E)),
	}}})
}

// bigEndian encodes a small positive integer without leading zero bytes.
func bigEndian(n int) []byte {
	var b []byte
	for n > 0 {
		b = append([]byte{byte(n)}, b...)
		n >>= 8
	}
	return b
}

// splitPath returns the non-empty segments of a URL path.
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }
