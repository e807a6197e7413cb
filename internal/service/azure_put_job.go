package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// putCheckpoint is what a put job records between its steps.
type putCheckpoint struct {
	// KEK is the name of a key-exchange key this job is about to create, or created, in
	// the vault. It is written before the create is sent and cleared once the key is
	// deleted, so an attempt that finds it set deletes that key before anything else.
	KEK string `json:"kek,omitempty"`
	// KEKsRemoved counts the key-exchange keys deleted, by any attempt.
	KEKsRemoved int `json:"keks_removed,omitempty"`
}

// PutResult is what a put job made.
type PutResult struct {
	ObjectID       string `json:"key"`        // the virtual key
	Name           string `json:"name"`       // its name in Keyward
	AzureName      string `json:"azure_name"` // the Azure key's name
	Version        string `json:"version"`
	KID            string `json:"kid"`
	KeyType        string `json:"kty"`
	Protection     string `json:"protection"`
	BYOK           bool   `json:"byok,omitempty"` // imported as a BYOK transfer blob
	SourceObjectID string `json:"source_key,omitempty"`
	// Resumed says an earlier attempt had made the key and this one recorded it.
	Resumed     bool `json:"resumed,omitempty"`
	KEKsRemoved int  `json:"keks_removed,omitempty"`
	// EarlierVersions counts further versions a repeated call made, recorded as older
	// versions of the key.
	EarlierVersions int `json:"earlier_versions,omitempty"`
}

// putJob is one attempt of a put job.
type putJob struct {
	s    *Service
	run  *jobs.Run
	job  keyward.Job
	p    putParams
	cp   putCheckpoint
	v    keyward.CloudVault
	link *keyward.AzureLink
}

func (s *Service) runPut(ctx context.Context, run *jobs.Run) error {
	pj := &putJob{s: s, run: run, job: run.Job()}
	if err := run.Params(&pj.p); err != nil {
		return err
	}
	if _, err := run.Checkpoint(&pj.cp); err != nil {
		return err
	}
	var err error
	if pj.v, pj.link, err = s.vaultOf(ctx, pj.job.AccountID, pj.job.GroupID); err != nil {
		return pj.fail(jobErr(err))
	}
	// What an earlier attempt left goes first, even when the job is being cancelled.
	if pj.cp.KEK != "" {
		if err := pj.dropKEK(ctx); err != nil {
			return pj.fail(err)
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	ck, resumed, err := pj.own(ctx)
	if err != nil {
		return pj.fail(err)
	}
	if ck == nil {
		ck, err = pj.put(ctx)
		var kekErr error
		if pj.cp.KEK != "" { // the import is over, either way: the key-exchange key goes now
			kekErr = pj.dropKEK(ctx)
		}
		switch {
		case err != nil && kekErr != nil && !jobs.IsPermanent(kekErr):
			return pj.fail(kekErr) // try again, if only to delete the key-exchange key
		case err != nil:
			if ctx.Err() != nil {
				pj.recordIfMade(ctx) // cancelled or stopping: Azure may have done it all the same
			}
			return pj.fail(err)
		case kekErr != nil:
			// The key is made: record it now; the next attempt deletes the exchange key
			// and finds the key recorded.
			if _, rerr := pj.record(ctx, ck, false); rerr != nil { // earlier versions: next attempt
				return pj.fail(rerr)
			}
			return pj.fail(kekErr)
		}
	}
	// The key is in the vault: from here on the work goes on even if the job is being
	// cancelled, so that the key is recorded.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	extra, verr := pj.earlierVersions(lctx, ck)
	res, err := pj.record(ctx, ck, resumed, extra...)
	if err != nil {
		return pj.fail(err)
	}
	if verr != nil {
		return pj.fail(verr) // the next attempt adopts the key and looks again
	}
	run.Log(keyward.LogInfo, fmt.Sprintf("Azure key %s version %s is the virtual key %q", ck.Name, ck.Version, res.Name),
		fmt.Sprintf("%s, %s protection%s", ck.KeyType, res.Protection, map[bool]string{true: ", BYOK transfer", false: ""}[res.BYOK]))
	return run.SetResult(res)
}

// recordIfMade records the key if Azure made it although the attempt was cut short, so
// that a cancelled job leaves no key in the vault that Keyward does not show.
func (pj *putJob) recordIfMade(ctx context.Context) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	ck, _, err := pj.own(lctx)
	if err != nil || ck == nil {
		return
	}
	if _, err := pj.record(lctx, ck, true); err != nil {
		pj.run.Log(keyward.LogWarn, "Could not record the key "+ck.Name+" Azure made before the job stopped", keyward.ErrorMessage(err))
	}
}

// own looks for the key an earlier attempt of this job made (its tag names the job). A
// name taken by any other key is refused: a put makes a new key, never a version of
// someone else's.
func (pj *putJob) own(ctx context.Context) (*keyward.CloudKey, bool, error) {
	ck, err := pj.v.GetKey(ctx, pj.p.Name, "")
	switch {
	case keyward.IsCode(err, keyward.ENOTFOUND):
		return nil, false, nil
	case err != nil:
		return nil, false, jobErr(err)
	case ck.Tags[jobTag] == pj.job.ID:
		pj.run.Log(keyward.LogInfo, "Found the key "+pj.p.Name+" an earlier attempt made", "version "+ck.Version)
		return ck, true, nil
	}
	return nil, false, jobs.Permanent(keyward.Errorf(keyward.ECONFLICT,
		"the vault %s already has a key named %q that Keyward did not make in this job: choose another name", pj.link.Vault.Name, pj.p.Name))
}

func (pj *putJob) tags() map[string]string {
	t := maps.Clone(pj.p.Tags)
	if t == nil {
		t = map[string]string{}
	}
	t[jobTag] = pj.job.ID
	return t
}

// put makes the key in the vault: generates it, or imports the material.
func (pj *putJob) put(ctx context.Context) (*keyward.CloudKey, error) {
	p := &pj.p
	if pj.job.Kind == KindAzureKeyGenerate {
		pj.run.Progress(1, 2, "generating "+p.Name+" in the vault")
		ck, err := pj.v.CreateKey(ctx, p.Name, keyward.CloudKeySpec{KeyType: p.KeyType, Size: p.Size, Curve: p.Curve, Ops: p.Ops,
			Enabled: true, NotBefore: p.NotBefore, Expires: p.Expires, Tags: pj.tags()})
		return ck, jobErr(err)
	}
	key, err := pj.material(ctx)
	if err != nil {
		return nil, err
	}
	defer key.Destroy()
	imp := keyward.CloudImport{Ops: p.Ops, Enabled: true, NotBefore: p.NotBefore, Expires: p.Expires, Tags: pj.tags()}
	if !p.BYOK {
		pj.run.Progress(1, 2, "importing "+p.Name+" over TLS")
		if imp.JWK, err = key.AzureJWK(); err != nil {
			return nil, jobs.Permanent(keyward.Errorf(keyward.EINVALID, "the key cannot go into Azure: %v", err))
		}
		defer clear(imp.JWK)
		ck, err := pj.v.ImportKey(ctx, p.Name, imp)
		return ck, jobErr(err)
	}
	blob, err := pj.transferBlob(ctx, key)
	if err != nil {
		return nil, err
	}
	imp.BYOK, imp.KeyType, imp.Curve, imp.HSM = blob, p.KeyType, p.Curve, true
	pj.run.Progress(3, 4, "importing the BYOK transfer blob as "+p.Name)
	ck, err := pj.v.ImportKey(ctx, p.Name, imp)
	return ck, jobErr(err)
}

// material opens the key to import: an import's sealed job secret, or a copy's source.
func (pj *putJob) material(ctx context.Context) (*kcrypto.Key, error) {
	s, j := pj.s, pj.job
	var key *kcrypto.Key
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		if j.Kind == KindAzureKeyImport {
			blob, err := tx.JobSecret(j.AccountID, j.ID)
			if keyward.IsCode(err, keyward.ENOTFOUND) {
				return jobs.Permanent(keyward.Errorf(keyward.EPRECONDITION, "the key material of this import is gone: import the file again"))
			}
			if err != nil {
				return err
			}
			raw, err := s.sealer.Open(blob, seal.Bind("job-secret", j.ID))
			if err != nil {
				return fmt.Errorf("job %s secret: %w", j.ID, err)
			}
			defer clear(raw)
			kt, err := kcrypto.ParseKeyType(pj.p.MaterialType)
			if err != nil {
				return jobs.Permanent(err)
			}
			key, err = kcrypto.Unmarshal(kt, raw)
			return err
		}
		src, err := tx.GetObject(j.AccountID, pj.p.Source)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return jobs.Permanent(keyward.Errorf(keyward.EPRECONDITION, "the source key %s is gone", pj.p.Source))
		}
		if err != nil {
			return err
		}
		// The source may have changed since the request: it must still permit EXPORT.
		if err := src.CheckUse(keyward.OpExport, s.clock.Now()); err != nil {
			return jobs.Permanent(err)
		}
		if err := refuseCopyUnderQuorum(tx, src); err != nil {
			return jobs.Permanent(err) // its group came to hold exports since the request
		}
		if key, err = s.openObject(tx, src); keyward.ErrorCode(err) == keyward.EPRECONDITION {
			err = jobs.Permanent(err)
		}
		return err
	})
	return key, err
}

// transferBlob creates a key-exchange key in the vault, recording its name first, and
// wraps key under it inside Keyward (CKM_RSA_AES_KEY_WRAP): the BYOK transfer blob.
func (pj *putJob) transferBlob(ctx context.Context, key *kcrypto.Key) ([]byte, error) {
	pj.sweepKEKs(ctx)
	pj.cp.KEK = kekNameFor(pj.job)
	if err := pj.run.SaveCheckpoint(pj.cp); err != nil {
		return nil, err
	}
	pj.run.Progress(1, 4, "creating the key-exchange key "+pj.cp.KEK+" and wrapping the key inside Keyward")
	blob, kid, err := makeTransfer(ctx, pj.v, pj.cp.KEK, map[string]string{jobTag: pj.job.ID, "purpose": "BYOK key-exchange key, deleted after the import"}, key)
	if err != nil {
		if kid == "" {
			return nil, jobErr(err)
		}
		return nil, jobs.Permanent(err)
	}
	pj.run.Log(keyward.LogInfo, "Created the key-exchange key "+pj.cp.KEK+" for a BYOK import", kid)
	return blob, nil
}

// sweepKEKs deletes key-exchange keys that jobs of this account left in the vault and can
// no longer remove themselves: a job whose runner died during its last attempt ends
// without running its handler again. Only keys of jobs that have ended are touched; keys
// of running jobs, and of jobs Keyward does not know (another account or installation
// sharing the vault), stay. It works best effort: a failure is logged, not returned.
func (pj *putJob) sweepKEKs(ctx context.Context) {
	var stale []string
	err := pj.v.ListKeys(ctx, func(it keyward.CloudKeyItem) error {
		id, ok := kekJob(it.Name)
		if !ok || id == pj.job.ID {
			return nil
		}
		return pj.s.store.View(ctx, func(tx keyward.Tx) error {
			j, err := tx.GetJob(pj.job.AccountID, id)
			if keyward.IsCode(err, keyward.ENOTFOUND) {
				return nil
			}
			if err == nil && j.State.Ended() {
				stale = append(stale, it.Name)
			}
			return err
		})
	})
	if err != nil {
		pj.run.Log(keyward.LogWarn, "Could not look for key-exchange keys left by ended jobs", keyward.ErrorMessage(err))
		return
	}
	for _, name := range stale {
		sweep := &putJob{s: pj.s, run: pj.run, job: pj.job, v: pj.v, link: pj.link, cp: putCheckpoint{KEK: name}}
		if err := sweep.removeKEK(ctx); err != nil {
			pj.run.Log(keyward.LogWarn, "Could not delete the key-exchange key "+name+" an ended job left", keyward.ErrorMessage(err))
			continue
		}
		pj.run.Log(keyward.LogInfo, "Deleted the key-exchange key "+name+" an ended job left", "")
	}
}

// kekJob returns the job id in a key-exchange key's name.
func kekJob(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, kekPrefix)
	if !ok || len(rest) < 33 || rest[32] != '-' {
		return "", false
	}
	h := rest[:32]
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}

// dropKEK deletes (and, where the vault allows, purges) the key-exchange key named in the
// checkpoint, then clears it there. It works on even when the job is being cancelled.
func (pj *putJob) dropKEK(ctx context.Context) error {
	name := pj.cp.KEK
	if err := pj.removeKEK(ctx); err != nil {
		return err
	}
	pj.cp.KEK = ""
	pj.cp.KEKsRemoved++
	if err := pj.run.SaveCheckpoint(pj.cp); err != nil {
		return err
	}
	pj.run.Log(keyward.LogInfo, "Deleted the key-exchange key "+name, "")
	return nil
}

// removeKEK deletes the key-exchange key pj.cp.KEK and purges it where the vault allows.
func (pj *putJob) removeKEK(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	name := pj.cp.KEK
	deleted, purged, err := deleteKEK(ctx, pj.v, pj.link.Vault, name)
	if err != nil {
		pj.run.Log(keyward.LogWarn, "Could not remove the key-exchange key "+name, keyward.ErrorMessage(err))
		return jobErr(err)
	}
	if deleted && !purged && !pj.link.Vault.PurgeProtection {
		pj.run.Log(keyward.LogWarn, "The key-exchange key "+name+" is deleted but the vault refused to purge it", "")
	}
	return nil
}

// earlierVersions finds the other versions of the name this job made: when Azure did a
// create or import whose answer was lost, the connector's retry made one more, and both
// carry the job's tag. They are recorded too (as older versions), so that none is lost
// and none is later taken by a sync for a key born in Azure.
func (pj *putJob) earlierVersions(ctx context.Context, ck *keyward.CloudKey) ([]keyward.CloudKey, error) {
	var mine []string
	err := pj.v.ListVersions(ctx, ck.Name, func(v keyward.CloudKey) error {
		if v.Version != ck.Version && v.Tags[jobTag] == pj.job.ID {
			mine = append(mine, v.Version)
		}
		return nil
	})
	if err != nil {
		return nil, jobErr(err)
	}
	var out []keyward.CloudKey
	for _, version := range mine {
		full, err := pj.v.GetKey(ctx, ck.Name, version) // the listing has no kty or public part
		if err != nil {
			return nil, jobErr(err)
		}
		out = append(out, *full)
	}
	if len(out) > 0 {
		pj.run.Log(keyward.LogWarn, fmt.Sprintf("Azure made %d more version(s) of %s for this job (an answer was lost and the call repeated); they are recorded as older versions", len(out), ck.Name), "")
	}
	return out, nil
}

// record writes the new version as a virtual key (once: a repeat finds it), with a copy's
// links and name, drops an import's material, and audits it, in one transaction.
func (pj *putJob) record(ctx context.Context, ck *keyward.CloudKey, resumed bool, earlier ...keyward.CloudKey) (*PutResult, error) {
	s, j, p, link := pj.s, pj.job, &pj.p, pj.link
	src := cloudSource{Source: SourceAzure, Actor: j.CreatedBy}
	action, verb := ActAzureKeyGenerate, "generated"
	switch j.Kind {
	case KindAzureKeyImport:
		src.Source, src.Origin, action, verb = SourceKeyward, "imported", ActAzureKeyImport, "imported"
	case KindAzureKeyCopy:
		src.Source, src.ObjectID, action, verb = SourceKeyward, p.Source, ActAzureKeyCopy, "copied"
	}
	res := &PutResult{AzureName: ck.Name, Version: ck.Version, KID: ck.KID, KeyType: ck.KeyType, Protection: protection(ck.KeyType),
		BYOK: p.BYOK && j.Kind != KindAzureKeyGenerate, SourceObjectID: p.Source, Resumed: resumed, KEKsRemoved: pj.cp.KEKsRemoved,
		EarlierVersions: len(earlier)}
	// Once the key is in the vault it is recorded, even when the job is being cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	err := s.store.Update(ctx, func(tx keyward.Tx) error {
		for i := range earlier {
			if _, _, err := s.putVirtualKey(tx, link, &earlier[i], false, src); err != nil {
				return err
			}
		}
		o, isNew, err := s.putVirtualKey(tx, link, ck, true, src)
		if err != nil {
			return err
		}
		if p.ObjectName != "" && o.Name != p.ObjectName {
			if other, err := tx.GetObjectByName(j.AccountID, p.ObjectName); keyward.IsCode(err, keyward.ENOTFOUND) {
				o.Name = p.ObjectName
				if err := tx.UpdateObject(o); err != nil {
					return err
				}
			} else if err != nil {
				return err
			} else if other.ID != o.ID {
				pj.run.Log(keyward.LogWarn, fmt.Sprintf("The name %q was taken meanwhile; the copy is named %q", p.ObjectName, o.Name), "")
			}
		}
		res.ObjectID, res.Name = o.ID, o.Name
		if err := tx.DeleteJobSecret(j.AccountID, j.ID); err != nil {
			return err
		}
		if !isNew {
			return nil
		}
		if j.Kind == KindAzureKeyCopy {
			if err := tx.CreateLink(&keyward.Link{ID: newID(), AccountID: j.AccountID, Kind: keyward.LinkCopy, SourceID: p.Source,
				TargetID: o.ID, TargetGroup: link.GroupID, CreatedAt: s.clock.Now(), CreatedBy: j.CreatedBy}); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("job %s: %s %s key %q version %s in %s as %q", j.ID, verb, ck.KeyType, ck.Name, ck.Version, link.Vault.Name, o.Name)
		if res.BYOK {
			detail += " (BYOK transfer blob)"
		}
		if len(earlier) > 0 {
			detail += fmt.Sprintf(", with %d earlier version(s) a repeated call made", len(earlier))
		}
		if p.Source != "" {
			detail += " from object " + p.Source
		}
		return audit.Append(tx, keyward.AuditRecord{AccountID: j.AccountID, Time: s.clock.Now(), Actor: j.CreatedBy, Action: action,
			Target: "object:" + o.ID, Outcome: keyward.OutcomeSuccess, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// fail audits the end of a job that will not be tried again, and returns err.
func (pj *putJob) fail(err error) error {
	if err == nil || errors.Is(err, jobs.ErrCancelRequested) || errors.Is(err, jobs.ErrStopping) || errors.Is(err, context.Canceled) {
		return err
	}
	if !jobs.IsPermanent(err) && pj.job.Attempts < pj.job.MaxAttempts {
		return err
	}
	j := pj.job
	action := map[string]keyward.Action{KindAzureKeyGenerate: ActAzureKeyGenerate, KindAzureKeyImport: ActAzureKeyImport, KindAzureKeyCopy: ActAzureKeyCopy}[j.Kind]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	aerr := pj.s.store.Update(ctx, func(tx keyward.Tx) error {
		return audit.Append(tx, keyward.AuditRecord{AccountID: j.AccountID, Time: pj.s.clock.Now(), Actor: j.CreatedBy, Action: action,
			Target: "group:" + j.GroupID, Outcome: keyward.OutcomeFailure, Detail: fmt.Sprintf("job %s: %q: %s", j.ID, pj.p.Name, keyward.ErrorMessage(err))})
	})
	if aerr != nil {
		pj.s.log.Error("audit a failed Azure put", "job", j.ID, "err", aerr)
	}
	return err
}
