package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// A Keyward key's Azure copies are the current virtual keys whose material came from it
// (CloudRef.SourceObjectID). Rotating the key can rotate the chosen copies too: each gets
// the new material as a new version of its Azure key, by a job of its own.

// AllAzureCopies chooses every live Azure copy of a key.
const AllAzureCopies = "all"

// AzureCopies lists the live Azure copies of a Keyward key that the caller may see: the
// current versions, not soft-deleted or purged, in every Azure group of the account.
func (s *Service) AzureCopies(ctx context.Context, p keyward.Principal, ref string) (*keyward.Object, []keyward.Object, error) {
	var src *keyward.Object
	var out []keyward.Object
	err := s.read(ctx, p, ActObjectRead, "object:"+ref, func(tx keyward.Tx) error {
		var err error
		if src, err = loadObject(tx, p, ref, ActObjectRead); err != nil {
			return err
		}
		out, err = azureCopies(tx, p, src.ID)
		return err
	})
	return src, out, err
}

// azureCopies finds the copies by walking the account's Azure groups (a handful) that the
// caller has a part in.
func azureCopies(tx keyward.Tx, p keyward.Principal, sourceID string) ([]keyward.Object, error) {
	links, err := tx.ListAzureLinks(p.AccountID)
	if err != nil {
		return nil, err
	}
	out := []keyward.Object{}
	for _, l := range links {
		if err := authorize(tx, p, ActObjectRead, l.GroupID); err != nil {
			continue
		}
		vs, err := tx.ListCloudObjects(p.AccountID, l.GroupID, "")
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			c := v.Cloud
			if c.SourceObjectID == sourceID && c.Current && (c.State == keyward.CloudEnabled || c.State == keyward.CloudDisabled) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// RotatedWithCopies is a rotation with the jobs that rotate the chosen Azure copies.
type RotatedWithCopies struct {
	Rotated
	Jobs []keyward.Job
}

// RotateObjectAndCopies rotates a Keyward key like RotateObject and, in the same
// transaction, enqueues a rotation of each chosen Azure copy (ids or names of its virtual
// keys, or "all") to the new key's material.
func (s *Service) RotateObjectAndCopies(ctx context.Context, p keyward.Principal, ref string, deactivateOld bool, copies []string) (*RotatedWithCopies, error) {
	if len(copies) == 0 {
		r, err := s.RotateObject(ctx, p, ref, deactivateOld)
		if err != nil {
			return nil, err
		}
		return &RotatedWithCopies{Rotated: *r}, nil
	}
	var out RotatedWithCopies
	err := s.changeAndStart(ctx, p, ActObjectRotate, "object:"+ref, func(tx keyward.Tx, op *op) error {
		r, err := s.rotateInTx(tx, p, op, ref, deactivateOld)
		if err != nil {
			return err
		}
		out.Rotated = *r
		chosen, err := chooseCopies(tx, p, r.Old.ID, copies)
		if err != nil {
			return err
		}
		for i := range chosen {
			j, err := s.enqueueCopyRotation(tx, p, RequestID(ctx), &chosen[i], r.New)
			if err != nil {
				return err
			}
			out.Jobs = append(out.Jobs, *j)
		}
		op.detail += fmt.Sprintf("; %d Azure copies to rotate", len(out.Jobs))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// chooseCopies resolves the chosen copies of a key; every one named must be a live copy.
func chooseCopies(tx keyward.Tx, p keyward.Principal, sourceID string, refs []string) ([]keyward.Object, error) {
	all, err := azureCopies(tx, p, sourceID)
	if err != nil {
		return nil, err
	}
	if slices.Contains(refs, AllAzureCopies) {
		if len(refs) > 1 {
			return nil, keyward.Invalid("azure_copies", "%q stands alone: name the copies or say all", AllAzureCopies)
		}
		return all, nil
	}
	var out []keyward.Object
	for i, ref := range refs {
		k := slices.IndexFunc(all, func(o keyward.Object) bool { return o.ID == ref || o.Name == ref })
		if k < 0 {
			return nil, keyward.Invalid(fmt.Sprintf("azure_copies[%d]", i), "%q is not a live Azure copy of this key (list them with keyward azure key copies)", ref)
		}
		if !slices.ContainsFunc(out, func(o keyward.Object) bool { return o.ID == all[k].ID }) {
			out = append(out, all[k])
		}
	}
	return out, nil
}

// enqueueCopyRotation enqueues the rotation of one copy to the new key, audited as a
// request of its own.
func (s *Service) enqueueCopyRotation(tx keyward.Tx, p keyward.Principal, requestID string, cp *keyward.Object, nw *keyward.Object) (*keyward.Job, error) {
	t, err := loadVirtualKey(tx, p, cp.ID, ActAzureKeyRotate)
	if err != nil {
		return nil, err
	}
	if err := checkSourceKey("azure_copies", nw, t.obj, s.clock); err != nil {
		return nil, err
	}
	if err := refuseCopyUnderQuorum(tx, nw); err != nil {
		return nil, err
	}
	c := t.obj.Cloud
	if err := keyBusy(tx, p.AccountID, t.obj.GroupID, c.KeyName); err != nil {
		return nil, err
	}
	title := fmt.Sprintf("Rotate Azure copy %s in %s to Keyward key %q", c.KeyName, t.link.Vault.Name, nw.Name)
	prm := azureKeyParams{ObjectID: t.obj.ID, KeyName: c.KeyName, FromObjectID: nw.ID}
	j, err := s.enqueueJob(tx, p, jobs.Spec{GroupID: t.obj.GroupID, Kind: string(ActAzureKeyRotate), Title: title, Params: prm})
	if err != nil {
		return nil, err
	}
	return j, audit.Append(tx, keyward.AuditRecord{AccountID: p.AccountID, Time: s.clock.Now(), Actor: p.Actor(), ActorName: p.Name,
		Action: ActAzureKeyRotate, Target: "object:" + t.obj.ID, Outcome: keyward.OutcomeSuccess, RequestID: requestID, Detail: fmt.Sprintf("%s (job %s)", title, j.ID)})
}
