package akvemu

import (
	"maps"
	"net/http"
	"slices"
	"time"
)

// keyVersion is one version of a key. Material never changes; attributes, ops, tags and
// release policy do (through update), under the vault's lock.
type keyVersion struct {
	ID            string            `json:"id"`
	Kty           string            `json:"kty"`
	KeyOps        []string          `json:"keyOps"`
	Material      keyMaterial       `json:"material"`
	Enabled       bool              `json:"enabled"`
	Nbf           *int64            `json:"nbf,omitempty"`
	Exp           *int64            `json:"exp,omitempty"`
	Created       int64             `json:"created"`
	Updated       int64             `json:"updated"`
	Exportable    bool              `json:"exportable"`
	Tags          map[string]string `json:"tags,omitempty"`
	ReleasePolicy *releasePolicy    `json:"releasePolicy,omitempty"`
	HSMPlatform   string            `json:"hsmPlatform,omitempty"`
}

// releasePolicy is a key release policy as Key Vault stores it.
type releasePolicy struct {
	ContentType string `json:"contentType"`
	Data        []byte `json:"data"`
	Immutable   bool   `json:"immutable"`
}

// keyEntry is a key: its versions in creation order (the last is current) and its rotation
// policy.
type keyEntry struct {
	Name     string          `json:"name"`
	Versions []*keyVersion   `json:"versions"`
	Policy   *rotationPolicy `json:"policy,omitempty"`
	// AvailableAt is set while a recover is in progress: the key answers 404 until then.
	AvailableAt time.Time `json:"availableAt,omitzero"`
}

func (k *keyEntry) latest() *keyVersion { return k.Versions[len(k.Versions)-1] }

// version finds a version by id (case-insensitively).
func (k *keyEntry) version(id string) *keyVersion {
	for _, v := range k.Versions {
		if eq(v.ID, id) {
			return v
		}
	}
	return nil
}

// deletedKey is a soft-deleted key.
type deletedKey struct {
	Entry          *keyEntry `json:"entry"`
	DeletedDate    int64     `json:"deletedDate"`
	ScheduledPurge int64     `json:"scheduledPurgeDate"`
	// VisibleAt is when the delete completes: until then GET /deletedkeys/{name} is 404 and
	// the name is "being deleted".
	VisibleAt time.Time `json:"visibleAt,omitzero"`
}

// jwkOut is a JSON Web Key as Key Vault returns it, in its member order.
type jwkOut struct {
	Kid    string   `json:"kid,omitempty"`
	Kty    string   `json:"kty,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	KeyHSM string   `json:"key_hsm,omitempty"`
}

// attributesOut are KeyAttributes as returned: nbf and exp only when set, hsmPlatform
// from api-version 7.5 on vaults, never on Managed HSM.
type attributesOut struct {
	Enabled         bool         `json:"enabled"`
	Nbf             *int64       `json:"nbf,omitempty"`
	Exp             *int64       `json:"exp,omitempty"`
	Created         int64        `json:"created"`
	Updated         int64        `json:"updated"`
	RecoveryLevel   string       `json:"recoveryLevel"`
	RecoverableDays int          `json:"recoverableDays"`
	Exportable      bool         `json:"exportable"`
	HSMPlatform     string       `json:"hsmPlatform,omitempty"`
	Attestation     *attestation `json:"attestation,omitempty"`
}

// attestation is the 7.6 key attestation attribute.
type attestation struct {
	CertificatePemFile    string `json:"certificatePemFile,omitempty"`
	PrivateKeyAttestation string `json:"privateKeyAttestation,omitempty"`
	PublicKeyAttestation  string `json:"publicKeyAttestation,omitempty"`
	Version               string `json:"version,omitempty"`
}

// releasePolicyOut is a release policy as returned.
type releasePolicyOut struct {
	ContentType string `json:"contentType"`
	Data        string `json:"data"`
	Immutable   bool   `json:"immutable"`
}

// bundleOut is a KeyBundle, or a DeletedKeyBundle when the first three members are set.
type bundleOut struct {
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        *int64            `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate,omitempty"`
	Key                jwkOut            `json:"key"`
	Attributes         attributesOut     `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	ReleasePolicy      *releasePolicyOut `json:"release_policy,omitempty"`
}

// itemOut is a KeyItem, or a DeletedKeyItem.
type itemOut struct {
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        *int64            `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate,omitempty"`
	Kid                string            `json:"kid"`
	Attributes         attributesOut     `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
}

// listOut is a page of a listing. nextLink is always present, null on the last page.
type listOut[T any] struct {
	Value    []T     `json:"value"`
	NextLink *string `json:"nextLink"`
}

// reqCtx carries what rendering needs to know about the request.
type reqCtx struct {
	v    *vault
	req  *http.Request
	port string  // the port the client used, "" for 443
	api  apiInfo // the requested api-version
	now  time.Time
}

// kid is the versioned key identifier.
func (rc *reqCtx) kid(name, version string) string {
	return rc.v.baseURL(rc.port) + "/keys/" + name + "/" + version
}

// attributes renders a version's attributes.
func (rc *reqCtx) attributes(kv *keyVersion) attributesOut {
	a := attributesOut{
		Enabled: kv.Enabled, Nbf: kv.Nbf, Exp: kv.Exp, Created: kv.Created, Updated: kv.Updated,
		RecoveryLevel: rc.v.recoveryLevel(), RecoverableDays: rc.v.retentionDays, Exportable: kv.Exportable,
	}
	if rc.v.kind == kindVault && rc.api.atLeast(7, 5) {
		a.HSMPlatform = kv.HSMPlatform
	}
	return a
}

// bundle renders a KeyBundle.
func (rc *reqCtx) bundle(name string, kv *keyVersion) bundleOut {
	j := jwkOut{Kid: rc.kid(name, kv.ID), Kty: kv.Kty, KeyOps: slices.Clone(kv.KeyOps)}
	kv.Material.publicJWK(&j)
	b := bundleOut{Key: j, Attributes: rc.attributes(kv), Tags: maps.Clone(kv.Tags)}
	if len(b.Tags) == 0 {
		b.Tags = nil
	}
	if kv.ReleasePolicy != nil {
		b.ReleasePolicy = &releasePolicyOut{ContentType: kv.ReleasePolicy.ContentType,
			Data: b64url(kv.ReleasePolicy.Data), Immutable: kv.ReleasePolicy.Immutable}
	}
	return b
}

// deletedBundle renders a DeletedKeyBundle of the key's current version.
func (rc *reqCtx) deletedBundle(d *deletedKey) bundleOut {
	b := rc.bundle(d.Entry.Name, d.Entry.latest())
	rc.markDeleted(&b.RecoveryID, &b.DeletedDate, &b.ScheduledPurgeDate, d)
	return b
}

func (rc *reqCtx) markDeleted(id *string, deleted, purge **int64, d *deletedKey) {
	dd, sp := d.DeletedDate, d.ScheduledPurge
	*deleted = &dd
	if rc.v.softDelete {
		*id = rc.v.baseURL(rc.port) + "/deletedkeys/" + d.Entry.Name
		*purge = &sp
	}
}

// item renders a KeyItem; withVersion chooses the versioned kid (version listings) over
// the base one (key listings).
func (rc *reqCtx) item(name string, kv *keyVersion, withVersion bool) itemOut {
	kid := rc.v.baseURL(rc.port) + "/keys/" + name
	if withVersion {
		kid += "/" + kv.ID
	}
	it := itemOut{Kid: kid, Attributes: rc.attributes(kv), Tags: maps.Clone(kv.Tags)}
	if len(it.Tags) == 0 {
		it.Tags = nil
	}
	return it
}
