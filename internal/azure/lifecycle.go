package azure

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/keyward"
)

// Delete and recover take effect asynchronously in Azure (akv-api.md §1.2, §7): right
// after a delete, GET /deletedkeys/{name} may be 404 and the name is a 409; right after a
// recover, GET /keys/{name} may be 404. azkeys no longer polls, so these methods do, and
// return only once the change shows: callers see a consistent vault.

// DeleteKey deletes every version of a key. With soft delete it returns the deleted key
// once Azure shows it; without, the delete is final and the answer is returned as is.
// It is idempotent: deleting a key that is already soft-deleted returns it, so a retried
// job converges.
func (v *vault) DeleteKey(ctx context.Context, name string) (*keyward.CloudDeletedKey, error) {
	var res azkeys.DeleteKeyResponse
	out, err := v.data.do(ctx, call{op: "DeleteKey", key: name, latest: true}, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.DeleteKey(ctx, name, nil)
		return res.Key, err
	})
	soft := v.vaultInfo().SoftDelete
	switch {
	case err == nil && !soft:
		return deletedFromBundle(res.DeletedKey), nil
	case err == nil:
		return v.awaitDeleted(ctx, name)
	case !keyward.IsCode(err, keyward.ENOTFOUND):
		return nil, err
	case !soft && out.ambiguous:
		// An attempt whose answer was lost deleted it for good; there is nothing to read.
		return &keyward.CloudDeletedKey{Name: name, DeletedAt: v.conn.now().UTC()}, nil
	case !soft:
		return nil, err
	case out.ambiguous:
		return v.awaitDeleted(ctx, name)
	}
	if d, gerr := v.getDeleted(ctx, name); gerr == nil {
		return d, nil
	}
	return nil, err
}

// awaitDeleted polls the deleted key until Azure shows it.
func (v *vault) awaitDeleted(ctx context.Context, name string) (*keyward.CloudDeletedKey, error) {
	var d *keyward.CloudDeletedKey
	err := v.await(ctx, "the delete of key "+name, func(ctx context.Context) (bool, error) {
		got, err := v.getDeleted(ctx, name)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return false, nil
		}
		d = got
		return err == nil, err
	})
	return d, err
}

// GetDeletedKey reads a soft-deleted key (ENOTSUPPORTED on a vault without soft delete).
func (v *vault) GetDeletedKey(ctx context.Context, name string) (*keyward.CloudDeletedKey, error) {
	if err := v.softDeleteOff("deleted keys"); err != nil {
		return nil, err
	}
	return v.getDeleted(ctx, name)
}

func (v *vault) getDeleted(ctx context.Context, name string) (*keyward.CloudDeletedKey, error) {
	var res azkeys.GetDeletedKeyResponse
	if _, err := v.data.do(ctx, call{op: "GetDeletedKey", key: name, latest: true}, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.GetDeletedKey(ctx, name, nil)
		return res.Key, err
	}); err != nil {
		return nil, err
	}
	return deletedFromBundle(res.DeletedKey), nil
}

// ListDeletedKeys calls fn for every soft-deleted key, with its latest version's
// attributes in Current (no key type: listings carry none).
func (v *vault) ListDeletedKeys(ctx context.Context, fn func(keyward.CloudDeletedKey) error) error {
	if err := v.softDeleteOff("deleted keys"); err != nil {
		return err
	}
	return eachPage(ctx, v.data, call{op: "GetDeletedKeys"}, func() *runtime.Pager[azkeys.ListDeletedKeyPropertiesResponse] {
		return v.kc.NewListDeletedKeyPropertiesPager(nil)
	},
		func(p azkeys.ListDeletedKeyPropertiesResponse) []*azkeys.DeletedKeyProperties { return p.Value },
		func(p *azkeys.DeletedKeyProperties) error { return fn(deletedFromProperties(p)) })
}

// RecoverKey brings a soft-deleted key back with all its versions and returns its latest
// version once Azure serves it again. A key that is already live is returned as it is.
func (v *vault) RecoverKey(ctx context.Context, name string) (*keyward.CloudKey, error) {
	if err := v.softDeleteOff("recover"); err != nil {
		return nil, err
	}
	var res azkeys.RecoverDeletedKeyResponse
	out, err := v.data.do(ctx, call{op: "RecoverDeletedKey", key: name, latest: true}, func(ctx context.Context) (result, error) {
		var err error
		res, err = v.kc.RecoverDeletedKey(ctx, name, nil)
		return res.Key, err
	})
	version := ""
	switch {
	case err == nil:
		if res.Key != nil {
			_, version = parseKID(kidString(res.Key.KID))
		}
	case !keyward.IsCode(err, keyward.ENOTFOUND):
		return nil, err
	case !out.ambiguous:
		if k, gerr := v.GetKey(ctx, name, ""); gerr == nil {
			return k, nil
		}
		return nil, err
	}
	var k *keyward.CloudKey
	err = v.await(ctx, "the recovery of key "+name, func(ctx context.Context) (bool, error) {
		got, err := v.GetKey(ctx, name, version)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return false, nil
		}
		k = got
		return err == nil, err
	})
	return k, err
}

// PurgeKey removes a soft-deleted key for good. Under purge protection Azure refuses
// every purge (it purges the key itself at its scheduled date), so the call is not made.
func (v *vault) PurgeKey(ctx context.Context, name string) error {
	if err := v.softDeleteOff("purge"); err != nil {
		return err
	}
	if info := v.vaultInfo(); info.PurgeProtection {
		return keyward.Errorf(keyward.EFORBIDDEN,
			"%s %s has purge protection: Azure purges deleted keys itself when their retention period ends", info.Kind, info.Name)
	}
	out, err := v.data.do(ctx, call{op: "PurgeDeletedKey", key: name}, func(ctx context.Context) (result, error) {
		_, err := v.kc.PurgeDeletedKey(ctx, name, nil)
		return nil, err
	})
	if err != nil && out.ambiguous && keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil // an attempt whose answer was lost purged it
	}
	return err
}

// await polls until done reports true, with a doubling wait from PollInterval up to 2 s,
// for at most SettleTimeout; then it gives up with EUNAVAILABLE and a retry hint.
func (v *vault) await(ctx context.Context, what string, done func(context.Context) (bool, error)) error {
	o := &v.conn.opts.Retry
	deadline := v.conn.now().Add(o.SettleTimeout)
	wait := o.PollInterval
	for {
		ok, err := done(ctx)
		if err != nil || ok {
			return err
		}
		if v.conn.now().Add(wait).After(deadline) {
			return &keyward.Error{Code: keyward.EUNAVAILABLE, RetryAfter: 5 * time.Second,
				Message: fmt.Sprintf("Azure: %s has not taken effect after %s", what, o.SettleTimeout)}
		}
		if !sleep(ctx, wait) {
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		}
		wait = min(2*wait, 2*time.Second)
	}
}
