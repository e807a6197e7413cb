package azure

import (
	"context"
	"errors"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/keyward"
)

// ListKeys calls fn for every key, one request per page.
func (v *vault) ListKeys(ctx context.Context, fn func(keyward.CloudKeyItem) error) error {
	return eachPage(ctx, v.data, call{op: "GetKeys"}, func() *runtime.Pager[azkeys.ListKeyPropertiesResponse] { return v.kc.NewListKeyPropertiesPager(nil) },
		func(p azkeys.ListKeyPropertiesResponse) []*azkeys.KeyProperties { return p.Value },
		func(p *azkeys.KeyProperties) error { return fn(itemFromProperties(p)) })
}

// ListVersions calls fn for every version of a key; listings carry no key type.
func (v *vault) ListVersions(ctx context.Context, name string, fn func(keyward.CloudKey) error) error {
	return eachPage(ctx, v.data, call{op: "GetKeyVersions", key: name}, func() *runtime.Pager[azkeys.ListKeyPropertiesVersionsResponse] {
		return v.kc.NewListKeyPropertiesVersionsPager(name, nil)
	},
		func(p azkeys.ListKeyPropertiesVersionsResponse) []*azkeys.KeyProperties { return p.Value },
		func(p *azkeys.KeyProperties) error { return fn(keyFromProperties(p)) })
}

// GetKey returns a version ("" for the latest) with its public part.
func (v *vault) GetKey(ctx context.Context, name, version string) (*keyward.CloudKey, error) {
	var res azkeys.GetKeyResponse
	_, err := v.data.do(ctx, call{op: "GetKey", key: name, latest: version == ""}, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.GetKey(ctx, name, version, nil)
		return res.Key, err
	})
	if err != nil {
		return nil, err
	}
	return keyFromKeyBundle(res.KeyBundle), nil
}

// CreateKey has Azure generate a key, or a new version of an existing name. Azure
// returns no material for oct keys, so their size is the one asked for (256 by default).
func (v *vault) CreateKey(ctx context.Context, name string, spec keyward.CloudKeySpec) (*keyward.CloudKey, error) {
	p, err := createParams(spec)
	if err != nil {
		return nil, err
	}
	var res azkeys.CreateKeyResponse
	c := call{op: "CreateKey", key: name, create: true, latest: true, hsm: strings.HasSuffix(spec.KeyType, "-HSM")}
	if _, err := v.data.do(ctx, c, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.CreateKey(ctx, name, p, nil)
		return res.Key, err
	}); err != nil {
		return nil, err
	}
	k := keyFromKeyBundle(res.KeyBundle)
	if strings.HasPrefix(k.KeyType, "oct") && k.Size == 0 {
		k.Size = spec.Size
		if k.Size == 0 {
			k.Size = 256
		}
	}
	return k, nil
}

// ImportKey imports material as a new version of name: a JWK (software, or HSM with
// imp.HSM), or a BYOK transfer file (HSM).
func (v *vault) ImportKey(ctx context.Context, name string, imp keyward.CloudImport) (*keyward.CloudKey, error) {
	p, wipe, err := importParams(imp)
	defer wipe()
	if err != nil {
		return nil, err
	}
	var res azkeys.ImportKeyResponse
	c := call{op: "ImportKey", key: name, create: true, latest: true, hsm: imp.HSM || len(imp.BYOK) > 0}
	if _, err := v.data.do(ctx, c, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.ImportKey(ctx, name, p, nil)
		return res.Key, err
	}); err != nil {
		return nil, err
	}
	k := keyFromKeyBundle(res.KeyBundle)
	if strings.HasPrefix(k.KeyType, "oct") && k.Size == 0 && len(p.Key.K) > 0 {
		k.Size = 8 * len(p.Key.K)
	}
	return k, nil
}

// UpdateKey changes a version's attributes ("" for the latest).
func (v *vault) UpdateKey(ctx context.Context, name, version string, u keyward.CloudKeyUpdate) (*keyward.CloudKey, error) {
	p, err := updateParams(u)
	if err != nil {
		return nil, err
	}
	var res azkeys.UpdateKeyResponse
	if _, err := v.data.do(ctx, call{op: "UpdateKey", key: name, latest: version == ""}, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.UpdateKey(ctx, name, version, p, nil)
		return res.Key, err
	}); err != nil {
		return nil, err
	}
	return keyFromKeyBundle(res.KeyBundle), nil
}

// BackupKey returns the opaque backup of every version of a key.
func (v *vault) BackupKey(ctx context.Context, name string) ([]byte, error) {
	var res azkeys.BackupKeyResponse
	if _, err := v.data.do(ctx, call{op: "BackupKey", key: name}, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.BackupKey(ctx, name, nil)
		return nil, err
	}); err != nil {
		return nil, err
	}
	return res.Value, nil
}

// RestoreKey restores a backup with its version ids. Azure refuses with 409 while the name
// is in use, soft-deleted, or still being purged. When an earlier attempt's answer was
// lost, the 409 may be that attempt's own success; the error says so.
func (v *vault) RestoreKey(ctx context.Context, blob []byte) (*keyward.CloudKey, error) {
	var res azkeys.RestoreKeyResponse
	out, err := v.data.do(ctx, call{op: "RestoreKey"}, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: blob}, nil)
		return res.Key, err
	})
	if err != nil {
		var ke *keyward.Error
		if out.ambiguous && errors.As(err, &ke) && ke.Code == keyward.ECONFLICT {
			e := *ke
			e.Message += " (an earlier attempt whose answer was lost may have restored it: read the key)"
			return nil, &e
		}
		return nil, err
	}
	k := keyFromKeyBundle(res.KeyBundle)
	if res.Key != nil && k.Name != "" {
		v.data.budget.profiles.learn(k.Name, res.Key)
	}
	return k, nil
}

// RotateKey has Azure make a new version with new material. A managed HSM rotates only
// keys with a rotation policy, and a policy would rotate the key on its own schedule;
// without one (Azure answers 400), the new version is made the other way Azure offers,
// a create of the same name with the current version's type, size, curve and operations.
func (v *vault) RotateKey(ctx context.Context, name string) (*keyward.CloudKey, error) {
	prof, ok := v.data.budget.profiles.get(name)
	if !ok {
		prof = v.data.budget.worst
	}
	var res azkeys.RotateKeyResponse
	_, err := v.data.do(ctx, call{op: "RotateKey", key: name, create: true, latest: true, hsm: prof.hsm},
		func(ctx context.Context) (result, error) {
			var err error
			res, err = v.kc.RotateKey(ctx, name, nil)
			return res.Key, err
		})
	if err != nil {
		if v.vaultInfo().Kind == keyward.VaultManagedHSM && keyward.IsCode(err, keyward.EINVALID) {
			return v.rotateByCreate(ctx, name, err)
		}
		return nil, err
	}
	return keyFromKeyBundle(res.KeyBundle), nil
}

// rotateByCreate makes the new version of an RSA or EC key with a create. An oct key's
// size cannot be read back, so its refusal stands.
func (v *vault) rotateByCreate(ctx context.Context, name string, refused error) (*keyward.CloudKey, error) {
	cur, err := v.GetKey(ctx, name, "")
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(cur.KeyType, "oct") || cur.Exportable {
		return nil, refused
	}
	v.conn.log.InfoContext(ctx, "azure: managed HSM key has no rotation policy; creating its new version",
		"vault", v.vaultInfo().Name, "key", name)
	return v.CreateKey(ctx, name, keyward.CloudKeySpec{KeyType: cur.KeyType, Size: cur.Size, Curve: cur.Curve,
		Ops: cur.Ops, Enabled: true, Tags: cur.Tags})
}
