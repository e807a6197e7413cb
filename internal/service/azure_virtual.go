package service

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// Where a virtual key's material came from.
const (
	SourceAzure   = "azure"   // born in Azure
	SourceKeyward = "keyward" // imported from Keyward
)

// cloudSource says who made an Azure key version and from what.
type cloudSource struct {
	Source   string // SourceAzure or SourceKeyward
	ObjectID string // the Keyward key whose material it holds (SourceKeyward)
	Actor    string // who made it: a principal's actor, or "azure" for keys found by sync
	Origin   string // the new object's origin when not the source's default
}

// azureOps maps Azure key_ops to Keyward operations (informational on a virtual key).
var azureOps = map[string]keyward.Operation{
	"encrypt": keyward.OpEncrypt, "decrypt": keyward.OpDecrypt, "wrapKey": keyward.OpWrapKey, "unwrapKey": keyward.OpUnwrapKey,
	"sign": keyward.OpSign, "verify": keyward.OpVerify, "deriveKey": keyward.OpDerive,
}

// typeOfCloudKey maps Azure's kty, size and curve to Keyward's.
func typeOfCloudKey(ck *keyward.CloudKey) (keyward.ObjectType, int, string) {
	switch strings.TrimSuffix(ck.KeyType, "-HSM") {
	case "RSA":
		return keyward.TypeRSA, ck.Size, ""
	case "EC":
		curve := ck.Curve
		if curve == "P-256K" {
			curve = "secp256k1"
		}
		c, _ := kcrypto.ParseCurve(curve)
		return keyward.TypeEC, c.Bits(), curve
	}
	return keyward.TypeAES, ck.Size, ""
}

// cloudKCV is the check value of a key version's public part, so a Keyward key and its
// copy in Azure show the same value; "" when Azure gives no public part (AES).
func cloudKCV(ck *keyward.CloudKey) string {
	if len(ck.PublicJWK) == 0 {
		return ""
	}
	k, err := kcrypto.Import(ck.PublicJWK, kcrypto.ImportOptions{Format: kcrypto.FormatJWK})
	if err != nil {
		return ""
	}
	kcv, _ := k.CheckValue()
	return kcv
}

func cloudState(ck *keyward.CloudKey) string {
	if ck.Enabled {
		return keyward.CloudEnabled
	}
	return keyward.CloudDisabled
}

// virtualName is the name of a key version's object: the Azure key's name for its
// current version (qualified by the vault when the account already uses that name for
// something else), and the name with a short version for older ones.
func virtualName(tx keyward.Tx, accountID, vault, keyName, version string, current bool, self string) (string, error) {
	cands := []string{keyName + " (" + version[:min(8, len(version))] + ")", keyName + " (" + vault + ", " + version + ")"}
	if current {
		cands = []string{keyName, keyName + " (" + vault + ")", keyName + " (" + vault + ", " + version + ")"}
	}
	for _, n := range cands {
		o, err := tx.GetObjectByName(accountID, n)
		if keyward.IsCode(err, keyward.ENOTFOUND) || (err == nil && o.ID == self) {
			return n, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", keyward.Errorf(keyward.ECONFLICT, "no free name for %s version %s", keyName, version)
}

// putVirtualKey records an Azure key version as a virtual key of the link's group, or
// refreshes the one that exists: Azure's state, dates, operations and tags. It returns the
// object and whether it was new. A new current version takes the key's name from the
// version it replaces.
func (s *Service) putVirtualKey(tx keyward.Tx, link *keyward.AzureLink, ck *keyward.CloudKey, current bool, src cloudSource) (*keyward.Object, bool, error) {
	o, err := tx.GetCloudObject(link.AccountID, link.GroupID, ck.Name, ck.Version)
	if err != nil && !keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, false, err
	}
	now := s.clock.Now()
	created := o == nil || o.ID == ""
	if created {
		typ, size, curve := typeOfCloudKey(ck)
		o = &keyward.Object{ID: newID(), AccountID: link.AccountID, GroupID: link.GroupID, Type: typ, Size: size, Curve: curve,
			PublicOnly: true, Origin: src.Source, KCV: cloudKCV(ck), CreatedAt: now, CreatedBy: src.Actor,
			Cloud: &keyward.CloudRef{Vault: link.Vault.Name, KeyName: ck.Name, Version: ck.Version, KID: ck.KID,
				Protection: protection(ck.KeyType), Source: src.Source, SourceObjectID: src.ObjectID, KeyType: ck.KeyType}}
		if src.Source == SourceKeyward {
			o.Origin = "copied"
		}
		if src.Origin != "" {
			o.Origin = src.Origin
		}
	}
	refreshCloud(o, ck, current, now)
	if current {
		if err := s.demoteCurrent(tx, link, ck.Name, ck.Version); err != nil {
			return nil, false, err
		}
	}
	if o.Name, err = virtualName(tx, link.AccountID, link.Vault.Name, ck.Name, ck.Version, current, o.ID); err != nil {
		return nil, false, err
	}
	if created {
		return o, true, tx.CreateObject(o, nil)
	}
	return o, false, tx.UpdateObject(o)
}

func protection(kty string) string {
	if strings.HasSuffix(kty, "-HSM") {
		return "hsm"
	}
	return "software"
}

// refreshCloud copies Azure's view of a version onto its object.
func refreshCloud(o *keyward.Object, ck *keyward.CloudKey, current bool, now time.Time) {
	c := o.Cloud
	c.Current, c.State = current, cloudState(ck)
	c.NotBefore, c.Expires, c.Created, c.Updated, c.RecoveryLevel = ck.NotBefore, ck.Expires, ck.Created, ck.Updated, ck.RecoveryLevel
	c.Ops = ck.Ops
	if ck.KeyType != "" {
		c.KeyType = ck.KeyType
	}
	c.DeletedAt, c.ScheduledPurge = time.Time{}, time.Time{}
	o.UpdatedAt = now
	var ops []keyward.Operation
	for _, op := range ck.Ops {
		if kop, ok := azureOps[op]; ok {
			ops = append(ops, kop)
		}
	}
	if ops == nil {
		ops = []keyward.Operation{}
	}
	o.Ops = ops
	if ck.Tags != nil {
		o.Tags = ck.Tags
	}
	o.ActivationDate, o.DeactivationDate = ck.NotBefore, ck.Expires
	if o.State != keyward.StateDestroyed && o.State != keyward.StateCompromised {
		o.State = keyward.StateActive
		if !ck.Enabled {
			o.State = keyward.StateDeactivated
		}
	}
}

// demoteCurrent gives the current version of a key other than version its version name,
// so the new current version can take the key's name.
func (s *Service) demoteCurrent(tx keyward.Tx, link *keyward.AzureLink, keyName, version string) error {
	vs, err := tx.ListCloudObjects(link.AccountID, link.GroupID, keyName)
	if err != nil {
		return err
	}
	for i := range vs {
		v := &vs[i]
		if !v.Cloud.Current || v.Cloud.Version == version {
			continue
		}
		v.Cloud.Current = false
		if v.Name, err = virtualName(tx, link.AccountID, link.Vault.Name, keyName, v.Cloud.Version, false, v.ID); err != nil {
			return err
		}
		v.UpdatedAt = s.clock.Now()
		if err := tx.UpdateObject(v); err != nil {
			return fmt.Errorf("rename version %s of %s: %w", v.Cloud.Version, keyName, err)
		}
	}
	return nil
}
