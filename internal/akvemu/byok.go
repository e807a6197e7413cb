package akvemu

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// BYOK: importing an HSM-protected key from a transfer blob (akv-api.md §3). The blob is
// the UTF-8 JSON of a .byok file, base64url-encoded into key.key_hsm; its ciphertext is
// CKM_RSA_AES_KEY_WRAP under the key-exchange key (KEK): RSA-OAEP-SHA1 of an ephemeral AES
// key, followed by AES-KWP (RFC 5649) of the target's PKCS#8 (RSA, EC) or raw bytes (AES).

// transferBlob is the .byok file.
type transferBlob struct {
	SchemaVersion string `json:"schema_version"`
	Header        struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Enc string `json:"enc"`
	} `json:"header"`
	Ciphertext string `json:"ciphertext"`
	Generator  string `json:"generator"`
}

// unwrapTransferBlob checks and unwraps a BYOK blob in the order §3.4 gives, and returns
// the target's material. Every failure is a 400 BadParameter.
func (e *Emulator) unwrapTransferBlob(rc *reqCtx, j *jwkIn, kty string) (keyMaterial, *kvErr) {
	// 1. base64url (either alphabet) and JSON.
	raw, err := decodeB64(j.KeyHSM)
	if err != nil {
		return keyMaterial{}, badParam("The key_hsm value is not valid base64url.")
	}
	var blob transferBlob
	if err := json.Unmarshal(raw, &blob); err != nil {
		return keyMaterial{}, badParam("The key_hsm value is not a valid BYOK transfer blob: %v.", err)
	}
	// 2. schema.
	if blob.SchemaVersion != "1.0.0" {
		return keyMaterial{}, badParam("The BYOK transfer blob has an unsupported schema_version '%s'; expected '1.0.0'.", blob.SchemaVersion)
	}
	// 3. mechanism.
	if blob.Header.Enc != "CKM_RSA_AES_KEY_WRAP" || blob.Header.Alg != "dir" {
		return keyMaterial{}, badParam("The BYOK transfer blob header must have alg 'dir' and enc 'CKM_RSA_AES_KEY_WRAP'; got alg '%s' and enc '%s'.",
			blob.Header.Alg, blob.Header.Enc)
	}
	// 4. the key-exchange key, in this vault.
	kek, kerr := e.resolveKEK(rc, blob.Header.Kid)
	if kerr != nil {
		return keyMaterial{}, kerr
	}
	// 5. and 6. split at the modulus length, RSA-OAEP-SHA1 then AES-KWP.
	ct, err := decodeB64(blob.Ciphertext)
	if err != nil {
		return keyMaterial{}, badParam("The BYOK transfer blob ciphertext is not valid base64url.")
	}
	plain, kerr := unwrapCKM(kek, ct)
	if kerr != nil {
		return keyMaterial{}, kerr
	}
	// 7. the target matches kty and crv.
	family := strings.TrimSuffix(kty, "-HSM")
	var mat keyMaterial
	if family == "oct" {
		mat = keyMaterial{oct: plain}
	} else if mat, err = parsePKCS8(plain); err != nil {
		return keyMaterial{}, badParam("The unwrapped BYOK key is not a valid PKCS#8 private key: %v.", err)
	}
	if mat.family() != family {
		return keyMaterial{}, badParam("The unwrapped BYOK key is of type %s, but kty is '%s'.", mat.family(), j.Kty)
	}
	if j.Crv != "" && mat.curveName() != j.Crv {
		return keyMaterial{}, badParam("The unwrapped BYOK key is on curve %s, but crv is '%s'.", mat.curveName(), j.Crv)
	}
	// 8. sizes per tier: the caller checks with specOfMaterial.
	return mat, nil
}

// resolveKEK finds the key-exchange key named by the blob's kid: in this vault, RSA-HSM,
// key_ops exactly ["import"], enabled and inside its validity window.
func (e *Emulator) resolveKEK(rc *reqCtx, kid string) (*rsa.PrivateKey, *kvErr) {
	u, err := url.Parse(kid)
	segs := []string{}
	if err == nil {
		segs = splitPath(u.Path)
	}
	if err != nil || hostOnly(u.Host) != rc.v.host || len(segs) < 2 || len(segs) > 3 || !eq(segs[0], "keys") {
		return nil, badParam("The BYOK transfer blob's key exchange key '%s' is not a key of this %s.", kid, rc.v.kindName())
	}
	version := ""
	if len(segs) == 3 {
		version = segs[2]
	}
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	_, kv, kerr := v.lookup(rc, segs[1], version)
	if kerr != nil {
		return nil, badParam("The BYOK transfer blob's key exchange key '%s' was not found in this %s.", kid, v.kindName())
	}
	switch {
	case kv.Kty != "RSA-HSM" || kv.Material.rsa == nil:
		return nil, badParam("The key exchange key '%s' must be of type RSA-HSM.", kid)
	case !slices.Equal(kv.KeyOps, []string{"import"}):
		return nil, badParam("The key exchange key '%s' must have key_ops exactly [\"import\"].", kid)
	case !kv.Enabled:
		return nil, badParam("The key exchange key '%s' is disabled.", kid)
	case !inWindow(kv, rc.now.Unix()):
		return nil, badParam("The key exchange key '%s' is expired or not yet valid.", kid)
	}
	return kv.Material.rsa, nil
}

// unwrapCKM undoes CKM_RSA_AES_KEY_WRAP: the first modulus-length bytes are the AES key
// under RSA-OAEP with SHA-1 (and MGF1-SHA-1, empty label); the rest is the target under
// AES-KWP.
func unwrapCKM(kek *rsa.PrivateKey, ct []byte) ([]byte, *kvErr) {
	n := kek.Size()
	if len(ct) <= n+8 {
		return nil, badParam("The BYOK transfer blob ciphertext is too short for a %d-bit key exchange key.", n*8)
	}
	aesKey, err := rsa.DecryptOAEP(sha1.New(), rand.Reader, kek, ct[:n], nil)
	if err != nil {
		return nil, badParam("The BYOK transfer blob could not be decrypted with the key exchange key (RSA-OAEP with SHA-1).")
	}
	if l := len(aesKey); l != 16 && l != 24 && l != 32 {
		return nil, badParam("The BYOK transfer blob's wrapping key has an invalid length of %d bytes.", l)
	}
	plain, err := kwpUnwrap(aesKey, ct[n:])
	if err != nil {
		return nil, badParam("The BYOK transfer blob's key could not be unwrapped (AES key wrap with padding).")
	}
	return plain, nil
}

// inWindow reports whether a version is inside its nbf/exp window at unix time now.
func inWindow(kv *keyVersion, now int64) bool {
	return (kv.Nbf == nil || now >= *kv.Nbf) && (kv.Exp == nil || now < *kv.Exp)
}
