package azure

import (
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/keyward"
)

// parseKID splits a key id, https://{host}/keys/{name}[/{version}] (or /deletedkeys/...),
// into its name and version ("" for a base id).
func parseKID(kid string) (name, version string) {
	u, err := url.Parse(kid)
	if err != nil {
		return "", ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) >= 2 {
		name = parts[1]
	}
	if len(parts) >= 3 {
		version = parts[2]
	}
	return name, version
}

func kidString(id *azkeys.ID) string {
	if id == nil {
		return ""
	}
	return string(*id)
}

// utc maps an IntDate (nil when absent) to a time, zero when absent.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// timePtr is the SDK's form of an optional time: nil for the zero time.
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return to.Ptr(t.UTC())
}

func tagsFrom(m map[string]*string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

func tagsTo(m map[string]string) map[string]*string {
	if m == nil {
		return nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = to.Ptr(v)
	}
	return out
}

func opsFrom(ops []*azkeys.KeyOperation) []string {
	var out []string
	for _, o := range ops {
		if o != nil {
			out = append(out, string(*o))
		}
	}
	return out
}

// opsTo keeps nil apart from empty: nil leaves Azure's default, empty is no operations.
func opsTo(ops []string) []*azkeys.KeyOperation {
	if ops == nil {
		return nil
	}
	out := make([]*azkeys.KeyOperation, 0, len(ops))
	for _, o := range ops {
		out = append(out, to.Ptr(azkeys.KeyOperation(o)))
	}
	return out
}

// azureCurve spells a curve as Key Vault does: P-256K for secp256k1.
func azureCurve(c string) string {
	switch strings.ToLower(strings.ReplaceAll(c, "_", "-")) {
	case "p-256", "p256", "secp256r1", "prime256v1":
		return "P-256"
	case "p-384", "p384", "secp384r1":
		return "P-384"
	case "p-521", "p521", "secp521r1":
		return "P-521"
	case "p-256k", "p256k", "secp256k1":
		return "P-256K"
	}
	return c
}

// applyAttributes copies a version's attributes.
func applyAttributes(k *keyward.CloudKey, a *azkeys.KeyAttributes) {
	k.Enabled = true // Azure's default
	if a == nil {
		return
	}
	k.Enabled = a.Enabled == nil || *a.Enabled
	k.NotBefore, k.Expires = utc(a.NotBefore), utc(a.Expires)
	k.Created, k.Updated = utc(a.Created), utc(a.Updated)
	if a.RecoveryLevel != nil {
		k.RecoveryLevel = *a.RecoveryLevel
	}
	k.Exportable = a.Exportable != nil && *a.Exportable
}

// keyFromBundle maps a key bundle: name and version from the kid, type, curve, RSA
// modulus size (oct keys return no material, so no size), operations, attributes, tags,
// and the public JWK as JSON.
func keyFromBundle(jwk *azkeys.JSONWebKey, attrs *azkeys.KeyAttributes, tags map[string]*string, managed *bool) *keyward.CloudKey {
	k := &keyward.CloudKey{Tags: tagsFrom(tags), Managed: managed != nil && *managed}
	applyAttributes(k, attrs)
	if jwk == nil {
		return k
	}
	k.KID = kidString(jwk.KID)
	k.Name, k.Version = parseKID(k.KID)
	if jwk.Kty != nil {
		k.KeyType = string(*jwk.Kty)
	}
	if jwk.Crv != nil {
		k.Curve = string(*jwk.Crv)
	}
	if len(jwk.N) > 0 {
		k.Size = new(big.Int).SetBytes(jwk.N).BitLen()
	}
	k.Ops = opsFrom(jwk.KeyOps)
	if b, err := json.Marshal(jwk); err == nil {
		k.PublicJWK = b
	}
	return k
}

func keyFromKeyBundle(b azkeys.KeyBundle) *keyward.CloudKey {
	return keyFromBundle(b.Key, b.Attributes, b.Tags, b.Managed)
}

// keyFromProperties maps a listing item of a key's versions: no type, no material.
func keyFromProperties(p *azkeys.KeyProperties) keyward.CloudKey {
	k := keyward.CloudKey{KID: kidString(p.KID), Tags: tagsFrom(p.Tags), Managed: p.Managed != nil && *p.Managed}
	k.Name, k.Version = parseKID(k.KID)
	applyAttributes(&k, p.Attributes)
	return k
}

// itemFromProperties maps a listing item of the vault's keys.
func itemFromProperties(p *azkeys.KeyProperties) keyward.CloudKeyItem {
	k := keyFromProperties(p)
	return keyward.CloudKeyItem{Name: k.Name, KID: k.KID, Enabled: k.Enabled, NotBefore: k.NotBefore,
		Expires: k.Expires, Created: k.Created, Updated: k.Updated, Managed: k.Managed, Tags: k.Tags}
}

func deletedFromBundle(d azkeys.DeletedKey) *keyward.CloudDeletedKey {
	cur := keyFromBundle(d.Key, d.Attributes, d.Tags, d.Managed)
	out := &keyward.CloudDeletedKey{Name: cur.Name, DeletedAt: utc(d.DeletedDate),
		ScheduledPurge: utc(d.ScheduledPurgeDate), Current: cur}
	if d.RecoveryID != nil {
		out.RecoveryID = *d.RecoveryID
		if out.Name == "" {
			out.Name, _ = parseKID(out.RecoveryID)
		}
	}
	return out
}

// deletedFromProperties maps a listing item of deleted keys; Current carries the latest
// version's attributes, without type.
func deletedFromProperties(p *azkeys.DeletedKeyProperties) keyward.CloudDeletedKey {
	cur := keyFromProperties(&azkeys.KeyProperties{Attributes: p.Attributes, KID: p.KID, Tags: p.Tags, Managed: p.Managed})
	out := keyward.CloudDeletedKey{Name: cur.Name, DeletedAt: utc(p.DeletedDate),
		ScheduledPurge: utc(p.ScheduledPurgeDate), Current: &cur}
	if p.RecoveryID != nil {
		out.RecoveryID = *p.RecoveryID
		if out.Name == "" {
			out.Name, _ = parseKID(out.RecoveryID)
		}
	}
	return out
}

// createParams maps a key to generate. Size goes with RSA and oct, the curve with EC.
func createParams(spec keyward.CloudKeySpec) (azkeys.CreateKeyParameters, error) {
	if spec.KeyType == "" {
		return azkeys.CreateKeyParameters{}, keyward.Invalid("key_type", "a key type is required")
	}
	p := azkeys.CreateKeyParameters{
		Kty:    to.Ptr(azkeys.KeyType(spec.KeyType)),
		KeyOps: opsTo(spec.Ops),
		KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(spec.Enabled),
			NotBefore: timePtr(spec.NotBefore), Expires: timePtr(spec.Expires)},
		Tags: tagsTo(spec.Tags),
	}
	switch {
	case strings.HasPrefix(spec.KeyType, "EC"):
		if spec.Curve != "" {
			p.Curve = to.Ptr(azkeys.CurveName(azureCurve(spec.Curve)))
		}
	case spec.Size > 0:
		p.KeySize = to.Ptr(int32(spec.Size))
	}
	return p, nil
}

// importParams maps material to import: a JWK with private parts, or a BYOK transfer
// file in key_hsm (the SDK's T). wipe clears the copies of private material it made.
func importParams(imp keyward.CloudImport) (p azkeys.ImportKeyParameters, wipe func(), err error) {
	var j azkeys.JSONWebKey
	wipe = func() {
		clear(j.D)
		clear(j.P)
		clear(j.Q)
		clear(j.DP)
		clear(j.DQ)
		clear(j.QI)
		clear(j.K)
	}
	switch {
	case (len(imp.JWK) > 0) == (len(imp.BYOK) > 0):
		return p, wipe, keyward.Invalid("import", "give either a JWK or a BYOK transfer file")
	case len(imp.JWK) > 0:
		// The SDK's decoder reads Azure's base64url members; its errors quote no values.
		if err := json.Unmarshal(imp.JWK, &j); err != nil || j.Kty == nil {
			wipe()
			return p, wipe, keyward.Invalid("jwk", "not an Azure JSON web key")
		}
		j.KID = nil
		p.HSM = to.Ptr(imp.HSM)
	default:
		switch imp.KeyType {
		case "RSA-HSM", "EC-HSM", "oct-HSM":
		default:
			return p, wipe, keyward.Invalid("key_type", "a BYOK import needs kty RSA-HSM, EC-HSM or oct-HSM, not %q", imp.KeyType)
		}
		j.Kty, j.T = to.Ptr(azkeys.KeyType(imp.KeyType)), imp.BYOK
		p.HSM = to.Ptr(true)
	}
	if c := imp.Curve; c != "" {
		j.Crv = to.Ptr(azkeys.CurveName(azureCurve(c)))
	} else if j.Crv != nil {
		j.Crv = to.Ptr(azkeys.CurveName(azureCurve(string(*j.Crv))))
	}
	if imp.Ops != nil {
		j.KeyOps = opsTo(imp.Ops)
	}
	p.Key = &j
	p.KeyAttributes = &azkeys.KeyAttributes{Enabled: to.Ptr(imp.Enabled), NotBefore: timePtr(imp.NotBefore), Expires: timePtr(imp.Expires)}
	p.Tags = tagsTo(imp.Tags)
	return p, wipe, nil
}

// updateParams maps an attribute change. Azure keeps what is not sent; it cannot clear
// nbf or exp, so a zero time is refused rather than sent as year 1.
func updateParams(u keyward.CloudKeyUpdate) (azkeys.UpdateKeyParameters, error) {
	var p azkeys.UpdateKeyParameters
	if u.Enabled != nil || u.NotBefore != nil || u.Expires != nil {
		a := &azkeys.KeyAttributes{Enabled: u.Enabled}
		for _, t := range []struct {
			field string
			in    *time.Time
			out   **time.Time
		}{{"not_before", u.NotBefore, &a.NotBefore}, {"expires", u.Expires, &a.Expires}} {
			if t.in == nil {
				continue
			}
			if t.in.IsZero() {
				return p, keyward.Invalid(t.field, "Azure cannot clear a date once set; give a new one")
			}
			*t.out = to.Ptr(t.in.UTC())
		}
		p.KeyAttributes = a
	}
	if u.Ops != nil {
		p.KeyOps = opsTo(*u.Ops)
		if p.KeyOps == nil {
			p.KeyOps = []*azkeys.KeyOperation{}
		}
	}
	if u.Tags != nil {
		p.Tags = tagsTo(*u.Tags)
		if p.Tags == nil {
			p.Tags = map[string]*string{} // an empty object clears every tag
		}
	}
	return p, nil
}
