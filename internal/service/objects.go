package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// Object actions. Applications may create objects in their groups and read them; they
// manage only objects that permit APPMANAGEABLE (checked per object).
const (
	ActObjectCreate     keyward.Action = "object.create"
	ActObjectRead       keyward.Action = "object.read"
	ActObjectUpdate     keyward.Action = "object.update"
	ActObjectActivate   keyward.Action = "object.activate"
	ActObjectDeactivate keyward.Action = "object.deactivate"
	ActObjectCompromise keyward.Action = "object.compromise"
	ActObjectDestroy    keyward.Action = "object.destroy"
	ActObjectExport     keyward.Action = "object.export"
	ActObjectCopy       keyward.Action = "object.copy"
	ActObjectRotate     keyward.Action = "object.rotate"
)

func init() {
	for _, a := range []keyward.Action{ActObjectCreate, ActObjectUpdate, ActObjectActivate, ActObjectDeactivate,
		ActObjectCompromise, ActObjectDestroy, ActObjectExport, ActObjectCopy, ActObjectRotate} {
		keyward.RegisterAction(a, false, true, true)
		keyward.AllowApps(a)
	}
	keyward.RegisterAction(ActObjectRead, false, false, true)
	keyward.AllowApps(ActObjectRead)
}

// ObjectSpec says what to create: the group, name, permitted operations, dates and tags.
type ObjectSpec struct {
	GroupID          string
	Name             string
	Description      string
	Ops              []keyward.Operation // nil: the type's defaults
	Tags             map[string]string
	ActivationDate   time.Time // zero: active now
	DeactivationDate time.Time
}

func (sp *ObjectSpec) validate() error {
	if sp.GroupID == "" {
		return keyward.Invalid("group", "is required")
	}
	if err := keyward.ValidateName("name", sp.Name); err != nil {
		return err
	}
	if err := keyward.ValidateDescription("description", sp.Description); err != nil {
		return err
	}
	if err := keyward.ValidateTags("tags", sp.Tags); err != nil {
		return err
	}
	return keyward.ValidateDates(sp.ActivationDate, sp.DeactivationDate)
}

// KeyTypeOf maps an object type to kcrypto's.
func KeyTypeOf(t keyward.ObjectType) (kcrypto.KeyType, error) {
	kt, err := kcrypto.ParseKeyType(string(t))
	if err != nil {
		return 0, keyward.Invalid("type", "must be one of %v", keyward.ObjectTypes)
	}
	return kt, nil
}

func objectTypeOf(kt kcrypto.KeyType) keyward.ObjectType { return keyward.ObjectType(kt.String()) }

// newObject builds the object for key k under spec, with its sealed material.
func (s *Service) newObject(p keyward.Principal, sp ObjectSpec, k *kcrypto.Key, origin string) (*keyward.Object, []byte, error) {
	ks := k.Spec()
	o := &keyward.Object{ID: newID(), AccountID: p.AccountID, GroupID: sp.GroupID, Name: sp.Name, Description: sp.Description,
		Type: objectTypeOf(ks.Type), Size: ks.Bits, PublicOnly: k.PublicOnly(), Tags: sp.Tags,
		ActivationDate: sp.ActivationDate, DeactivationDate: sp.DeactivationDate, Origin: origin, CreatedBy: p.Actor()}
	if ks.Type == kcrypto.EC {
		o.Curve = ks.Curve.String()
	}
	if ks.Type == kcrypto.Certificate {
		info, err := k.CertificateInfo()
		if err != nil {
			return nil, nil, keyward.Invalid("material", "%v", err)
		}
		o.Cert = &keyward.CertInfo{Subject: info.Subject, Issuer: info.Issuer, Serial: info.SerialNumber.Text(16),
			NotBefore: info.NotBefore.UTC(), NotAfter: info.NotAfter.UTC(), KeyType: info.PublicKey.String()}
		o.PublicOnly = true
	}
	ops := sp.Ops
	if ops == nil {
		ops = keyward.DefaultOps(o.Type)
		if o.PublicOnly {
			ops = slices.DeleteFunc(ops, func(op keyward.Operation) bool {
				return op == keyward.OpDecrypt || op == keyward.OpSign || op == keyward.OpUnwrapKey
			})
		}
	}
	var err error
	if o.Ops, err = keyward.ValidateOps("ops", o.Type, o.PublicOnly, ops); err != nil {
		return nil, nil, err
	}
	if o.KCV, err = k.CheckValue(); err != nil {
		return nil, nil, err
	}
	raw, err := k.Marshal()
	if err != nil {
		return nil, nil, err
	}
	defer clear(raw)
	sealed, err := s.sealer.Seal(raw, seal.Bind("object", o.ID))
	return o, sealed, err
}

// insertObject checks the caller may create in the group, the group's policy allows the
// object and the name is free, stores the object and fills in its state and times.
func (s *Service) insertObject(tx keyward.Tx, p keyward.Principal, o *keyward.Object, sealed []byte) error {
	g, err := resolveGroup(tx, p.AccountID, o.GroupID)
	if err != nil {
		return err
	}
	o.GroupID = g.ID
	if err := authorize(tx, p, ActObjectCreate, o.GroupID); err != nil {
		return err
	}
	now := s.clock.Now()
	o.CreatedAt, o.UpdatedAt = now, now
	if err := g.Policy.CheckObject(o); err != nil {
		return err
	}
	if _, err := tx.GetObjectByName(p.AccountID, o.Name); err == nil {
		return keyward.Errorf(keyward.ECONFLICT, "an object named %q already exists in this account", o.Name)
	}
	o.State = keyward.StateActive
	if !o.ActivationDate.IsZero() && o.ActivationDate.After(now) {
		o.State = keyward.StatePreActive
	}
	return tx.CreateObject(o, sealed)
}

// resolveGroup finds a group of the account by id or by name.
func resolveGroup(tx keyward.Tx, accountID, ref string) (*keyward.Group, error) {
	g, err := tx.GetGroup(accountID, ref)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		g, err = tx.GetGroupByName(accountID, ref)
	}
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, keyward.Invalid("group", "no group %q in this account", ref)
	}
	return g, err
}

// GenerateObject creates a key of the given type and size (or curve) inside Keyward.
func (s *Service) GenerateObject(ctx context.Context, p keyward.Principal, sp ObjectSpec, typ keyward.ObjectType, size int, curve string) (*keyward.Object, error) {
	if err := sp.validate(); err != nil {
		return nil, err
	}
	kt, err := KeyTypeOf(typ)
	if err != nil {
		return nil, err
	}
	if kt == kcrypto.Certificate {
		return nil, keyward.Invalid("type", "certificates are imported, not generated")
	}
	spec := kcrypto.Spec{Type: kt, Bits: size}
	if curve != "" {
		if spec.Curve, err = kcrypto.ParseCurve(curve); err != nil {
			return nil, keyward.Invalid("curve", "must be P-256, P-384, P-521 or secp256k1")
		}
	}
	if err := spec.Validate(); err != nil {
		return nil, keyward.Invalid("size", "%v", err)
	}
	k, err := kcrypto.Generate(spec)
	if err != nil {
		return nil, err
	}
	defer k.Destroy()
	o, sealed, err := s.newObject(p, sp, k, "generated")
	if err != nil {
		return nil, err
	}
	err = s.change(ctx, p, ActObjectCreate, "object:"+o.ID, func(tx keyward.Tx, op *op) error {
		if err := s.insertObject(tx, p, o, sealed); err != nil {
			return err
		}
		op.detail = fmt.Sprintf("generated %s %q in group %s", describeObject(o), o.Name, o.GroupID)
		return nil
	})
	return o, err
}

func describeObject(o *keyward.Object) string {
	switch {
	case o.Curve != "":
		return "EC " + o.Curve
	case o.Type == keyward.TypeCertificate:
		return "certificate"
	}
	return fmt.Sprintf("%s-%d", o.Type, o.Size)
}

// ImportRequest is key material from outside.
type ImportRequest struct {
	Type     keyward.ObjectType // required for raw/base64/hex symmetric material
	Format   string             // auto, raw, base64, hex, pem, der, jwk
	Material []byte
	// KEK names a Keyward key (id or name) that wraps Material; it is unwrapped inside
	// Keyward with WrapAlgorithm (AES-KW, AES-KWP, RSA-OAEP, RSA-OAEP-256).
	KEK           string
	WrapAlgorithm string
}

// ParseFormat maps a format name to kcrypto's.
func ParseFormat(field, s string) (kcrypto.Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return kcrypto.FormatAuto, nil
	case "raw":
		return kcrypto.FormatRaw, nil
	case "base64":
		return kcrypto.FormatBase64, nil
	case "hex":
		return kcrypto.FormatHex, nil
	case "pem":
		return kcrypto.FormatPEM, nil
	case "der":
		return kcrypto.FormatDER, nil
	case "jwk":
		return kcrypto.FormatJWK, nil
	}
	return 0, keyward.Invalid(field, "must be auto, raw, base64, hex, pem, der or jwk")
}

// ImportObject creates an object from outside material, unwrapping it first when a
// key-encryption key is named. The plaintext material never leaves Keyward.
func (s *Service) ImportObject(ctx context.Context, p keyward.Principal, sp ObjectSpec, in ImportRequest) (*keyward.Object, error) {
	if err := sp.validate(); err != nil {
		return nil, err
	}
	k, kekObj, err := s.readMaterial(ctx, p, in)
	if err != nil {
		return nil, err
	}
	defer k.Destroy()
	o, sealed, err := s.newObject(p, sp, k, "imported")
	if err != nil {
		return nil, err
	}
	err = s.change(ctx, p, ActObjectCreate, "object:"+o.ID, func(tx keyward.Tx, op *op) error {
		if err := s.insertObject(tx, p, o, sealed); err != nil {
			return err
		}
		op.detail = fmt.Sprintf("imported %s %q in group %s", describeObject(o), o.Name, o.GroupID)
		if kekObj != nil {
			op.detail += " unwrapped with object " + kekObj.ID
		}
		return nil
	})
	return o, err
}

// readMaterial parses outside key material and, when a key-encryption key is named,
// unwraps it inside Keyward; it returns the key and the key-encryption key's object.
func (s *Service) readMaterial(ctx context.Context, p keyward.Principal, in ImportRequest) (*kcrypto.Key, *keyward.Object, error) {
	if len(in.Material) == 0 {
		return nil, nil, keyward.Invalid("material", "is required")
	}
	opts := kcrypto.ImportOptions{}
	var err error
	if opts.Format, err = ParseFormat("format", in.Format); err != nil {
		return nil, nil, err
	}
	if in.Type != "" {
		if opts.Type, err = KeyTypeOf(in.Type); err != nil {
			return nil, nil, err
		}
	}
	var kekObj *keyward.Object
	if in.KEK != "" {
		if opts.WrapAlgorithm, err = parseWrapAlg("wrap_algorithm", in.WrapAlgorithm); err != nil {
			return nil, nil, err
		}
		var kek *kcrypto.Key
		if kekObj, kek, err = s.useKEK(ctx, p, in.KEK, keyward.OpUnwrapKey); err != nil {
			return nil, nil, err
		}
		defer kek.Destroy()
		opts.KEK = kek
	}
	k, err := kcrypto.Import(in.Material, opts)
	if err != nil {
		return nil, nil, keyward.Invalid("material", "%v", err)
	}
	return k, kekObj, nil
}

func parseWrapAlg(field, s string) (kcrypto.Algorithm, error) {
	a, err := kcrypto.ParseAlgorithm(s)
	switch {
	case err != nil:
		return 0, keyward.Invalid(field, "must be AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256")
	case a != kcrypto.AESKW && a != kcrypto.AESKWP && a != kcrypto.RSAOAEPSHA1 && a != kcrypto.RSAOAEPSHA256:
		return 0, keyward.Invalid(field, "must be AES-KW, AES-KWP, RSA-OAEP or RSA-OAEP-256, not %s", a)
	}
	return a, nil
}

// useKEK loads a key-encryption key the caller may read and that permits op now.
func (s *Service) useKEK(ctx context.Context, p keyward.Principal, ref string, op keyward.Operation) (*keyward.Object, *kcrypto.Key, error) {
	var o *keyward.Object
	var k *kcrypto.Key
	err := s.read(ctx, p, ActObjectRead, "object:"+ref, func(tx keyward.Tx) error {
		var err error
		if o, err = loadObject(tx, p, ref, ActObjectRead); err != nil {
			if keyward.IsCode(err, keyward.ENOTFOUND) {
				return keyward.Invalid("kek", "no key %q that you may use", ref)
			}
			return err
		}
		if err := o.CheckUse(op, s.clock.Now()); err != nil {
			return err
		}
		k, err = s.openObject(tx, o)
		return err
	})
	return o, k, err
}

// openObject unseals an object's material.
func (s *Service) openObject(tx keyward.Tx, o *keyward.Object) (*kcrypto.Key, error) {
	sealed, err := tx.ObjectMaterial(o.AccountID, o.ID)
	if err != nil {
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return nil, keyward.Errorf(keyward.EPRECONDITION, "object %q has no material (it was destroyed)", o.Name)
		}
		return nil, err
	}
	raw, err := s.sealer.Open(sealed, seal.Bind("object", o.ID))
	if err != nil {
		return nil, fmt.Errorf("object %s: %w", o.ID, err)
	}
	defer clear(raw)
	kt, err := KeyTypeOf(o.Type)
	if err != nil {
		return nil, err
	}
	return kcrypto.Unmarshal(kt, raw)
}

// loadObject finds an object of the caller's account by id or name and checks the action
// against its group. An object in a group the caller has no part in reads as not found.
func loadObject(tx keyward.Tx, p keyward.Principal, ref string, a keyward.Action) (*keyward.Object, error) {
	o, err := tx.GetObject(p.AccountID, ref)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		o, err = tx.GetObjectByName(p.AccountID, ref)
	}
	if err != nil {
		return nil, err
	}
	roles, err := groupRoles(tx, p, o.GroupID)
	if err != nil {
		return nil, err
	}
	if err := keyward.Authorize(p, a, roles); err != nil {
		if roles[0] == "" && !seesAll(p) {
			return nil, keyward.Hidden("object")
		}
		return nil, err
	}
	if p.IsApp() && a != ActObjectRead && a != ActObjectExport && !slices.Contains(o.Ops, keyward.OpAppManageable) {
		return nil, keyward.Errorf(keyward.EFORBIDDEN, "object %q does not permit APPMANAGEABLE: applications may use it but not manage it", o.Name)
	}
	return o, nil
}

// GetObject returns one object by id or name.
func (s *Service) GetObject(ctx context.Context, p keyward.Principal, ref string) (*keyward.Object, error) {
	var o *keyward.Object
	err := s.read(ctx, p, ActObjectRead, "object:"+ref, func(tx keyward.Tx) error {
		var err error
		o, err = loadObject(tx, p, ref, ActObjectRead)
		return err
	})
	return o, err
}

// ListObjects lists the objects the caller may see: in every group for account
// administrators and auditors, in the caller's groups otherwise.
func (s *Service) ListObjects(ctx context.Context, p keyward.Principal, f keyward.ObjectFilter) ([]keyward.Object, error) {
	f.AccountID, f.Now = p.AccountID, s.clock.Now()
	var out []keyward.Object
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		// Groups may be named, as everywhere else (`keyward key list --group NAME`).
		for i, ref := range f.GroupIDs {
			if _, err := tx.GetGroup(p.AccountID, ref); keyward.IsCode(err, keyward.ENOTFOUND) {
				if g, err := tx.GetGroupByName(p.AccountID, ref); err == nil {
					f.GroupIDs[i] = g.ID
				}
			}
		}
		if !seesAll(p) {
			ms, err := tx.PrincipalGroups(p.Kind, p.ID)
			if err != nil {
				return err
			}
			mine := []string{}
			for _, m := range ms {
				if f.GroupIDs == nil || slices.Contains(f.GroupIDs, m.GroupID) {
					mine = append(mine, m.GroupID)
				}
			}
			f.GroupIDs = mine
		}
		var err error
		out, err = tx.ListObjects(f)
		return err
	})
	return out, err
}

// ObjectPatch holds the fields to change; nil means unchanged.
type ObjectPatch struct {
	Name, Description *string
	Tags              *map[string]string
	Ops               *[]keyward.Operation
	ActivationDate    *time.Time
	DeactivationDate  *time.Time
}

// UpdateObject changes an object's metadata. Permitted operations may be reduced, never
// widened to EXPORT after creation: a key created non-exportable stays so.
func (s *Service) UpdateObject(ctx context.Context, p keyward.Principal, ref string, in ObjectPatch) (*keyward.Object, error) {
	var o *keyward.Object
	err := s.change(ctx, p, ActObjectUpdate, "object:"+ref, func(tx keyward.Tx, op *op) error {
		var err error
		if o, err = loadObject(tx, p, ref, ActObjectUpdate); err != nil {
			return err
		}
		op.target = "object:" + o.ID
		if o.State == keyward.StateDestroyed {
			return keyward.Errorf(keyward.EPRECONDITION, "object %q is destroyed", o.Name)
		}
		if err := virtualKeyPatch(o, in); err != nil {
			return err
		}
		var changed []string
		if in.Name != nil && *in.Name != o.Name {
			if err := keyward.ValidateName("name", *in.Name); err != nil {
				return err
			}
			if _, err := tx.GetObjectByName(p.AccountID, *in.Name); err == nil {
				return keyward.Errorf(keyward.ECONFLICT, "an object named %q already exists in this account", *in.Name)
			}
			changed = append(changed, "name from "+o.Name)
			oldName := o.Name
			o.Name = *in.Name
			if err := renameRotationPolicy(tx, o, oldName); err != nil { // the policy keeps the key
				return err
			}
		}
		if in.Description != nil {
			if err := keyward.ValidateDescription("description", *in.Description); err != nil {
				return err
			}
			o.Description = *in.Description
			changed = append(changed, "description")
		}
		if in.Tags != nil {
			if err := keyward.ValidateTags("tags", *in.Tags); err != nil {
				return err
			}
			o.Tags = *in.Tags
			changed = append(changed, "tags")
		}
		if in.Ops != nil {
			ops, err := keyward.ValidateOps("ops", o.Type, o.PublicOnly, *in.Ops)
			if err != nil {
				return err
			}
			if slices.Contains(ops, keyward.OpExport) && !slices.Contains(o.Ops, keyward.OpExport) {
				return keyward.Invalid("ops", "EXPORT cannot be added after creation: a non-exportable key stays non-exportable")
			}
			o.Ops = ops
			changed = append(changed, fmt.Sprintf("ops %v", ops))
		}
		if err := s.patchDates(o, in); err != nil {
			return err
		}
		if in.ActivationDate != nil || in.DeactivationDate != nil {
			changed = append(changed, "dates")
		}
		g, err := tx.GetGroup(p.AccountID, o.GroupID)
		if err != nil {
			return err
		}
		if err := g.Policy.CheckChange(o, in.Ops != nil, in.Tags != nil, in.ActivationDate != nil || in.DeactivationDate != nil); err != nil {
			return err
		}
		op.detail = "changed " + strings.Join(changed, ", ")
		o.UpdatedAt = s.clock.Now()
		return tx.UpdateObject(o)
	})
	return o, err
}

func (s *Service) patchDates(o *keyward.Object, in ObjectPatch) error {
	now := s.clock.Now()
	if in.ActivationDate != nil {
		if o.State != keyward.StatePreActive {
			return keyward.Invalid("activation_date", "can be changed only while the object is pre-active")
		}
		o.ActivationDate = *in.ActivationDate
	}
	if in.DeactivationDate != nil {
		if st := o.EffectiveState(now); st != keyward.StatePreActive && st != keyward.StateActive {
			return keyward.Invalid("deactivation_date", "can be changed only while the object is pre-active or active")
		}
		o.DeactivationDate = *in.DeactivationDate
	}
	return keyward.ValidateDates(o.ActivationDate, o.DeactivationDate)
}

// Transition is an explicit state change.
type Transition string

const (
	Activate   Transition = "activate"
	Deactivate Transition = "deactivate"
	Compromise Transition = "compromise"
)

// ChangeState moves an object along the SP 800-57 states: activate a pre-active object,
// deactivate a pre-active or active one, or mark any live object compromised.
func (s *Service) ChangeState(ctx context.Context, p keyward.Principal, ref string, t Transition) (*keyward.Object, error) {
	action := map[Transition]keyward.Action{Activate: ActObjectActivate, Deactivate: ActObjectDeactivate, Compromise: ActObjectCompromise}[t]
	if action == "" {
		return nil, keyward.Invalid("transition", "must be activate, deactivate or compromise")
	}
	var o *keyward.Object
	err := s.change(ctx, p, action, "object:"+ref, func(tx keyward.Tx, op *op) error {
		var err error
		if o, err = loadObject(tx, p, ref, action); err != nil {
			return err
		}
		op.target = "object:" + o.ID
		if err := virtualKeyTransition(o, t); err != nil {
			return err
		}
		if err := s.transition(o, t); err != nil {
			return err
		}
		op.detail = fmt.Sprintf("%q is now %s", o.Name, o.State)
		return tx.UpdateObject(o)
	})
	return o, err
}

func (s *Service) transition(o *keyward.Object, t Transition) error {
	now := s.clock.Now()
	cur := o.EffectiveState(now)
	switch {
	case t == Activate && cur == keyward.StatePreActive:
		o.State, o.ActivationDate = keyward.StateActive, now
	case t == Deactivate && (cur == keyward.StatePreActive || cur == keyward.StateActive):
		o.State, o.DeactivationDate = keyward.StateDeactivated, now
	case t == Compromise && cur != keyward.StateDestroyed && cur != keyward.StateCompromised:
		o.State, o.CompromisedAt = keyward.StateCompromised, now
	default:
		return keyward.Errorf(keyward.EPRECONDITION, "cannot %s object %q: it is %s", t, o.Name, cur)
	}
	o.UpdatedAt = now
	return nil
}

// DestroyObject removes an object's material for good; its metadata, links and audit
// records stay.
func (s *Service) DestroyObject(ctx context.Context, p keyward.Principal, ref string) (*keyward.Object, error) {
	var o *keyward.Object
	err := s.change(ctx, p, ActObjectDestroy, "object:"+ref, func(tx keyward.Tx, op *op) error {
		var err error
		if o, err = loadObject(tx, p, ref, ActObjectDestroy); err != nil {
			return err
		}
		op.target = "object:" + o.ID
		if o.State == keyward.StateDestroyed {
			return keyward.Errorf(keyward.EPRECONDITION, "object %q is already destroyed", o.Name)
		}
		if o.Cloud != nil {
			return keyward.Errorf(keyward.EPRECONDITION, "%q is a virtual key: its material is in Azure; delete and purge it there (keyward azure key delete, purge)", o.Name)
		}
		if err := s.objectGroupGate(ctx, tx, o, ActObjectDestroy); err != nil {
			return err
		}
		now := s.clock.Now()
		o.State, o.DestroyedAt, o.UpdatedAt = keyward.StateDestroyed, now, now
		op.detail = fmt.Sprintf("destroyed the material of %q", o.Name) + underApproval(ctx)
		if err := tx.DestroyMaterial(p.AccountID, o.ID); err != nil {
			return err
		}
		return tx.UpdateObject(o)
	})
	return o, err
}
