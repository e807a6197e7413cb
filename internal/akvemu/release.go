package akvemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"hash"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// Secure key release (akv-api.md §1.2): an exportable key with a release policy is released
// to a target whose attestation token satisfies the policy. The key comes back wrapped for
// the target's transfer key inside a JWS signed by the service.
//
// There is no Microsoft Azure Attestation here, so the emulator trusts one attestation
// signer: its own. POST /_emulator/attestation-token mints tokens (like the test token
// service the Azure SDK tests use) signed with the emulator's token key and carrying the
// claims and transfer key the caller asks for; release verifies that signature, the token's
// lifetime, and evaluates the policy's authority and claim conditions against it.

// releaseParams is KeyReleaseParameters.
type releaseParams struct {
	Target string `json:"target"`
	Nonce  string `json:"nonce"`
	Enc    string `json:"enc"`
}

// release serves POST /keys/{name}[/{version}]/release.
func (e *Emulator) release(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var p releaseParams
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	if p.Target == "" {
		return 0, nil, badParam("The parameter 'target' (an attestation token) is required.")
	}
	enc := p.Enc
	if enc == "" {
		enc = "CKM_RSA_AES_KEY_WRAP"
	}
	oaepHash := map[string]func() hash.Hash{"CKM_RSA_AES_KEY_WRAP": sha1.New, "RSA_AES_KEY_WRAP_256": sha256.New,
		"RSA_AES_KEY_WRAP_384": sha512.New384}[enc]
	if oaepHash == nil {
		return 0, nil, badParam("Invalid key encryption algorithm '%s'. Valid values are CKM_RSA_AES_KEY_WRAP, RSA_AES_KEY_WRAP_256 and RSA_AES_KEY_WRAP_384.", p.Enc)
	}
	name, kv, kerr := e.usableVersion(rc, rt)
	if kerr != nil {
		return 0, nil, kerr
	}
	if !kv.Exportable || kv.ReleasePolicy == nil {
		return 0, nil, badParam("AKV.SKR.1006: The key %s is not exportable and cannot be released.", name)
	}
	claims, kerr := e.attestationClaims(rc, p.Target)
	if kerr != nil {
		return 0, nil, kerr
	}
	if err := evaluateReleasePolicy(kv.ReleasePolicy.Data, claims); err != nil {
		return 0, nil, forbidden("", "AKV.SKR.1018: The target does not satisfy the key release policy: %v.", err)
	}
	target, kerr := transferKey(claims)
	if kerr != nil {
		return 0, nil, kerr
	}
	keyHSM, err := wrapForRelease(&kv.Material, target, oaepHash, enc)
	if err != nil {
		return 0, nil, internalError(err)
	}
	jws, err := e.signReleaseResponse(rc, name, &kv, p, enc, keyHSM)
	if err != nil {
		return 0, nil, internalError(err)
	}
	return http.StatusOK, map[string]string{"value": jws}, nil
}

// attestationClaims verifies an attestation token minted by the emulator.
func (e *Emulator) attestationClaims(rc *reqCtx, token string) (map[string]any, *kvErr) {
	j, err := parseJWS(token)
	if err != nil {
		return nil, badParam("AKV.SKR.1010: The attestation token is malformed.")
	}
	if j.headerString("kid") != e.signer.kid || j.headerString("alg") != "RS256" || j.verifyRSA(&e.signer.key.PublicKey) != nil {
		return nil, badParam("AKV.SKR.1011: The attestation token could not be validated: it is not signed by a trusted attestation authority.")
	}
	var claims map[string]any
	if err := json.Unmarshal(j.payload, &claims); err != nil {
		return nil, badParam("AKV.SKR.1010: The attestation token is malformed.")
	}
	exp, _ := claims["exp"].(float64)
	if exp == 0 || time.Now().After(time.Unix(int64(exp), 0).Add(clockSkew)) {
		return nil, badParam("AKV.SKR.1012: The attestation token has expired.")
	}
	return claims, nil
}

// releasePolicyDoc is the policy grammar: anyOf authorities, each with allOf or anyOf claim
// conditions.
type releasePolicyDoc struct {
	Version string          `json:"version"`
	AnyOf   []policyOutline `json:"anyOf"`
	AllOf   []policyOutline `json:"allOf"`
}

type policyOutline struct {
	Authority string            `json:"authority"`
	AllOf     []policyCondition `json:"allOf"`
	AnyOf     []policyCondition `json:"anyOf"`
}

type policyCondition struct {
	Claim  string            `json:"claim"`
	Equals any               `json:"equals"`
	AllOf  []policyCondition `json:"allOf"`
	AnyOf  []policyCondition `json:"anyOf"`
}

// evaluateReleasePolicy returns nil when some authority of the policy issued the token and
// its conditions hold.
func evaluateReleasePolicy(data []byte, claims map[string]any) error {
	var doc releasePolicyDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("the policy is not valid JSON")
	}
	outlines := append(doc.AnyOf, doc.AllOf...)
	if len(outlines) == 0 {
		return fmt.Errorf("the policy names no authority")
	}
	iss, _ := claims["iss"].(string)
	for _, o := range outlines {
		if !strings.EqualFold(strings.TrimSuffix(o.Authority, "/"), strings.TrimSuffix(iss, "/")) {
			continue
		}
		if holds(policyCondition{AllOf: o.AllOf, AnyOf: o.AnyOf}, claims) {
			return nil
		}
	}
	return fmt.Errorf("no authority in the policy issued the token with matching claims")
}

// holds evaluates a condition tree: a claim comparison, or allOf/anyOf of sub-conditions.
func holds(c policyCondition, claims map[string]any) bool {
	if c.Claim != "" {
		v, ok := claimAt(claims, c.Claim)
		return ok && fmt.Sprint(v) == fmt.Sprint(c.Equals)
	}
	for _, s := range c.AllOf {
		if !holds(s, claims) {
			return false
		}
	}
	if len(c.AnyOf) == 0 {
		return true
	}
	for _, s := range c.AnyOf {
		if holds(s, claims) {
			return true
		}
	}
	return false
}

// claimAt finds a claim by name, or by a dotted path into nested objects.
func claimAt(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	var cur any = claims
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// transferKey finds the target's RSA transfer key in the token: x-ms-runtime.keys, the key
// with kid TpmEphemeralEncryptionKey, else the first RSA key.
func transferKey(claims map[string]any) (*rsa.PublicKey, *kvErr) {
	rt, _ := claims["x-ms-runtime"].(map[string]any)
	keys, _ := rt["keys"].([]any)
	var pick map[string]any
	for _, k := range keys {
		m, _ := k.(map[string]any)
		if m["kty"] != "RSA" {
			continue
		}
		if pick == nil || m["kid"] == "TpmEphemeralEncryptionKey" {
			pick = m
		}
	}
	if pick == nil {
		return nil, badParam("AKV.SKR.1013: The attestation token carries no RSA transfer key in x-ms-runtime.keys.")
	}
	n, err1 := decodeB64(fmt.Sprint(pick["n"]))
	eb, err2 := decodeB64(fmt.Sprint(pick["e"]))
	if err1 != nil || err2 != nil || len(n) < 256 || len(eb) == 0 || len(eb) > 4 {
		return nil, badParam("AKV.SKR.1013: The attestation token's transfer key is not a valid RSA key of 2048 bits or more.")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(eb).Int64())}, nil
}

// wrapForRelease wraps the key for the target as CKM_RSA_AES_KEY_WRAP (or its SHA-256/384
// variants) and returns the key_hsm value: base64url of the transfer-blob JSON.
func wrapForRelease(m *keyMaterial, target *rsa.PublicKey, oaepHash func() hash.Hash, enc string) (string, error) {
	plain := m.oct
	if plain == nil {
		var err error
		if plain, err = marshalPKCS8(m); err != nil {
			return "", err
		}
	}
	aesKey := make([]byte, 32)
	_, _ = rand.Read(aesKey)
	c1, err := rsa.EncryptOAEP(oaepHash(), rand.Reader, target, aesKey, nil)
	if err != nil {
		return "", err
	}
	c2, err := kwpWrap(aesKey, plain)
	if err != nil {
		return "", err
	}
	blob, _ := json.Marshal(map[string]any{
		"schema_version": "1.0",
		"header":         map[string]string{"alg": "dir", "enc": enc, "kid": "TpmEphemeralEncryptionKey"},
		"ciphertext":     b64url(append(c1, c2...)),
	})
	return b64url(blob), nil
}

// signReleaseResponse builds the JWS Key Vault returns, signed by the emulator's HSM
// signing certificate with its chain in x5c.
func (e *Emulator) signReleaseResponse(rc *reqCtx, name string, kv *keyVersion, p releaseParams, enc, keyHSM string) (string, error) {
	b := rc.bundle(name, kv)
	b.Key.KeyHSM = keyHSM
	req := map[string]any{"api-version": rc.api.raw, "enc": enc, "kid": rc.kid(name, kv.ID)}
	if p.Nonce != "" {
		req["nonce"] = p.Nonce
	}
	payload := map[string]any{"request": req, "response": map[string]any{"key": b}}
	return e.hsmSign(payload)
}
