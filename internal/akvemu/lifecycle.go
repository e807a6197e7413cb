package akvemu

import (
	"net/http"
	"strings"
	"time"
)

// Delete, recover and purge, with soft delete, retention and purge protection
// (akv-api.md §1.2, §7). Delete and recover take Timing.DeleteDelay / RecoverDelay to
// complete, as they are asynchronous in Azure.

// purgeTime is when a key deleted at t is purged automatically.
func (e *Emulator) purgeTime(v *vault, t time.Time) time.Time {
	if r := e.Timing().Retention.D(); r > 0 {
		return t.Add(r)
	}
	return t.AddDate(0, 0, v.retentionDays)
}

// sweep completes what time has finished: soft-deleted keys past their purge date go,
// purged names are released, and rotation policies that are due rotate their keys. (The
// ends of deletes and recovers need no sweep: lookups compare their times.) It visits
// only deleted keys, reserved names and keys with a policy, as it runs on every request.
// Call with v.mu held.
func (e *Emulator) sweep(rc *reqCtx) {
	v, now := rc.v, rc.now
	for name, d := range v.deleted {
		if !now.Before(time.Unix(d.ScheduledPurge, 0)) {
			delete(v.deleted, name)
			v.purging[name] = now.Add(e.Timing().PurgeDelay.D())
			e.changed()
		}
	}
	for name, until := range v.purging {
		if !now.Before(until) {
			delete(v.purging, name)
		}
	}
	for name := range v.policied {
		if k := v.keys[name]; k != nil {
			e.autoRotate(rc, k)
		} else if v.deleted[name] == nil {
			delete(v.policied, name) // purged
		}
	}
}

// deleteKey serves DELETE /keys/{name}: every version goes. With soft delete the key
// becomes a deleted key; without it, it is gone at once.
func (e *Emulator) deleteKey(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, _, kerr := v.lookup(rc, rt.name, "")
	if kerr != nil {
		return 0, nil, kerr
	}
	lname := strings.ToLower(k.Name)
	delete(v.keys, lname)
	v.dirty = true
	e.changed()
	d := &deletedKey{Entry: k, DeletedDate: rc.now.Unix()}
	if !v.softDelete {
		return http.StatusOK, rc.deletedBundle(d), nil
	}
	d.ScheduledPurge = e.purgeTime(v, rc.now).Unix()
	d.VisibleAt = rc.now.Add(e.Timing().DeleteDelay.D())
	v.deleted[lname] = d
	return http.StatusOK, rc.deletedBundle(d), nil
}

// softDeleteOff is the refusal of the deleted-key operations on a vault without soft
// delete.
func softDeleteOff(op string) *kvErr {
	return badParam("Operation \"%s\" is not allowed because soft delete is not enabled for this vault.", op)
}

// visibleDeleted finds a deleted key whose delete has completed. Call with v.mu held.
func (v *vault) visibleDeleted(rc *reqCtx, name string) (*deletedKey, *kvErr) {
	d := v.deleted[strings.ToLower(name)]
	if d == nil || rc.now.Before(d.VisibleAt) {
		return nil, deletedKeyNotFound(name)
	}
	return d, nil
}

// getDeletedKey serves GET /deletedkeys/{name}.
func (e *Emulator) getDeletedKey(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	if !v.softDelete {
		return 0, nil, softDeleteOff("get deleted key")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	d, kerr := v.visibleDeleted(rc, rt.name)
	if kerr != nil {
		return 0, nil, kerr
	}
	return http.StatusOK, rc.deletedBundle(d), nil
}

// recoverKey serves POST /deletedkeys/{name}/recover: the key comes back with all its
// versions, available after RecoverDelay.
func (e *Emulator) recoverKey(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	if !v.softDelete {
		return 0, nil, softDeleteOff("recover")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	d, kerr := v.visibleDeleted(rc, rt.name)
	if kerr != nil {
		return 0, nil, kerr
	}
	delete(v.deleted, strings.ToLower(d.Entry.Name))
	k := d.Entry
	k.AvailableAt = rc.now.Add(e.Timing().RecoverDelay.D())
	v.addKey(k)
	e.changed()
	return http.StatusOK, rc.bundle(k.Name, k.latest()), nil
}

// purgeKey serves DELETE /deletedkeys/{name}: 204, or 403 under purge protection until the
// scheduled purge date.
func (e *Emulator) purgeKey(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	v := rc.v
	if !v.softDelete {
		return 0, nil, softDeleteOff("purge")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	d, kerr := v.visibleDeleted(rc, rt.name)
	if kerr != nil {
		return 0, nil, kerr
	}
	if v.purgeProtection {
		return 0, nil, forbidden("", "Operation \"purge\" is not allowed because purge protection is enabled for this "+
			"vault. Key Vault service will automatically purge it after the retention period has passed. Vault: %s;location=%s",
			v.name, v.location)
	}
	lname := strings.ToLower(d.Entry.Name)
	delete(v.deleted, lname)
	if delay := e.Timing().PurgeDelay.D(); delay > 0 {
		v.purging[lname] = rc.now.Add(delay)
	}
	e.changed()
	return http.StatusNoContent, nil, nil
}
