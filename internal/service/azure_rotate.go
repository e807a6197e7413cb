package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// Rotation in Azure makes a new version of an Azure key, which becomes a new virtual key
// that takes the key's name. The material comes from Azure (a native rotation) or from a
// Keyward key that permits EXPORT (the virtual key's source then reads "keyward"). A job
// that dies after Azure made the version finds it on its next attempt instead of making
// another: it notes the versions that existed before it called Azure.

// RotateAzureKey rotates the Azure key of a virtual key: natively when from is "", or to
// the material of the Keyward key from.
func (s *Service) RotateAzureKey(ctx context.Context, p keyward.Principal, ref, from string) (*keyward.Job, error) {
	return s.enqueueAzureKey(ctx, p, ActAzureKeyRotate, ref, func(tx keyward.Tx, t *azureTarget, prm *azureKeyParams) (string, error) {
		if err := live(t); err != nil {
			return "", err
		}
		c := t.obj.Cloud
		if from == "" {
			if strings.HasPrefix(c.KeyType, "oct") {
				return "", keyward.Errorf(keyward.ENOTSUPPORTED, "Azure cannot rotate AES key %s by itself (it never tells the key's size): rotate it to a Keyward AES key with from", c.KeyName)
			}
			return fmt.Sprintf("Rotate Azure key %s in %s", c.KeyName, t.link.Vault.Name), nil
		}
		src, err := loadSourceKey(tx, p, "from", from, t, s.clock)
		if err != nil {
			return "", err
		}
		prm.FromObjectID = src.ID
		return fmt.Sprintf("Rotate Azure key %s in %s to Keyward key %q", c.KeyName, t.link.Vault.Name, src.Name), nil
	}, azureKeyParams{})
}

// loadSourceKey loads a Keyward key whose material is to become a version of the target's
// Azure key, and checks that it may and can: it permits EXPORT, is a key of the target's
// type, and is not itself a virtual key.
func loadSourceKey(tx keyward.Tx, p keyward.Principal, field, ref string, t *azureTarget, clock keyward.Clock) (*keyward.Object, error) {
	src, err := loadObject(tx, p, ref, ActObjectExport)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, keyward.Invalid(field, "no key %q in this account", ref)
	}
	if err != nil {
		return nil, err
	}
	if err := refuseCopyUnderQuorum(tx, src); err != nil {
		return nil, err
	}
	if err := checkSourceKey(field, src, t.obj, clock); err != nil {
		return nil, err
	}
	return src, nil
}

func checkSourceKey(field string, src, target *keyward.Object, clock keyward.Clock) error {
	c := target.Cloud
	switch {
	case src.Cloud != nil:
		return keyward.Invalid(field, "%q is a virtual key: its material is in Azure, Keyward cannot give it", src.Name)
	case src.PublicOnly:
		return keyward.Invalid(field, "%q holds only a public key", src.Name)
	case src.Type != target.Type:
		return keyward.Invalid(field, "%q is an %s key; Azure key %s (%s) needs an %s key", src.Name, src.Type, c.KeyName, c.KeyType, target.Type)
	case src.Type == keyward.TypeEC && !sameCurve(src.Curve, target.Curve):
		return keyward.Invalid(field, "%q is on curve %s; Azure key %s is on %s", src.Name, src.Curve, c.KeyName, target.Curve)
	}
	if err := src.CheckUse(keyward.OpExport, clock.Now()); err != nil {
		return err // its material leaves Keyward for Azure: it needs EXPORT
	}
	return nil
}

func sameCurve(a, b string) bool {
	ca, err1 := kcrypto.ParseCurve(a)
	cb, err2 := kcrypto.ParseCurve(b)
	return err1 == nil && err2 == nil && ca == cb
}

// ReimportAzureKey puts a purged Keyward-owned key back into its vault: the material of
// its source key is imported under the same name (Azure gives it a new version id).
func (s *Service) ReimportAzureKey(ctx context.Context, p keyward.Principal, ref string) (*keyward.Job, error) {
	return s.enqueueAzureKey(ctx, p, ActAzureKeyReimport, ref, func(tx keyward.Tx, t *azureTarget, prm *azureKeyParams) (string, error) {
		c := t.obj.Cloud
		switch {
		case c.State != keyward.CloudPurged:
			return "", keyward.Errorf(keyward.EPRECONDITION, "Azure key %s is %s: only a purged key is re-imported%s", c.KeyName, c.State, recoverHint(c))
		case c.Source != SourceKeyward || c.SourceObjectID == "":
			return "", keyward.Errorf(keyward.EPRECONDITION, "Azure key %s was born in Azure: Keyward does not have its material; restore it from its escrowed backup instead", c.KeyName)
		}
		if err := noLiveVersion(tx, t); err != nil {
			return "", err
		}
		src, err := tx.GetObject(p.AccountID, c.SourceObjectID)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return "", keyward.Errorf(keyward.EPRECONDITION, "the source key of Azure key %s no longer exists", c.KeyName)
		}
		if err != nil {
			return "", err
		}
		if _, err := loadSourceKey(tx, p, "source", src.ID, t, s.clock); err != nil {
			return "", err
		}
		prm.FromObjectID = src.ID
		return fmt.Sprintf("Re-import Azure key %s into %s from Keyward key %q", c.KeyName, t.link.Vault.Name, src.Name), nil
	}, azureKeyParams{})
}

func (s *Service) runAzureReimport(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error {
	return s.makeVersion(ctx, run, v, link, prm, ActAzureKeyReimport)
}

func (s *Service) runAzureRotate(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error {
	return s.makeVersion(ctx, run, v, link, prm, ActAzureKeyRotate)
}

// versionCheckpoint is what a version-making job notes before it calls Azure.
type versionCheckpoint struct {
	Before []string `json:"before"`         // the key's versions before the call
	KEKs   []string `json:"keks,omitempty"` // key-exchange keys made for BYOK imports, to delete
}

// makeVersion makes the new version (native rotation, or import of a Keyward key's
// material), records it as the key's current virtual key and escrows a fresh backup.
func (s *Service) makeVersion(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams, action keyward.Action) error {
	var cp versionCheckpoint
	resumed, err := run.Checkpoint(&cp)
	if err != nil {
		return jobs.Permanent(err)
	}
	cp.KEKs = slices.DeleteFunc(cp.KEKs, func(kek string) bool { return s.dropKEK(ctx, run, v, link, kek) })
	made, err := s.findMade(ctx, v, prm.KeyName, cp.Before, resumed)
	if err != nil {
		return jobErr(err)
	}
	if made == nil {
		if !resumed {
			if cp.Before, err = versionIDs(ctx, v, prm.KeyName); err != nil {
				return jobErr(err)
			}
			if err := run.SaveCheckpoint(cp); err != nil {
				return err
			}
		}
		made, err = s.callMake(ctx, run, v, link, prm, &cp)
		if action == ActAzureKeyReimport && keyward.IsCode(err, keyward.ECONFLICT) {
			// Azure holds a purged name for a while; the job's backoff waits it out.
			err = keyward.Errorf(keyward.EUNAVAILABLE, "Azure is still purging key %s (%s); the re-import will be tried again",
				prm.KeyName, keyward.ErrorMessage(err))
		}
		if err != nil {
			level := keyward.LogError
			if c := keyward.ErrorCode(err); c == keyward.EUNAVAILABLE || c == keyward.ERATELIMIT {
				level = keyward.LogWarn // the job tries again
			}
			run.Log(level, "Could not make a new version of key "+prm.KeyName, keyward.ErrorMessage(err))
			return jobErr(err)
		}
	}
	src := cloudSource{Source: SourceAzure, Actor: run.Job().CreatedBy}
	if prm.FromObjectID != "" {
		src = cloudSource{Source: SourceKeyward, ObjectID: prm.FromObjectID, Actor: run.Job().CreatedBy}
	}
	var nw *keyward.Object
	err = s.store.Update(ctx, func(tx keyward.Tx) error {
		var err error
		if nw, _, err = s.putVirtualKey(tx, link, made, true, src); err != nil {
			return err
		}
		if nw.Cloud.Source != src.Source || nw.Cloud.SourceObjectID != src.ObjectID {
			nw.Cloud.Source, nw.Cloud.SourceObjectID = src.Source, src.ObjectID // made by an earlier attempt, then found by a sync
			if err := tx.UpdateObject(nw); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("key %s has new version %s (virtual key %s, source %s)", prm.KeyName, made.Version, nw.ID, src.Source)
		return s.auditJob(tx, run, action, prm.ObjectID, detail)
	})
	if err != nil {
		return err
	}
	if err := run.SetResult(map[string]string{"object_id": nw.ID, "name": nw.Name, "version": made.Version, "kid": made.KID}); err != nil {
		return err
	}
	// The escrow is refreshed last: the new version is recorded whatever happens here, and
	// a retry finds it made and only takes the backup again.
	if _, err := s.escrowKey(ctx, v, link, prm.KeyName); err != nil {
		run.Log(keyward.LogWarn, "Could not escrow the backup of key "+prm.KeyName+" after its new version", keyward.ErrorMessage(err))
		return jobErr(err)
	}
	run.Log(keyward.LogInfo, "Azure key "+prm.KeyName+" has a new version", fmt.Sprintf("version %s, virtual key %q, source %s", made.Version, nw.Name, src.Source))
	return nil
}

// findMade looks, on a resumed attempt, for a version an earlier attempt made: one that
// was not there before. It returns nil when there is none (or on a first attempt).
func (s *Service) findMade(ctx context.Context, v keyward.CloudVault, name string, before []string, resumed bool) (*keyward.CloudKey, error) {
	if !resumed {
		return nil, nil
	}
	now, err := versionIDs(ctx, v, name)
	if err != nil {
		return nil, err
	}
	var made *keyward.CloudKey
	for _, id := range now {
		if slices.Contains(before, id) {
			continue
		}
		ck, err := v.GetKey(ctx, name, id)
		if err != nil {
			return nil, err
		}
		if made == nil || ck.Created.After(made.Created) {
			made = ck
		}
	}
	return made, nil
}

// versionIDs lists a key's version ids; none when the key does not exist (a purged key
// being re-imported).
func versionIDs(ctx context.Context, v keyward.CloudVault, name string) ([]string, error) {
	vs, err := listVersions(ctx, v, name)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return []string{}, nil
	}
	ids := make([]string, 0, len(vs))
	for _, ck := range vs {
		ids = append(ids, ck.Version)
	}
	return ids, err
}

// listVersions lists a key's versions, trying the whole listing again when Azure is
// throttling or failing. The connector cannot retry a failed page itself: the SDK's pager
// keeps the first error it meets and returns it on every later call, so each try here
// starts a new listing.
func listVersions(ctx context.Context, v keyward.CloudVault, name string) ([]keyward.CloudKey, error) {
	wait := 50 * time.Millisecond
	for try := 1; ; try++ {
		var out []keyward.CloudKey
		err := v.ListVersions(ctx, name, func(ck keyward.CloudKey) error {
			out = append(out, ck)
			return nil
		})
		code := keyward.ErrorCode(err)
		if err == nil || try == listTries || (code != keyward.EUNAVAILABLE && code != keyward.ERATELIMIT) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(max(wait, keyward.RetryAfter(err))):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// listTries bounds the tries of one listing within a job attempt.
const listTries = 4

// callMake asks Azure for the new version.
func (s *Service) callMake(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams, cp *versionCheckpoint) (*keyward.CloudKey, error) {
	if prm.FromObjectID == "" {
		return v.RotateKey(ctx, prm.KeyName)
	}
	var target, src *keyward.Object
	var k *kcrypto.Key
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		var err error
		if target, err = tx.GetObject(link.AccountID, prm.ObjectID); err != nil {
			return err
		}
		if src, err = tx.GetObject(link.AccountID, prm.FromObjectID); err != nil {
			return err
		}
		// Checked again: the source may have changed since the request.
		if err := checkSourceKey("from", src, target, s.clock); err != nil {
			return err
		}
		if err := refuseCopyUnderQuorum(tx, src); err != nil {
			return jobs.Permanent(err)
		}
		k, err = s.openObject(tx, src)
		return err
	})
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	defer k.Destroy()
	return s.importMaterial(ctx, run, v, link, prm.KeyName, target.Cloud, k, cp)
}
