package service

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// ExportRequest asks for an object's material, in the clear in a format, or wrapped by a
// named Keyward key.
type ExportRequest struct {
	Format        string // pem, der, jwk, raw, base64, hex (plain exports)
	KEK           string // id or name of a key that permits WRAPKEY
	WrapAlgorithm string
}

// Exported is exported material, handed to the caller once and never logged.
type Exported struct {
	Object   *keyward.Object
	Material []byte
	Format   string
	Wrapped  bool
}

// ExportObject returns an object's material. The object must permit EXPORT and its state
// allow it; the export is audited.
func (s *Service) ExportObject(ctx context.Context, p keyward.Principal, ref string, in ExportRequest) (*Exported, error) {
	var kekAlg kcrypto.Algorithm
	var format kcrypto.Format
	var err error
	if in.KEK != "" {
		if kekAlg, err = parseWrapAlg("wrap_algorithm", in.WrapAlgorithm); err != nil {
			return nil, err
		}
	} else if format, err = ParseFormat("format", in.Format); err != nil {
		return nil, err
	} else if format == kcrypto.FormatAuto {
		format = kcrypto.FormatPEM
	}
	var kek *kcrypto.Key
	var kekObj *keyward.Object
	if in.KEK != "" {
		if kekObj, kek, err = s.useKEK(ctx, p, in.KEK, keyward.OpWrapKey); err != nil {
			return nil, err
		}
		defer kek.Destroy()
	}
	out := &Exported{}
	err = s.change(ctx, p, ActObjectExport, "object:"+ref, func(tx keyward.Tx, op *op) error {
		o, err := loadObject(tx, p, ref, ActObjectExport)
		if err != nil {
			return err
		}
		op.target = "object:" + o.ID
		if err := o.CheckUse(keyward.OpExport, s.clock.Now()); err != nil {
			return err
		}
		if err := s.objectGroupGate(ctx, tx, o, ActObjectExport); err != nil {
			return err
		}
		k, err := s.openObject(tx, o)
		if err != nil {
			return err
		}
		defer k.Destroy()
		out.Object = o
		if kek != nil {
			out.Material, err = kek.WrapKey(kekAlg, k)
			out.Format, out.Wrapped = kekAlg.String(), true
			op.detail = fmt.Sprintf("exported %q wrapped by object %s with %s", o.Name, kekObj.ID, kekAlg)
		} else {
			out.Material, err = k.Export(format)
			out.Format = format.String()
			op.detail = fmt.Sprintf("exported %q as %s", o.Name, format)
		}
		if err != nil {
			return keyward.Invalid("format", "%v", err)
		}
		op.detail += underApproval(ctx)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CopyRequest copies an object into another group.
type CopyRequest struct {
	GroupID string // the target group
	Name    string // "" for the next free NAME_copyN
}

// CopyObject makes a new object in another group with the same material; the source must
// permit EXPORT. Both keep the link (copied by, when, into which group).
func (s *Service) CopyObject(ctx context.Context, p keyward.Principal, ref string, in CopyRequest) (*keyward.Object, error) {
	if in.GroupID == "" {
		return nil, keyward.Invalid("group", "is required: the group to copy into")
	}
	if in.Name != "" {
		if err := keyward.ValidateName("name", in.Name); err != nil {
			return nil, err
		}
	}
	var cp *keyward.Object
	err := s.change(ctx, p, ActObjectCopy, "object:"+ref, func(tx keyward.Tx, op *op) error {
		src, err := loadObject(tx, p, ref, ActObjectCopy)
		if err != nil {
			return err
		}
		if err := refuseCopyUnderQuorum(tx, src); err != nil {
			return err
		}
		op.target = "object:" + src.ID
		if err := src.CheckUse(keyward.OpExport, s.clock.Now()); err != nil {
			return err // a copy takes the material out of the source: it needs EXPORT
		}
		target, err := resolveGroup(tx, p.AccountID, in.GroupID)
		if err != nil {
			return err
		}
		if target.ID == src.GroupID {
			return keyward.Invalid("group", "the copy must go into another group")
		}
		k, err := s.openObject(tx, src)
		if err != nil {
			return err
		}
		defer k.Destroy()
		name := in.Name
		if name == "" {
			if name, err = nextCopyName(tx, p.AccountID, src.Name); err != nil {
				return err
			}
		}
		sp := ObjectSpec{GroupID: target.ID, Name: name, Description: src.Description, Ops: src.Ops, Tags: src.Tags}
		var sealed []byte
		if cp, sealed, err = s.newObject(p, sp, k, "copied"); err != nil {
			return err
		}
		if err := s.insertObject(tx, p, cp, sealed); err != nil {
			return err
		}
		op.detail = fmt.Sprintf("copied %q into group %s as %q (object %s)", src.Name, target.ID, name, cp.ID)
		return tx.CreateLink(&keyward.Link{ID: newID(), AccountID: p.AccountID, Kind: keyward.LinkCopy, SourceID: src.ID,
			TargetID: cp.ID, TargetGroup: target.ID, CreatedAt: cp.CreatedAt, CreatedBy: p.Actor()})
	})
	return cp, err
}

// NextCopyName is the suggested name of a copy: NAME_copy1, NAME_copy2, ... the first free.
func (s *Service) NextCopyName(ctx context.Context, p keyward.Principal, name string) (string, error) {
	var out string
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		var err error
		out, err = nextCopyName(tx, p.AccountID, name)
		return err
	})
	return out, err
}

func nextCopyName(tx keyward.Tx, accountID, name string) (string, error) {
	prefix := name + "_copy"
	names, err := tx.ObjectNamesWithPrefix(accountID, prefix)
	if err != nil {
		return "", err
	}
	used := map[int]bool{}
	for _, n := range names {
		if i, err := strconv.Atoi(strings.TrimPrefix(n, prefix)); err == nil && i > 0 {
			used[i] = true
		}
	}
	for i := 1; ; i++ {
		if !used[i] {
			return prefix + strconv.Itoa(i), nil
		}
	}
}

// Rotated is the result of a rotation.
type Rotated struct {
	New, Old *keyward.Object
}

// RotateObject replaces an object with new material of the same type: the new object takes
// the name, group, operations and tags; the old one is renamed "NAME (rotated TIME)", keeps
// a link to its replacement and is deactivated in the same call when asked.
func (s *Service) RotateObject(ctx context.Context, p keyward.Principal, ref string, deactivateOld bool) (*Rotated, error) {
	var res *Rotated
	err := s.change(ctx, p, ActObjectRotate, "object:"+ref, func(tx keyward.Tx, op *op) error {
		var err error
		res, err = s.rotateInTx(tx, p, op, ref, deactivateOld)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// rotateInTx is RotateObject's work in tx, for use cases that do more in the same
// transaction (rotating the key's Azure copies).
func (s *Service) rotateInTx(tx keyward.Tx, p keyward.Principal, op *op, ref string, deactivateOld bool) (*Rotated, error) {
	var res Rotated
	err := func() error {
		old, err := loadObject(tx, p, ref, ActObjectRotate)
		if err != nil {
			return err
		}
		op.target = "object:" + old.ID
		if err := rotatable(old); err != nil {
			return err
		}
		k, err := kcrypto.Generate(specOf(old))
		if err != nil {
			return err
		}
		defer k.Destroy()
		sp := ObjectSpec{GroupID: old.GroupID, Name: old.Name, Description: old.Description, Ops: old.Ops, Tags: old.Tags}
		// The new key keeps the old one's cryptoperiod, counted from now, so that a group
		// that requires deactivation dates can rotate its keys.
		if !old.DeactivationDate.IsZero() {
			from := old.ActivationDate
			if from.IsZero() {
				from = old.CreatedAt
			}
			if life := old.DeactivationDate.Sub(from); life > 0 {
				sp.DeactivationDate = s.clock.Now().Add(life)
			}
		}
		nw, sealed, err := s.newObject(p, sp, k, "rotated")
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if old.Name, err = rotatedName(tx, p.AccountID, old.Name, now); err != nil {
			return err
		}
		old.UpdatedAt = now
		if deactivateOld {
			if err := s.transition(old, Deactivate); err != nil {
				return err
			}
		}
		// The old object gives up the name before the new one takes it.
		if err := tx.UpdateObject(old); err != nil {
			return err
		}
		if err := s.insertObject(tx, p, nw, sealed); err != nil {
			return err
		}
		res = Rotated{New: nw, Old: old}
		op.detail = fmt.Sprintf("rotated %q: new object %s; old object renamed %q", nw.Name, nw.ID, old.Name)
		if deactivateOld {
			op.detail += " and deactivated"
		}
		return tx.CreateLink(&keyward.Link{ID: newID(), AccountID: p.AccountID, Kind: keyward.LinkRotation, SourceID: old.ID,
			TargetID: nw.ID, TargetGroup: nw.GroupID, CreatedAt: now, CreatedBy: p.Actor()})
	}()
	if err != nil {
		return nil, err
	}
	return &res, nil
}

func rotatable(o *keyward.Object) error {
	switch {
	case o.State == keyward.StateDestroyed:
		return keyward.Errorf(keyward.EPRECONDITION, "object %q is destroyed", o.Name)
	case o.Cloud != nil:
		return keyward.Errorf(keyward.EPRECONDITION, "%q is a virtual key: its material is in Azure; rotate it there (keyward azure key rotate)", o.Name)
	case o.Type == keyward.TypeCertificate || o.PublicOnly:
		return keyward.Errorf(keyward.EPRECONDITION, "object %q holds only a public key or certificate: Keyward cannot make new material for it; import the replacement instead", o.Name)
	case o.Type == keyward.TypeSecret:
		return keyward.Errorf(keyward.EPRECONDITION, "object %q is an opaque secret: import its new value instead of rotating", o.Name)
	}
	return nil
}

func specOf(o *keyward.Object) kcrypto.Spec {
	kt, _ := KeyTypeOf(o.Type)
	sp := kcrypto.Spec{Type: kt, Bits: o.Size}
	if o.Curve != "" {
		sp.Curve, _ = kcrypto.ParseCurve(o.Curve)
	}
	return sp
}

// rotatedName is the name a rotated-out object takes, made unique in the account.
func rotatedName(tx keyward.Tx, accountID, name string, now time.Time) (string, error) {
	suffix := " (rotated " + now.Format("2006-01-02 15:04:05Z") + ")"
	base := name
	if r := []rune(base); len(r)+len(suffix) > 128 {
		base = string(r[:128-len(suffix)-4])
	}
	cand := base + suffix
	for i := 2; ; i++ {
		if _, err := tx.GetObjectByName(accountID, cand); keyward.IsCode(err, keyward.ENOTFOUND) {
			return cand, nil
		} else if err != nil {
			return "", err
		}
		cand = fmt.Sprintf("%s%s #%d", base, suffix, i)
	}
}

// ObjectLinks returns an object's links, both ways.
func (s *Service) ObjectLinks(ctx context.Context, p keyward.Principal, ref string) (*keyward.Object, []keyward.Link, error) {
	var o *keyward.Object
	var ls []keyward.Link
	err := s.read(ctx, p, ActObjectRead, "object:"+ref, func(tx keyward.Tx) error {
		var err error
		if o, err = loadObject(tx, p, ref, ActObjectRead); err != nil {
			return err
		}
		ls, err = tx.ObjectLinks(p.AccountID, o.ID)
		return err
	})
	return o, ls, err
}
