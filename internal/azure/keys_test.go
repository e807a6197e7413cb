package azure

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/akvemu"
	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

var versionRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkKey checks what every returned key carries.
func checkKey(t *testing.T, k *keyward.CloudKey, uri, name, kty string) {
	t.Helper()
	if k.Name != name || !versionRE.MatchString(k.Version) || k.KID != uri+"keys/"+name+"/"+k.Version {
		t.Errorf("key %s: name %q version %q kid %q", name, k.Name, k.Version, k.KID)
	}
	if k.KeyType != kty {
		t.Errorf("key %s: kty %s, want %s", name, k.KeyType, kty)
	}
	if k.Created.IsZero() || k.Updated.IsZero() || k.RecoveryLevel == "" {
		t.Errorf("key %s: attributes %+v", name, k)
	}
	if !strings.HasPrefix(kty, "oct") {
		if _, err := kcrypto.Import(k.PublicJWK, kcrypto.ImportOptions{Format: kcrypto.FormatJWK}); err != nil {
			t.Errorf("key %s: public JWK %s: %v", name, k.PublicJWK, err)
		}
	}
}

// TestKeysPerTier creates, reads, lists, updates and rotates keys on each tier, and maps
// each tier's refusals with Azure's own text.
func TestKeysPerTier(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	type create struct {
		kty   string
		size  int
		curve string
		want  string // kty Azure stores; "" when refused
		code  string
		text  string
	}
	tiers := map[string][]create{
		"kw-standard": {
			{kty: "RSA", size: 3072, want: "RSA"},
			{kty: "EC", curve: "secp256k1", want: "EC"},
			{kty: "RSA-HSM", code: keyward.EFORBIDDEN, text: "Azure: Forbidden: Hardware key operation not allowed on standard vault"},
			{kty: "oct-HSM", code: keyward.EINVALID, text: "Azure: BadParameter: Key type 'oct-HSM' is not supported on a key vault"},
		},
		"kw-premium": {
			{kty: "RSA-HSM", size: 2048, want: "RSA-HSM"},
			{kty: "EC-HSM", curve: "P-384", want: "EC-HSM"},
			{kty: "EC", curve: "P-256", want: "EC"},
			{kty: "oct-HSM", size: 256, code: keyward.EINVALID, text: "Azure: BadParameter: "},
		},
		"kw-hsm": {
			{kty: "RSA", size: 2048, want: "RSA-HSM"},
			{kty: "EC-HSM", curve: "P-256K", want: "EC-HSM"},
			{kty: "oct-HSM", size: 128, want: "oct-HSM"},
		},
	}
	for vaultName, cases := range tiers {
		t.Run(vaultName, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			v := w.open(c, vaultName)
			uri := w.info(vaultName).URI
			var made []string
			for i, tc := range cases {
				name := fmt.Sprintf("k%d-%s", i, strings.ToLower(tc.kty))
				spec := keyward.CloudKeySpec{KeyType: tc.kty, Size: tc.size, Curve: tc.curve, Enabled: true,
					Tags: map[string]string{"owner": "keyward"}, Expires: time.Now().Add(time.Hour).Truncate(time.Second)}
				k, err := v.CreateKey(ctx, name, spec)
				if tc.want == "" {
					wantCode(t, err, tc.code, tc.text)
					continue
				}
				if err != nil {
					t.Fatalf("CreateKey %s: %v", tc.kty, err)
				}
				checkKey(t, k, uri, name, tc.want)
				if tc.size > 0 && k.Size != tc.size || tc.curve != "" && k.Curve != azureCurve(tc.curve) {
					t.Errorf("%s: size %d curve %q", name, k.Size, k.Curve)
				}
				if !k.Enabled || k.Tags["owner"] != "keyward" || !k.Expires.Equal(spec.Expires) {
					t.Errorf("%s: enabled %v tags %v exp %v", name, k.Enabled, k.Tags, k.Expires)
				}
				made = append(made, name)
				exerciseKey(t, v, uri, name, k)
			}
			var listed []string
			if err := v.ListKeys(ctx, func(it keyward.CloudKeyItem) error {
				if it.KID != uri+"keys/"+it.Name || it.Created.IsZero() {
					t.Errorf("list item %+v", it)
				}
				listed = append(listed, it.Name)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			slices.Sort(listed)
			if !slices.Equal(listed, made) {
				t.Errorf("ListKeys = %v, want %v", listed, made)
			}
		})
	}
}

// exerciseKey reads, updates and rotates a key just made, and lists its versions.
func exerciseKey(t *testing.T, v keyward.CloudVault, uri, name string, made *keyward.CloudKey) {
	t.Helper()
	ctx := ctxT(t)
	latest, err := v.GetKey(ctx, name, "")
	if err != nil || latest.Version != made.Version || string(latest.PublicJWK) != string(made.PublicJWK) {
		t.Fatalf("GetKey latest = %+v, %v", latest, err)
	}
	off, exp := false, time.Now().Add(48*time.Hour).Truncate(time.Second)
	tags := map[string]string{"env": "test"}
	u, err := v.UpdateKey(ctx, name, made.Version, keyward.CloudKeyUpdate{Enabled: &off, Expires: &exp, Tags: &tags})
	if err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	if u.Enabled || !u.Expires.Equal(exp) || len(u.Tags) != 1 || u.Tags["env"] != "test" || !slices.Equal(u.Ops, made.Ops) {
		t.Errorf("UpdateKey = enabled %v exp %v tags %v ops %v", u.Enabled, u.Expires, u.Tags, u.Ops)
	}
	zero := time.Time{}
	_, err = v.UpdateKey(ctx, name, "", keyward.CloudKeyUpdate{NotBefore: &zero})
	wantCode(t, err, keyward.EINVALID, "")

	creates := v.Calls()["CreateKey"]
	r, err := v.RotateKey(ctx, name)
	if strings.HasPrefix(made.KeyType, "oct") && strings.Contains(uri, "managedhsm") {
		// Without a rotation policy a managed HSM rotates nothing, and an AES key's size
		// cannot be read back to make the new version another way.
		wantCode(t, err, keyward.EINVALID, "Azure: BadParameter: Key "+name+" has no rotation policy")
		return
	}
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if strings.Contains(uri, "managedhsm") && v.Calls()["CreateKey"] != creates+1 {
		t.Errorf("RotateKey on a managed HSM without a policy did not make the version with a create: %v", v.Calls())
	}
	checkKey(t, r, uri, name, made.KeyType)
	if r.Version == made.Version || r.Size != made.Size || r.Curve != made.Curve {
		t.Errorf("RotateKey = %+v after %+v", r, made)
	}
	var versions []string
	if err := v.ListVersions(ctx, name, func(k keyward.CloudKey) error {
		if k.Name != name || k.KeyType != "" || k.Created.IsZero() {
			t.Errorf("version item %+v", k)
		}
		versions = append(versions, k.Version)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(versions)
	want := []string{made.Version, r.Version}
	slices.Sort(want)
	if !slices.Equal(versions, want) {
		t.Errorf("ListVersions = %v, want %v", versions, want)
	}
	old, err := v.GetKey(ctx, name, made.Version)
	if err != nil || old.Enabled || old.Version != made.Version {
		t.Errorf("GetKey old version = %+v, %v", old, err)
	}
	_, err = v.GetKey(ctx, "no-such-key", "")
	wantCode(t, err, keyward.ENOTFOUND, "Azure: KeyNotFound: ")
}

// TestListPaging lists more keys than one page holds and counts the pages.
func TestListPaging(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if err := w.emu.SeedKeys("kw-standard", akvemu.SeedSpec{Count: 60, Prefix: "seed", Versions: 3}); err != nil {
		t.Fatal(err)
	}
	v := w.open(w.connector(), "kw-standard")
	ctx := ctxT(t)
	n := 0
	if err := v.ListKeys(ctx, func(keyward.CloudKeyItem) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	versions := 0
	if err := v.ListVersions(ctx, "seed-00007", func(keyward.CloudKey) error { versions++; return nil }); err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("stop")
	if err := v.ListKeys(ctx, func(keyward.CloudKeyItem) error { return stop }); err != stop {
		t.Errorf("ListKeys did not return fn's error: %v", err)
	}
	calls := v.Calls()
	// 60 keys are 3 pages of 25 at most; the first request also met the challenge.
	if n != 60 || versions != 3 || calls["GetKeys"] != 3+1+1 || calls["GetKeyVersions"] != 1 {
		t.Errorf("listed %d keys and %d versions with calls %v", n, versions, calls)
	}
	checkCallsAgree(t, w, "kw-standard", v)
}

// checkCallsAgree compares a client's counters with what the emulator served the vault.
func checkCallsAgree(t *testing.T, w *world, vault string, v keyward.CloudVault) {
	t.Helper()
	served := w.emu.Stats().Vaults[vault].Operations
	calls := v.Calls()
	for op, n := range calls {
		if int64(n) != served[op].Requests {
			t.Errorf("%s: Calls %d, emulator served %d", op, n, served[op].Requests)
		}
	}
	for op, s := range served {
		if _, ok := calls[op]; !ok {
			t.Errorf("%s: emulator served %d the client did not count", op, s.Requests)
		}
	}
}

// TestImportJWK imports software keys as JWKs (RSA, EC, secp256k1), HSM-protected ones
// with Hsm on Premium and Managed HSM, and AES on Managed HSM.
func TestImportJWK(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	specs := map[string]kcrypto.Spec{
		"rsa":       {Type: kcrypto.RSA, Bits: 2048},
		"ec":        {Type: kcrypto.EC, Curve: kcrypto.P256},
		"secp256k1": {Type: kcrypto.EC, Curve: kcrypto.Secp256k1},
		"aes":       {Type: kcrypto.AES, Bits: 192},
	}
	keys := map[string]*kcrypto.Key{}
	for n, s := range specs {
		k, err := kcrypto.Generate(s)
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = k
	}
	for _, tc := range []struct {
		vault string
		hsm   bool
		names []string
	}{
		{"kw-standard", false, []string{"rsa", "ec", "secp256k1"}},
		{"kw-premium", true, []string{"rsa", "ec", "secp256k1"}},
		{"kw-hsm", true, []string{"rsa", "ec", "secp256k1", "aes"}},
	} {
		v := w.open(c, tc.vault)
		for _, n := range tc.names {
			t.Run(tc.vault+"/"+n, func(t *testing.T) {
				jwk, err := keys[n].AzureJWK()
				if err != nil {
					t.Fatal(err)
				}
				ops := []string{"sign", "verify"}
				if n == "aes" {
					ops = []string{"wrapKey", "unwrapKey"}
				}
				got, err := v.ImportKey(ctxT(t), "imported-"+n, keyward.CloudImport{JWK: jwk, HSM: tc.hsm, Ops: ops, Enabled: true})
				if err != nil {
					t.Fatalf("ImportKey: %v", err)
				}
				wantKty := map[string]string{"rsa": "RSA", "ec": "EC", "secp256k1": "EC", "aes": "oct"}[n]
				if tc.hsm {
					wantKty += "-HSM"
				}
				checkKey(t, got, w.info(tc.vault).URI, "imported-"+n, wantKty)
				if n == "aes" {
					if got.Size != 192 {
						t.Errorf("AES size %d", got.Size)
					}
					return
				}
				samePublic(t, got, keys[n])
				if !slices.Equal(got.Ops, ops) {
					t.Errorf("ops %v, want %v", got.Ops, ops)
				}
			})
		}
	}
	_, err := w.open(c, "kw-standard").ImportKey(ctxT(t), "bad", keyward.CloudImport{JWK: []byte(`{"kty":`)})
	e := wantCode(t, err, keyward.EINVALID, "")
	if strings.Contains(e.Message, "kty") {
		t.Errorf("error quotes the material: %q", e.Message)
	}
}

// samePublic checks Azure holds the public part of want.
func samePublic(t *testing.T, got *keyward.CloudKey, want *kcrypto.Key) {
	t.Helper()
	pub, err := kcrypto.Import(got.PublicJWK, kcrypto.ImportOptions{Format: kcrypto.FormatJWK})
	if err != nil {
		t.Fatal(err)
	}
	wp, err := want.Public()
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(wp) {
		t.Errorf("Azure holds another public key than the one imported")
	}
}

// TestImportBYOK imports HSM-protected keys through Azure's BYOK transfer: a KEK made in
// the vault, its public JWK read back, the target wrapped by kcrypto.NewBYOK.
func TestImportBYOK(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.connector()
	targets := []struct {
		name, kty, curve string
		spec             kcrypto.Spec
		hsmOnly          bool
	}{
		{"rsa", "RSA-HSM", "", kcrypto.Spec{Type: kcrypto.RSA, Bits: 3072}, false},
		{"p384", "EC-HSM", "P-384", kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.P384}, false},
		{"k1", "EC-HSM", "P-256K", kcrypto.Spec{Type: kcrypto.EC, Curve: kcrypto.Secp256k1}, false},
		{"aes", "oct-HSM", "", kcrypto.Spec{Type: kcrypto.AES, Bits: 256}, true},
	}
	for _, vault := range []string{"kw-premium", "kw-hsm"} {
		t.Run(vault, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			v := w.open(c, vault)
			kek, err := v.CreateKey(ctx, "kek", keyward.CloudKeySpec{KeyType: "RSA-HSM", Size: 2048, Ops: []string{"import"}, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			kekPub, err := kcrypto.Import(kek.PublicJWK, kcrypto.ImportOptions{Format: kcrypto.FormatJWK})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range targets {
				if tc.hsmOnly && vault != "kw-hsm" {
					continue
				}
				target, err := kcrypto.Generate(tc.spec)
				if err != nil {
					t.Fatal(err)
				}
				b, err := kcrypto.NewBYOK(kekPub, kek.KID, target, "keyward test")
				if err != nil {
					t.Fatal(err)
				}
				blob, err := b.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				got, err := v.ImportKey(ctx, "byok-"+tc.name, keyward.CloudImport{BYOK: blob, KeyType: tc.kty, Curve: tc.curve, Enabled: true})
				if err != nil {
					t.Fatalf("BYOK %s: %v", tc.name, err)
				}
				checkKey(t, got, w.info(vault).URI, "byok-"+tc.name, tc.kty)
				if tc.spec.Type != kcrypto.AES {
					samePublic(t, got, target)
				}
			}
		})
	}
	t.Run("standard refuses", func(t *testing.T) {
		_, err := w.open(c, "kw-standard").ImportKey(ctxT(t), "byok", keyward.CloudImport{BYOK: []byte(`{}`), KeyType: "RSA-HSM", Enabled: true})
		wantCode(t, err, keyward.EFORBIDDEN, "Azure: Forbidden: ")
	})
	t.Run("needs a kty", func(t *testing.T) {
		_, err := w.open(c, "kw-premium").ImportKey(ctxT(t), "byok", keyward.CloudImport{BYOK: []byte(`{}`)})
		wantCode(t, err, keyward.EINVALID, "")
	})
}
