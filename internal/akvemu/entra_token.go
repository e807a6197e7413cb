package akvemu

import (
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// tokenRequest is a parsed client-credentials request.
type tokenRequest struct {
	tenant    *tenant
	clientID  string
	secret    string
	assertion string
	resource  string
}

// token serves POST /{tenant}/oauth2/v2.0/token (v2 true) and the legacy
// /{tenant}/oauth2/token, for the client-credentials grant with a secret (form or HTTP
// Basic) or a certificate assertion.
func (e *Emulator) token(w http.ResponseWriter, r *http.Request, tid string, v2 bool) {
	if r.Method != http.MethodPost {
		entraError(w, r, http.StatusBadRequest, "invalid_request", 900561,
			"The endpoint only accepts POST, OPTIONS requests. Received a "+r.Method+" request.")
		return
	}
	treq, ok := e.parseTokenRequest(w, r, tid, v2)
	if !ok {
		return
	}
	a := e.reg.app(treq.tenant, treq.clientID)
	if a == nil {
		entraError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' "+
			"was not found in the directory '%s'. This can happen if the application has not been installed by the "+
			"administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication "+
			"request to the wrong tenant.", treq.clientID, treq.tenant.id))
		return
	}
	acr := "1"
	switch {
	case treq.assertion != "":
		if !e.checkAssertion(w, r, a, treq.assertion) {
			return
		}
		acr = "2"
	case !a.secretOK(treq.secret):
		entraError(w, r, http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "+
			"secret being sent in the request is the client secret value, not the client secret ID, for a secret added to "+
			"app '"+treq.clientID+"'.")
		return
	}
	tok, err := e.issueAccessToken(a, treq.resource, acr)
	if err != nil {
		entraError(w, r, http.StatusInternalServerError, "temporarily_unavailable", 90033, "A transient error has occurred.")
		return
	}
	secs := int64(tokenLifetime / time.Second)
	if v2 {
		writeJSON(w, http.StatusOK, map[string]any{
			"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
		})
		return
	}
	now := time.Now().Unix()
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "Bearer", "expires_in": strconv.FormatInt(secs, 10), "ext_expires_in": strconv.FormatInt(secs, 10),
		"expires_on": strconv.FormatInt(now+secs, 10), "not_before": strconv.FormatInt(now, 10),
		"resource": treq.resource, "access_token": tok,
	})
}

// parseTokenRequest reads and checks the form; it writes Entra's error and returns false
// when the request is unusable.
func (e *Emulator) parseTokenRequest(w http.ResponseWriter, r *http.Request, tid string, v2 bool) (*tokenRequest, bool) {
	t := e.reg.tenant(tid)
	if t == nil {
		tenantNotFound(w, r, tid)
		return nil, false
	}
	body, err := readBody(r)
	if err != nil {
		entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return nil, false
	}
	missing := func(p string) (*tokenRequest, bool) {
		entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: '"+p+"'.")
		return nil, false
	}
	treq := &tokenRequest{tenant: t, clientID: form.Get("client_id"), secret: form.Get("client_secret")}
	if user, pass, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3.1: Basic credentials are form-encoded before base64.
		if u, err := url.QueryUnescape(user); err == nil {
			user = u
		}
		if p, err := url.QueryUnescape(pass); err == nil {
			pass = p
		}
		if treq.clientID == "" {
			treq.clientID = user
		}
		if treq.secret == "" {
			treq.secret = pass
		}
	}
	grant := form.Get("grant_type")
	switch {
	case grant == "":
		return missing("grant_type")
	case grant != "client_credentials":
		entraError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+grant+"'.")
		return nil, false
	case treq.clientID == "":
		return missing("client_id")
	}
	if at := form.Get("client_assertion_type"); form.Get("client_assertion") != "" || at != "" {
		if at != clientAssertionType {
			entraError(w, r, http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
			return nil, false
		}
		treq.assertion = form.Get("client_assertion")
	}
	if treq.assertion == "" && treq.secret == "" {
		entraError(w, r, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return nil, false
	}
	if v2 {
		return treq, e.resourceFromScope(w, r, treq, form.Get("scope"))
	}
	res := form.Get("resource")
	if res == "" {
		return missing("resource")
	}
	if !t.cloud.knownResource(res) {
		resourceNotFound(w, r, res, t)
		return nil, false
	}
	treq.resource = res
	return treq, true
}

// resourceFromScope extracts the single resource of a v2 scope list. OpenID scopes that
// MSAL always adds are ignored; what remains must be one "{resource}/.default".
func (e *Emulator) resourceFromScope(w http.ResponseWriter, r *http.Request, treq *tokenRequest, scope string) bool {
	if strings.TrimSpace(scope) == "" {
		entraError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return false
	}
	var resources []string
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "offline_access", "email":
			continue
		}
		res, ok := strings.CutSuffix(s, "/.default")
		if !ok || res == "" {
			entraError(w, r, http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope "+s+
				" is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
			return false
		}
		resources = append(resources, res)
	}
	if len(resources) != 1 {
		entraError(w, r, http.StatusBadRequest, "invalid_scope", 70011, "The provided request must include a 'scope' input "+
			"parameter. The provided value for the input parameter 'scope' is not valid. The scope "+scope+" is not valid.")
		return false
	}
	if !treq.tenant.cloud.knownResource(resources[0]) {
		resourceNotFound(w, r, resources[0], treq.tenant)
		return false
	}
	treq.resource = resources[0]
	return true
}

func resourceNotFound(w http.ResponseWriter, r *http.Request, res string, t *tenant) {
	entraError(w, r, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was "+
		"not found in the tenant named %s. This can happen if the application has not been installed by the "+
		"administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication "+
		"request to the wrong tenant.", res, t.id))
}

// knownResource reports whether a resource identifier names a service the emulator
// serves in this cloud: Key Vault, Managed HSM or ARM. The Key Vault resources may carry a
// port, because the emulator's challenge names one when clients reach it on a port other
// than 443.
func (c *cloud) knownResource(res string) bool {
	for _, a := range c.armAudiences {
		if res == a {
			return true
		}
	}
	if res == c.vaultAppID {
		return true
	}
	return c.isVaultResource(res, false) || c.isVaultResource(res, true)
}

// isVaultResource reports whether s is https://vault.azure.net (hsm false) or
// https://managedhsm.azure.net (hsm true) of this cloud, with any port and an optional
// trailing slash.
func (c *cloud) isVaultResource(s string, hsm bool) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return false
	}
	want := c.vaultSuffix[1:]
	if hsm {
		want = c.hsmSuffix[1:]
	}
	if p := u.Port(); p != "" {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return strings.EqualFold(u.Hostname(), want)
}

// assertionClaims are the claims Entra checks in a client assertion.
type assertionClaims struct {
	Aud any    `json:"aud"`
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Exp *int64 `json:"exp"`
	Nbf *int64 `json:"nbf"`
	Jti string `json:"jti"`
}

// checkAssertion verifies a certificate client assertion: its shape, the thumbprint of a
// registered certificate, the RS256/PS256 signature by that certificate's key, audience
// (the token endpoint), lifetime and that iss and sub are the client id.
func (e *Emulator) checkAssertion(w http.ResponseWriter, r *http.Request, a *app, raw string) bool {
	fail := func(status int, code string, n int, msg string) bool {
		entraError(w, r, status, code, n, msg)
		return false
	}
	j, err := parseJWS(raw)
	if err != nil {
		return fail(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	alg := j.headerString("alg")
	if alg != "RS256" && alg != "PS256" {
		return fail(http.StatusBadRequest, "invalid_request", 5002738, "Invalid JWT token. '"+alg+"' is not a supported signature algorithm.")
	}
	tpText := j.headerString("x5t#S256")
	if tpText == "" {
		tpText = j.headerString("x5t")
	}
	tp, err := decodeB64(tpText)
	if tpText == "" || err != nil {
		return fail(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion contains an invalid signature. "+
			"[Reason - The key was not found., Thumbprint of key used by client: '']")
	}
	cert := a.certByThumbprint(tp)
	if cert == nil {
		return fail(http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf("The certificate with identifier used to "+
			"sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of "+
			"key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see "+
			"configured keys for app Id '%s'.]", strings.ToUpper(hex.EncodeToString(tp)), a.cfg.ClientID))
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || j.verifyRSA(pub) != nil {
		return fail(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation.")
	}
	var c assertionClaims
	if err := json.Unmarshal(j.payload, &c); err != nil {
		return fail(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	return e.checkAssertionClaims(a, r, &c, fail)
}

func (e *Emulator) checkAssertionClaims(a *app, r *http.Request, c *assertionClaims, fail func(int, string, int, string) bool) bool {
	if !strings.EqualFold(c.Iss, a.cfg.ClientID) || !strings.EqualFold(c.Sub, a.cfg.ClientID) {
		return fail(http.StatusUnauthorized, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
	}
	endpoint := "https://" + strings.ToLower(r.Host) + r.URL.Path
	if !audienceMatches(c.Aud, endpoint) {
		return fail(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion contains an invalid audience claim: it must be the token endpoint '"+endpoint+"'.")
	}
	if c.Exp == nil {
		return fail(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed. The 'exp' claim is missing.")
	}
	now := time.Now()
	nbf := now.Unix()
	if c.Nbf != nil {
		nbf = *c.Nbf
	}
	if now.After(time.Unix(*c.Exp, 0).Add(clockSkew)) || now.Add(clockSkew).Before(time.Unix(nbf, 0)) {
		const layout = "01/02/2006 15:04:05"
		return fail(http.StatusUnauthorized, "invalid_client", 700024, fmt.Sprintf("Client assertion is not within its "+
			"valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			now.UTC().Format(layout), time.Unix(nbf, 0).UTC().Format(layout), time.Unix(*c.Exp, 0).UTC().Format(layout)))
	}
	return true
}

// audienceMatches accepts a string aud or an array containing the endpoint; a trailing
// slash and letter case in the host do not matter.
func audienceMatches(aud any, endpoint string) bool {
	norm := func(s string) string { return strings.TrimSuffix(strings.ToLower(s), "/") }
	switch v := aud.(type) {
	case string:
		return norm(v) == norm(endpoint)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && norm(s) == norm(endpoint) {
				return true
			}
		}
	}
	return false
}
