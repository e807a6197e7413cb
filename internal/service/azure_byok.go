package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// The BYOK transfer, shared by every job that puts HSM-protected material into Azure
// (imports and copies of new keys, rotations and re-imports of existing ones): a
// key-exchange key (RSA-HSM, import only) is made in the vault, the material is wrapped
// under it inside Keyward (CKM_RSA_AES_KEY_WRAP), the blob is imported and the
// key-exchange key deleted. Each job records the key-exchange key's name in its
// checkpoint before making it, so that a retried attempt deletes what a crash left.

// kekPrefix starts the name of every key-exchange key: keyward-kek-JOBID-ATTEMPT, the job
// id without its hyphens.
const kekPrefix = "keyward-kek-"

// kekBits is the size of the key-exchange keys Keyward creates for BYOK imports.
const kekBits = 3072

// kekNameFor names the key-exchange key of a job's current attempt.
func kekNameFor(j keyward.Job) string {
	return fmt.Sprintf("%s%s-%d", kekPrefix, strings.ReplaceAll(j.ID, "-", ""), j.Attempts)
}

// makeTransfer creates the key-exchange key name in the vault and wraps key under it:
// the transfer blob to import, and the key-exchange key's id.
func makeTransfer(ctx context.Context, v keyward.CloudVault, name string, tags map[string]string, key *kcrypto.Key) ([]byte, string, error) {
	kek, err := v.CreateKey(ctx, name, keyward.CloudKeySpec{KeyType: "RSA-HSM", Size: kekBits, Ops: []string{"import"}, Enabled: true, Tags: tags})
	if err != nil {
		return nil, "", err
	}
	pub, err := kcrypto.Import(kek.PublicJWK, kcrypto.ImportOptions{Format: kcrypto.FormatJWK})
	if err != nil {
		return nil, kek.KID, keyward.Errorf(keyward.EUNAVAILABLE, "the vault returned a key-exchange key Keyward cannot read: %v", err)
	}
	defer pub.Destroy()
	b, err := kcrypto.NewBYOK(pub, kek.KID, key, "Keyward")
	if err != nil {
		return nil, kek.KID, keyward.Errorf(keyward.EINVALID, "cannot build the BYOK transfer blob: %v", err)
	}
	blob, err := b.Marshal()
	return blob, kek.KID, err
}

// deleteKEK deletes a key-exchange key and purges it where the vault allows, so that no
// import-only key is left behind; a key already gone counts as deleted. deleted is false
// when the delete failed (err says why); purged is false when the key stays soft-deleted:
// under purge protection, when the vault refused, or when the purge failed (err says why).
func deleteKEK(ctx context.Context, v keyward.CloudVault, vault keyward.VaultInfo, name string) (deleted, purged bool, err error) {
	if _, err := v.DeleteKey(ctx, name); err != nil && !keyward.IsCode(err, keyward.ENOTFOUND) {
		return false, false, kekError(name, "delete", err)
	}
	if !vault.SoftDelete {
		return true, true, nil
	}
	if vault.PurgeProtection {
		return true, false, nil
	}
	err = v.PurgeKey(ctx, name)
	switch {
	case err == nil, keyward.IsCode(err, keyward.ENOTFOUND), keyward.IsCode(err, keyward.ENOTSUPPORTED):
		return true, true, nil
	case keyward.IsCode(err, keyward.EFORBIDDEN):
		return true, false, nil
	}
	return true, false, kekError(name, "purge", err)
}

// kekError says which step on which key-exchange key failed, keeping Azure's code.
func kekError(name, verb string, err error) error {
	e := keyward.Errorf(keyward.ErrorCode(err), "could not %s the key-exchange key %s: %s", verb, name, keyward.ErrorMessage(err))
	e.RetryAfter = keyward.RetryAfter(err)
	return e
}
