package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app/apptest"
)

// wantRefused checks err is a 403 naming field.
func wantRefused(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Code != api.CodePermissionDenied || ae.Field != field {
		t.Fatalf("%s: err = %v, want 403 on field %q", what, err, field)
	}
}

func TestGroupPolicy(t *testing.T) {
	k := newKeyEnv(t)
	year := time.Now().AddDate(1, 0, 0)
	pol := &api.GroupPolicy{
		Crypto: api.CryptoPolicy{Types: []string{"rsa", "EC"}, RSASizes: []int{3072}, Curves: []string{"p-384"}},
		Metadata: api.MetadataPolicy{RequiredTags: []string{"owner"}, AllowedTags: []string{"env"}, MaxLifetimeDays: 400,
			ForbidExport: true},
	}
	g, err := k.admin.UpdateGroup(ctx, k.group, api.GroupUpdate{Policy: pol})
	apptest.Check(t, err)
	if g.Policy == nil || g.Policy.Crypto.Types[0] != "RSA" || g.Policy.Crypto.Curves[0] != "P-384" {
		t.Fatalf("the policy came back as %+v", g.Policy)
	}
	spec := func(name string, tags map[string]string, ops ...string) api.KeySpec {
		return api.KeySpec{Name: name, Group: k.group, Tags: tags, Ops: ops, DeactivationDate: &year}
	}
	owned := map[string]string{"owner": "payments"}
	_, err = k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: spec("aes", owned), Type: "AES", Size: 256})
	wantRefused(t, "an AES key", err, "type")
	_, err = k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: spec("rsa2k", owned), Type: "RSA", Size: 2048})
	wantRefused(t, "RSA-2048", err, "size")
	_, err = k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: spec("p256", owned), Type: "EC", Curve: "P-256"})
	wantRefused(t, "P-256", err, "curve")
	_, err = k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: spec("untagged", nil), Type: "RSA", Size: 3072})
	wantRefused(t, "no owner tag", err, "tags.owner")
	_, err = k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: spec("colour", map[string]string{"owner": "x", "colour": "red"}), Type: "RSA", Size: 3072})
	wantRefused(t, "an unknown tag", err, "tags.colour")
	_, err = k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: spec("exportable", owned, "SIGN", "VERIFY", "EXPORT"), Type: "RSA", Size: 3072})
	wantRefused(t, "EXPORT", err, "ops[2]")
	forever := spec("forever", owned)
	forever.DeactivationDate = nil
	_, err = k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: forever, Type: "RSA", Size: 3072})
	wantRefused(t, "no deactivation date", err, "deactivation_date")
	// The application is held to the same policy when it creates keys.
	_, err = k.app.CreateKey(ctx, api.KeyCreate{KeySpec: spec("app-rsa2k", owned), Type: "RSA", Size: 2048})
	wantRefused(t, "an app's RSA-2048", err, "size")

	key, err := k.admin.CreateKey(ctx, api.KeyCreate{KeySpec: spec("signer", map[string]string{"owner": "payments", "env": "prod"}),
		Type: "EC", Curve: "P-384"})
	apptest.Check(t, err)
	_, err = k.admin.UpdateKey(ctx, key.ID, api.KeyUpdate{Tags: &map[string]string{"env": "prod"}})
	wantRefused(t, "dropping the owner tag", err, "tags.owner")
	// A rotation makes an object too: it must comply, and does.
	if _, err := k.admin.RotateKey(ctx, key.ID, api.KeyRotate{}); err != nil {
		t.Fatalf("rotate a compliant key: %v", err)
	}

	// The crypto policy's operations hold for every use, also of keys made before it.
	signVerify(t, k.app, "signer", "ECDSA-SHA384")
	pol.Crypto.Operations = []string{"VERIFY"}
	_, err = k.admin.UpdateGroup(ctx, k.group, api.GroupUpdate{Policy: pol})
	apptest.Check(t, err)
	_, err = k.app.Sign(ctx, "signer", api.SignRequest{Alg: "ECDSA-SHA384", Message: []byte("m")})
	if code := client.ErrorCode(err); code != api.CodePermissionDenied || !strings.Contains(err.Error(), "crypto policy") {
		t.Fatalf("sign under a verify-only policy: %v", err)
	}
	out, code := runCLI(t, k.env, k.admin.Token(), "group", "policy", "show", "payments")
	if code != 0 || !strings.Contains(out, "CRYPTO OPERATIONS") || !strings.Contains(out, "VERIFY") || !strings.Contains(out, "owner") {
		t.Fatalf("policy show (%d):\n%s", code, out)
	}
	out, code = runCLI(t, k.env, k.admin.Token(), "group", "policy", "set", "payments", "--rsa-sizes", "1024")
	if code == 0 || !strings.Contains(out, "policy.crypto.rsa_sizes[0]") {
		t.Fatalf("an invalid policy (%d):\n%s", code, out)
	}
	out, code = runCLI(t, k.env, k.admin.Token(), "group", "policy", "clear", "payments")
	if code != 0 || !strings.Contains(out, "TYPES") {
		t.Fatalf("policy clear (%d):\n%s", code, out)
	}
	g, err = k.admin.GetGroup(ctx, k.group)
	if err != nil || g.Policy != nil {
		t.Fatalf("after clear: %+v %v", g, err)
	}
	if _, err := k.app.Sign(ctx, "signer", api.SignRequest{Alg: "ECDSA-SHA384", Message: []byte("m")}); err != nil {
		t.Fatalf("sign after the policy was cleared: %v", err)
	}
	// Auditors and applications cannot change a policy.
	_, err = k.app.UpdateGroup(ctx, k.group, api.GroupUpdate{Policy: &api.GroupPolicy{}})
	if err == nil {
		t.Fatal("an application changed a group's policy")
	}
}
