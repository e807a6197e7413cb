package akvemu

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

func TestSoftDeleteRules(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Timing = TimingConfig{DeleteDelay: Duration(time.Hour), RecoverDelay: Duration(time.Hour), PurgeDelay: Duration(time.Hour)}
	})
	ctx := context.Background()
	c := e.keys("direct", "kw-standard")
	mustCreate := func(name string) {
		t.Helper()
		if _, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
			t.Fatalf("CreateKey %s: %v", name, err)
		}
	}
	mustCreate("slow")
	if _, err := c.DeleteKey(ctx, "slow", nil); err != nil {
		t.Fatal(err)
	}
	// The delete has not completed: the deleted key is not visible yet, and the name is
	// "being deleted".
	if _, err := c.GetDeletedKey(ctx, "slow", nil); statusOf(err) != 404 {
		t.Errorf("deleted key visible before the delete completed: %v", err)
	}
	golden(t, "delete_in_progress_create", e.raw("POST", "kw-standard", "/keys/slow/create", `{"kty":"EC"}`))
	e.clock.Advance(time.Hour + time.Second)
	golden(t, "deleted_but_recoverable_create", e.raw("POST", "kw-standard", "/keys/slow/create", `{"kty":"EC"}`))
	golden(t, "deleted_but_recoverable_import", e.raw("PUT", "kw-standard", "/keys/slow",
		`{"key":{"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"}}`))
	var n int
	for p := c.NewListDeletedKeyPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Errorf("deleted keys = %d", n)
	}
	if _, err := c.RecoverDeletedKey(ctx, "slow", nil); err != nil {
		t.Fatal(err)
	}
	// Recovery is asynchronous too: 404 until it completes.
	if _, err := c.GetKey(ctx, "slow", "", nil); statusOf(err) != 404 {
		t.Errorf("recovered key visible at once: %v", err)
	}
	e.clock.Advance(time.Hour + time.Second)
	if _, err := c.GetKey(ctx, "slow", "", nil); err != nil {
		t.Errorf("recovered key: %v", err)
	}
	golden(t, "deleted_key_not_found", e.raw("GET", "kw-standard", "/deletedkeys/never", ""))
	golden(t, "key_not_found", e.raw("GET", "kw-standard", "/keys/never", ""))
	golden(t, "key_not_found_hsm", e.raw("GET", "kw-hsm", "/keys/never", ""))

	t.Run("purge protection", func(t *testing.T) {
		p := e.keys("direct", "kw-premium")
		if _, err := p.CreateKey(ctx, "protected", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM)}, nil); err != nil {
			t.Fatal(err)
		}
		d, err := p.DeleteKey(ctx, "protected", nil)
		if err != nil {
			t.Fatal(err)
		}
		if *d.Attributes.RecoveryLevel != "Recoverable" || d.ScheduledPurgeDate.Sub(*d.DeletedDate) != 90*24*time.Hour {
			t.Errorf("deleted = %+v", d.Attributes)
		}
		e.clock.Advance(time.Hour + time.Second)
		golden(t, "purge_protected", e.raw("DELETE", "kw-premium", "/deletedkeys/protected", ""))
		// After the retention period the service purges it by itself.
		e.clock.Advance(90 * 24 * time.Hour)
		if _, err := p.GetDeletedKey(ctx, "protected", nil); statusOf(err) != 404 {
			t.Errorf("deleted key after retention: %v", err)
		}
	})

	t.Run("soft delete off", func(t *testing.T) {
		l := e.keys("direct", "kw-legacy")
		if _, err := l.CreateKey(ctx, "gone", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
			t.Fatal(err)
		}
		d, err := l.DeleteKey(ctx, "gone", nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.RecoveryID != nil || d.ScheduledPurgeDate != nil || *d.Attributes.RecoveryLevel != "Purgeable" {
			t.Errorf("legacy delete = %+v", d.DeletedKey)
		}
		golden(t, "soft_delete_off_get_deleted", e.raw("GET", "kw-legacy", "/deletedkeys/gone", ""))
		if _, err := l.CreateKey(ctx, "gone", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
			t.Errorf("name not free after a permanent delete: %v", err)
		}
	})
}

func TestRetentionOverride(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Timing.Retention = Duration(2 * time.Second) })
	ctx := context.Background()
	c := e.keys("direct", "kw-premium")
	if _, err := c.CreateKey(ctx, "short", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.DeleteKey(ctx, "short", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.ScheduledPurgeDate.Sub(*d.DeletedDate); got != 2*time.Second {
		t.Errorf("scheduled purge after %v, want 2s", got)
	}
	e.clock.Advance(3 * time.Second)
	if _, err := c.GetDeletedKey(ctx, "short", nil); statusOf(err) != 404 {
		t.Errorf("not purged after the retention override: %v", err)
	}
}

func TestBackupRestore(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Timing.PurgeDelay = Duration(time.Minute) })
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			c := e.keys(mode, "kw-standard")
			name := "bk-" + mode
			var ids []string
			for range 3 {
				k, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA),
					Tags: map[string]*string{"n": to.Ptr("x")}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, k.Key.KID.Version())
			}
			bk, err := c.BackupKey(ctx, name, nil)
			if err != nil {
				t.Fatalf("BackupKey: %v", err)
			}
			if !strings.HasPrefix(string(bk.Value), vaultBackupPrefix) {
				t.Errorf("vault backup lacks Azure's prefix: %.40q", bk.Value)
			}
			_, err = c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: bk.Value}, nil)
			wantStatus(t, err, 409, "Conflict")
			if _, err := c.DeleteKey(ctx, name, nil); err != nil {
				t.Fatal(err)
			}
			_, err = c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: bk.Value}, nil)
			wantStatus(t, err, 409, "Conflict")
			if _, err := c.PurgeDeletedKey(ctx, name, nil); err != nil {
				t.Fatal(err)
			}
			// Right after a purge the name is still reserved (akv-api.md §1.6).
			_, err = c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: bk.Value}, nil)
			wantStatus(t, err, 409, "Conflict")
			e.clock.Advance(time.Minute + time.Second)
			restored, err := c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: bk.Value}, nil)
			if err != nil {
				t.Fatalf("RestoreKey: %v", err)
			}
			if restored.Key.KID.Version() != ids[2] || *restored.Tags["n"] != "x" {
				t.Errorf("restored = %s", *restored.Key.KID)
			}
			var got []string
			for p := c.NewListKeyPropertiesVersionsPager(name, nil); p.More(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, kp := range page.Value {
					got = append(got, kp.KID.Version())
				}
			}
			slices.Sort(ids)
			if !slices.Equal(got, ids) {
				t.Errorf("restored versions %v, want %v", got, ids)
			}
			// The restored material is the original: a signature verifies with the old version.
			digest := make([]byte, 32)
			sig, err := c.Sign(ctx, name, ids[0], azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest}, nil)
			if err != nil {
				t.Fatal(err)
			}
			v, err := c.Verify(ctx, name, ids[0], azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Digest: digest, Signature: sig.Result}, nil)
			if err != nil || !*v.Value {
				t.Errorf("verify after restore: %v", err)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		h := e.keys("direct", "kw-hsm")
		if _, err := h.CreateKey(ctx, "hk", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeOctHSM)}, nil); err != nil {
			t.Fatal(err)
		}
		bk, err := h.BackupKey(ctx, "hk", nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(string(bk.Value), vaultBackupPrefix) || !strings.HasPrefix(string(bk.Value), "ey") {
			t.Errorf("MHSM backup should be a bare JWE: %.20q", bk.Value)
		}
		body, _ := json.Marshal(map[string]string{"value": b64url(bk.Value)})
		golden(t, "restore_hsm_into_vault", e.raw("POST", "kw-standard", "/keys/restore", string(body)))
		golden(t, "restore_garbage", e.raw("POST", "kw-standard", "/keys/restore", `{"value":"AAECAwQ"}`))
		golden(t, "restore_conflict", e.raw("POST", "kw-hsm", "/keys/restore", string(body)))
	})
}

func TestRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.keys("direct", "kw-premium")
	if _, err := c.CreateKey(ctx, "rot", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeECHSM), Tags: map[string]*string{"a": to.Ptr("b")}}, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "rotation_policy_default_vault", e.raw("GET", "kw-premium", "/keys/rot/rotationpolicy", ""))
	p, err := c.UpdateKeyRotationPolicy(ctx, "rot", azkeys.KeyRotationPolicy{
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")},
		LifetimeActions: []*azkeys.LifetimeAction{{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
			Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P30D")}}}}, nil)
	if err != nil {
		t.Fatalf("UpdateKeyRotationPolicy: %v", err)
	}
	if len(p.LifetimeActions) != 2 || *p.LifetimeActions[1].Action.Type != azkeys.KeyRotationPolicyActionNotify ||
		*p.LifetimeActions[1].Trigger.TimeBeforeExpiry != "P30D" || *p.ID != "https://kw-premium.vault.azure.net/keys/rot/rotationpolicy" {
		t.Errorf("policy = %+v", p.KeyRotationPolicy)
	}
	r, err := c.RotateKey(ctx, "rot", nil)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if got := r.Attributes.Expires.Sub(*r.Attributes.Created); got != 90*24*time.Hour {
		t.Errorf("rotated exp = created + %v", got)
	}
	if *r.Key.Kty != azkeys.KeyTypeECHSM || *r.Key.Crv != azkeys.CurveNameP256 || r.Tags != nil {
		t.Errorf("rotated = %+v tags %v", r.Key, r.Tags)
	}
	golden(t, "rotate_unknown_key", e.raw("POST", "kw-premium", "/keys/keynonexistent/rotate", ""))
	golden(t, "rotation_policy_too_short", e.raw("PUT", "kw-premium", "/keys/rot/rotationpolicy",
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P2D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P90D"}}`))

	// Automatic rotation: after timeAfterCreate the key has a new version.
	e.clock.Advance(31 * 24 * time.Hour)
	got, err := c.GetKey(ctx, "rot", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key.KID.Version() == r.Key.KID.Version() {
		t.Error("policy did not rotate the key after 30 days")
	}
	e.clock.Advance(-31 * 24 * time.Hour)

	t.Run("managed hsm", func(t *testing.T) {
		h := e.keys("direct", "kw-hsm")
		if _, err := h.CreateKey(ctx, "hrot", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA)}, nil); err != nil {
			t.Fatal(err)
		}
		golden(t, "rotation_policy_default_hsm", e.raw("GET", "kw-hsm", "/keys/hrot/rotationpolicy", ""))
		golden(t, "rotate_hsm_without_policy", e.raw("POST", "kw-hsm", "/keys/hrot/rotate", ""))
		golden(t, "rotation_policy_hsm_notify", e.raw("PUT", "kw-hsm", "/keys/hrot/rotationpolicy",
			`{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],"attributes":{}}`))
		p, err := h.UpdateKeyRotationPolicy(ctx, "hrot", azkeys.KeyRotationPolicy{
			LifetimeActions: []*azkeys.LifetimeAction{{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
				Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P28D")}}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.LifetimeActions) != 1 || *p.LifetimeActions[0].Action.Type != "rotate" {
			t.Errorf("MHSM policy = %+v", p.LifetimeActions)
		}
		if _, err := h.RotateKey(ctx, "hrot", nil); err != nil {
			t.Errorf("RotateKey with a policy: %v", err)
		}
	})
}
