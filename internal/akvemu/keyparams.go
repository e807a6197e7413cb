package akvemu

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// Request bodies of the key operations (akv-api.md §1.3) and the checks they share.

// attributesIn are KeyAttributes as a request may set them.
type attributesIn struct {
	Enabled    *bool  `json:"enabled"`
	Nbf        *int64 `json:"nbf"`
	Exp        *int64 `json:"exp"`
	Exportable *bool  `json:"exportable"`
}

// releasePolicyIn is a release policy in a request; data is base64url.
type releasePolicyIn struct {
	ContentType string `json:"contentType"`
	Immutable   *bool  `json:"immutable"`
	Data        string `json:"data"`
}

// keyCreateParams is KeyCreateParameters.
type keyCreateParams struct {
	Kty            string            `json:"kty"`
	KeySize        *int              `json:"key_size"`
	PublicExponent *int              `json:"public_exponent"`
	Crv            string            `json:"crv"`
	KeyOps         []string          `json:"key_ops"`
	Attributes     *attributesIn     `json:"attributes"`
	Tags           map[string]string `json:"tags"`
	ReleasePolicy  *releasePolicyIn  `json:"release_policy"`
}

// jwkIn is a JsonWebKey in an import request; every binary member is base64url.
type jwkIn struct {
	Kid    string   `json:"kid"`
	Kty    string   `json:"kty"`
	KeyOps []string `json:"key_ops"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	D      string   `json:"d"`
	DP     string   `json:"dp"`
	DQ     string   `json:"dq"`
	QI     string   `json:"qi"`
	P      string   `json:"p"`
	Q      string   `json:"q"`
	K      string   `json:"k"`
	KeyHSM string   `json:"key_hsm"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// keyImportParams is KeyImportParameters. The HSM flag is spelled "Hsm" by Go's azkeys and
// "hsm" by Microsoft's samples; encoding/json matches either.
type keyImportParams struct {
	Hsm           *bool             `json:"Hsm"`
	Key           *jwkIn            `json:"key"`
	Attributes    *attributesIn     `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy *releasePolicyIn  `json:"release_policy"`
}

// keyUpdateParams is KeyUpdateParameters.
type keyUpdateParams struct {
	KeyOps        []string          `json:"key_ops"`
	Attributes    *attributesIn     `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy *releasePolicyIn  `json:"release_policy"`
}

// decodeBody decodes a JSON request body. An empty body is an error unless empty is
// allowed; Key Vault answers malformed JSON with 400 BadParameter.
func decodeBody(body []byte, v any) *kvErr {
	if len(bytes.TrimSpace(body)) == 0 {
		return badParam("The request body is missing or empty.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badParam("The request content was invalid and could not be deserialized: %s", err.Error())
	}
	return nil
}

// keyOpsCanon are the operations a key may permit, in their canonical spelling.
var keyOpsCanon = []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"}

// defaultKeyOps are what a new key permits when the request names none (akv-api.md §1.6).
func defaultKeyOps(family string, hsm bool) []string {
	switch family {
	case "RSA":
		return []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}
	case "EC":
		if hsm {
			// Managed HSM reports deriveKey on EC keys, outside the JWK enum.
			return []string{"sign", "verify", "deriveKey"}
		}
		return []string{"sign", "verify"}
	}
	return []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}
}

// checkKeyOps canonicalises requested operations and enforces that "import" (the
// key-exchange key's one operation, akv-api.md §3.1) stands alone and only on RSA-HSM.
// Managed HSM also knows deriveKey on EC keys, so a key's own ops can be sent back.
func checkKeyOps(v *vault, ops []string, kty string) ([]string, *kvErr) {
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		if op == "deriveKey" && v.kind == kindHSM && kty == "EC-HSM" {
			out = append(out, op)
			continue
		}
		i := slices.IndexFunc(keyOpsCanon, func(c string) bool { return strings.EqualFold(c, op) })
		if i < 0 {
			return nil, badParam("Invalid key operation '%s'. Valid operations are: %s.", op, strings.Join(keyOpsCanon, ", "))
		}
		if !slices.Contains(out, keyOpsCanon[i]) {
			out = append(out, keyOpsCanon[i])
		}
	}
	if slices.Contains(out, "import") {
		if len(out) != 1 {
			return nil, badParam("The key operation 'import' cannot be combined with other key operations.")
		}
		if kty != "RSA-HSM" {
			return nil, badParam("The key operation 'import' is allowed only for key exchange keys of type RSA-HSM.")
		}
	}
	return out, nil
}

// checkWindow rejects nbf after exp.
func checkWindow(nbf, exp *int64) *kvErr {
	if nbf != nil && exp != nil && *nbf > *exp {
		return badParam("The key's activation date (nbf) must not be later than its expiration date (exp).")
	}
	return nil
}

// parseReleasePolicy decodes a release policy, defaulting its content type.
func parseReleasePolicy(in *releasePolicyIn) (*releasePolicy, *kvErr) {
	if in == nil {
		return nil, nil
	}
	data, err := decodeB64(in.Data)
	if err != nil || len(data) == 0 {
		return nil, badParam("AKV.SKR.1003: The release policy data must be base64url-encoded JSON.")
	}
	if !json.Valid(data) {
		return nil, badParam("AKV.SKR.1003: The release policy is not valid JSON.")
	}
	ct := in.ContentType
	if ct == "" {
		ct = "application/json; charset=utf-8"
	}
	immutable := in.Immutable != nil && *in.Immutable
	return &releasePolicy{ContentType: ct, Data: data, Immutable: immutable}, nil
}

// checkExportable applies the secure-key-release rules to a new key: exportable needs a
// Premium vault or Managed HSM, api-version 7.3 or later, an HSM key and a release policy.
func checkExportable(rc *reqCtx, exportable bool, hsm bool, rp *releasePolicy) *kvErr {
	if !exportable {
		return nil
	}
	if !rc.v.premium() || !rc.api.atLeast(7, 3) {
		return badParam("AKV.SKR.1001: The exportable attribute is only supported with premium vaults and API version >= '7.3-preview'.")
	}
	if !hsm {
		return badParam("AKV.SKR.1002: Exportable keys must be HSM-protected.")
	}
	if rp == nil {
		return badParam("AKV.SKR.1004: Exportable keys must have release policy.")
	}
	return nil
}

// tierKty maps a requested kty to what the vault stores, or refuses it per tier
// (akv-api.md §2): Standard stores software keys only; Premium both; Managed HSM stores
// everything in the HSM and silently upgrades software kty values.
func tierKty(v *vault, kty string, hsmFlag bool) (string, *kvErr) {
	family, hsm := strings.TrimSuffix(kty, "-HSM"), strings.HasSuffix(kty, "-HSM")
	switch family {
	case "RSA", "EC", "oct":
	default:
		return "", badParam("Invalid key type '%s'. Valid key types are: EC, EC-HSM, RSA, RSA-HSM, oct, oct-HSM.", kty)
	}
	hsm = hsm || hsmFlag
	switch {
	case v.kind == kindHSM:
		return family + "-HSM", nil
	case family == "oct":
		return "", badParam("Key type '%s' is not supported on a key vault; symmetric keys are supported on Managed HSM only.", kty)
	case hsm && !v.premium():
		return "", hsmRequired()
	case hsm:
		return family + "-HSM", nil
	}
	return family, nil
}

// keySpec is a validated key type, size and curve.
type keySpec struct {
	kty    string // stored kty, e.g. "RSA-HSM"
	family string // RSA, EC, oct
	size   int    // RSA or AES bits
	crv    string // EC curve
}

func (s keySpec) hsm() bool { return strings.HasSuffix(s.kty, "-HSM") }

// specFor checks size and curve for a create (or rotate) of the stored kty.
func specFor(v *vault, kty string, size *int, crv string, exp *int) (keySpec, *kvErr) {
	s := keySpec{kty: kty, family: strings.TrimSuffix(kty, "-HSM")}
	switch s.family {
	case "RSA":
		s.size = 2048
		if size != nil {
			s.size = *size
		}
		if s.size != 2048 && s.size != 3072 && s.size != 4096 {
			return s, badParam("The specified RSA key size %d is not supported. Supported sizes are 2048, 3072 and 4096.", s.size)
		}
		if exp != nil && *exp != 65537 {
			return s, badParam("The specified RSA public exponent %d is not supported; only 65537 is.", *exp)
		}
	case "EC":
		s.crv = crv
		if s.crv == "" {
			s.crv = "P-256"
		}
		if _, ok := curves[s.crv]; !ok && s.crv != "P-256K" {
			return s, badParam("Invalid curve name '%s'. Valid curves are: P-256, P-384, P-521, P-256K.", crv)
		}
	case "oct":
		s.size = 256
		if size != nil {
			s.size = *size
		}
		if s.size != 128 && s.size != 192 && s.size != 256 {
			return s, badParam("The specified AES key size %d is not supported. Supported sizes are 128, 192 and 256.", s.size)
		}
	}
	return s, nil
}
