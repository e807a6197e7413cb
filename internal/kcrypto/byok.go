package kcrypto

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Azure Key Vault / Managed HSM BYOK transfer blob (the ".byok" file): the
// target key wrapped with CKM_RSA_AES_KEY_WRAP under the vault's
// key-exchange key (KEK), in a small JSON envelope.

// BYOK is a parsed .byok file.
type BYOK struct {
	KEKID      string // header.kid: the versioned id of the key-exchange key
	Generator  string // free text naming the producer, for Azure support
	Ciphertext []byte // C1‖C2 of CKM_RSA_AES_KEY_WRAP
}

const (
	byokSchemaVersion = "1.0.0"
	byokAlg           = "dir"
	byokEnc           = "CKM_RSA_AES_KEY_WRAP"
	// DefaultBYOKGenerator is used when NewBYOK is given no generator.
	DefaultBYOKGenerator = "Keyward kcrypto"
)

// byokJSON is the wire form; field order follows Microsoft's specification.
type byokJSON struct {
	SchemaVersion string `json:"schema_version"`
	Header        struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
		Enc string `json:"enc"`
	} `json:"header"`
	Ciphertext string `json:"ciphertext"`
	Generator  string `json:"generator"`
}

// NewBYOK wraps target for import into the vault that holds kek. kek is the
// vault's RSA key-exchange key (its public part is enough) and kekID its
// versioned key id, https://{vault}/keys/{name}/{version}. The target is an
// RSA or EC private key (wrapped as PKCS#8) or an AES key (raw bytes).
func NewBYOK(kek *Key, kekID string, target *Key, generator string) (*BYOK, error) {
	if err := checkKEKID(kekID); err != nil {
		return nil, err
	}
	tm, err := target.live()
	if err != nil {
		return nil, err
	}
	if t := tm.spec.Type; t != RSA && t != EC && t != AES {
		return nil, fmt.Errorf("BYOK target must be an RSA, EC or AES key, not %s", tm.describe())
	}
	ct, err := kek.WrapKey(RSAAESKeyWrap, target)
	if err != nil {
		return nil, fmt.Errorf("byok: %w", err)
	}
	if generator == "" {
		generator = DefaultBYOKGenerator
	}
	return &BYOK{KEKID: kekID, Generator: generator, Ciphertext: ct}, nil
}

// checkKEKID checks for a versioned key id: Azure resolves the KEK by it.
func checkKEKID(id string) error {
	u, err := url.Parse(id)
	parts := []string{}
	if err == nil {
		parts = strings.Split(strings.Trim(u.Path, "/"), "/")
	}
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		len(parts) != 3 || parts[0] != "keys" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("KEK id %q is not a versioned key id (https://{vault}/keys/{name}/{version})", id)
	}
	return nil
}

// Marshal returns the .byok JSON, ciphertext in base64url without padding.
func (b *BYOK) Marshal() ([]byte, error) {
	var j byokJSON
	j.SchemaVersion = byokSchemaVersion
	j.Header.Kid, j.Header.Alg, j.Header.Enc = b.KEKID, byokAlg, byokEnc
	j.Ciphertext = base64.RawURLEncoding.EncodeToString(b.Ciphertext)
	j.Generator = b.Generator
	return json.Marshal(j)
}

// ParseBYOK parses and checks a .byok file: schema version 1.0.0, alg "dir",
// enc CKM_RSA_AES_KEY_WRAP, a kid and a ciphertext. The ciphertext may use
// either base64 alphabet, padded or not, as producers differ.
func ParseBYOK(data []byte) (*BYOK, error) {
	if len(data) > MaxImportBytes {
		return nil, errors.New("byok file is too large")
	}
	var j byokJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, errors.New("byok file is not valid JSON")
	}
	switch {
	case j.SchemaVersion != byokSchemaVersion:
		return nil, fmt.Errorf("unsupported byok schema_version %q", j.SchemaVersion)
	case j.Header.Alg != byokAlg:
		return nil, fmt.Errorf("byok header.alg must be %q, not %q", byokAlg, j.Header.Alg)
	case j.Header.Enc != byokEnc:
		return nil, fmt.Errorf("byok header.enc must be %q, not %q", byokEnc, j.Header.Enc)
	case j.Header.Kid == "":
		return nil, errors.New("byok header.kid is missing")
	}
	ct, err := decodeBase64([]byte(j.Ciphertext))
	if err != nil {
		return nil, errors.New("byok ciphertext is not base64")
	}
	return &BYOK{KEKID: j.Header.Kid, Generator: j.Generator, Ciphertext: ct}, nil
}

// Open unwraps the target key with the KEK's private key and checks it is
// of type t (RSA or EC, from PKCS#8; AES, from raw bytes).
func (b *BYOK) Open(kek *Key, t KeyType) (*Key, error) {
	if t != RSA && t != EC && t != AES {
		return nil, fmt.Errorf("BYOK target must be RSA, EC or AES, not %s", t)
	}
	pt, err := kek.Unwrap(RSAAESKeyWrap, b.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("byok: %w", err)
	}
	defer clear(pt)
	if t == AES {
		return newSymmetric(AES, append([]byte(nil), pt...))
	}
	priv, err := ParsePKCS8PrivateKey(pt)
	if err != nil {
		return nil, errors.New("byok: target is not a PKCS#8 private key")
	}
	k, err := newParsed(priv)
	if err != nil {
		return nil, fmt.Errorf("byok: %w", err)
	}
	if k.m.spec.Type != t {
		d := k.m.describe()
		k.Destroy()
		return nil, fmt.Errorf("byok: declared %s target, but the blob holds %s", t, d)
	}
	return k, nil
}
