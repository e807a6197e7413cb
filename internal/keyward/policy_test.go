package keyward

import (
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p     GroupPolicy
		field string
	}{
		{GroupPolicy{Crypto: CryptoPolicy{Types: []ObjectType{"DES"}}}, "policy.crypto.types[0]"},
		{GroupPolicy{Crypto: CryptoPolicy{AESSizes: []int{256, 512}}}, "policy.crypto.aes_sizes[1]"},
		{GroupPolicy{Crypto: CryptoPolicy{RSASizes: []int{1024}}}, "policy.crypto.rsa_sizes[0]"},
		{GroupPolicy{Crypto: CryptoPolicy{Curves: []string{"P-192"}}}, "policy.crypto.curves[0]"},
		{GroupPolicy{Crypto: CryptoPolicy{Operations: []Operation{"FLY"}}}, "policy.crypto.operations[0]"},
		{GroupPolicy{Metadata: MetadataPolicy{RequiredTags: []string{""}}}, "policy.metadata.required_tags[0]"},
		{GroupPolicy{Metadata: MetadataPolicy{MaxLifetime: -1}}, "policy.metadata.max_lifetime_days"},
		{GroupPolicy{Metadata: MetadataPolicy{Operations: []Operation{"encrypt", "nope"}}}, "policy.metadata.operations[1]"},
	} {
		err := tc.p.Validate()
		if e, ok := err.(*Error); !ok || e.Code != EINVALID || e.Field != tc.field {
			t.Errorf("%+v: err = %v, want EINVALID on %s", tc.p, err, tc.field)
		}
	}
	p := GroupPolicy{Crypto: CryptoPolicy{Types: []ObjectType{"aes"}, Curves: []string{"p-256"}, Operations: []Operation{"encrypt"}}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Crypto.Types[0] != TypeAES || p.Crypto.Curves[0] != "P-256" || p.Crypto.Operations[0] != OpEncrypt {
		t.Errorf("not normalised: %+v", p.Crypto)
	}
	if p.IsZero() || !(&GroupPolicy{}).IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestPolicyCheckObject(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	base := func() *Object {
		return &Object{Type: TypeRSA, Size: 3072, Ops: []Operation{OpSign, OpVerify},
			Tags: map[string]string{"owner": "payments"}, CreatedAt: now, DeactivationDate: now.AddDate(0, 6, 0)}
	}
	policy := GroupPolicy{
		Crypto: CryptoPolicy{Types: []ObjectType{TypeRSA, TypeEC, TypeAES}, RSASizes: []int{3072, 4096}, AESSizes: []int{256},
			Curves: []string{"P-384"}},
		Metadata: MetadataPolicy{RequiredTags: []string{"owner"}, AllowedTags: []string{"env"}, MaxLifetime: 365,
			Operations: []Operation{OpSign, OpVerify, OpEncrypt, OpDecrypt}, ForbidExportableKeys: true},
	}
	if err := policy.CheckObject(base()); err != nil {
		t.Fatalf("a compliant object: %v", err)
	}
	for name, tc := range map[string]struct {
		change func(o *Object)
		field  string
	}{
		"type":             {func(o *Object) { o.Type = TypeHMAC }, "type"},
		"rsa size":         {func(o *Object) { o.Size = 2048 }, "size"},
		"aes size":         {func(o *Object) { o.Type, o.Size, o.Ops = TypeAES, 128, nil }, "size"},
		"curve":            {func(o *Object) { o.Type, o.Size, o.Curve = TypeEC, 256, "P-256" }, "curve"},
		"export forbidden": {func(o *Object) { o.Ops = append(o.Ops, OpExport) }, "ops[2]"},
		"op not allowed":   {func(o *Object) { o.Ops = []Operation{OpWrapKey} }, "ops[0]"},
		"missing tag":      {func(o *Object) { o.Tags = nil }, "tags.owner"},
		"empty tag":        {func(o *Object) { o.Tags["owner"] = "" }, "tags.owner"},
		"unknown tag":      {func(o *Object) { o.Tags["colour"] = "blue" }, "tags.colour"},
		"no deactivation":  {func(o *Object) { o.DeactivationDate = time.Time{} }, "deactivation_date"},
		"too long":         {func(o *Object) { o.DeactivationDate = now.AddDate(1, 0, 1) }, "deactivation_date"},
	} {
		o := base()
		tc.change(o)
		err := policy.CheckObject(o)
		if e, ok := err.(*Error); !ok || e.Code != EFORBIDDEN || e.Field != tc.field {
			t.Errorf("%s: err = %v, want EFORBIDDEN on %s", name, err, tc.field)
		}
	}
	o := base()
	o.Tags["env"] = "prod"
	o.ActivationDate = now.AddDate(0, 3, 0)
	o.DeactivationDate = now.AddDate(1, 2, 0) // 11 months after activation: within 365 days
	if err := policy.CheckObject(o); err != nil {
		t.Errorf("lifetime counted from activation: %v", err)
	}
	strict := GroupPolicy{Metadata: MetadataPolicy{RequireActivation: true}}
	if err := strict.CheckObject(base()); err == nil {
		t.Error("a missing activation date passed RequireActivation")
	}
}

func TestPolicyCheckChangeOnlyWhatChanges(t *testing.T) {
	p := GroupPolicy{Metadata: MetadataPolicy{RequiredTags: []string{"owner"}, Operations: []Operation{OpSign}}}
	o := &Object{Type: TypeRSA, Ops: []Operation{OpSign}} // made before the policy: no owner tag
	if err := p.CheckChange(o, true, false, false); err != nil {
		t.Errorf("an ops change checked the tags: %v", err)
	}
	if err := p.CheckChange(o, false, true, false); err == nil {
		t.Error("a tags change did not check the tags")
	}
	o.Ops = []Operation{OpSign, OpVerify}
	if err := p.CheckChange(o, true, false, false); err == nil {
		t.Error("an ops change did not check the ops")
	}
}

func TestCryptoPolicyUse(t *testing.T) {
	c := CryptoPolicy{Operations: []Operation{OpVerify, OpDecrypt}}
	for op, want := range map[Operation]bool{OpVerify: true, OpDecrypt: true, OpSign: false, OpEncrypt: false,
		OpMACGenerate: false, OpExport: true} {
		if got := c.AllowsUse(op); got != want {
			t.Errorf("%s: allowed = %v, want %v", op, got, want)
		}
	}
	if err := c.CheckUse(OpSign); !IsCode(err, EFORBIDDEN) {
		t.Errorf("sign: %v", err)
	}
	if !(&CryptoPolicy{}).AllowsUse(OpSign) {
		t.Error("an empty policy refused a use")
	}
}
