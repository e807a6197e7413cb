package akvemu

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// accessClaims are the claims of the v1 app-only access tokens the emulator issues. They
// follow what Entra puts in tokens for Key Vault and ARM.
type accessClaims struct {
	Aud      string `json:"aud"`
	Iss      string `json:"iss"`
	Iat      int64  `json:"iat"`
	Nbf      int64  `json:"nbf"`
	Exp      int64  `json:"exp"`
	AppID    string `json:"appid"`
	AppIDAcr string `json:"appidacr"`
	IDP      string `json:"idp"`
	OID      string `json:"oid"`
	Sub      string `json:"sub"`
	TID      string `json:"tid"`
	UTI      string `json:"uti"`
	Ver      string `json:"ver"`
	IDTyp    string `json:"idtyp"`
}

// tokenLifetime is how long access tokens live; Entra's default for app tokens is about an
// hour and it reports expires_in 3599.
const tokenLifetime = 3599 * time.Second

// clockSkew is the leeway the resource servers allow on nbf and exp.
const clockSkew = 5 * time.Minute

// tokenSigner holds the key the emulator's Entra signs access tokens with.
type tokenSigner struct {
	key *rsa.PrivateKey
	kid string
}

// issueAccessToken signs an access token for the app and resource. acr is "1" for a secret,
// "2" for a certificate.
func (e *Emulator) issueAccessToken(a *app, resource, acr string) (string, error) {
	now := time.Now()
	iss := a.tenant.cloud.issuer(a.tenant.id)
	c := accessClaims{
		Aud: resource, Iss: iss, Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(tokenLifetime).Unix(),
		AppID: strings.ToLower(a.cfg.ClientID), AppIDAcr: acr, IDP: iss, OID: a.objectID, Sub: a.objectID,
		TID: a.tenant.id, UTI: b64url([]byte(newGUID()))[:22], Ver: "1.0", IDTyp: "app",
	}
	return signRS256(e.signer.key, e.signer.kid, nil, c)
}

// Tokens and client assertions follow the wall clock, not Config.Clock: the SDK's token
// caches and MSAL's assertions use the wall clock, and tests that move the emulator's
// clock (to reach nbf, exp or a purge date) must not invalidate their credentials.

// tokenFault says why a bearer token was refused.
type tokenFault int

const (
	tokOK tokenFault = iota
	tokMissing
	tokMalformed
	tokUnknownKey
	tokBadSignature
	tokExpired
	tokNotYetValid
)

// bearer reads and checks the bearer token of a request: present, well-formed, signed by
// the emulator, within its lifetime. Audience, tenant and grants are for the caller to
// check, because Key Vault and ARM word those failures differently.
func (e *Emulator) bearer(r *http.Request) (*accessClaims, tokenFault) {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, tokMissing
	}
	raw = strings.TrimSpace(raw)
	j, err := parseJWS(raw)
	if err != nil {
		return nil, tokMalformed
	}
	if kid := j.headerString("kid"); kid != e.signer.kid {
		return nil, tokUnknownKey
	}
	if j.headerString("alg") != "RS256" || j.verifyRSA(&e.signer.key.PublicKey) != nil {
		return nil, tokBadSignature
	}
	var c accessClaims
	if err := json.Unmarshal(j.payload, &c); err != nil {
		return nil, tokMalformed
	}
	now := time.Now()
	if now.After(time.Unix(c.Exp, 0).Add(clockSkew)) {
		return &c, tokExpired
	}
	if now.Add(clockSkew).Before(time.Unix(c.Nbf, 0)) {
		return &c, tokNotYetValid
	}
	return &c, tokOK
}

// callerApp finds the app a valid token was issued to.
func (e *Emulator) callerApp(c *accessClaims) *app {
	t := e.reg.tenant(c.TID)
	if t == nil {
		return nil
	}
	return e.reg.app(t, c.AppID)
}
