package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// Putting keys into Azure: generate a key in the vault, import material from a file, or
// copy a Keyward key. Each request checks everything it can before any call to Azure
// (the group is linked and connected, the key type is allowed on the vault's tier, the
// name is free, the source permits EXPORT) and enqueues one job that makes the calls;
// the job records the new Azure key version as a virtual key.
const (
	ActAzureKeyGenerate keyward.Action = "azure.key.generate"
	ActAzureKeyImport   keyward.Action = "azure.key.import"
	ActAzureKeyCopy     keyward.Action = "azure.key.copy"
)

// Job kinds of putting keys into Azure.
const (
	KindAzureKeyGenerate = "azure.key.generate"
	KindAzureKeyImport   = "azure.key.import"
	KindAzureKeyCopy     = "azure.key.copy"
)

// putAttempts is how often a put job is tried: every attempt first removes what an
// earlier one left (a key-exchange key) and adopts a key an earlier one made.
const putAttempts = 8

func init() {
	for _, a := range []keyward.Action{ActAzureKeyGenerate, ActAzureKeyImport, ActAzureKeyCopy} {
		keyward.RegisterAction(a, false, true, true)
	}
	for _, k := range []string{KindAzureKeyGenerate, KindAzureKeyImport, KindAzureKeyCopy} {
		jobKinds = append(jobKinds, func(s *Service) jobs.Kind {
			return jobs.Kind{Name: k, Handler: s.runPut, MaxAttempts: putAttempts, Timeout: 10 * time.Minute}
		})
	}
}

// Protections of a key in Azure.
const (
	ProtectionSoftware = "software"
	ProtectionHSM      = "hsm"
)

// jobTag is the tag every key Keyward puts into Azure carries: the id of the job that made
// it. A retried job that finds its own tag on the name adopts that version instead of
// making another one.
const jobTag = "keyward-job"

// AzureKeyInput is what every way of putting a key into Azure shares.
type AzureKeyInput struct {
	GroupID string // the Azure group (id or name)
	// AzureName is the Azure key's name: 1-127 letters, digits and hyphens. For a copy it
	// may be empty: the copy's name with every other character made a hyphen.
	AzureName string
	// Protection is "software", "hsm", or "" for the tier's default (Standard: software;
	// Premium and Managed HSM: hsm).
	Protection string
	Ops        []string // Azure key_ops; nil for the type's defaults (a copy: the source's)
	Tags       map[string]string
	NotBefore  time.Time // Azure's nbf; zero for none
	Expires    time.Time // Azure's exp; zero for none
}

// AzureGenerate asks the vault to generate a key.
type AzureGenerate struct {
	AzureKeyInput
	Type  keyward.ObjectType // RSA, EC or AES (Managed HSM)
	Size  int                // RSA 2048 (default)/3072/4096; AES 128/192/256 (default)
	Curve string             // EC: P-256 (default), P-384, P-521, secp256k1 (Standard only)
}

// AzureImport imports key material from a file into the vault; Keyward keeps no copy.
type AzureImport struct {
	AzureKeyInput
	ImportRequest
}

// AzureCopy copies a Keyward key (it must permit EXPORT) into the vault.
type AzureCopy struct {
	AzureKeyInput
	Source string // the Keyward key, id or name
	Name   string // the copy's name in Keyward; "" for the next free NAME_copyN
}

// putParams are a put job's parameters: names, ids and choices, never material.
type putParams struct {
	Name       string            `json:"name"`                  // the Azure key's name
	ObjectName string            `json:"object_name,omitempty"` // a copy's name in Keyward
	KeyType    string            `json:"kty"`                   // RSA, RSA-HSM, EC, EC-HSM, oct-HSM
	Size       int               `json:"size,omitempty"`
	Curve      string            `json:"crv,omitempty"` // Azure's curve name
	BYOK       bool              `json:"byok,omitempty"`
	Ops        []string          `json:"ops"`
	Tags       map[string]string `json:"tags,omitempty"`
	NotBefore  time.Time         `json:"nbf,omitzero"`
	Expires    time.Time         `json:"exp,omitzero"`
	Source     string            `json:"source_object_id,omitempty"` // a copy's Keyward key
	// MaterialType is the kcrypto type of an import's sealed material (the job secret).
	MaterialType string `json:"material_type,omitempty"`
	KEKObject    string `json:"kek_object_id,omitempty"` // the Keyward key that unwrapped it
}

var azureNameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

func validAzureName(field, name string) error {
	if !azureNameRE.MatchString(name) {
		return keyward.Invalid(field, "must be an Azure key name: 1-127 letters, digits and hyphens (Azure allows no other characters), not %q", name)
	}
	return nil
}

// azureSafeName makes a Keyward name an Azure key name: every other character becomes a
// hyphen (payments_copy1 becomes payments-copy1).
func azureSafeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 127 {
		b = b[:127]
	}
	return string(b)
}

func (in *AzureKeyInput) validate(nameRequired bool) error {
	if in.GroupID == "" {
		return keyward.Invalid("group", "is required: the Azure group to put the key in")
	}
	if in.AzureName != "" || nameRequired {
		if err := validAzureName("name", in.AzureName); err != nil {
			return err
		}
	}
	switch in.Protection {
	case "", ProtectionSoftware, ProtectionHSM:
	default:
		return keyward.Invalid("protection", "must be software or hsm, not %q", in.Protection)
	}
	if err := keyward.ValidateTags("tags", in.Tags); err != nil {
		return err
	}
	if len(in.Tags) > 14 {
		return keyward.Invalid("tags", "Azure keeps at most 15 tags on a key, and Keyward adds %s", jobTag)
	}
	if _, ok := in.Tags[jobTag]; ok {
		return keyward.Invalid("tags", "%s is set by Keyward (the job that made the key)", jobTag)
	}
	if !in.NotBefore.IsZero() && !in.Expires.IsZero() && !in.Expires.After(in.NotBefore) {
		return keyward.Invalid("expires", "must be after not_before")
	}
	return nil
}

// tierDefault is the protection a vault gives a key when the request names none.
func tierDefault(kind keyward.VaultKind) string {
	if kind == keyward.VaultStandard {
		return ProtectionSoftware
	}
	return ProtectionHSM
}

// azureKey is a key's Azure type on a tier, decided before any call.
type azureKey struct {
	kty, crv   string
	size       int
	protection string
	byok       bool // imports go as a BYOK transfer blob
}

// azureKeyFor checks that a key of type typ (size bits or curve) may live in a vault of
// kind with the protection asked for ("" for the tier's default), and returns its Azure
// type, or an error naming the field at fault.
func azureKeyFor(kind keyward.VaultKind, typ keyward.ObjectType, size int, curve, protection string) (azureKey, error) {
	tier := map[keyward.VaultKind]string{keyward.VaultStandard: "a Standard vault", keyward.VaultPremium: "a Premium vault",
		keyward.VaultManagedHSM: "a Managed HSM"}[kind]
	if protection == "" {
		protection = tierDefault(kind)
	}
	switch {
	case kind == keyward.VaultStandard && protection == ProtectionHSM:
		return azureKey{}, keyward.Invalid("protection", "%s holds software-protected keys only; HSM protection needs a Premium vault or a Managed HSM", tier)
	case kind == keyward.VaultManagedHSM && protection == ProtectionSoftware:
		return azureKey{}, keyward.Invalid("protection", "%s holds HSM-protected keys only (RSA-HSM, EC-HSM, oct-HSM)", tier)
	}
	k := azureKey{protection: protection, size: size, byok: protection == ProtectionHSM}
	hsm := ""
	if protection == ProtectionHSM {
		hsm = "-HSM"
	}
	switch typ {
	case keyward.TypeRSA:
		if size == 0 {
			k.size = 2048
		} else if size != 2048 && size != 3072 && size != 4096 {
			return azureKey{}, keyward.Invalid("size", "an RSA key in Azure is 2048, 3072 or 4096 bits, not %d", size)
		}
		k.kty = "RSA" + hsm
	case keyward.TypeEC:
		k.size = 0
		switch strings.ToLower(curve) {
		case "", "p-256", "p256":
			k.crv = "P-256"
		case "p-384", "p384":
			k.crv = "P-384"
		case "p-521", "p521":
			k.crv = "P-521"
		case "secp256k1", "p-256k", "p256k":
			if kind != keyward.VaultStandard {
				return azureKey{}, keyward.Invalid("curve", "secp256k1 (P-256K) keys are put into Standard vaults only, not into %s", tier)
			}
			k.crv = "P-256K"
		default:
			return azureKey{}, keyward.Invalid("curve", "must be P-256, P-384, P-521 or secp256k1, not %q", curve)
		}
		k.kty = "EC" + hsm
	case keyward.TypeAES:
		if kind != keyward.VaultManagedHSM {
			return azureKey{}, keyward.Invalid("type", "AES keys live only in a Managed HSM (oct-HSM); %s holds RSA and EC keys", tier)
		}
		if size == 0 {
			k.size = 256
		} else if size != 128 && size != 192 && size != 256 {
			return azureKey{}, keyward.Invalid("size", "an AES key in a Managed HSM is 128, 192 or 256 bits, not %d", size)
		}
		k.kty = "oct-HSM"
	default:
		return azureKey{}, keyward.Invalid("type", "Azure holds RSA and EC keys (and AES in a Managed HSM), not %s", typ)
	}
	return k, nil
}

// Azure key operations by type, and the defaults.
var (
	azureOpsRSA = []string{"encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify"}
	azureOpsEC  = []string{"sign", "verify"}
	azureOpsAES = []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}
)

func allowedAzureOps(kty string) []string {
	switch strings.TrimSuffix(kty, "-HSM") {
	case "RSA":
		return azureOpsRSA
	case "EC":
		return azureOpsEC
	}
	return azureOpsAES
}

// azureOpsFor checks asked-for operations against the key type (case-insensitive; Keyward's
// names such as WRAPKEY are accepted) and returns Azure's spelling; nil asks for the
// type's defaults.
func azureOpsFor(kty string, asked []string) ([]string, error) {
	allowed := allowedAzureOps(kty)
	if asked == nil {
		return slices.Clone(allowed), nil
	}
	out := []string{}
	for i, a := range asked {
		j := slices.IndexFunc(allowed, func(op string) bool { return strings.EqualFold(op, a) })
		if j < 0 {
			return nil, keyward.Invalid(fmt.Sprintf("ops[%d]", i), "a %s key in Azure permits %s, not %q", kty, strings.Join(allowed, ", "), a)
		}
		if !slices.Contains(out, allowed[j]) {
			out = append(out, allowed[j])
		}
	}
	if len(out) == 0 {
		return nil, keyward.Invalid("ops", "must name at least one operation (%s)", strings.Join(allowed, ", "))
	}
	return out, nil
}

// opsOfSource maps a Keyward key's permitted operations to Azure's, for a copy.
func opsOfSource(kty string, ops []keyward.Operation) []string {
	allowed := allowedAzureOps(kty)
	var out []string
	for azOp, op := range azureOps {
		if slices.Contains(ops, op) && slices.Contains(allowed, azOp) {
			out = append(out, azOp)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(allowed, a) - slices.Index(allowed, b) })
	return out
}

// azureGroup loads the Azure group of a put request, checks the action and that the group
// is linked and connected, and that it has no key of that Azure name yet.
func azureGroup(tx keyward.Tx, p keyward.Principal, ref string, a keyward.Action) (*GroupView, *keyward.AzureLink, error) {
	g, err := loadGroup(tx, p, ref, a)
	if err != nil {
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return nil, nil, keyward.Invalid("group", "no group %q in this account", ref)
		}
		return nil, nil, err
	}
	link, err := tx.GetAzureLink(p.AccountID, g.Group.ID)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, nil, keyward.Invalid("group", "group %q is not an Azure group: link it first (keyward azure link)", g.Group.Name)
	}
	if err != nil {
		return nil, nil, err
	}
	if link.Status != keyward.LinkConnected {
		return nil, nil, keyward.Errorf(keyward.EPRECONDITION, "group %q is not connected to its vault (%s): fix the link, then test it (keyward azure test %s)",
			g.Group.Name, link.Reason, g.Group.Name)
	}
	return g, link, nil
}

// nameFree refuses an Azure key name the group already holds (a new version of an
// existing key is a rotation), or that a put job not yet ended is making: two jobs racing
// for one name would make two versions of one key.
func nameFree(tx keyward.Tx, link *keyward.AzureLink, field, name string) error {
	vs, err := tx.ListCloudObjects(link.AccountID, link.GroupID, name)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return keyward.Invalid(field, "the vault %s already holds a key named %q: choose another name (a new version of that key is a rotation)", link.Vault.Name, name)
	}
	for _, kind := range []string{KindAzureKeyGenerate, KindAzureKeyImport, KindAzureKeyCopy} {
		f := keyward.JobFilter{AccountID: link.AccountID, GroupID: link.GroupID, Kind: kind,
			States: []keyward.JobState{keyward.JobQueued, keyward.JobRunning}, Limit: keyward.MaxPageLimit}
		for {
			js, err := tx.ListJobs(f)
			if err != nil {
				return err
			}
			for _, j := range js {
				var p putParams
				if json.Unmarshal(j.Params, &p) == nil && strings.EqualFold(p.Name, name) {
					return keyward.Invalid(field, "job %s is already putting a key named %q into %s: wait for it (keyward job watch %s)", j.ID, name, link.Vault.Name, j.ID)
				}
			}
			if len(js) < f.Limit {
				break
			}
			f.After = js[len(js)-1].ID
		}
	}
	return nil
}

func (in *AzureKeyInput) params(k azureKey) putParams {
	return putParams{Name: in.AzureName, KeyType: k.kty, Size: k.size, Curve: k.crv, BYOK: k.byok, Tags: in.Tags,
		NotBefore: in.NotBefore, Expires: in.Expires}
}

// GenerateInAzure enqueues a job that has the vault generate a key.
func (s *Service) GenerateInAzure(ctx context.Context, p keyward.Principal, in AzureGenerate) (*keyward.Job, error) {
	if err := in.validate(true); err != nil {
		return nil, err
	}
	var j *keyward.Job
	err := s.changeAndStart(ctx, p, ActAzureKeyGenerate, "group:"+in.GroupID, func(tx keyward.Tx, o *op) error {
		g, link, err := azureGroup(tx, p, in.GroupID, ActAzureKeyGenerate)
		if err != nil {
			return err
		}
		o.target = "group:" + g.Group.ID
		k, err := azureKeyFor(link.Vault.Kind, in.Type, in.Size, in.Curve, in.Protection)
		if err != nil {
			return err
		}
		pp := in.params(k)
		pp.BYOK = false // the vault makes the key: nothing crosses
		if pp.Ops, err = azureOpsFor(k.kty, in.Ops); err != nil {
			return err
		}
		if err := nameFree(tx, link, "name", in.AzureName); err != nil {
			return err
		}
		if err := s.checkPutPolicy(&g.Group, pp); err != nil {
			return err
		}
		j, err = s.enqueueJob(tx, p, jobs.Spec{GroupID: g.Group.ID, Kind: KindAzureKeyGenerate, Params: pp,
			Title: fmt.Sprintf("Generate %s %s in %s", k.kty, sizeOrCurve(k), link.Vault.Name)})
		if err != nil {
			return err
		}
		o.detail = fmt.Sprintf("job %s: generate %s %s key %q in %s %s", j.ID, k.protection, k.kty, in.AzureName, link.Vault.Kind, link.Vault.Name)
		return nil
	})
	return j, err
}

func sizeOrCurve(k azureKey) string {
	if k.crv != "" {
		return k.crv
	}
	return fmt.Sprint(k.size)
}

// ImportIntoAzure parses (and, with a key-encryption key, unwraps) key material inside
// Keyward and enqueues a job that imports it into the vault. The material waits for the
// job sealed, bound to the job, and is deleted when the job ends; Keyward keeps no copy.
func (s *Service) ImportIntoAzure(ctx context.Context, p keyward.Principal, in AzureImport) (*keyward.Job, error) {
	if err := in.validate(true); err != nil {
		return nil, err
	}
	key, kekObj, err := s.readMaterial(ctx, p, in.ImportRequest)
	if err != nil {
		return nil, err
	}
	defer key.Destroy()
	if key.PublicOnly() {
		return nil, keyward.Invalid("material", "holds only a public key: Azure needs the private key")
	}
	ks := key.Spec()
	curve := ""
	if ks.Type == kcrypto.EC {
		curve = ks.Curve.String()
	}
	raw, err := key.Marshal()
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	var j *keyward.Job
	err = s.changeAndStart(ctx, p, ActAzureKeyImport, "group:"+in.GroupID, func(tx keyward.Tx, o *op) error {
		g, link, err := azureGroup(tx, p, in.GroupID, ActAzureKeyImport)
		if err != nil {
			return err
		}
		o.target = "group:" + g.Group.ID
		k, err := azureKeyFor(link.Vault.Kind, objectTypeOf(ks.Type), ks.Bits, curve, in.Protection)
		if err != nil {
			return keyward.Invalid("material", "%s", messageOf(err))
		}
		pp := in.params(k)
		pp.MaterialType = ks.Type.String()
		if kekObj != nil {
			pp.KEKObject = kekObj.ID
		}
		if pp.Ops, err = azureOpsFor(k.kty, in.Ops); err != nil {
			return err
		}
		if err := nameFree(tx, link, "name", in.AzureName); err != nil {
			return err
		}
		if err := s.checkPutPolicy(&g.Group, pp); err != nil {
			return err
		}
		j, err = s.enqueueJob(tx, p, jobs.Spec{GroupID: g.Group.ID, Kind: KindAzureKeyImport, Params: pp,
			Title: fmt.Sprintf("Import %s %s into %s", k.kty, sizeOrCurve(k), link.Vault.Name)})
		if err != nil {
			return err
		}
		sealed, err := s.sealer.Seal(raw, seal.Bind("job-secret", j.ID))
		if err != nil {
			return err
		}
		if err := tx.PutJobSecret(p.AccountID, j.ID, sealed); err != nil {
			return err
		}
		o.detail = fmt.Sprintf("job %s: import %s %s key %q into %s %s", j.ID, k.protection, k.kty, in.AzureName, link.Vault.Kind, link.Vault.Name)
		if kekObj != nil {
			o.detail += " unwrapped with object " + kekObj.ID
		}
		return nil
	})
	return j, err
}

// CopyToAzure enqueues a job that copies a Keyward key into the vault. The source must
// permit EXPORT and not be a virtual key; the copy is named NAME_copyN unless named.
func (s *Service) CopyToAzure(ctx context.Context, p keyward.Principal, in AzureCopy) (*keyward.Job, error) {
	if err := in.validate(false); err != nil {
		return nil, err
	}
	if in.Source == "" {
		return nil, keyward.Invalid("source", "is required: the Keyward key to copy")
	}
	if in.Name != "" {
		if err := keyward.ValidateName("name", in.Name); err != nil {
			return nil, err
		}
	}
	var j *keyward.Job
	err := s.changeAndStart(ctx, p, ActAzureKeyCopy, "object:"+in.Source, func(tx keyward.Tx, o *op) error {
		src, err := loadObject(tx, p, in.Source, ActObjectCopy)
		if err != nil {
			if keyward.IsCode(err, keyward.ENOTFOUND) {
				return keyward.Invalid("source", "no key %q that you may copy", in.Source)
			}
			return err
		}
		o.target = "object:" + src.ID
		if err := refuseCopyUnderQuorum(tx, src); err != nil {
			return err
		}
		if src.Cloud != nil {
			return keyward.Invalid("source", "%q is a virtual key: its material lives in Azure (%s), out of Keyward's reach, so it cannot be copied", src.Name, src.Cloud.Vault)
		}
		if err := src.CheckUse(keyward.OpExport, s.clock.Now()); err != nil {
			return err // a copy takes the material out of Keyward: it needs EXPORT
		}
		g, link, err := azureGroup(tx, p, in.GroupID, ActAzureKeyCopy)
		if err != nil {
			return err
		}
		k, err := azureKeyFor(link.Vault.Kind, src.Type, src.Size, src.Curve, in.Protection)
		if err != nil {
			return keyward.Invalid("source", "%q cannot go into %s: %s", src.Name, link.Vault.Name, messageOf(err))
		}
		name := in.Name
		if name == "" {
			if name, err = nextCopyName(tx, p.AccountID, src.Name); err != nil {
				return err
			}
		} else if _, err := tx.GetObjectByName(p.AccountID, name); err == nil {
			return keyward.Invalid("name", "an object named %q already exists in this account", name)
		}
		in.AzureName = cmpOr(in.AzureName, azureSafeName(name))
		if err := validAzureName("azure_name", in.AzureName); err != nil {
			return err
		}
		if err := nameFree(tx, link, "azure_name", in.AzureName); err != nil {
			return err
		}
		pp := in.params(k)
		pp.ObjectName, pp.Source = name, src.ID
		if in.Ops != nil {
			pp.Ops, err = azureOpsFor(k.kty, in.Ops)
		} else if pp.Ops = opsOfSource(k.kty, src.Ops); len(pp.Ops) == 0 {
			err = keyward.Invalid("ops", "%q permits no operation a %s key has in Azure (%s): name them", src.Name, k.kty, strings.Join(allowedAzureOps(k.kty), ", "))
		}
		if err != nil {
			return err
		}
		if pp.Tags == nil {
			if len(src.Tags) > 14 {
				return keyward.Invalid("tags", "%q has %d tags and Azure keeps at most 15 on a key, one of them %s: choose the tags to copy", src.Name, len(src.Tags), jobTag)
			}
			pp.Tags = src.Tags
		}
		if err := s.checkPutPolicy(&g.Group, pp); err != nil {
			return err
		}
		j, err = s.enqueueJob(tx, p, jobs.Spec{GroupID: g.Group.ID, Kind: KindAzureKeyCopy, Params: pp,
			Title: fmt.Sprintf("Copy %s into %s as %s", src.Name, link.Vault.Name, in.AzureName)})
		if err != nil {
			return err
		}
		o.detail = fmt.Sprintf("job %s: copy %q into %s %s as %q (%s %s, Azure key %q)", j.ID, src.Name, link.Vault.Kind, link.Vault.Name, name, k.protection, k.kty, in.AzureName)
		return nil
	})
	return j, err
}

// messageOf is an error's message without its field.
func messageOf(err error) string {
	var e *keyward.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkPutPolicy applies the group's policy to a key about to be put into its vault, as to
// any object created in the group: the crypto policy's types, sizes and curves, and the
// metadata policy's tags, dates (Azure's not-before and expiry) and operations.
func (s *Service) checkPutPolicy(g *keyward.Group, pp putParams) error {
	typ, size, curve := typeOfCloudKey(&keyward.CloudKey{KeyType: pp.KeyType, Size: pp.Size, Curve: pp.Curve})
	o := &keyward.Object{Type: typ, Size: size, Curve: curve, Tags: pp.Tags, ActivationDate: pp.NotBefore,
		DeactivationDate: pp.Expires, CreatedAt: s.clock.Now()}
	for _, op := range pp.Ops {
		if kop, ok := azureOps[op]; ok {
			o.Ops = append(o.Ops, kop)
		}
	}
	return g.Policy.CheckObject(o)
}
