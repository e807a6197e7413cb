package service

import (
	"context"
	"slices"
	"strings"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// importMaterial imports a Keyward key's material as a new version of an Azure key with
// the protection the key has. Software keys go as a JWK over TLS. HSM keys go by Azure's
// BYOK transfer: a key-exchange key (RSA-HSM, import only) is made in the vault, the
// material is wrapped under it inside Keyward (CKM_RSA_AES_KEY_WRAP), the transfer blob is
// imported and the key-exchange key deleted. The key-exchange key's name is checkpointed
// before it is made, so that a retried job deletes it.
// The BYOK steps are in azure_byok.go.
func (s *Service) importMaterial(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, name string,
	target *keyward.CloudRef, k *kcrypto.Key, cp *versionCheckpoint) (*keyward.CloudKey, error) {
	imp := keyward.CloudImport{Ops: target.Ops, Enabled: true}
	hsm := target.Protection == "hsm" || link.Vault.Kind == keyward.VaultManagedHSM
	if !hsm {
		jwk, err := k.AzureJWK()
		if err != nil {
			return nil, jobs.Permanent(keyward.Invalid("from", "%v", err))
		}
		defer clear(jwk)
		imp.JWK = jwk
		return v.ImportKey(ctx, name, imp)
	}
	kty, curve := azureKeyType(k)
	imp.KeyType, imp.Curve, imp.HSM = kty, curve, true
	kekName := kekNameFor(run.Job())
	cp.KEKs = append(cp.KEKs, kekName)
	if err := run.SaveCheckpoint(cp); err != nil {
		return nil, err
	}
	defer func() {
		if !s.dropKEK(context.WithoutCancel(ctx), run, v, link, kekName) {
			return // the checkpoint keeps its name: a retried attempt deletes it
		}
		cp.KEKs = slices.DeleteFunc(cp.KEKs, func(k string) bool { return k == kekName })
		if err := run.SaveCheckpoint(cp); err != nil {
			run.Log(keyward.LogWarn, "Could not note that key-exchange key was deleted", keyward.ErrorMessage(err))
		}
	}()
	blob, kid, err := makeTransfer(ctx, v, kekName, map[string]string{"keyward-purpose": "byok-key-exchange"}, k)
	if err != nil {
		if kid == "" {
			return nil, err
		}
		return nil, jobs.Permanent(err)
	}
	imp.BYOK = blob
	return v.ImportKey(ctx, name, imp)
}

// azureKeyType is the HSM key type and Azure curve name of a Keyward key.
func azureKeyType(k *kcrypto.Key) (string, string) {
	sp := k.Spec()
	switch sp.Type {
	case kcrypto.RSA:
		return "RSA-HSM", ""
	case kcrypto.EC:
		c := sp.Curve.String()
		if strings.EqualFold(c, "secp256k1") {
			c = "P-256K"
		}
		return "EC-HSM", c
	}
	return "oct-HSM", ""
}

// dropKEK deletes a key-exchange key, and purges it where the vault allows. Failures are
// logged (the key can do nothing but import) and reported as false; a soft-deleted
// key-exchange key that could not be purged counts as dropped.
func (s *Service) dropKEK(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, name string) bool {
	deleted, _, err := deleteKEK(ctx, v, link.Vault, name)
	if err != nil {
		run.Log(keyward.LogWarn, "Could not remove key-exchange key "+name, keyward.ErrorMessage(err))
	}
	return deleted
}
