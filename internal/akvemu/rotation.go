package akvemu

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Rotation: POST /keys/{name}/rotate and the rotation policy (akv-api.md §1.3, §1.6).
// Vaults add a Notify action 30 days before expiry to every policy and spell actions
// "Rotate"/"Notify"; Managed HSM has no Notify, spells "rotate", rotates at most every 28
// days and needs a policy before a rotate.

// rotationPolicy is a key's stored policy.
type rotationPolicy struct {
	Actions    []lifetimeAction `json:"lifetimeActions"`
	ExpiryTime string           `json:"expiryTime,omitempty"`
	Created    int64            `json:"created"`
	Updated    int64            `json:"updated"`
}

type lifetimeAction struct {
	Trigger struct {
		TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
		TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
	} `json:"trigger"`
	Action struct {
		Type string `json:"type"`
	} `json:"action"`
}

// policyIn is KeyRotationPolicy in a request.
type policyIn struct {
	LifetimeActions []lifetimeAction `json:"lifetimeActions"`
	Attributes      *struct {
		ExpiryTime string `json:"expiryTime"`
	} `json:"attributes"`
}

// policyOut is KeyRotationPolicy as returned.
type policyOut struct {
	ID              string           `json:"id,omitempty"`
	LifetimeActions []lifetimeAction `json:"lifetimeActions"`
	Attributes      policyAttrsOut   `json:"attributes"`
}

type policyAttrsOut struct {
	ExpiryTime string `json:"expiryTime,omitempty"`
	Created    int64  `json:"created,omitempty"`
	Updated    int64  `json:"updated,omitempty"`
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$`)

// isoDuration parses an ISO 8601 duration such as P90D, P1Y10D or PT48H. It returns a
// function adding it to a time (years and months are calendar units) and its length from
// a fixed reference, for comparisons.
func isoDuration(s string) (func(time.Time) time.Time, time.Duration, bool) {
	m := isoDurationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return nil, 0, false
	}
	n := make([]int, 7)
	for i := range n {
		if m[i+1] != "" {
			v, err := strconv.Atoi(m[i+1])
			if err != nil || v > 100000 {
				return nil, 0, false
			}
			n[i] = v
		}
	}
	add := func(t time.Time) time.Time {
		return t.AddDate(n[0], n[1], 7*n[2]+n[3]).Add(time.Duration(n[4])*time.Hour +
			time.Duration(n[5])*time.Minute + time.Duration(n[6])*time.Second)
	}
	ref := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	return add, add(ref).Sub(ref), true
}

const day = 24 * time.Hour

// checkPolicy validates a policy for the vault kind and normalises it: action names in the
// service's spelling, and on vaults the default Notify added.
func checkPolicy(v *vault, in *policyIn) ([]lifetimeAction, string, *kvErr) {
	expiry := ""
	var expiryLen time.Duration
	if in.Attributes != nil && in.Attributes.ExpiryTime != "" {
		_, d, ok := isoDuration(in.Attributes.ExpiryTime)
		if !ok {
			return nil, "", badParam("The rotation policy expiryTime '%s' is not a valid ISO 8601 duration.", in.Attributes.ExpiryTime)
		}
		if d < 28*day {
			return nil, "", badParam("The rotation policy expiryTime must be at least 28 days.")
		}
		expiry, expiryLen = in.Attributes.ExpiryTime, d
	}
	actions := make([]lifetimeAction, 0, len(in.LifetimeActions)+1)
	hasNotify, hasRotate := false, false
	for _, a := range in.LifetimeActions {
		typ := strings.ToLower(a.Action.Type)
		after, before := a.Trigger.TimeAfterCreate, a.Trigger.TimeBeforeExpiry
		if (after == "") == (before == "") {
			return nil, "", badParam("Each lifetime action needs exactly one trigger: timeAfterCreate or timeBeforeExpiry.")
		}
		_, d, ok := isoDuration(after + before)
		if !ok {
			return nil, "", badParam("The lifetime action trigger '%s' is not a valid ISO 8601 duration.", after+before)
		}
		switch {
		case typ != "rotate" && typ != "notify":
			return nil, "", badParam("Invalid lifetime action type '%s'. Valid types are Rotate and Notify.", a.Action.Type)
		case typ == "notify" && v.kind == kindHSM:
			return nil, "", badParam("Managed HSM does not support the Notify lifetime action.")
		case v.kind == kindHSM && typ == "rotate" && after != "" && d < 28*day:
			return nil, "", badParam("Managed HSM rotates keys at most every 28 days; timeAfterCreate must be at least P28D.")
		case v.kind == kindVault && after != "" && d < 7*day:
			return nil, "", badParam("The rotation policy timeAfterCreate must be at least 7 days.")
		case v.kind == kindVault && before != "" && d < 7*day:
			return nil, "", badParam("The rotation policy timeBeforeExpiry must be at least 7 days.")
		case expiryLen > 0 && after != "" && d > expiryLen-7*day:
			return nil, "", badParam("The rotation policy must rotate at least 7 days before the key expires.")
		}
		a.Action.Type = "Rotate"
		if typ == "notify" {
			a.Action.Type = "Notify"
		}
		if v.kind == kindHSM {
			a.Action.Type = typ
		}
		hasNotify, hasRotate = hasNotify || typ == "notify", hasRotate || typ == "rotate"
		actions = append(actions, a)
	}
	if v.kind == kindVault && hasRotate && !hasNotify {
		var n lifetimeAction
		n.Trigger.TimeBeforeExpiry, n.Action.Type = "P30D", "Notify"
		actions = append(actions, n)
	}
	return actions, expiry, nil
}

// getRotationPolicy serves GET /keys/{name}/rotationpolicy: 200 even without a policy,
// then with the default (a vault's Notify 30 days before expiry), without id or dates.
func (e *Emulator) getRotationPolicy(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, _, kerr := v.lookup(rc, rt.name, "")
	if kerr != nil {
		return 0, nil, kerr
	}
	if k.Policy == nil {
		out := policyOut{LifetimeActions: []lifetimeAction{}}
		if v.kind == kindVault {
			var n lifetimeAction
			n.Trigger.TimeBeforeExpiry, n.Action.Type = "P30D", "Notify"
			out.LifetimeActions = append(out.LifetimeActions, n)
		}
		return http.StatusOK, out, nil
	}
	return http.StatusOK, rc.policy(k), nil
}

func (rc *reqCtx) policy(k *keyEntry) policyOut {
	p := k.Policy
	return policyOut{ID: rc.v.baseURL(rc.port) + "/keys/" + k.Name + "/rotationpolicy",
		LifetimeActions: append([]lifetimeAction{}, p.Actions...),
		Attributes:      policyAttrsOut{ExpiryTime: p.ExpiryTime, Created: p.Created, Updated: p.Updated}}
}

// setRotationPolicy serves PUT /keys/{name}/rotationpolicy.
func (e *Emulator) setRotationPolicy(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr) {
	var in policyIn
	if err := decodeBody(body, &in); err != nil {
		return 0, nil, err
	}
	actions, expiry, kerr := checkPolicy(rc.v, &in)
	if kerr != nil {
		return 0, nil, kerr
	}
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, _, kerr := v.lookup(rc, rt.name, "")
	if kerr != nil {
		return 0, nil, kerr
	}
	now := rc.now.Unix()
	if k.Policy == nil {
		k.Policy = &rotationPolicy{Created: now}
		v.policied[strings.ToLower(k.Name)] = true
	}
	k.Policy.Actions, k.Policy.ExpiryTime, k.Policy.Updated = actions, expiry, now
	e.changed()
	return http.StatusOK, rc.policy(k), nil
}

// rotateKey serves POST /keys/{name}/rotate: a new version with fresh material of the same
// type, size and operations, and exp from the policy's expiryTime.
func (e *Emulator) rotateKey(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	v.mu.Lock()
	k, cur, kerr := v.lookup(rc, rt.name, "")
	if kerr == nil && v.kind == kindHSM && (k.Policy == nil || len(k.Policy.Actions) == 0) {
		kerr = badParam("Key %s has no rotation policy; Managed HSM needs one before a key can be rotated.", rt.name)
	}
	var spec keySpec
	var policy rotationPolicy
	if kerr == nil {
		spec = keySpec{kty: cur.Kty, family: cur.Material.family(), size: cur.Material.bits(), crv: cur.Material.curveName()}
		if k.Policy != nil {
			policy = *k.Policy
		}
	}
	v.mu.Unlock()
	if kerr != nil {
		return 0, nil, kerr
	}
	mat, err := generateMaterial(spec.family, spec.size, spec.crv)
	if err != nil {
		return 0, nil, internalError(err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, cur, kerr = v.lookup(rc, rt.name, "")
	if kerr != nil {
		return 0, nil, kerr
	}
	kv := e.rotatedVersion(rc, k, cur, mat, policy.ExpiryTime)
	return http.StatusOK, rc.bundle(k.Name, kv), nil
}

// rotatedVersion appends the new version made from mat. Call with v.mu held.
func (e *Emulator) rotatedVersion(rc *reqCtx, k *keyEntry, cur *keyVersion, mat keyMaterial, expiry string) *keyVersion {
	now := rc.now.Unix()
	kv := &keyVersion{ID: newVersionID(), Kty: cur.Kty, KeyOps: append([]string{}, cur.KeyOps...), Material: mat,
		Enabled: true, Created: now, Updated: now, Exportable: cur.Exportable, ReleasePolicy: cur.ReleasePolicy,
		HSMPlatform: cur.HSMPlatform}
	if add, _, ok := isoDuration(expiry); ok && expiry != "" {
		exp := add(rc.now).Unix()
		kv.Exp = &exp
	}
	k.Versions = append(k.Versions, kv)
	e.changed()
	return kv
}

// autoRotate rotates a key whose policy says it is due: timeAfterCreate after the current
// version was created, or timeBeforeExpiry before it expires. Call with v.mu held.
func (e *Emulator) autoRotate(rc *reqCtx, k *keyEntry) {
	if k.Policy == nil || rc.now.Before(k.AvailableAt) {
		return
	}
	cur := k.latest()
	due := false
	for _, a := range k.Policy.Actions {
		if !strings.EqualFold(a.Action.Type, "rotate") {
			continue
		}
		if add, _, ok := isoDuration(a.Trigger.TimeAfterCreate); ok && !rc.now.Before(add(time.Unix(cur.Created, 0))) {
			due = true
		}
		if _, d, ok := isoDuration(a.Trigger.TimeBeforeExpiry); ok && cur.Exp != nil && !rc.now.Before(time.Unix(*cur.Exp, 0).Add(-d)) {
			due = true
		}
	}
	if !due {
		return
	}
	mat, err := generateMaterial(cur.Material.family(), cur.Material.bits(), cur.Material.curveName())
	if err != nil {
		e.log.Error("automatic rotation failed", "key", k.Name, "err", err)
		return
	}
	e.rotatedVersion(rc, k, cur, mat, k.Policy.ExpiryTime)
}
