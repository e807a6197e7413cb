package akvemu

import (
	"crypto/rsa"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// SeedSpec describes keys to create in bulk, for large-vault tests and benchmarks (a
// 10,000-key listing, a sync of thousands of keys) without paying for each create request.
type SeedSpec struct {
	// Count is how many keys to create (1 to 100,000).
	Count int `json:"count"`
	// Prefix names them Prefix-00001, Prefix-00002, ...; empty means "key".
	Prefix string `json:"prefix,omitempty"`
	// Kty is RSA, RSA-HSM, EC, EC-HSM or oct-HSM, checked against the tier; empty means EC.
	Kty string `json:"kty,omitempty"`
	// Size is the RSA or AES size; Crv the EC curve. Zero values take the create defaults.
	Size int    `json:"size,omitempty"`
	Crv  string `json:"crv,omitempty"`
	// Versions per key; zero means 1.
	Versions int `json:"versions,omitempty"`
	// Tags are set on every version.
	Tags map[string]string `json:"tags,omitempty"`
	// DistinctMaterial generates fresh material for every version. By default one key is
	// generated and shared by all seeded versions, which keeps seeding RSA keys fast; the
	// keys still work for every operation.
	DistinctMaterial bool `json:"distinctMaterial,omitempty"`
	// Age dates the keys that long ago (created and updated), as the keys of a vault that
	// existed before anyone looked at it; zero means now.
	Age Duration `json:"age,omitempty"`
}

// SeedKeys creates keys directly in a vault or managed HSM, following the same tier rules
// as create. Names already in use get new versions.
func (e *Emulator) SeedKeys(vaultName string, s SeedSpec) error {
	v, err := e.vaultNamed(vaultName)
	if err != nil {
		return err
	}
	if s.Count < 1 || s.Count > 100000 {
		return fmt.Errorf("seed: count %d is outside 1-100000", s.Count)
	}
	if s.Prefix == "" {
		s.Prefix = "key"
	}
	if s.Kty == "" {
		s.Kty = "EC"
	}
	if s.Versions == 0 {
		s.Versions = 1
	}
	if s.Age < 0 {
		return fmt.Errorf("seed: age %v is negative", time.Duration(s.Age))
	}
	rc := &reqCtx{v: v, now: e.now().Add(-time.Duration(s.Age)), api: apiInfo{raw: latestStableAPI}}
	kty, kerr := tierKty(v, s.Kty, false)
	if kerr != nil {
		return fmt.Errorf("seed: %s", kerr.msg)
	}
	var size *int
	if s.Size != 0 {
		size = &s.Size
	}
	spec, kerr := specFor(v, kty, size, s.Crv, nil)
	if kerr != nil {
		return fmt.Errorf("seed: %s", kerr.msg)
	}
	if !keyNameRE.MatchString(fmt.Sprintf("%s-%05d", s.Prefix, s.Count)) {
		return fmt.Errorf("seed: prefix %q makes invalid key names", s.Prefix)
	}
	shared, err := generateMaterial(spec.family, spec.size, spec.crv)
	if err != nil {
		return err
	}
	ops := defaultKeyOps(spec.family, v.kind == kindHSM)
	v.mu.Lock()
	defer v.mu.Unlock()
	for i := 1; i <= s.Count; i++ {
		name := fmt.Sprintf("%s-%05d", s.Prefix, i)
		if kerr := v.nameFree(rc, name); kerr != nil {
			return fmt.Errorf("seed: %s", kerr.msg)
		}
		k := v.keys[strings.ToLower(name)]
		if k == nil {
			k = &keyEntry{Name: name}
			v.addKey(k)
		}
		for range s.Versions {
			mat := shared
			if s.DistinctMaterial {
				if mat, err = generateMaterial(spec.family, spec.size, spec.crv); err != nil {
					return err
				}
			}
			k.Versions = append(k.Versions, newVersion(rc, spec, mat, append([]string{}, ops...), nil, maps.Clone(s.Tags), nil))
		}
	}
	v.dirty = true
	e.changed()
	return nil
}

// AttestationToken mints an attestation token for secure key release tests, signed by the
// emulator (the one attestation authority it trusts). authority becomes the iss claim and
// must match the release policy's authority; claims are added as given; transferKey is
// published in x-ms-runtime.keys as TpmEphemeralEncryptionKey, the key release wraps for.
func (e *Emulator) AttestationToken(authority string, claims map[string]any, transferKey *rsa.PublicKey) (string, error) {
	if authority == "" || transferKey == nil {
		return "", fmt.Errorf("attestation token: authority and transfer key are required")
	}
	now := time.Now()
	c := map[string]any{}
	maps.Copy(c, claims)
	c["iss"], c["iat"], c["nbf"], c["exp"] = authority, now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
	c["x-ms-runtime"] = map[string]any{"keys": []any{map[string]any{
		"kid": "TpmEphemeralEncryptionKey", "kty": "RSA", "key_ops": []string{"encrypt"},
		"n": b64url(transferKey.N.Bytes()), "e": b64url(big.NewInt(int64(transferKey.E)).Bytes()),
	}}}
	return signRS256(e.signer.key, e.signer.kid, nil, c)
}

// adminSeed serves POST /_emulator/vaults/{name}/seed.
func (e *Emulator) adminSeed(w http.ResponseWriter, r *http.Request, name string) {
	adminSet(w, r, func(s SeedSpec) error { return e.SeedKeys(name, s) })
}
