package akvemu

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"net/http"
	"slices"
	"strings"
)

// Encrypt, decrypt, wrap and unwrap (akv-api.md §1.3, §1.4): RSA1_5, RSA-OAEP and
// RSA-OAEP-256 on RSA keys; AES-GCM, AES-CBC, AES-CBC with PKCS#7 padding, AES key wrap and
// (7.6) CKM_AES_KEY_WRAP(_PAD) on Managed HSM oct-HSM keys.

// keyOpParams is KeyOperationsParameters.
type keyOpParams struct {
	Alg   string `json:"alg"`
	Value string `json:"value"`
	IV    string `json:"iv"`
	AAD   string `json:"aad"`
	Tag   string `json:"tag"`
}

// keyOpResult is KeyOperationResult; Managed HSM also echoes alg.
type keyOpResult struct {
	Alg   string `json:"alg,omitempty"`
	Kid   string `json:"kid"`
	Value string `json:"value"`
	IV    string `json:"iv,omitempty"`
	Tag   string `json:"tag,omitempty"`
	AAD   string `json:"aad,omitempty"`
}

// usableVersion finds the version an operation runs on and checks that the key allows it:
// the operation is in key_ops, the key is enabled, and outside nbf/exp only decrypt,
// unwrapKey, verify and release work. It returns a copy taken under the lock.
func (e *Emulator) usableVersion(rc *reqCtx, rt kvRoute) (string, keyVersion, *kvErr) {
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, kv, kerr := v.lookup(rc, rt.name, rt.version)
	if kerr != nil {
		return "", keyVersion{}, kerr
	}
	op := rt.op
	if op != "release" && !slices.Contains(kv.KeyOps, op) {
		return "", keyVersion{}, forbidden("KeyOperationForbidden", "Operation %s is not permitted on this key.", op)
	}
	if !kv.Enabled {
		return "", keyVersion{}, forbidden("KeyDisabled", "Operation %s is not allowed on a disabled key.", op)
	}
	if !inWindow(kv, rc.now.Unix()) {
		switch op {
		case "decrypt", "unwrapKey", "verify", "release":
		default:
			return "", keyVersion{}, forbidden("KeyNotYetValidOrExpired",
				"Operation %s is not allowed on a key that is not yet valid or has expired.", op)
		}
	}
	return k.Name, *kv, nil
}

// cryptoOp serves encrypt, decrypt, wrapkey and unwrapkey.
func (e *Emulator) cryptoOp(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var p keyOpParams
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	if p.Alg == "" {
		return 0, nil, badParam("The parameter 'alg' is required.")
	}
	value, err := decodeB64(p.Value)
	if err != nil {
		return 0, nil, badParam("The parameter 'value' is not valid base64url.")
	}
	name, kv, kerr := e.usableVersion(rc, rt)
	if kerr != nil {
		return 0, nil, kerr
	}
	res := keyOpResult{Kid: rc.kid(name, kv.ID)}
	if rc.v.kind == kindHSM {
		res.Alg = p.Alg
	}
	encrypting := rt.op == "encrypt" || rt.op == "wrapKey"
	switch {
	case kv.Material.rsa != nil:
		out, kerr := rsaCipher(kv.Material.rsa, p.Alg, value, encrypting)
		if kerr != nil {
			return 0, nil, kerr
		}
		res.Value = b64url(out)
	case kv.Material.oct != nil:
		if kerr := aesCipher(rc, kv.Material.oct, rt.op, &p, value, &res); kerr != nil {
			return 0, nil, kerr
		}
	default:
		return 0, nil, badParam("Algorithm %s is not supported for key type %s.", p.Alg, kv.Kty)
	}
	return http.StatusOK, res, nil
}

// rsaCipher encrypts or decrypts with one of the RSA encryption algorithms.
func rsaCipher(k *rsa.PrivateKey, alg string, value []byte, encrypting bool) ([]byte, *kvErr) {
	var out []byte
	var err error
	switch alg {
	case "RSA1_5":
		// Key Vault still offers RSA1_5, so the emulator must; Go deprecates it for good
		// reasons that do not apply to a test double.
		if encrypting {
			//lint:ignore SA1019 Azure's RSA1_5
			out, err = rsa.EncryptPKCS1v15(rand.Reader, &k.PublicKey, value)
		} else {
			//lint:ignore SA1019 Azure's RSA1_5
			out, err = rsa.DecryptPKCS1v15(rand.Reader, k, value)
		}
	case "RSA-OAEP", "RSA-OAEP-256":
		h := sha1.New()
		if alg == "RSA-OAEP-256" {
			h = sha256.New()
		}
		if encrypting {
			out, err = rsa.EncryptOAEP(h, rand.Reader, &k.PublicKey, value, nil)
		} else {
			out, err = rsa.DecryptOAEP(h, rand.Reader, k, value, nil)
		}
	default:
		return nil, badParam("Algorithm %s is not supported for key type RSA.", alg)
	}
	if err != nil {
		if encrypting {
			return nil, badParam("The plaintext is too long for algorithm %s and this key.", alg)
		}
		return nil, badParam("The ciphertext could not be decrypted with algorithm %s.", alg)
	}
	return out, nil
}

// aesAlg parses an AES algorithm name into its key size and mode.
func aesAlg(alg string) (bits int, mode string) {
	switch alg {
	case "CKM_AES_KEY_WRAP":
		return 0, "KW"
	case "CKM_AES_KEY_WRAP_PAD":
		return 0, "KWP"
	}
	if len(alg) < 5 || alg[0] != 'A' {
		return -1, ""
	}
	switch alg[1:4] {
	case "128":
		bits = 128
	case "192":
		bits = 192
	case "256":
		bits = 256
	default:
		return -1, ""
	}
	mode = alg[4:]
	switch mode {
	case "GCM", "CBC", "CBCPAD", "KW":
		return bits, mode
	}
	return -1, ""
}

// aesCipher runs an AES algorithm on an oct-HSM key.
func aesCipher(rc *reqCtx, key []byte, op string, p *keyOpParams, value []byte, res *keyOpResult) *kvErr {
	bits, mode := aesAlg(p.Alg)
	ckm := strings.HasPrefix(p.Alg, "CKM_")
	if bits < 0 || (ckm && !rc.api.atLeast(7, 6)) {
		return badParam("Algorithm %s is not supported for key type oct-HSM.", p.Alg)
	}
	if bits != 0 && bits != len(key)*8 {
		return badParam("The key size %d is incorrect for algorithm %s.", len(key)*8, p.Alg)
	}
	wrapping := op == "wrapKey" || op == "unwrapKey"
	if wrapping != (mode == "KW" || mode == "KWP") {
		return badParam("Algorithm %s cannot be used for the %s operation.", p.Alg, op)
	}
	encrypting := op == "encrypt" || op == "wrapKey"
	var out []byte
	var kerr *kvErr
	switch mode {
	case "GCM":
		out, kerr = aesGCM(key, p, value, encrypting, res)
	case "CBC", "CBCPAD":
		out, kerr = aesCBC(key, p, value, encrypting, mode == "CBCPAD", res)
	case "KW", "KWP":
		out, kerr = aesWrap(key, value, encrypting, mode == "KWP")
	}
	if kerr != nil {
		return kerr
	}
	res.Value = b64url(out)
	return nil
}

func aesGCM(key []byte, p *keyOpParams, value []byte, encrypting bool, res *keyOpResult) ([]byte, *kvErr) {
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	var aad []byte
	if p.AAD != "" {
		var err error
		if aad, err = decodeB64(p.AAD); err != nil {
			return nil, badParam("The parameter 'aad' is not valid base64url.")
		}
		res.AAD = b64url(aad)
	}
	if encrypting {
		// The service chooses the nonce (akv-api.md §1.3); a caller's iv is ignored.
		iv := make([]byte, gcm.NonceSize())
		_, _ = rand.Read(iv)
		sealed := gcm.Seal(nil, iv, value, aad)
		res.IV, res.Tag = b64url(iv), b64url(sealed[len(value):])
		return sealed[:len(value)], nil
	}
	iv, err := decodeB64(p.IV)
	if err != nil || len(iv) != gcm.NonceSize() {
		return nil, badParam("AES-GCM decryption needs the 12-byte 'iv' returned by encrypt.")
	}
	tag, err := decodeB64(p.Tag)
	if err != nil || len(tag) != gcm.Overhead() {
		return nil, badParam("AES-GCM decryption needs the 16-byte authentication 'tag' returned by encrypt.")
	}
	out, err := gcm.Open(nil, iv, append(append([]byte{}, value...), tag...), aad)
	if err != nil {
		return nil, badParam("AES-GCM decryption failed: the tag does not match.")
	}
	return out, nil
}

func aesCBC(key []byte, p *keyOpParams, value []byte, encrypting, pad bool, res *keyOpResult) ([]byte, *kvErr) {
	iv, err := decodeB64(p.IV)
	if err != nil || len(iv) != aes.BlockSize {
		return nil, badParam("AES-CBC needs a 16-byte 'iv'.")
	}
	block, _ := aes.NewCipher(key)
	res.IV = b64url(iv)
	if encrypting {
		in := value
		if pad {
			n := aes.BlockSize - len(value)%aes.BlockSize
			in = append(append([]byte{}, value...), bytes.Repeat([]byte{byte(n)}, n)...)
		}
		if len(in) == 0 || len(in)%aes.BlockSize != 0 {
			return nil, badParam("AES-CBC without padding needs a plaintext that is a non-empty multiple of 16 bytes.")
		}
		out := make([]byte, len(in))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, in)
		return out, nil
	}
	if len(value) == 0 || len(value)%aes.BlockSize != 0 {
		return nil, badParam("The AES-CBC ciphertext must be a non-empty multiple of 16 bytes.")
	}
	out := make([]byte, len(value))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, value)
	if !pad {
		return out, nil
	}
	n := int(out[len(out)-1])
	if n == 0 || n > aes.BlockSize || !allEqual(out[len(out)-n:], byte(n)) {
		return nil, badParam("AES-CBC decryption failed: the padding is invalid.")
	}
	return out[:len(out)-n], nil
}

func aesWrap(key, value []byte, wrapping, pad bool) ([]byte, *kvErr) {
	var out []byte
	var err error
	switch {
	case wrapping && pad:
		out, err = kwpWrap(key, value)
	case wrapping:
		out, err = kwWrap(key, value)
	case pad:
		out, err = kwpUnwrap(key, value)
	default:
		out, err = kwUnwrap(key, value)
	}
	if err != nil {
		if wrapping {
			return nil, badParam("The key to wrap has an invalid length for this algorithm: %v.", err)
		}
		return nil, badParam("The wrapped key could not be unwrapped: the integrity check failed.")
	}
	return out, nil
}

func allEqual(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}
