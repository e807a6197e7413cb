package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// wantInvalid wants an EINVALID error that names field (and, when given, says want).
func wantInvalid(t *testing.T, err error, field, want string) {
	t.Helper()
	var e *keyward.Error
	if !asKeywardError(err, &e) || e.Code != keyward.EINVALID || e.Field != field || !strings.Contains(e.Message, want) {
		t.Fatalf("error = %v (%+v), want EINVALID on %q saying %q", err, e, field, want)
	}
}

func asKeywardError(err error, out **keyward.Error) bool {
	e, ok := err.(*keyward.Error)
	*out = e
	return ok
}

// Generate in Azure: the tier decides which types and protections are allowed, before any
// call; an allowed key becomes a virtual key whose source is Azure.
func TestGenerateInAzureByTier(t *testing.T) {
	e := newAzureEnv(t)
	ctx := context.Background()
	type want struct{ kty, field, msg string }
	cases := []struct {
		name string
		kind keyward.VaultKind
		in   AzureGenerate
		want want
	}{
		{"standard RSA", keyward.VaultStandard, AzureGenerate{Type: keyward.TypeRSA, Size: 3072}, want{kty: "RSA"}},
		{"standard secp256k1", keyward.VaultStandard, AzureGenerate{Type: keyward.TypeEC, Curve: "secp256k1"}, want{kty: "EC"}},
		{"standard HSM refused", keyward.VaultStandard, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{Protection: "hsm"}},
			want{field: "protection", msg: "Standard vault holds software-protected keys only"}},
		{"standard AES refused", keyward.VaultStandard, AzureGenerate{Type: keyward.TypeAES}, want{field: "type", msg: "AES keys live only in a Managed HSM"}},
		{"standard RSA-1024 refused", keyward.VaultStandard, AzureGenerate{Type: keyward.TypeRSA, Size: 1024}, want{field: "size", msg: "2048, 3072 or 4096"}},
		{"premium HSM by default", keyward.VaultPremium, AzureGenerate{Type: keyward.TypeRSA}, want{kty: "RSA-HSM"}},
		{"premium software EC", keyward.VaultPremium, AzureGenerate{Type: keyward.TypeEC, Curve: "P-384", AzureKeyInput: AzureKeyInput{Protection: "software"}}, want{kty: "EC"}},
		{"premium secp256k1 refused", keyward.VaultPremium, AzureGenerate{Type: keyward.TypeEC, Curve: "secp256k1"}, want{field: "curve", msg: "Standard vaults only"}},
		{"premium AES refused", keyward.VaultPremium, AzureGenerate{Type: keyward.TypeAES}, want{field: "type", msg: "Managed HSM"}},
		{"hsm AES", keyward.VaultManagedHSM, AzureGenerate{Type: keyward.TypeAES, Size: 128}, want{kty: "oct-HSM"}},
		{"hsm EC", keyward.VaultManagedHSM, AzureGenerate{Type: keyward.TypeEC, Curve: "P-521"}, want{kty: "EC-HSM"}},
		{"hsm software refused", keyward.VaultManagedHSM, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{Protection: "software"}},
			want{field: "protection", msg: "HSM-protected keys only"}},
		{"hsm HMAC refused", keyward.VaultManagedHSM, AzureGenerate{Type: keyward.TypeHMAC}, want{field: "type", msg: "not HMAC"}},
		{"EC cannot encrypt", keyward.VaultStandard, AzureGenerate{Type: keyward.TypeEC, AzureKeyInput: AzureKeyInput{Ops: []string{"sign", "encrypt"}}},
			want{field: "ops[1]", msg: "permits sign, verify"}},
		{"bad name", keyward.VaultStandard, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{AzureName: "no_underscores"}},
			want{field: "name", msg: "letters, digits and hyphens"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.GroupID = e.groups[tc.kind]
			if in.AzureName == "" {
				in.AzureName = "gen-" + strings.ReplaceAll(tc.name, " ", "-")
			}
			if i%2 == 0 {
				in.Tags = map[string]string{"team": "payments"}
			}
			j, err := e.s.GenerateInAzure(ctx, e.admin, in)
			if tc.want.field != "" {
				if j != nil {
					t.Fatalf("a refused request enqueued job %s", j.ID)
				}
				wantInvalid(t, err, tc.want.field, tc.want.msg)
				return
			}
			res := e.succeeded(j, err)
			o := e.object(res.ObjectID)
			c := o.Cloud
			if c == nil || c.Source != SourceAzure || c.KeyType != tc.want.kty || c.KeyName != in.AzureName || c.Version != res.Version ||
				!c.Current || o.Name != in.AzureName || !o.PublicOnly || o.Origin != SourceAzure || o.CreatedBy != e.admin.Actor() {
				t.Fatalf("virtual key %+v %+v", o, c)
			}
			if want := map[string]string{"hsm": "hsm", "": "software"}[strings.TrimPrefix(strings.ToLower(tc.want.kty[strings.Index(tc.want.kty+"-", "-"):]), "-")]; c.Protection != want {
				t.Fatalf("protection %q, want %q", c.Protection, want)
			}
			if o.Tags[jobTag] != j.ID || (i%2 == 0 && o.Tags["team"] != "payments") {
				t.Fatalf("tags %v", o.Tags)
			}
		})
	}
	// A name the group holds already is refused before any call: a new version is a rotation.
	_, err := e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultStandard], AzureName: "gen-standard-RSA"}})
	wantInvalid(t, err, "name", "already holds a key named")
	// A regular group is not an Azure group.
	_, err = e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{GroupID: e.plain, AzureName: "x"}})
	wantInvalid(t, err, "group", "not an Azure group")
	recs, err := e.s.ListAudit(ctx, e.admin, keyward.AuditFilter{Action: ActAzureKeyGenerate})
	if err != nil {
		t.Fatal(err)
	}
	var requested, made int
	for _, r := range recs {
		switch {
		case r.Outcome == keyward.OutcomeSuccess && strings.HasPrefix(r.Target, "group:"):
			requested++
		case r.Outcome == keyward.OutcomeSuccess && strings.HasPrefix(r.Target, "object:"):
			made++
		}
	}
	if requested != 6 || made != 6 {
		t.Fatalf("audit: %d requests and %d keys made, want 6 and 6: %+v", requested, made, recs)
	}
}

// Import from a file: raw, base64, hex, DER and PEM, optionally wrapped by a Keyward key;
// software keys go over TLS, HSM keys as a BYOK transfer blob; nothing stays in Keyward.
func TestImportIntoAzure(t *testing.T) {
	e := newAzureEnv(t)
	ctx := context.Background()
	kek, err := e.s.GenerateObject(ctx, e.admin, ObjectSpec{GroupID: e.plain, Name: "transport-kek",
		Ops: []keyward.Operation{keyward.OpWrapKey, keyward.OpUnwrapKey}}, keyward.TypeAES, 256, "")
	if err != nil {
		t.Fatal(err)
	}
	kekKey := e.openLocal(kek)
	gen := func(s kcrypto.Spec) *kcrypto.Key {
		k, err := kcrypto.Generate(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rsaKey, ecKey, aesKey := gen(kcrypto.Spec{Type: kcrypto.RSA, Bits: 2048}), gen(kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.P384}), gen(kcrypto.Spec{Type: kcrypto.AES, Bits: 256})
	rsaDER, _ := rsaKey.Marshal()
	ecDER, _ := ecKey.Marshal()
	aesRaw, _ := aesKey.Marshal()
	wrappedRSA, err := kekKey.Wrap(kcrypto.AESKWP, rsaDER)
	if err != nil {
		t.Fatal(err)
	}
	wrappedAES, _ := kekKey.Wrap(kcrypto.AESKWP, aesRaw)
	secrets := [][]byte{aesRaw, []byte(hex.EncodeToString(aesRaw)), []byte(base64.StdEncoding.EncodeToString(aesRaw)), rsaDER[len(rsaDER)-64:]}

	cases := []struct {
		name  string
		kind  keyward.VaultKind
		in    ImportRequest
		prot  string
		key   *kcrypto.Key
		kty   string
		byok  bool
		field string // a refusal names it
	}{
		{"standard RSA DER", keyward.VaultStandard, ImportRequest{Format: "der", Material: rsaDER}, "", rsaKey, "RSA", false, ""},
		{"standard EC PEM", keyward.VaultStandard, ImportRequest{Format: "pem", Material: pemOf(ecDER)}, "", ecKey, "EC", false, ""},
		{"standard AES refused", keyward.VaultStandard, ImportRequest{Type: keyward.TypeAES, Format: "hex", Material: []byte(hex.EncodeToString(aesRaw))}, "", nil, "", false, "material"},
		{"premium RSA BYOK", keyward.VaultPremium, ImportRequest{Material: rsaDER}, "", rsaKey, "RSA-HSM", true, ""},
		{"premium RSA wrapped BYOK", keyward.VaultPremium, ImportRequest{Type: keyward.TypeRSA, Format: "raw", Material: wrappedRSA, KEK: "transport-kek", WrapAlgorithm: "AES-KWP"}, "", rsaKey, "RSA-HSM", true, ""},
		{"premium EC software", keyward.VaultPremium, ImportRequest{Format: "der", Material: ecDER}, "software", ecKey, "EC", false, ""},
		{"hsm AES raw", keyward.VaultManagedHSM, ImportRequest{Type: keyward.TypeAES, Format: "raw", Material: aesRaw}, "", aesKey, "oct-HSM", true, ""},
		{"hsm AES hex", keyward.VaultManagedHSM, ImportRequest{Type: keyward.TypeAES, Format: "hex", Material: []byte(hex.EncodeToString(aesRaw))}, "", aesKey, "oct-HSM", true, ""},
		{"hsm AES base64 wrapped", keyward.VaultManagedHSM, ImportRequest{Type: keyward.TypeAES, Format: "base64", Material: []byte(base64.StdEncoding.EncodeToString(wrappedAES)),
			KEK: "transport-kek", WrapAlgorithm: "AES-KWP"}, "", aesKey, "oct-HSM", true, ""},
		{"hsm EC BYOK", keyward.VaultManagedHSM, ImportRequest{Material: pemOf(ecDER)}, "", ecKey, "EC-HSM", true, ""},
		{"hsm software refused", keyward.VaultManagedHSM, ImportRequest{Material: rsaDER}, "software", nil, "", false, "material"},
		{"bad hex", keyward.VaultManagedHSM, ImportRequest{Type: keyward.TypeAES, Format: "hex", Material: []byte("zz")}, "", nil, "", false, "material"},
		{"wrong KEK algorithm", keyward.VaultManagedHSM, ImportRequest{Type: keyward.TypeAES, Material: wrappedAES, KEK: "transport-kek", WrapAlgorithm: "AES-GCM"}, "", nil, "", false, "wrap_algorithm"},
		{"unknown KEK", keyward.VaultManagedHSM, ImportRequest{Type: keyward.TypeAES, Material: wrappedAES, KEK: "nope", WrapAlgorithm: "AES-KWP"}, "", nil, "", false, "kek"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "imp-" + strings.ReplaceAll(tc.name, " ", "-")
			j, err := e.s.ImportIntoAzure(ctx, e.admin, AzureImport{ImportRequest: tc.in,
				AzureKeyInput: AzureKeyInput{GroupID: e.groups[tc.kind], AzureName: name, Protection: tc.prot}})
			if tc.field != "" {
				if j != nil {
					t.Fatalf("a refused import enqueued job %s", j.ID)
				}
				wantInvalid(t, err, tc.field, "")
				return
			}
			res := e.succeeded(j, err)
			o := e.object(res.ObjectID)
			if c := o.Cloud; c.KeyType != tc.kty || c.Source != SourceKeyward || c.SourceObjectID != "" || o.Origin != "imported" || res.BYOK != tc.byok || (res.KEKsRemoved == 1) != tc.byok {
				t.Fatalf("virtual key %+v %+v, result %+v", o, c, res)
			}
			if tc.key.Spec().Type != kcrypto.AES { // Azure returns the public part: same key
				if want, _ := tc.key.CheckValue(); o.KCV != want {
					t.Fatalf("KCV %q, want %q", o.KCV, want)
				}
			}
			if err := e.st.View(ctx, func(tx keyward.Tx) error {
				_, err := tx.JobSecret(e.admin.AccountID, j.ID)
				return err
			}); !keyward.IsCode(err, keyward.ENOTFOUND) {
				t.Fatalf("the job's material outlived it: %v", err)
			}
		})
	}
	e.noKEKs()
	// The material never rests in clear: not in the database files, nor in any job.
	e.s.Close()
	files, _ := filepath.Glob(filepath.Join(e.dbDir, "*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, sec := range secrets {
			if bytes.Contains(b, sec) {
				t.Errorf("%s holds key material in clear", f)
			}
		}
	}
}

// Copy a Keyward key into Azure: EXPORT is required, virtual keys are refused, names
// follow NAME_copyN, and the link shows on both keys.
func TestCopyToAzure(t *testing.T) {
	e := newAzureEnv(t)
	ctx := context.Background()
	src, err := e.s.GenerateObject(ctx, e.admin, ObjectSpec{GroupID: e.plain, Name: "payments", Tags: map[string]string{"app": "pay"},
		Ops: []keyward.Operation{keyward.OpSign, keyward.OpVerify, keyward.OpExport}}, keyward.TypeRSA, 2048, "")
	if err != nil {
		t.Fatal(err)
	}
	var copies []*PutResult
	for _, tr := range tiers {
		copies = append(copies, e.succeeded(e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: "payments", AzureKeyInput: AzureKeyInput{GroupID: e.groups[tr.kind]}})))
	}
	for i, res := range copies {
		n := string(rune('1' + i))
		o := e.object(res.ObjectID)
		c := o.Cloud
		wantKty := []string{"RSA", "RSA-HSM", "RSA-HSM"}[i]
		if o.Name != "payments_copy"+n || c.KeyName != "payments-copy"+n || c.Source != SourceKeyward || c.SourceObjectID != src.ID ||
			c.KeyType != wantKty || res.BYOK != (i > 0) || o.KCV != src.KCV || o.Origin != "copied" || o.Tags["app"] != "pay" {
			t.Fatalf("copy %d: %+v %+v %+v", i, o, c, res)
		}
		if strings.Join(c.Ops, ",") != "sign,verify" {
			t.Fatalf("copy %d ops %v, want the source's sign and verify", i, c.Ops)
		}
	}
	_, links, err := e.s.ObjectLinks(ctx, e.admin, src.ID)
	if err != nil || len(links) != 3 {
		t.Fatalf("source links: %+v %v", links, err)
	}
	for i, l := range links {
		if l.Kind != keyward.LinkCopy || l.SourceID != src.ID || l.TargetID != copies[i].ObjectID || l.TargetGroup != e.groups[tiers[i].kind] {
			t.Fatalf("link %d: %+v", i, l)
		}
	}
	if _, back, err := e.s.ObjectLinks(ctx, e.admin, copies[1].ObjectID); err != nil || len(back) != 1 || back[0].SourceID != src.ID {
		t.Fatalf("the copy's links: %+v %v", back, err)
	}
	// A name given, and an Azure name given.
	res := e.succeeded(e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: src.ID, Name: "pay-eu", AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultStandard], AzureName: "PayEU"}}))
	if o := e.object(res.ObjectID); o.Name != "pay-eu" || o.Cloud.KeyName != "PayEU" {
		t.Fatalf("named copy: %+v", o)
	}
	// The next copy takes the first free number.
	res = e.succeeded(e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: src.ID, AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultPremium], Protection: "software"}}))
	if o := e.object(res.ObjectID); o.Name != "payments_copy4" || o.Cloud.KeyType != "RSA" {
		t.Fatalf("fourth copy: %+v", o)
	}

	// Refusals, before any call to Azure.
	noExport, _ := e.s.GenerateObject(ctx, e.admin, ObjectSpec{GroupID: e.plain, Name: "sealed-in", Ops: []keyward.Operation{keyward.OpSign, keyward.OpVerify}}, keyward.TypeRSA, 2048, "")
	aes, _ := e.s.GenerateObject(ctx, e.admin, ObjectSpec{GroupID: e.plain, Name: "aes-data", Ops: []keyward.Operation{keyward.OpEncrypt, keyward.OpExport}}, keyward.TypeAES, 256, "")
	std := e.groups[keyward.VaultStandard]
	j, err := e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: noExport.ID, AzureKeyInput: AzureKeyInput{GroupID: std}})
	if j != nil || !keyward.IsCode(err, keyward.EFORBIDDEN) || !strings.Contains(err.Error(), "EXPORT") {
		t.Fatalf("copy without EXPORT: %v %v", j, err)
	}
	_, err = e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: copies[0].ObjectID, AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultPremium]}})
	wantInvalid(t, err, "source", "is a virtual key")
	_, err = e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: aes.ID, AzureKeyInput: AzureKeyInput{GroupID: std}})
	wantInvalid(t, err, "source", "AES keys live only in a Managed HSM")
	_, err = e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: src.ID, Name: "sealed-in", AzureKeyInput: AzureKeyInput{GroupID: std}})
	wantInvalid(t, err, "name", "already exists")
	_, err = e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: src.ID, AzureKeyInput: AzureKeyInput{GroupID: std, AzureName: "PayEU"}})
	wantInvalid(t, err, "azure_name", "already holds")
	// AES goes into the Managed HSM, with its own operations.
	res = e.succeeded(e.s.CopyToAzure(ctx, e.admin, AzureCopy{Source: "aes-data", AzureKeyInput: AzureKeyInput{GroupID: e.groups[keyward.VaultManagedHSM]}}))
	if o := e.object(res.ObjectID); o.Name != "aes-data_copy1" || o.Cloud.KeyType != "oct-HSM" || strings.Join(o.Cloud.Ops, ",") != "encrypt" {
		t.Fatalf("AES copy: %+v %+v", o, o.Cloud)
	}
	e.noKEKs()
	recs, _ := e.s.ListAudit(ctx, e.admin, keyward.AuditFilter{Action: ActAzureKeyCopy, Outcome: keyward.OutcomeSuccess})
	if len(recs) != 12 { // six requests, six copies made
		t.Fatalf("%d audit records of copies, want 12", len(recs))
	}
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// openLocal unseals a Keyward key for the test to wrap with.
func (e *azureEnv) openLocal(o *keyward.Object) *kcrypto.Key {
	e.t.Helper()
	var k *kcrypto.Key
	if err := e.st.View(context.Background(), func(tx keyward.Tx) error {
		var err error
		k, err = e.s.openObject(tx, o)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return k
}

// A name soft-deleted in Azure cannot be reused: the job fails at once with Azure's reason,
// and the failure is audited; a name another key holds in Azure is refused by the job.
func TestPutFailsClearlyOnAzureNames(t *testing.T) {
	e := newAzureEnv(t)
	ctx := context.Background()
	std := e.groups[keyward.VaultStandard]
	v, _, err := e.s.vaultOf(ctx, e.admin.AccountID, std)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"deleted-native", "live-native"} {
		if _, err := v.CreateKey(ctx, name, keyward.CloudKeySpec{KeyType: "EC", Curve: "P-256", Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.DeleteKey(ctx, "deleted-native"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, reason string }{
		{"deleted-native", "deleted"},
		{"live-native", "already has a key named"},
	} {
		j, err := e.s.GenerateInAzure(ctx, e.admin, AzureGenerate{Type: keyward.TypeRSA, AzureKeyInput: AzureKeyInput{GroupID: std, AzureName: tc.name}})
		if err != nil {
			t.Fatal(err)
		}
		done := e.wait(j)
		if done.State != keyward.JobFailed || done.Attempts != 1 || !strings.Contains(done.Error, tc.reason) {
			t.Fatalf("%s: job %s after %d attempts: %q", tc.name, done.State, done.Attempts, done.Error)
		}
		recs, err := e.s.ListAudit(ctx, e.admin, keyward.AuditFilter{Action: ActAzureKeyGenerate, Outcome: keyward.OutcomeFailure})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range recs {
			found = found || (strings.Contains(r.Detail, j.ID) && strings.Contains(r.Detail, tc.reason))
		}
		if !found {
			t.Fatalf("%s: no failure audited: %+v", tc.name, recs)
		}
	}
}
