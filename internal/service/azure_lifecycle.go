package service

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// The lifecycle of keys in Azure, seen from their virtual keys. Every change Azure must
// make runs as a durable job (an action and a job kind of the same name); the request is
// audited when it is accepted, and the job audits what it did once Azure has done it.
const (
	ActAzureKeyUpdate   keyward.Action = "azure.key.update"   // tags, enable, disable
	ActAzureKeyDelete   keyward.Action = "azure.key.delete"   // soft delete (every version)
	ActAzureKeyRecover  keyward.Action = "azure.key.recover"  // undo a soft delete
	ActAzureKeyPurge    keyward.Action = "azure.key.purge"    // remove a soft-deleted key for good
	ActAzureKeyRestore  keyward.Action = "azure.key.restore"  // put a purged key back from its escrowed backup
	ActAzureKeyReimport keyward.Action = "azure.key.reimport" // put a purged Keyward-owned key back from its source
	ActAzureKeyRemove   keyward.Action = "azure.key.remove"   // forget a purged key and its escrow (no job)
	ActAzureKeyRotate   keyward.Action = "azure.key.rotate"   // a new version, from Azure or from a Keyward key
)

var azureKeyActions = []keyward.Action{ActAzureKeyUpdate, ActAzureKeyDelete, ActAzureKeyRecover, ActAzureKeyPurge,
	ActAzureKeyRestore, ActAzureKeyReimport, ActAzureKeyRemove, ActAzureKeyRotate}

func init() {
	for _, a := range azureKeyActions {
		keyward.RegisterAction(a, false, true, true)
	}
	for kind, h := range map[keyward.Action]func(*Service) azureKeyHandler{
		ActAzureKeyUpdate:   func(s *Service) azureKeyHandler { return s.runAzureUpdate },
		ActAzureKeyDelete:   func(s *Service) azureKeyHandler { return s.runAzureDelete },
		ActAzureKeyRecover:  func(s *Service) azureKeyHandler { return s.runAzureRecover },
		ActAzureKeyPurge:    func(s *Service) azureKeyHandler { return s.runAzurePurge },
		ActAzureKeyRestore:  func(s *Service) azureKeyHandler { return s.runAzureRestore },
		ActAzureKeyReimport: func(s *Service) azureKeyHandler { return s.runAzureReimport },
		ActAzureKeyRotate:   func(s *Service) azureKeyHandler { return s.runAzureRotate },
	} {
		jobKinds = append(jobKinds, func(s *Service) jobs.Kind {
			return jobs.Kind{Name: string(kind), Handler: s.azureKeyJob(h(s)), MaxAttempts: 6}
		})
	}
}

// azureKeyParams are the parameters of an Azure key job: ids, names and attributes,
// never material.
type azureKeyParams struct {
	ObjectID string             `json:"object_id"` // the virtual key the request named
	KeyName  string             `json:"key_name"`  // its Azure key
	Version  string             `json:"version,omitempty"`
	Tags     *map[string]string `json:"tags,omitempty"`
	Enabled  *bool              `json:"enabled,omitempty"`
	// FromObjectID is the Keyward key whose material becomes the new version (rotate to
	// a Keyward key, rotate a linked copy, re-import).
	FromObjectID string `json:"from_object_id,omitempty"`
}

// azureKeyHandler does one Azure key job's work with the group's vault.
type azureKeyHandler func(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error

func (s *Service) azureKeyJob(h azureKeyHandler) jobs.Handler {
	return func(ctx context.Context, run *jobs.Run) error {
		var prm azureKeyParams
		if err := run.Params(&prm); err != nil {
			return jobs.Permanent(err)
		}
		j := run.Job()
		v, link, err := s.vaultOf(ctx, j.AccountID, j.GroupID)
		if err != nil {
			return jobErr(err)
		}
		return h(ctx, run, v, link, &prm)
	}
}

// azureTarget is a virtual key a request names, with its group's link.
type azureTarget struct {
	obj  *keyward.Object
	link *keyward.AzureLink
}

// enqueueAzureKey is the shape of every Azure key request: load the virtual key and
// authorize, check what must hold before Azure is called, enqueue the job and audit the
// request, all in one transaction.
func (s *Service) enqueueAzureKey(ctx context.Context, p keyward.Principal, action keyward.Action, ref string,
	check func(tx keyward.Tx, t *azureTarget, prm *azureKeyParams) (title string, err error), prm azureKeyParams) (*keyward.Job, error) {
	var j *keyward.Job
	err := s.changeAndStart(ctx, p, action, "object:"+ref, func(tx keyward.Tx, op *op) error {
		t, err := loadVirtualKey(tx, p, ref, action)
		if err != nil {
			return err
		}
		op.target = "object:" + t.obj.ID
		prm.ObjectID, prm.KeyName = t.obj.ID, t.obj.Cloud.KeyName
		title, err := check(tx, t, &prm)
		if err != nil {
			return err
		}
		if err := keyBusy(tx, p.AccountID, t.obj.GroupID, prm.KeyName); err != nil {
			return err
		}
		if j, err = s.enqueueJob(tx, p, jobs.Spec{GroupID: t.obj.GroupID, Kind: string(action), Title: title, Params: prm}); err != nil {
			return err
		}
		op.detail = fmt.Sprintf("%s (job %s)", title, j.ID)
		return nil
	})
	return j, err
}

// loadVirtualKey loads a virtual key and its group's link.
func loadVirtualKey(tx keyward.Tx, p keyward.Principal, ref string, action keyward.Action) (*azureTarget, error) {
	o, err := loadObject(tx, p, ref, action)
	if err != nil {
		return nil, err
	}
	if o.Cloud == nil {
		return nil, keyward.Errorf(keyward.EPRECONDITION, "%q is not a virtual key: it is not in an Azure group", o.Name)
	}
	link, err := tx.GetAzureLink(p.AccountID, o.GroupID)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, keyward.Errorf(keyward.EPRECONDITION, "the group of %q is no longer linked to Azure", o.Name)
	}
	if err != nil {
		return nil, err
	}
	return &azureTarget{obj: o, link: link}, nil
}

// keyBusy refuses a second change of an Azure key while one is queued or running, so that
// a delete cannot overtake a rotation of the same key.
func keyBusy(tx keyward.Tx, accountID, groupID, keyName string) error {
	kinds := make([]string, 0, len(azureKeyActions))
	for _, a := range azureKeyActions {
		kinds = append(kinds, string(a))
	}
	for _, st := range []keyward.JobState{keyward.JobQueued, keyward.JobRunning} {
		after := ""
		for {
			js, err := tx.ListJobs(keyward.JobFilter{AccountID: accountID, GroupID: groupID, States: []keyward.JobState{st}, After: after, Limit: keyward.MaxPageLimit})
			if err != nil {
				return err
			}
			for i := range js {
				if !slices.Contains(kinds, js[i].Kind) {
					continue
				}
				var prm azureKeyParams
				if json.Unmarshal(js[i].Params, &prm) == nil && prm.KeyName == keyName {
					return keyward.Errorf(keyward.ECONFLICT, "Azure key %s already has job %s (%s) %s: wait for it to end (keyward job watch %s)",
						keyName, js[i].ID, js[i].Title, js[i].State, js[i].ID)
				}
			}
			if len(js) < keyward.MaxPageLimit {
				break
			}
			after = js[len(js)-1].ID
		}
	}
	return nil
}

func live(t *azureTarget) error {
	c := t.obj.Cloud
	switch c.State {
	case keyward.CloudSoftDeleted:
		return keyward.Errorf(keyward.EPRECONDITION, "Azure key %s is soft-deleted in %s (purge date %s): recover it first",
			c.KeyName, c.Vault, c.ScheduledPurge.Format(time.RFC3339))
	case keyward.CloudPurged:
		return keyward.Errorf(keyward.EPRECONDITION, "Azure key %s was purged from %s: restore or re-import it first", c.KeyName, c.Vault)
	}
	return nil
}

// Azure's limits on tags (akv-api.md): at most 15, names up to 512 characters, values up
// to 256.
const (
	maxAzureTags     = 15
	maxAzureTagName  = 512
	maxAzureTagValue = 256
)

// ValidateAzureTags checks tags against Azure's limits, naming the field.
func ValidateAzureTags(field string, tags map[string]string) error {
	if len(tags) > maxAzureTags {
		return keyward.Invalid(field, "Azure allows at most %d tags per key, not %d", maxAzureTags, len(tags))
	}
	for k, v := range tags {
		switch {
		case k == "":
			return keyward.Invalid(field, "a tag name must not be empty")
		case utf8.RuneCountInString(k) > maxAzureTagName:
			return keyward.Invalid(field, "tag name %.20q... is longer than Azure's %d characters", k, maxAzureTagName)
		case utf8.RuneCountInString(v) > maxAzureTagValue:
			return keyward.Invalid(field, "the value of tag %q is longer than Azure's %d characters", k, maxAzureTagValue)
		}
	}
	return nil
}

// TagAzureKey replaces the tags of a virtual key's Azure key version (Azure keeps tags per
// version) with tags.
func (s *Service) TagAzureKey(ctx context.Context, p keyward.Principal, ref string, tags map[string]string) (*keyward.Job, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	if err := ValidateAzureTags("tags", tags); err != nil {
		return nil, err
	}
	return s.enqueueAzureKey(ctx, p, ActAzureKeyUpdate, ref, func(_ keyward.Tx, t *azureTarget, prm *azureKeyParams) (string, error) {
		prm.Version, prm.Tags = t.obj.Cloud.Version, &tags
		return fmt.Sprintf("Set the tags of Azure key %s version %s", t.obj.Cloud.KeyName, short(t.obj.Cloud.Version)), live(t)
	}, azureKeyParams{})
}

// SetAzureKeyEnabled enables or disables (deactivates) a virtual key's version in Azure.
func (s *Service) SetAzureKeyEnabled(ctx context.Context, p keyward.Principal, ref string, enabled bool) (*keyward.Job, error) {
	return s.enqueueAzureKey(ctx, p, ActAzureKeyUpdate, ref, func(_ keyward.Tx, t *azureTarget, prm *azureKeyParams) (string, error) {
		prm.Version, prm.Enabled = t.obj.Cloud.Version, &enabled
		verb := "Deactivate (disable)"
		if enabled {
			verb = "Activate (enable)"
		}
		return fmt.Sprintf("%s Azure key %s version %s", verb, t.obj.Cloud.KeyName, short(t.obj.Cloud.Version)), live(t)
	}, azureKeyParams{})
}

func short(version string) string { return version[:min(8, len(version))] }

func (s *Service) runAzureUpdate(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error {
	u := keyward.CloudKeyUpdate{Enabled: prm.Enabled, Tags: prm.Tags}
	ck, err := v.UpdateKey(ctx, prm.KeyName, prm.Version, u)
	if err != nil {
		run.Log(keyward.LogError, "Azure refused the change of key "+prm.KeyName, keyward.ErrorMessage(err))
		return jobErr(err)
	}
	var detail string
	err = s.store.Update(ctx, func(tx keyward.Tx) error {
		o, err := tx.GetCloudObject(link.AccountID, link.GroupID, prm.KeyName, prm.Version)
		if err != nil {
			return err
		}
		refreshCloud(o, ck, o.Cloud.Current, s.clock.Now())
		if prm.Tags != nil {
			o.Tags = *prm.Tags // Azure leaves tags out when there are none
			detail = fmt.Sprintf("tags of %q set to %v", o.Name, *prm.Tags)
		}
		if prm.Enabled != nil {
			detail = fmt.Sprintf("%q is %s in Azure", o.Name, o.Cloud.State)
		}
		if err := tx.UpdateObject(o); err != nil {
			return err
		}
		return s.auditJob(tx, run, ActAzureKeyUpdate, o.ID, detail)
	})
	if err != nil {
		return err
	}
	run.Log(keyward.LogInfo, "Azure key "+prm.KeyName+" updated", detail)
	return nil
}

// auditJob records, in the job's transaction, what a job did in Azure on behalf of the
// actor who asked for it.
func (s *Service) auditJob(tx keyward.Tx, run *jobs.Run, action keyward.Action, objectID, detail string) error {
	j := run.Job()
	return audit.Append(tx, keyward.AuditRecord{AccountID: j.AccountID, Time: s.clock.Now(), Actor: j.CreatedBy, Action: action,
		Target: "object:" + objectID, Outcome: keyward.OutcomeSuccess, RequestID: "job:" + j.ID, Detail: "done in Azure: " + detail})
}

// DeleteAzureKey soft-deletes an Azure key with all its versions. It needs confirm: the
// key stops working for every application at once. Keyward escrows a fresh backup first.
func (s *Service) DeleteAzureKey(ctx context.Context, p keyward.Principal, ref string, confirm bool) (*keyward.Job, error) {
	return s.enqueueAzureKey(ctx, p, ActAzureKeyDelete, ref, func(tx keyward.Tx, t *azureTarget, _ *azureKeyParams) (string, error) {
		c, vault := t.obj.Cloud, t.link.Vault
		if err := live(t); err != nil {
			return "", err
		}
		if err := refuseAzureDestroyUnderQuorum(tx, t.obj); err != nil {
			return "", err
		}
		if !confirm {
			what := fmt.Sprintf("soft-deletes every version of Azure key %s in %s; it can be recovered for %d days", c.KeyName, vault.Name, vault.RetentionDays)
			if !vault.SoftDelete {
				what = fmt.Sprintf("deletes every version of Azure key %s for good: vault %s has no soft delete", c.KeyName, vault.Name)
			}
			return "", keyward.Invalid("confirm", "must be true: this %s, and applications using it stop working at once", what)
		}
		return fmt.Sprintf("Delete Azure key %s in %s", c.KeyName, vault.Name), nil
	}, azureKeyParams{})
}

func (s *Service) runAzureDelete(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error {
	// A fresh backup first, with every version, so that the key can be restored after a
	// purge. A retry after the delete finds the key gone and keeps the escrow it took.
	escrowed, err := s.escrowKey(ctx, v, link, prm.KeyName)
	if err != nil && !keyward.IsCode(err, keyward.ENOTFOUND) {
		run.Log(keyward.LogError, "Could not back up key "+prm.KeyName+" before deleting it", keyward.ErrorMessage(err))
		return jobErr(err)
	}
	d, err := v.DeleteKey(ctx, prm.KeyName)
	if err != nil {
		run.Log(keyward.LogError, "Azure refused to delete key "+prm.KeyName, keyward.ErrorMessage(err))
		return jobErr(err)
	}
	state := keyward.CloudSoftDeleted
	if !link.Vault.SoftDelete {
		state = keyward.CloudPurged
	}
	detail := fmt.Sprintf("key %s %s", prm.KeyName, state)
	if state == keyward.CloudSoftDeleted {
		detail += ", purge scheduled " + d.ScheduledPurge.UTC().Format(time.RFC3339)
	}
	if escrowed {
		detail += "; backup escrowed"
	}
	if err := s.markKey(ctx, run, link, prm, state, d, ActAzureKeyDelete, detail); err != nil {
		return err
	}
	run.Log(keyward.LogInfo, "Azure key "+prm.KeyName+" deleted", detail)
	return nil
}

// escrowKey takes a key's backup blob and stores it sealed, replacing the one held.
func (s *Service) escrowKey(ctx context.Context, v keyward.CloudVault, link *keyward.AzureLink, name string) (bool, error) {
	blob, err := v.BackupKey(ctx, name)
	if err != nil {
		return false, err
	}
	sealed, err := s.sealer.Seal(blob, seal.Bind("escrow", link.GroupID+"/"+name))
	clear(blob)
	if err != nil {
		return false, err
	}
	err = s.store.Update(ctx, func(tx keyward.Tx) error {
		vs, err := tx.ListCloudObjects(link.AccountID, link.GroupID, name)
		if err != nil {
			return err
		}
		n := 0
		for i := range vs {
			if vs[i].Cloud.State != keyward.CloudPurged {
				n++
			}
		}
		return tx.PutEscrow(&keyward.Escrow{AccountID: link.AccountID, GroupID: link.GroupID, KeyName: name, Blob: sealed,
			Versions: n, TakenAt: s.clock.Now()})
	})
	return err == nil, err
}

// markKey records a state of every version of a key (soft-deleted with its dates, or
// purged) and audits it.
func (s *Service) markKey(ctx context.Context, run *jobs.Run, link *keyward.AzureLink, prm *azureKeyParams, state string,
	d *keyward.CloudDeletedKey, action keyward.Action, detail string) error {
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx keyward.Tx) error {
		vs, err := tx.ListCloudObjects(link.AccountID, link.GroupID, prm.KeyName)
		if err != nil {
			return err
		}
		for i := range vs {
			o := &vs[i]
			c := o.Cloud
			if c.State == keyward.CloudPurged {
				continue // an older incarnation of the name, purged before
			}
			c.State = state
			switch state {
			case keyward.CloudSoftDeleted:
				c.DeletedAt, c.ScheduledPurge = d.DeletedAt, d.ScheduledPurge
			case keyward.CloudPurged:
				o.State, o.DestroyedAt = keyward.StateDestroyed, now
			}
			o.UpdatedAt = now
			if err := tx.UpdateObject(o); err != nil {
				return err
			}
		}
		return s.auditJob(tx, run, action, prm.ObjectID, detail)
	})
}

// RecoverAzureKey brings a soft-deleted key back with all its versions.
func (s *Service) RecoverAzureKey(ctx context.Context, p keyward.Principal, ref string) (*keyward.Job, error) {
	return s.enqueueAzureKey(ctx, p, ActAzureKeyRecover, ref, func(_ keyward.Tx, t *azureTarget, _ *azureKeyParams) (string, error) {
		c := t.obj.Cloud
		if !t.link.Vault.SoftDelete {
			return "", keyward.Errorf(keyward.ENOTSUPPORTED, "vault %s has no soft delete: there is nothing to recover", t.link.Vault.Name)
		}
		if c.State != keyward.CloudSoftDeleted {
			return "", keyward.Errorf(keyward.EPRECONDITION, "Azure key %s is %s, not soft-deleted: there is nothing to recover", c.KeyName, c.State)
		}
		return fmt.Sprintf("Recover Azure key %s in %s", c.KeyName, t.link.Vault.Name), nil
	}, azureKeyParams{})
}

func (s *Service) runAzureRecover(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error {
	if _, err := v.RecoverKey(ctx, prm.KeyName); err != nil {
		run.Log(keyward.LogError, "Azure refused to recover key "+prm.KeyName, keyward.ErrorMessage(err))
		return jobErr(err)
	}
	n, err := s.resyncKey(ctx, run, v, link, prm, false, ActAzureKeyRecover, "recovered with every version")
	if err != nil {
		run.Log(keyward.LogError, "Could not read recovered key "+prm.KeyName+" back from Azure", keyward.ErrorMessage(err))
		return jobErr(err)
	}
	run.Log(keyward.LogInfo, "Azure key "+prm.KeyName+" recovered", fmt.Sprintf("%d versions back", n))
	return nil
}

// PurgeAzureKey removes a soft-deleted key for good. It is refused, before Azure is
// called, where the vault has no soft delete or has purge protection.
func (s *Service) PurgeAzureKey(ctx context.Context, p keyward.Principal, ref string, confirm bool) (*keyward.Job, error) {
	return s.enqueueAzureKey(ctx, p, ActAzureKeyPurge, ref, func(tx keyward.Tx, t *azureTarget, _ *azureKeyParams) (string, error) {
		c, vault := t.obj.Cloud, t.link.Vault
		if err := refuseAzureDestroyUnderQuorum(tx, t.obj); err != nil {
			return "", err
		}
		switch {
		case !vault.SoftDelete:
			return "", keyward.Errorf(keyward.ENOTSUPPORTED, "vault %s has no soft delete: its deletes are final, there is nothing to purge", vault.Name)
		case vault.PurgeProtection:
			return "", keyward.Errorf(keyward.EPRECONDITION, "%s %s has purge protection: Azure purges key %s itself on %s",
				vault.Kind, vault.Name, c.KeyName, c.ScheduledPurge.UTC().Format(time.RFC3339))
		case c.State != keyward.CloudSoftDeleted:
			return "", keyward.Errorf(keyward.EPRECONDITION, "Azure key %s is %s: only a soft-deleted key can be purged (delete it first)", c.KeyName, c.State)
		}
		if !confirm {
			restore := "Keyward holds no backup of it: it is gone for good"
			if _, err := tx.GetEscrow(t.link.AccountID, t.link.GroupID, c.KeyName); err == nil {
				restore = "it can come back only from Keyward's escrowed backup (keyward azure key restore)"
			} else if !keyward.IsCode(err, keyward.ENOTFOUND) {
				return "", err
			}
			return "", keyward.Invalid("confirm", "must be true: a purge removes Azure key %s from %s for good; %s", c.KeyName, vault.Name, restore)
		}
		return fmt.Sprintf("Purge Azure key %s from %s", c.KeyName, vault.Name), nil
	}, azureKeyParams{})
}

func (s *Service) runAzurePurge(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error {
	err := v.PurgeKey(ctx, prm.KeyName)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		// Gone already: purged by an earlier attempt whose answer was lost, by someone in
		// Azure, or by Azure at the purge date. Unless it was recovered meanwhile.
		if _, gerr := v.GetKey(ctx, prm.KeyName, ""); keyward.IsCode(gerr, keyward.ENOTFOUND) {
			run.Log(keyward.LogWarn, "Azure key "+prm.KeyName+" was already purged", keyward.ErrorMessage(err))
			err = nil
		} else if gerr == nil {
			err = keyward.Errorf(keyward.EPRECONDITION, "Azure key %s is live again (recovered in Azure): sync the group", prm.KeyName)
		}
	}
	if err != nil {
		run.Log(keyward.LogError, "Azure refused to purge key "+prm.KeyName, keyward.ErrorMessage(err))
		return jobErr(err)
	}
	if err := s.markKey(ctx, run, link, prm, keyward.CloudPurged, nil, ActAzureKeyPurge, "key "+prm.KeyName+" purged"); err != nil {
		return err
	}
	run.Log(keyward.LogWarn, "Azure key "+prm.KeyName+" purged", "only an escrowed backup or its Keyward source can bring it back")
	return nil
}

// RestoreAzureKey puts a purged key back into its vault from the backup Keyward escrowed,
// with its versions and their ids.
func (s *Service) RestoreAzureKey(ctx context.Context, p keyward.Principal, ref string) (*keyward.Job, error) {
	return s.enqueueAzureKey(ctx, p, ActAzureKeyRestore, ref, func(tx keyward.Tx, t *azureTarget, _ *azureKeyParams) (string, error) {
		c := t.obj.Cloud
		if c.State != keyward.CloudPurged {
			return "", keyward.Errorf(keyward.EPRECONDITION, "Azure key %s is %s: only a purged key is restored from its backup%s", c.KeyName, c.State, recoverHint(c))
		}
		if err := noLiveVersion(tx, t); err != nil {
			return "", err
		}
		if _, err := tx.GetEscrow(t.link.AccountID, t.link.GroupID, c.KeyName); keyward.IsCode(err, keyward.ENOTFOUND) {
			return "", keyward.Errorf(keyward.EPRECONDITION, "Keyward holds no escrowed backup of Azure key %s (sync takes one)%s", c.KeyName, reimportHint(c))
		} else if err != nil {
			return "", err
		}
		return fmt.Sprintf("Restore Azure key %s into %s from its escrowed backup", c.KeyName, t.link.Vault.Name), nil
	}, azureKeyParams{})
}

func recoverHint(c *keyward.CloudRef) string {
	if c.State == keyward.CloudSoftDeleted {
		return " (recover a soft-deleted one)"
	}
	return ""
}

func reimportHint(c *keyward.CloudRef) string {
	if c.Source == SourceKeyward && c.SourceObjectID != "" {
		return "; it is Keyward-owned: re-import it from its source key instead"
	}
	return ""
}

func (s *Service) runAzureRestore(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams) error {
	var blob []byte
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		e, err := tx.GetEscrow(link.AccountID, link.GroupID, prm.KeyName)
		if err != nil {
			return err
		}
		blob, err = s.sealer.Open(e.Blob, seal.Bind("escrow", link.GroupID+"/"+prm.KeyName))
		return err
	})
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return jobs.Permanent(keyward.Errorf(keyward.EPRECONDITION, "the escrowed backup of %s is gone", prm.KeyName))
	}
	if err != nil {
		return err
	}
	_, err = v.RestoreKey(ctx, blob)
	clear(blob)
	if keyward.IsCode(err, keyward.ECONFLICT) {
		// The name is taken: by this restore, when an earlier answer was lost; otherwise
		// Azure is still purging it (or someone made a key of that name meanwhile).
		if ck, gerr := v.GetKey(ctx, prm.KeyName, ""); gerr == nil && s.purgedVersion(ctx, link, prm.KeyName, ck.Version) {
			err = nil
		} else if keyward.IsCode(gerr, keyward.ENOTFOUND) {
			err = keyward.Errorf(keyward.EUNAVAILABLE, "Azure is still purging key %s; the restore will be tried again", prm.KeyName)
		}
	}
	if err != nil {
		level, msg := keyward.LogError, "Azure refused to restore key "+prm.KeyName
		if keyward.IsCode(err, keyward.EUNAVAILABLE) {
			level, msg = keyward.LogWarn, "The restore of key "+prm.KeyName+" waits for Azure"
		}
		run.Log(level, msg, keyward.ErrorMessage(err))
		return jobErr(err)
	}
	n, err := s.resyncKey(ctx, run, v, link, prm, true, ActAzureKeyRestore, "restored from its escrowed backup")
	if err != nil {
		run.Log(keyward.LogError, "Could not read restored key "+prm.KeyName+" back from Azure", keyward.ErrorMessage(err))
		return jobErr(err)
	}
	run.Log(keyward.LogInfo, "Azure key "+prm.KeyName+" restored from escrow", fmt.Sprintf("%d versions back", n))
	return nil
}

// purgedVersion reports whether the group has a virtual key of this key version that
// Azure had purged: a version the escrowed backup brings back.
func (s *Service) purgedVersion(ctx context.Context, link *keyward.AzureLink, name, version string) bool {
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		o, err := tx.GetCloudObject(link.AccountID, link.GroupID, name, version)
		if err == nil && o.Cloud.State != keyward.CloudPurged {
			return keyward.Errorf(keyward.ECONFLICT, "live")
		}
		return err
	})
	return err == nil
}

// noLiveVersion refuses to bring a purged key back while its name lives again in Azure
// (re-imported, restored, or made anew and synced).
func noLiveVersion(tx keyward.Tx, t *azureTarget) error {
	vs, err := tx.ListCloudObjects(t.link.AccountID, t.link.GroupID, t.obj.Cloud.KeyName)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Cloud.State != keyward.CloudPurged {
			return keyward.Errorf(keyward.EPRECONDITION, "Azure key %s lives again in %s (version %s is %s): it cannot be brought back over it",
				t.obj.Cloud.KeyName, t.link.Vault.Name, short(v.Cloud.Version), v.Cloud.State)
		}
	}
	return nil
}

// resyncKey reads every version of a key back from Azure and records it (reviving purged
// versions when revive), takes a fresh escrow and audits the action. It returns how many
// versions Azure has.
func (s *Service) resyncKey(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink, prm *azureKeyParams,
	revive bool, action keyward.Action, what string) (int, error) {
	versions, latest, err := readVersions(ctx, v, prm.KeyName)
	if err != nil {
		return 0, err
	}
	if _, err := s.escrowKey(ctx, v, link, prm.KeyName); err != nil {
		return 0, err
	}
	err = s.store.Update(ctx, func(tx keyward.Tx) error {
		if err := s.recordVersions(tx, link, versions, latest, cloudSource{Source: SourceAzure, Actor: "azure"}, revive); err != nil {
			return err
		}
		return s.auditJob(tx, run, action, prm.ObjectID, fmt.Sprintf("key %s %s (%d versions)", prm.KeyName, what, len(versions)))
	})
	return len(versions), err
}

// readVersions lists a key's versions with their full attributes and says which is the
// current one.
func readVersions(ctx context.Context, v keyward.CloudVault, name string) ([]keyward.CloudKey, string, error) {
	listed, err := listVersions(ctx, v, name)
	if err != nil {
		return nil, "", err
	}
	out := make([]keyward.CloudKey, 0, len(listed))
	for _, it := range listed {
		ck, err := v.GetKey(ctx, name, it.Version)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *ck)
	}
	cur, err := v.GetKey(ctx, name, "")
	if err != nil {
		return nil, "", err
	}
	return out, cur.Version, nil
}

// recordVersions records versions of a key, the current one last so that it keeps the
// name. New versions take src; existing ones keep theirs. With revive, versions Keyward
// marked destroyed because Azure had purged them are live again.
func (s *Service) recordVersions(tx keyward.Tx, link *keyward.AzureLink, versions []keyward.CloudKey, latest string, src cloudSource, revive bool) error {
	order := slices.Clone(versions)
	slices.SortStableFunc(order, func(a, b keyward.CloudKey) int {
		switch {
		case a.Version == latest:
			return 1
		case b.Version == latest:
			return -1
		}
		return a.Created.Compare(b.Created)
	})
	for i := range order {
		ck := &order[i]
		if revive {
			if err := reviveVersion(tx, link, ck, s.clock.Now()); err != nil {
				return err
			}
		}
		if _, _, err := s.putVirtualKey(tx, link, ck, ck.Version == latest, src); err != nil {
			return err
		}
	}
	return nil
}

// reviveVersion makes a purged version's object live again before it is refreshed: its
// material is back in Azure.
func reviveVersion(tx keyward.Tx, link *keyward.AzureLink, ck *keyward.CloudKey, now time.Time) error {
	o, err := tx.GetCloudObject(link.AccountID, link.GroupID, ck.Name, ck.Version)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil
	}
	if err != nil || o.Cloud.State != keyward.CloudPurged {
		return err
	}
	o.State, o.DestroyedAt, o.Cloud.State, o.UpdatedAt = keyward.StateActive, time.Time{}, keyward.CloudEnabled, now
	return tx.UpdateObject(o)
}

// RemoveAzureKey forgets a purged Azure key: its purged virtual keys and, once no version
// of the name is left, its escrowed backup, for good. It needs confirm, and it calls no
// Azure API: the key is already gone there.
func (s *Service) RemoveAzureKey(ctx context.Context, p keyward.Principal, ref string, confirm bool) (*RemovedAzureKey, error) {
	out := &RemovedAzureKey{}
	err := s.change(ctx, p, ActAzureKeyRemove, "object:"+ref, func(tx keyward.Tx, op *op) error {
		t, err := loadVirtualKey(tx, p, ref, ActAzureKeyRemove)
		if err != nil {
			return err
		}
		c := t.obj.Cloud
		op.target = "object:" + t.obj.ID
		if c.State != keyward.CloudPurged {
			return keyward.Errorf(keyward.EPRECONDITION, "Azure key %s is %s in %s: a virtual key is removed only once Azure has purged its key%s",
				c.KeyName, c.State, c.Vault, removeHint(c, t.link))
		}
		if !confirm {
			return keyward.Invalid("confirm", "must be true: removing %q also destroys the escrowed backup of Azure key %s, so it can never be restored", t.obj.Name, c.KeyName)
		}
		if err := keyBusy(tx, p.AccountID, t.obj.GroupID, c.KeyName); err != nil {
			return err
		}
		vs, err := tx.ListCloudObjects(p.AccountID, t.obj.GroupID, c.KeyName)
		if err != nil {
			return err
		}
		left := 0
		for i := range vs {
			if vs[i].Cloud.State != keyward.CloudPurged {
				left++
				continue
			}
			if err := tx.DeleteCloudObject(p.AccountID, t.obj.GroupID, c.KeyName, vs[i].Cloud.Version); err != nil {
				return err
			}
			out.Removed = append(out.Removed, vs[i])
		}
		if left == 0 {
			err := tx.DeleteEscrow(p.AccountID, t.obj.GroupID, c.KeyName)
			switch {
			case err == nil:
				out.EscrowRemoved = true
			case !keyward.IsCode(err, keyward.ENOTFOUND):
				return err
			}
		}
		op.detail = fmt.Sprintf("removed %d purged versions of Azure key %s; escrowed backup destroyed: %t", len(out.Removed), c.KeyName, out.EscrowRemoved)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.logAzure(ctx, firstRemoved(out), keyward.LogInfo, "Removed purged Azure key from Keyward", fmt.Sprintf("%d virtual keys; escrow destroyed: %t", len(out.Removed), out.EscrowRemoved))
	return out, nil
}

func firstRemoved(r *RemovedAzureKey) *keyward.Object {
	if len(r.Removed) == 0 {
		return nil
	}
	return &r.Removed[0]
}

func removeHint(c *keyward.CloudRef, l *keyward.AzureLink) string {
	switch {
	case c.State == keyward.CloudSoftDeleted && l.Vault.PurgeProtection:
		return fmt.Sprintf(" (Azure purges it itself on %s)", c.ScheduledPurge.UTC().Format(time.RFC3339))
	case c.State == keyward.CloudSoftDeleted:
		return " (purge it first: keyward azure key purge)"
	}
	return " (delete, then purge it first)"
}

// RemovedAzureKey is what RemoveAzureKey removed.
type RemovedAzureKey struct {
	Removed       []keyward.Object
	EscrowRemoved bool
}

// logAzure writes a line to the service log of a virtual key's group, for changes made
// without a job. A failure is logged to the server log only.
func (s *Service) logAzure(ctx context.Context, o *keyward.Object, level keyward.LogLevel, msg, detail string) {
	if o == nil {
		return
	}
	e := &keyward.ServiceLogEntry{AccountID: o.AccountID, GroupID: o.GroupID, Time: s.clock.Now(), Level: level,
		Message: msg + ": " + o.Cloud.KeyName, Detail: detail}
	e.Trim()
	if err := s.store.Update(context.WithoutCancel(ctx), func(tx keyward.Tx) error { return tx.AppendServiceLog(e) }); err != nil {
		s.log.Error("service log", "group", o.GroupID, "err", err)
	}
}

// virtualKeyPatch refuses metadata changes that Azure owns on a virtual key: a change made
// only in Keyward would be undone by the next sync. Its description stays Keyward's.
func virtualKeyPatch(o *keyward.Object, in ObjectPatch) error {
	if o.Cloud == nil {
		return nil
	}
	switch {
	case in.Tags != nil:
		return keyward.Invalid("tags", "%q is a virtual key: its tags are its Azure key version's; set them with keyward azure key tag (POST /v1/keys/{id}/azure/tags)", o.Name)
	case in.Name != nil && *in.Name != o.Name:
		return keyward.Invalid("name", "%q is a virtual key: it is named after its Azure key and version", o.Name)
	case in.Ops != nil:
		return keyward.Invalid("ops", "%q is a virtual key: its operations are its Azure key's", o.Name)
	case in.ActivationDate != nil || in.DeactivationDate != nil:
		return keyward.Invalid("activation_date", "%q is a virtual key: its dates are its Azure key's", o.Name)
	}
	return nil
}

// virtualKeyTransition sends activation and deactivation of a virtual key to Azure, where
// they take effect; marking one compromised stays Keyward's.
func virtualKeyTransition(o *keyward.Object, t Transition) error {
	if o.Cloud == nil || t == Compromise {
		return nil
	}
	return keyward.Errorf(keyward.EPRECONDITION, "%q is a virtual key: %s it in Azure with keyward azure key %s (POST /v1/keys/{id}/azure/%s)", o.Name, t, t, t)
}
