package akvemu

import (
	"net/http"
	"strings"
)

// Create, import, get and update (akv-api.md §1.2). The vault lock is taken only around
// the map work; key generation and parsing happen outside it.

// newVersion builds a key version with the attributes and defaults Azure applies.
func newVersion(rc *reqCtx, spec keySpec, mat keyMaterial, ops []string, attrs *attributesIn,
	tags map[string]string, rp *releasePolicy) *keyVersion {
	now := rc.now.Unix()
	kv := &keyVersion{ID: newVersionID(), Kty: spec.kty, KeyOps: ops, Material: mat, Enabled: true,
		Created: now, Updated: now, Tags: tags, ReleasePolicy: rp}
	if attrs != nil {
		if attrs.Enabled != nil {
			kv.Enabled = *attrs.Enabled
		}
		kv.Nbf, kv.Exp = attrs.Nbf, attrs.Exp
		kv.Exportable = attrs.Exportable != nil && *attrs.Exportable
	}
	if rc.v.kind == kindVault {
		kv.HSMPlatform = "0"
		if spec.hsm() {
			kv.HSMPlatform = "2"
		}
	}
	return kv
}

// versionRules checks what create and import have in common: ops, window, release policy.
func versionRules(rc *reqCtx, spec keySpec, ops []string, attrs *attributesIn, rpIn *releasePolicyIn) ([]string, *releasePolicy, *kvErr) {
	var err *kvErr
	if ops == nil {
		ops = defaultKeyOps(spec.family, rc.v.kind == kindHSM)
	} else if ops, err = checkKeyOps(rc.v, ops, spec.kty); err != nil {
		return nil, nil, err
	}
	rp, err := parseReleasePolicy(rpIn)
	if err != nil {
		return nil, nil, err
	}
	if attrs != nil {
		if err := checkWindow(attrs.Nbf, attrs.Exp); err != nil {
			return nil, nil, err
		}
		exportable := attrs.Exportable != nil && *attrs.Exportable
		if err := checkExportable(rc, exportable, spec.hsm(), rp); err != nil {
			return nil, nil, err
		}
	}
	return ops, rp, nil
}

// createKey serves POST /keys/{name}/create.
func (e *Emulator) createKey(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var p keyCreateParams
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	if p.Kty == "" {
		return 0, nil, badParam("The parameter 'kty' is required.")
	}
	kty, kerr := tierKty(rc.v, p.Kty, false)
	if kerr != nil {
		return 0, nil, kerr
	}
	spec, kerr := specFor(rc.v, kty, p.KeySize, p.Crv, p.PublicExponent)
	if kerr != nil {
		return 0, nil, kerr
	}
	ops, rp, kerr := versionRules(rc, spec, p.KeyOps, p.Attributes, p.ReleasePolicy)
	if kerr != nil {
		return 0, nil, kerr
	}
	mat, err := generateMaterial(spec.family, spec.size, spec.crv)
	if err != nil {
		return 0, nil, &kvErr{status: http.StatusInternalServerError, code: "InternalServerError", msg: err.Error()}
	}
	kv := newVersion(rc, spec, mat, ops, p.Attributes, p.Tags, rp)
	return e.storeVersion(rc, rt.name, kv)
}

// storeVersion adds a version under a name (a new key or a new version of one) after the
// name checks, and renders it.
func (e *Emulator) storeVersion(rc *reqCtx, name string, kv *keyVersion) (int, any, *kvErr) {
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	if err := v.nameFree(rc, name); err != nil {
		return 0, nil, err
	}
	k := v.keys[strings.ToLower(name)]
	if k == nil {
		k = &keyEntry{Name: name}
		v.addKey(k)
	}
	k.Versions = append(k.Versions, kv)
	e.changed()
	return http.StatusOK, rc.bundle(k.Name, kv), nil
}

// nameFree checks that a name may receive a new key or version: not soft-deleted, not
// being deleted, recovered or purged. Call with v.mu held.
func (v *vault) nameFree(rc *reqCtx, name string) *kvErr {
	lname := strings.ToLower(name)
	if d := v.deleted[lname]; d != nil {
		if rc.now.Before(d.VisibleAt) {
			return beingDeleted(name)
		}
		return deletedButRecoverable(name)
	}
	if until, ok := v.purging[lname]; ok && rc.now.Before(until) {
		return beingDeleted(name)
	}
	if k := v.keys[lname]; k != nil && rc.now.Before(k.AvailableAt) {
		return conflict("", "Key %s is currently being recovered; retry later.", name)
	}
	return nil
}

// getKey serves GET /keys/{name}[/{version}].
func (e *Emulator) getKey(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, kv, err := v.lookup(rc, rt.name, rt.version)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rc.bundle(k.Name, kv), nil
}

// lookup finds a live key and a version of it ("" for the current one). Call with v.mu
// held.
func (v *vault) lookup(rc *reqCtx, name, version string) (*keyEntry, *keyVersion, *kvErr) {
	k := v.keys[strings.ToLower(name)]
	if k == nil || rc.now.Before(k.AvailableAt) {
		return nil, nil, rc.keyNotFound(name)
	}
	if version == "" {
		return k, k.latest(), nil
	}
	kv := k.version(version)
	if kv == nil {
		return nil, nil, rc.keyNotFound(name + "/" + version)
	}
	return k, kv, nil
}

// updateKey serves PATCH /keys/{name}[/{version}]: attributes, operations, tags (replaced
// as a whole) and release policy. The key material never changes.
func (e *Emulator) updateKey(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var p keyUpdateParams
	if err := decodeBody(body, &p); err != nil {
		return 0, nil, err
	}
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, kv, kerr := v.lookup(rc, rt.name, rt.version)
	if kerr != nil {
		return 0, nil, kerr
	}
	next := *kv
	if p.KeyOps != nil {
		ops, err := checkKeyOps(v, p.KeyOps, kv.Kty)
		if err != nil {
			return 0, nil, err
		}
		next.KeyOps = ops
	}
	if a := p.Attributes; a != nil {
		if a.Enabled != nil {
			next.Enabled = *a.Enabled
		}
		if a.Nbf != nil {
			next.Nbf = a.Nbf
		}
		if a.Exp != nil {
			next.Exp = a.Exp
		}
		if a.Exportable != nil && *a.Exportable != kv.Exportable {
			return 0, nil, badParam("AKV.SKR.1005: The exportable attribute of a key cannot be changed.")
		}
		if err := checkWindow(next.Nbf, next.Exp); err != nil {
			return 0, nil, err
		}
	}
	if p.Tags != nil {
		next.Tags = p.Tags
	}
	if p.ReleasePolicy != nil {
		if kv.ReleasePolicy != nil && kv.ReleasePolicy.Immutable {
			return 0, nil, badParam("AKV.SKR.1016: The release policy of this key is immutable and cannot be changed.")
		}
		rp, err := parseReleasePolicy(p.ReleasePolicy)
		if err != nil {
			return 0, nil, err
		}
		next.ReleasePolicy = rp
	}
	next.Updated = rc.now.Unix()
	*kv = next
	e.changed()
	return http.StatusOK, rc.bundle(k.Name, kv), nil
}
