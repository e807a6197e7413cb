package akvemu

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
)

// randomBytes serves POST /rng, which the spec gives to Managed HSM: 1 to 128 random bytes.
func (e *Emulator) randomBytes(rc *reqCtx, _ kvRoute, body []byte) (int, any, *kvErr) {
	if rc.v.kind != kindHSM {
		return 0, nil, &kvErr{status: http.StatusNotFound, code: "NotFound",
			msg: "The random bytes operation is served by Managed HSM only."}
	}
	var p struct {
		Count *int `json:"count"`
	}
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	if p.Count == nil || *p.Count < 1 || *p.Count > 128 {
		return 0, nil, badParam("The parameter 'count' must be an integer between 1 and 128.")
	}
	b := make([]byte, *p.Count)
	_, _ = rand.Read(b)
	return http.StatusOK, map[string]string{"value": b64url(b)}, nil
}

// attestation serves GET /keys/{name}[/{version}]/attestation (api-version 7.6 and later):
// the key bundle with attributes.attestation. Azure returns the HSM vendor's attestation;
// the emulator returns statements about the key signed by its own HSM signing certificate
// (JWS, RS256, chain in x5c and in certificatePemFile), verifiable against its CA.
func (e *Emulator) attestation(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	if !rc.api.atLeast(7, 6) {
		return 0, nil, &kvErr{status: http.StatusNotFound, code: "NotFound",
			msg: "Key attestation needs api-version 7.6 or later."}
	}
	v := rc.v
	v.mu.Lock()
	e.sweep(rc)
	k, kv, kerr := v.lookup(rc, rt.name, rt.version)
	var b bundleOut
	if kerr == nil {
		if !strings.HasSuffix(kv.Kty, "-HSM") {
			kerr = badParam("Key attestation is available for HSM-protected keys only.")
		} else {
			b = rc.bundle(k.Name, kv)
		}
	}
	v.mu.Unlock()
	if kerr != nil {
		return 0, nil, kerr
	}
	pub, err := e.hsmSign(map[string]any{"kid": b.Key.Kid, "kty": b.Key.Kty, "key": b.Key, "generatedInHSM": true})
	if err != nil {
		return 0, nil, internalError(err)
	}
	priv, err := e.hsmSign(map[string]any{"kid": b.Key.Kid, "kty": b.Key.Kty, "extractable": b.Attributes.Exportable,
		"neverExtracted": !b.Attributes.Exportable})
	if err != nil {
		return 0, nil, internalError(err)
	}
	b.Attributes.Attestation = &attestation{
		CertificatePemFile:    b64url([]byte(e.hsmChainPEM())),
		PrivateKeyAttestation: b64url([]byte(priv)),
		PublicKeyAttestation:  b64url([]byte(pub)),
		Version:               "emulator-1.0",
	}
	return http.StatusOK, b, nil
}

// kvCost weighs a request for the throttle: its class and the type of key it concerns.
func (e *Emulator) kvCost(rc *reqCtx, rt kvRoute, body []byte) (throttleClass, int64) {
	switch rt.op {
	case "CreateKey":
		var p struct {
			Kty     string `json:"kty"`
			KeySize *int   `json:"key_size"`
		}
		_ = json.Unmarshal(body, &p)
		size := 2048
		if p.KeySize != nil {
			size = *p.KeySize
		}
		return throttleCost(true, p.Kty, size)
	case "ImportKey":
		var p struct {
			Hsm *bool `json:"Hsm"`
			Key struct {
				Kty    string `json:"kty"`
				N      string `json:"n"`
				KeyHSM string `json:"key_hsm"`
			} `json:"key"`
		}
		_ = json.Unmarshal(body, &p)
		kty := strings.TrimSuffix(p.Key.Kty, "-HSM")
		if (p.Hsm != nil && *p.Hsm) || p.Key.KeyHSM != "" || strings.HasSuffix(p.Key.Kty, "-HSM") {
			kty += "-HSM"
		}
		n, _ := decodeB64(p.Key.N)
		return throttleCost(true, kty, len(n)*8)
	}
	kty, bits := "", 0
	if rt.name != "" {
		v := rc.v
		v.mu.Lock()
		if k := v.keys[strings.ToLower(rt.name)]; k != nil {
			kty, bits = k.latest().Kty, k.latest().Material.bits()
		}
		v.mu.Unlock()
	}
	return throttleCost(rt.op == "RotateKey", kty, bits)
}
