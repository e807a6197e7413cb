package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
)

// A rotation policy rotates a Keyward key on a schedule, as its owner would by hand: new
// material under the same name, the old key optionally deactivated, and optionally every
// live Azure copy given the new material. The policy belongs to the key's name, which a
// rotation moves to the new key, so one policy keeps rotating the key in service. Each run
// acts as the user (or application) who set the policy, with the rights they have then.

// ActRotationPolicy sets or removes a key's rotation policy.
const ActRotationPolicy keyward.Action = "object.rotation_policy"

// KindKeyRotate is a scheduled rotation.
const KindKeyRotate = "key.rotate"

func init() {
	keyward.RegisterAction(ActRotationPolicy, false, true, true)
	jobKinds = append(jobKinds, func(s *Service) jobs.Kind {
		return jobs.Kind{Name: KindKeyRotate, Handler: s.runScheduledRotation, MaxAttempts: 3}
	})
}

// RotationPolicyInput is when and how a key rotates on its own.
type RotationPolicyInput struct {
	Rule          string    // "every 90d", "monthly 1 02:30", ... (UTC)
	StartAt       time.Time // no run before; intervals count from it (zero: now)
	DeactivateOld bool      // deactivate the replaced key in the same step
	AzureCopies   bool      // give every live Azure copy the new material
	Disabled      bool
}

// rotateParams are a scheduled rotation's parameters.
type rotateParams struct {
	Name          string `json:"name"` // the key's name in its group's account
	DeactivateOld bool   `json:"deactivate_old,omitempty"`
	AzureCopies   bool   `json:"azure_copies,omitempty"`
}

// RotationPolicy is a key's policy: its schedule and what each run does.
type RotationPolicy struct {
	Schedule      *keyward.Schedule
	DeactivateOld bool
	AzureCopies   bool
}

// SetRotationPolicy makes a key rotate on a schedule, replacing the policy it had.
func (s *Service) SetRotationPolicy(ctx context.Context, p keyward.Principal, ref string, in RotationPolicyInput) (*RotationPolicy, error) {
	rule, err := keyward.ParseScheduleRule("rule", in.Rule)
	if err != nil {
		return nil, err
	}
	var out *RotationPolicy
	err = s.change(ctx, p, ActRotationPolicy, "object:"+ref, func(tx keyward.Tx, o *op) error {
		obj, err := loadObject(tx, p, ref, ActObjectRotate)
		if err != nil {
			return err
		}
		o.target = "object:" + obj.ID
		if obj.Cloud != nil {
			return keyward.Errorf(keyward.EPRECONDITION, "%q is a virtual key: Azure rotates it (keyward azure key rotate), and its source key's policy rotates a copy", obj.Name)
		}
		if err := rotatable(obj); err != nil {
			return err
		}
		if old, err := rotationScheduleOf(tx, obj); err != nil {
			return err
		} else if old != nil {
			if err := tx.DeleteSchedule(obj.AccountID, old.ID); err != nil {
				return err
			}
		}
		prm := rotateParams{Name: obj.Name, DeactivateOld: in.DeactivateOld, AzureCopies: in.AzureCopies}
		sc, err := s.jobs.CreateSchedule(tx, jobs.ScheduleSpec{Rule: rule, Disabled: in.Disabled,
			Job: jobs.Spec{AccountID: p.AccountID, CreatedBy: p.Actor(), GroupID: obj.GroupID, Kind: KindKeyRotate,
				Title: "Scheduled rotation of " + obj.Name, Params: prm, RunAt: in.StartAt}})
		if err != nil {
			return err
		}
		out = &RotationPolicy{Schedule: sc, DeactivateOld: in.DeactivateOld, AzureCopies: in.AzureCopies}
		o.detail = fmt.Sprintf("rotate %s, next at %s%s", rule, sc.NextRunAt.UTC().Format(time.RFC3339), policyExtras(prm))
		return nil
	})
	return out, err
}

func policyExtras(prm rotateParams) string {
	var x []string
	if prm.DeactivateOld {
		x = append(x, "deactivating the old key")
	}
	if prm.AzureCopies {
		x = append(x, "with its Azure copies")
	}
	if len(x) == 0 {
		return ""
	}
	return ", " + strings.Join(x, ", ")
}

// GetRotationPolicy returns a key's rotation policy; ENOTFOUND when it has none.
func (s *Service) GetRotationPolicy(ctx context.Context, p keyward.Principal, ref string) (*RotationPolicy, error) {
	var out *RotationPolicy
	err := s.read(ctx, p, ActObjectRead, "object:"+ref, func(tx keyward.Tx) error {
		obj, err := loadObject(tx, p, ref, ActObjectRead)
		if err != nil {
			return err
		}
		sc, err := rotationScheduleOf(tx, obj)
		if err != nil {
			return err
		}
		if sc == nil {
			return keyward.Errorf(keyward.ENOTFOUND, "%q rotates only when asked: it has no rotation policy", obj.Name)
		}
		var prm rotateParams
		if err := json.Unmarshal(sc.Params, &prm); err != nil {
			return err
		}
		out = &RotationPolicy{Schedule: sc, DeactivateOld: prm.DeactivateOld, AzureCopies: prm.AzureCopies}
		return nil
	})
	return out, err
}

// DeleteRotationPolicy stops a key's scheduled rotations; past jobs stay.
func (s *Service) DeleteRotationPolicy(ctx context.Context, p keyward.Principal, ref string) error {
	return s.change(ctx, p, ActRotationPolicy, "object:"+ref, func(tx keyward.Tx, o *op) error {
		obj, err := loadObject(tx, p, ref, ActObjectRotate)
		if err != nil {
			return err
		}
		o.target = "object:" + obj.ID
		sc, err := rotationScheduleOf(tx, obj)
		if err != nil {
			return err
		}
		if sc == nil {
			return keyward.Errorf(keyward.ENOTFOUND, "%q has no rotation policy", obj.Name)
		}
		o.detail = "rotation policy removed (" + sc.Rule.String() + ")"
		return tx.DeleteSchedule(obj.AccountID, sc.ID)
	})
}

// rotationScheduleOf finds the schedule that rotates the key named as obj is, or nil.
func rotationScheduleOf(tx keyward.Tx, obj *keyward.Object) (*keyward.Schedule, error) {
	return findSchedule(tx, obj.AccountID, obj.GroupID, func(sc *keyward.Schedule) bool {
		var prm rotateParams
		return sc.Kind == KindKeyRotate && json.Unmarshal(sc.Params, &prm) == nil && prm.Name == obj.Name
	})
}

// renameRotationPolicy moves a key's policy to its new name, so that a rename keeps it.
func renameRotationPolicy(tx keyward.Tx, obj *keyward.Object, oldName string) error {
	renamed := *obj
	renamed.Name = oldName
	sc, err := rotationScheduleOf(tx, &renamed)
	if err != nil || sc == nil {
		return err
	}
	var prm rotateParams
	if err := json.Unmarshal(sc.Params, &prm); err != nil {
		return err
	}
	prm.Name = obj.Name
	if sc.Params, err = json.Marshal(prm); err != nil {
		return err
	}
	sc.Title = "Scheduled rotation of " + obj.Name
	return tx.UpdateSchedule(sc)
}

// runScheduledRotation rotates the key as the policy's owner. A key already rotated since
// this run was due (by hand, or by an attempt whose end was lost) is not rotated again.
func (s *Service) runScheduledRotation(ctx context.Context, run *jobs.Run) error {
	j := run.Job()
	var prm rotateParams
	if err := run.Params(&prm); err != nil {
		return jobs.Permanent(err)
	}
	var p keyward.Principal
	var current *keyward.Object
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		owner := j.CreatedBy // a run the scheduler made acts as whoever set the policy
		if j.ScheduleID != "" {
			sc, err := tx.GetSchedule(j.AccountID, j.ScheduleID)
			if err != nil {
				return err
			}
			owner = sc.CreatedBy
		}
		var err error
		if p, err = actorPrincipal(tx, j.AccountID, owner); err != nil {
			return err
		}
		current, err = tx.GetObjectByName(j.AccountID, prm.Name)
		return err
	})
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return jobs.Permanent(keyward.Errorf(keyward.ENOTFOUND, "rotate %q: the key or its policy is gone: %s", prm.Name, keyward.ErrorMessage(err)))
	}
	if err != nil {
		return jobs.Permanent(err)
	}
	if current.Origin == "rotated" && !current.CreatedAt.Before(j.CreatedAt) {
		run.Log(keyward.LogInfo, "Key "+prm.Name+" was already rotated since this run was due", "new key "+current.ID)
		return run.SetResult(map[string]string{"key": current.ID, "skipped": "already rotated"})
	}
	var copies []string
	if prm.AzureCopies {
		if _, live, err := s.AzureCopies(ctx, p, current.ID); err != nil {
			return jobs.Permanent(err)
		} else if len(live) > 0 {
			copies = []string{AllAzureCopies}
		}
	}
	res, err := s.RotateObjectAndCopies(ctx, p, current.ID, prm.DeactivateOld, copies)
	if err != nil {
		if keyward.IsCode(err, keyward.EUNAVAILABLE) {
			return err
		}
		return jobs.Permanent(err)
	}
	run.Log(keyward.LogInfo, fmt.Sprintf("Rotated %s: new key %s, old key renamed %q", prm.Name, res.New.ID, res.Old.Name),
		fmt.Sprintf("%d Azure copies to rotate", len(res.Jobs)))
	out := map[string]any{"key": res.New.ID, "replaced": res.Old.ID}
	if len(res.Jobs) > 0 {
		ids := make([]string, len(res.Jobs))
		for i := range res.Jobs {
			ids[i] = res.Jobs[i].ID
		}
		out["azure_copy_jobs"] = ids
	}
	return run.SetResult(out)
}

// actorPrincipal is the principal an actor ("user:ID" or "app:ID") is in an account now,
// with the role it has now: work done later on someone's behalf has their rights then.
func actorPrincipal(tx keyward.Tx, accountID, actor string) (keyward.Principal, error) {
	kind, id, _ := strings.Cut(actor, ":")
	switch keyward.PrincipalKind(kind) {
	case keyward.KindUser:
		u, err := tx.GetUser(id)
		if err != nil {
			return keyward.Principal{}, keyward.Errorf(keyward.EFORBIDDEN, "the policy's owner %s no longer exists: set the policy again", actor)
		}
		m, err := tx.GetAccountMember(accountID, id)
		if err != nil {
			return keyward.Principal{}, keyward.Errorf(keyward.EFORBIDDEN, "the policy's owner %s is no longer in the account: set the policy again", u.Email)
		}
		return keyward.Principal{Kind: keyward.KindUser, ID: id, Name: u.Email, AccountID: accountID, Role: m.Role}, nil
	case keyward.KindApp:
		a, err := tx.GetApp(accountID, id)
		if err != nil {
			return keyward.Principal{}, keyward.Errorf(keyward.EFORBIDDEN, "the policy's owner %s no longer exists: set the policy again", actor)
		}
		return keyward.Principal{Kind: keyward.KindApp, ID: id, Name: a.Name, AccountID: accountID}, nil
	}
	return keyward.Principal{}, keyward.Errorf(keyward.EFORBIDDEN, "a policy owned by %q cannot act: set the policy again", actor)
}
