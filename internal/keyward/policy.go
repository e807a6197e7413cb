package keyward

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// GroupPolicy is what a group's administrators require of every object in it. An empty
// list or zero value allows everything, so a group without a policy behaves as before.
// A policy applies to what is created or changed after it is set; objects already in the
// group keep working, except that the crypto policy's operations hold for every use.
type GroupPolicy struct {
	Crypto   CryptoPolicy   `json:"crypto"`
	Metadata MetadataPolicy `json:"metadata"`
	Quorum   QuorumPolicy   `json:"quorum"`
}

// CryptoPolicy limits the keys a group may hold and what applications may do with them.
type CryptoPolicy struct {
	Types      []ObjectType `json:"types,omitempty"`      // object types allowed
	AESSizes   []int        `json:"aes_sizes,omitempty"`  // AES key bits allowed
	RSASizes   []int        `json:"rsa_sizes,omitempty"`  // RSA modulus bits allowed
	Curves     []string     `json:"curves,omitempty"`     // EC curves allowed
	Operations []Operation  `json:"operations,omitempty"` // cryptographic operations applications may perform
}

// MetadataPolicy is what every object's metadata must say.
type MetadataPolicy struct {
	RequiredTags []string `json:"required_tags,omitempty"` // tag keys every object carries, with a value
	// AllowedTags are the only tag keys objects may carry (besides the required ones).
	AllowedTags          []string    `json:"allowed_tags,omitempty"`
	RequireActivation    bool        `json:"require_activation,omitempty"`   // an activation date must be given
	RequireDeactivation  bool        `json:"require_deactivation,omitempty"` // a deactivation date must be given
	MaxLifetime          Days        `json:"max_lifetime_days,omitempty"`    // deactivation at most this long after activation
	Operations           []Operation `json:"operations,omitempty"`           // the permitted operations objects may be given
	ForbidExportableKeys bool        `json:"forbid_export,omitempty"`        // no object may permit EXPORT
}

// Days is a whole number of days.
type Days int

// Duration is the length of d days.
func (d Days) Duration() time.Duration { return time.Duration(d) * 24 * time.Hour }

// curvesAllowed are the curve names a policy may list.
var curvesAllowed = []string{"P-256", "P-384", "P-521", "secp256k1"}

// Validate checks a policy and normalises it (upper-case operations and types).
func (p *GroupPolicy) Validate() error {
	c := &p.Crypto
	for i, t := range c.Types {
		t = ObjectType(strings.ToUpper(string(t)))
		if !slices.Contains(ObjectTypes, t) {
			return Invalid(fmt.Sprintf("policy.crypto.types[%d]", i), "unknown type %q (one of %v)", c.Types[i], ObjectTypes)
		}
		c.Types[i] = t
	}
	for i, n := range c.AESSizes {
		if n != 128 && n != 192 && n != 256 {
			return Invalid(fmt.Sprintf("policy.crypto.aes_sizes[%d]", i), "AES keys are 128, 192 or 256 bits, not %d", n)
		}
	}
	for i, n := range c.RSASizes {
		if n != 2048 && n != 3072 && n != 4096 {
			return Invalid(fmt.Sprintf("policy.crypto.rsa_sizes[%d]", i), "RSA keys are 2048, 3072 or 4096 bits, not %d", n)
		}
	}
	for i, cv := range c.Curves {
		j := slices.IndexFunc(curvesAllowed, func(n string) bool { return strings.EqualFold(n, cv) })
		if j < 0 {
			return Invalid(fmt.Sprintf("policy.crypto.curves[%d]", i), "unknown curve %q (one of %v)", cv, curvesAllowed)
		}
		c.Curves[i] = curvesAllowed[j]
	}
	if err := normaliseOps("policy.crypto.operations", c.Operations); err != nil {
		return err
	}
	m := &p.Metadata
	for i, k := range m.RequiredTags {
		if k == "" || len(k) > 128 {
			return Invalid(fmt.Sprintf("policy.metadata.required_tags[%d]", i), "a tag key is 1 to 128 characters")
		}
	}
	for i, k := range m.AllowedTags {
		if k == "" || len(k) > 128 {
			return Invalid(fmt.Sprintf("policy.metadata.allowed_tags[%d]", i), "a tag key is 1 to 128 characters")
		}
	}
	if m.MaxLifetime < 0 || m.MaxLifetime > 100*366 {
		return Invalid("policy.metadata.max_lifetime_days", "must be between 0 (no limit) and 36600 days")
	}
	if err := normaliseOps("policy.metadata.operations", m.Operations); err != nil {
		return err
	}
	return p.Quorum.validate()
}

func normaliseOps(field string, ops []Operation) error {
	for i, op := range ops {
		op = Operation(strings.ToUpper(string(op)))
		if !slices.Contains(Operations, op) {
			return Invalid(fmt.Sprintf("%s[%d]", field, i), "unknown operation %q (one of %v)", ops[i], Operations)
		}
		ops[i] = op
	}
	return nil
}

// cryptoUses are the operations a crypto policy's operation list governs at use: EXPORT,
// DERIVE and APPMANAGEABLE are management rights, governed by the metadata policy.
var cryptoUses = []Operation{OpEncrypt, OpDecrypt, OpWrapKey, OpUnwrapKey, OpSign, OpVerify, OpMACGenerate, OpMACVerify}

// AllowsUse says whether the crypto policy lets an application perform op.
func (c *CryptoPolicy) AllowsUse(op Operation) bool {
	return len(c.Operations) == 0 || !slices.Contains(cryptoUses, op) || slices.Contains(c.Operations, op)
}

// CheckUse refuses a use the crypto policy does not allow.
func (c *CryptoPolicy) CheckUse(op Operation) error {
	if c.AllowsUse(op) {
		return nil
	}
	return Errorf(EFORBIDDEN, "the group's crypto policy does not allow %s (it allows %v)", op, c.Operations)
}

// CheckObject refuses an object the policy does not allow: its type, size or curve, its
// permitted operations, its tags and its dates. The error names the field at fault and the
// rule, so that the creator can fix the request.
func (p *GroupPolicy) CheckObject(o *Object) error {
	c := &p.Crypto
	deny := func(field, format string, args ...any) error {
		return &Error{Code: EFORBIDDEN, Field: field, Message: "the group's policy: " + fmt.Sprintf(format, args...)}
	}
	if len(c.Types) > 0 && !slices.Contains(c.Types, o.Type) {
		return deny("type", "%s objects are not allowed (allowed: %v)", o.Type, c.Types)
	}
	switch {
	case o.Type == TypeAES && len(c.AESSizes) > 0 && !slices.Contains(c.AESSizes, o.Size):
		return deny("size", "AES-%d is not allowed (allowed sizes: %v)", o.Size, c.AESSizes)
	case o.Type == TypeRSA && len(c.RSASizes) > 0 && !slices.Contains(c.RSASizes, o.Size):
		return deny("size", "RSA-%d is not allowed (allowed sizes: %v)", o.Size, c.RSASizes)
	case o.Type == TypeEC && len(c.Curves) > 0 && !slices.Contains(c.Curves, o.Curve):
		return deny("curve", "curve %s is not allowed (allowed: %v)", o.Curve, c.Curves)
	}
	if err := p.checkOps(o.Ops); err != nil {
		return err
	}
	if err := p.Metadata.checkTags(o.Tags); err != nil {
		return err
	}
	return p.Metadata.checkDates(o.ActivationDate, o.DeactivationDate, o.CreatedAt)
}

func (p *GroupPolicy) checkOps(ops []Operation) error {
	m := &p.Metadata
	for i, op := range ops {
		field := fmt.Sprintf("ops[%d]", i)
		if m.ForbidExportableKeys && op == OpExport {
			return &Error{Code: EFORBIDDEN, Field: field, Message: "the group's policy: no object may permit EXPORT"}
		}
		if len(m.Operations) > 0 && !slices.Contains(m.Operations, op) {
			return &Error{Code: EFORBIDDEN, Field: field, Message: fmt.Sprintf("the group's policy: objects may not permit %s (allowed: %v)", op, m.Operations)}
		}
	}
	return nil
}

func (m *MetadataPolicy) checkTags(tags map[string]string) error {
	for _, k := range m.RequiredTags {
		if tags[k] == "" {
			return &Error{Code: EFORBIDDEN, Field: "tags." + k, Message: fmt.Sprintf("the group's policy requires a tag %q with a value (required: %v)", k, m.RequiredTags)}
		}
	}
	if len(m.AllowedTags) == 0 {
		return nil
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first offending key, the same on every call
	for _, k := range keys {
		if !slices.Contains(m.AllowedTags, k) && !slices.Contains(m.RequiredTags, k) {
			return &Error{Code: EFORBIDDEN, Field: "tags." + k, Message: fmt.Sprintf("the group's policy does not allow the tag %q (allowed: %v)", k, slices.Concat(m.RequiredTags, m.AllowedTags))}
		}
	}
	return nil
}

// checkDates applies the date rules; created stands for the activation when none is given.
func (m *MetadataPolicy) checkDates(activation, deactivation, created time.Time) error {
	if m.RequireActivation && activation.IsZero() {
		return &Error{Code: EFORBIDDEN, Field: "activation_date", Message: "the group's policy requires an activation date"}
	}
	if (m.RequireDeactivation || m.MaxLifetime > 0) && deactivation.IsZero() {
		return &Error{Code: EFORBIDDEN, Field: "deactivation_date", Message: "the group's policy requires a deactivation date"}
	}
	if m.MaxLifetime > 0 {
		from := activation
		if from.IsZero() {
			from = created
		}
		if deactivation.Sub(from) > m.MaxLifetime.Duration() {
			return &Error{Code: EFORBIDDEN, Field: "deactivation_date",
				Message: fmt.Sprintf("the group's policy allows at most %d days between activation and deactivation", m.MaxLifetime)}
		}
	}
	return nil
}

// CheckChange applies the metadata rules an update touches: the permitted operations, the
// tags or the dates, whichever the update changes.
func (p *GroupPolicy) CheckChange(o *Object, ops, tags, dates bool) error {
	if ops {
		if err := p.checkOps(o.Ops); err != nil {
			return err
		}
	}
	if tags {
		if err := p.Metadata.checkTags(o.Tags); err != nil {
			return err
		}
	}
	if dates {
		return p.Metadata.checkDates(o.ActivationDate, o.DeactivationDate, o.CreatedAt)
	}
	return nil
}

// IsZero says whether the policy allows everything.
func (p *GroupPolicy) IsZero() bool {
	c, m := &p.Crypto, &p.Metadata
	return len(c.Types)+len(c.AESSizes)+len(c.RSASizes)+len(c.Curves)+len(c.Operations) == 0 &&
		len(m.RequiredTags)+len(m.AllowedTags)+len(m.Operations) == 0 &&
		!m.RequireActivation && !m.RequireDeactivation && m.MaxLifetime == 0 && !m.ForbidExportableKeys &&
		p.Quorum.Required == 0
}
