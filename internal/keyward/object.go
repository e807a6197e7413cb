package keyward

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// ObjectType is the kind of a security object.
type ObjectType string

const (
	TypeAES         ObjectType = "AES"
	TypeRSA         ObjectType = "RSA"
	TypeEC          ObjectType = "EC"
	TypeHMAC        ObjectType = "HMAC"
	TypeSecret      ObjectType = "SECRET"
	TypeCertificate ObjectType = "CERTIFICATE"
)

// ObjectTypes lists the object types.
var ObjectTypes = []ObjectType{TypeAES, TypeRSA, TypeEC, TypeHMAC, TypeSecret, TypeCertificate}

// Operation is something a security object may be used for. An object's permitted
// operations are fixed by whoever creates it; every use is checked against them.
type Operation string

const (
	OpEncrypt       Operation = "ENCRYPT"
	OpDecrypt       Operation = "DECRYPT"
	OpWrapKey       Operation = "WRAPKEY"
	OpUnwrapKey     Operation = "UNWRAPKEY"
	OpSign          Operation = "SIGN"
	OpVerify        Operation = "VERIFY"
	OpMACGenerate   Operation = "MACGENERATE"
	OpMACVerify     Operation = "MACVERIFY"
	OpExport        Operation = "EXPORT"
	OpDerive        Operation = "DERIVE"
	OpAppManageable Operation = "APPMANAGEABLE"
)

// Operations lists every operation in documentation order.
var Operations = []Operation{OpEncrypt, OpDecrypt, OpWrapKey, OpUnwrapKey, OpSign, OpVerify,
	OpMACGenerate, OpMACVerify, OpExport, OpDerive, OpAppManageable}

// applicableOps says which operations make sense for each type.
var applicableOps = map[ObjectType][]Operation{
	TypeAES:         {OpEncrypt, OpDecrypt, OpWrapKey, OpUnwrapKey, OpExport, OpDerive, OpAppManageable},
	TypeRSA:         {OpEncrypt, OpDecrypt, OpWrapKey, OpUnwrapKey, OpSign, OpVerify, OpExport, OpAppManageable},
	TypeEC:          {OpSign, OpVerify, OpExport, OpDerive, OpAppManageable},
	TypeHMAC:        {OpMACGenerate, OpMACVerify, OpExport, OpDerive, OpAppManageable},
	TypeSecret:      {OpExport, OpDerive, OpAppManageable},
	TypeCertificate: {OpVerify, OpEncrypt, OpWrapKey, OpExport, OpAppManageable},
}

// DefaultOps are the operations an object gets when its creator names none: every use the
// type has, but not EXPORT or APPMANAGEABLE, which must be asked for.
func DefaultOps(t ObjectType) []Operation {
	var out []Operation
	for _, op := range applicableOps[t] {
		if op != OpExport && op != OpAppManageable && op != OpDerive {
			out = append(out, op)
		}
	}
	return out
}

// ValidateOps checks and normalises (sorts, de-duplicates) a list of operations for a type.
// A public-only key has no private operations.
func ValidateOps(field string, t ObjectType, publicOnly bool, ops []Operation) ([]Operation, error) {
	out := make([]Operation, 0, len(ops))
	for i, op := range ops {
		op = Operation(strings.ToUpper(string(op)))
		if !slices.Contains(Operations, op) {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "unknown operation %q (one of %v)", op, Operations)
		}
		if !slices.Contains(applicableOps[t], op) {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "%s does not apply to %s objects", op, t)
		}
		if publicOnly && (op == OpDecrypt || op == OpSign || op == OpUnwrapKey || op == OpDerive) {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "%s needs a private key; this object holds only a public key", op)
		}
		if !slices.Contains(out, op) {
			out = append(out, op)
		}
	}
	sort.Slice(out, func(i, j int) bool { return slices.Index(Operations, out[i]) < slices.Index(Operations, out[j]) })
	return out, nil
}

// State follows the key states of NIST SP 800-57 Part 1 §7.
type State string

const (
	StatePreActive   State = "pre-active"  // created, not yet to be used
	StateActive      State = "active"      // may apply and process protection
	StateDeactivated State = "deactivated" // may only process what it protected before
	StateCompromised State = "compromised" // as deactivated, and may never come back
	StateDestroyed   State = "destroyed"   // the material is gone; the metadata stays
)

// States lists every state.
var States = []State{StatePreActive, StateActive, StateDeactivated, StateCompromised, StateDestroyed}

// Object is a security object: a key, a secret or a certificate.
type Object struct {
	ID          string
	AccountID   string
	GroupID     string
	Name        string // unique in the account
	Description string
	Type        ObjectType
	Size        int    // bits; 0 for certificates
	Curve       string // EC only
	PublicOnly  bool   // holds only a public key (or is a certificate)
	Ops         []Operation
	Tags        map[string]string

	// State is the state set by explicit actions; EffectiveState adds the dates.
	State            State
	ActivationDate   time.Time // zero: active from creation
	DeactivationDate time.Time // zero: no end
	CompromisedAt    time.Time
	DestroyedAt      time.Time

	Origin string // generated, imported, copied, rotated, azure
	KCV    string // key check value (hex), for people to compare keys without seeing them
	Cert   *CertInfo
	// Cloud is set on virtual keys: versions of keys that live in Azure.
	Cloud     *CloudRef
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
}

// CertInfo describes a certificate object.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	KeyType   string    `json:"key_type"`
}

// EffectiveState is the object's state at now: explicit actions first, then the dates
// (a pre-active object becomes active at its activation date; an active one becomes
// deactivated at its deactivation date).
func (o *Object) EffectiveState(now time.Time) State {
	switch o.State {
	case StateDestroyed, StateCompromised, StateDeactivated:
		return o.State
	}
	if !o.DeactivationDate.IsZero() && !now.Before(o.DeactivationDate) {
		return StateDeactivated
	}
	if o.State == StatePreActive && (o.ActivationDate.IsZero() || now.Before(o.ActivationDate)) {
		return StatePreActive
	}
	return StateActive
}

// processing operations undo or check protection applied earlier; SP 800-57 lets
// deactivated and compromised keys still do them (compromised ones "with caution").
var processing = []Operation{OpDecrypt, OpUnwrapKey, OpVerify, OpMACVerify}

// AllowedInState reports whether op may be used on an object in state s. Management
// (reading, tagging, destroying) is not an Operation and is always allowed until destroyed.
func AllowedInState(s State, op Operation) bool {
	switch s {
	case StateActive:
		return true
	case StateDeactivated, StateCompromised:
		return slices.Contains(processing, op) || op == OpExport
	}
	return false // pre-active and destroyed objects are used for nothing
}

// CheckUse checks that the object permits op and that its state allows it now.
func (o *Object) CheckUse(op Operation, now time.Time) error {
	if !slices.Contains(o.Ops, op) {
		return Errorf(EFORBIDDEN, "object %q does not permit %s (it permits %v)", o.Name, op, o.Ops)
	}
	if s := o.EffectiveState(now); !AllowedInState(s, op) {
		return Errorf(EPRECONDITION, "object %q is %s: %s is not allowed in that state", o.Name, s, op)
	}
	return nil
}

// ValidateTags checks tag keys and values.
func ValidateTags(field string, tags map[string]string) error {
	if len(tags) > 64 {
		return Invalid(field, "at most 64 tags")
	}
	for k, v := range tags {
		if k == "" || utf8.RuneCountInString(k) > 128 || strings.ContainsFunc(k, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
			return Invalid(field, "tag key %q must be 1-128 printable characters without spaces", k)
		}
		if utf8.RuneCountInString(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return Invalid(field+"."+k, "must be at most 256 characters without control characters")
		}
	}
	return nil
}

// ValidateDates checks an activation/deactivation pair.
func ValidateDates(activation, deactivation time.Time) error {
	if !activation.IsZero() && !deactivation.IsZero() && !deactivation.After(activation) {
		return Invalid("deactivation_date", "must be after the activation date")
	}
	return nil
}

// ObjectFilter selects objects of one account. Zero values mean any.
type ObjectFilter struct {
	AccountID  string
	GroupIDs   []string // nil: every group; empty non-nil: none
	Type       ObjectType
	State      State // effective state at Now
	Now        time.Time
	Tag        string // "key" or "key=value"
	NamePrefix string
	Name       string // exact
	Page       Page   // by name
}

// LinkKind says how two objects are related.
type LinkKind string

const (
	LinkCopy     LinkKind = "copy"     // Target holds a copy of Source's material
	LinkRotation LinkKind = "rotation" // Target replaced Source
)

// Link relates two objects of one account; it is shown on both.
type Link struct {
	ID          string
	AccountID   string
	Kind        LinkKind
	SourceID    string
	TargetID    string
	TargetGroup string
	CreatedAt   time.Time
	CreatedBy   string
}
