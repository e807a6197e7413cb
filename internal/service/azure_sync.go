package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// ActAzureSync asks for a sync of a group with its vault.
const ActAzureSync keyward.Action = "azure.sync"

// KindAzureSync is the sync job.
const KindAzureSync = "azure.sync"

// syncConcurrency is how many keys a sync works on at once; the connector keeps the
// calls within the vault's throttling budget whatever the number.
const syncConcurrency = 32

func init() {
	keyward.RegisterAction(ActAzureSync, false, true, true)
	jobKinds = append(jobKinds, func(s *Service) jobs.Kind {
		return jobs.Kind{Name: KindAzureSync, Handler: s.runSync, MaxAttempts: 5}
	})
}

// SyncResult is what a sync did.
type SyncResult struct {
	Keys           int            `json:"keys"`             // keys in the vault (not deleted)
	Changed        int            `json:"changed"`          // keys that needed calls of their own
	VersionsAdded  int            `json:"versions_added"`   // new virtual keys
	Escrowed       int            `json:"escrowed"`         // backups taken
	SoftDeleted    int            `json:"soft_deleted"`     // keys newly seen soft-deleted in Azure
	Purged         int            `json:"purged"`           // keys newly gone from Azure
	Failed         int            `json:"failed,omitempty"` // keys that failed (the job retries)
	Calls          map[string]int `json:"calls"`            // requests sent to Azure, by operation
	DurationMillis int64          `json:"duration_ms"`
}

// Sync enqueues a sync of a group with its vault.
func (s *Service) Sync(ctx context.Context, p keyward.Principal, groupID string) (*keyward.Job, error) {
	return s.EnqueueJob(ctx, p, ActAzureSync, jobs.Spec{GroupID: groupID, Kind: KindAzureSync, Title: "Sync with Azure"})
}

// known is what the group holds of one Azure key.
type known struct {
	versions map[string]*keyward.Object
	current  *keyward.Object
	escrowed bool
	// escrowedAt is when the last sync of the key finished with it (Keyward's clock).
	escrowedAt time.Time
}

// sameSecondSlack is how close to the last look at a key its Azure "updated" time may be
// before the listing can no longer tell that nothing changed. Azure's timestamps have
// whole seconds: a version created, or a key disabled, in the same second as the change
// sync last saw leaves "updated" as it was. The slack also covers a few seconds of skew
// between Keyward's clock and Azure's.
const sameSecondSlack = 5 * time.Second

func (s *Service) runSync(ctx context.Context, run *jobs.Run) error {
	j := run.Job()
	start := time.Now()
	v, link, err := s.vaultOf(ctx, j.AccountID, j.GroupID)
	if err != nil {
		return jobErr(err)
	}
	before := v.Calls()
	res := &SyncResult{}
	have, err := s.known(ctx, link)
	if err != nil {
		return err
	}
	run.Progress(0, 0, "listing the vault's keys")
	// Keys are worked on as the listing's pages arrive: on a large vault the listing
	// alone is a few seconds of round trips that would otherwise leave the budget idle.
	w := s.startSyncWorkers(ctx, run, v, link, have)
	items, deleted, err := s.listVault(ctx, v, link, func(it keyward.CloudKeyItem) error {
		if changed(have[it.Name], it) {
			w.add(it)
		}
		return nil
	})
	failed := w.finish(ctx, res)
	res.Keys = len(items)
	if err != nil {
		run.Log(keyward.LogError, "Sync could not list the vault", keyward.ErrorMessage(err))
		return jobErr(err)
	}
	if err := s.markGone(ctx, link, items, deleted, have, res); err != nil {
		return err
	}
	res.Calls = diffCalls(v.Calls(), before)
	res.DurationMillis = time.Since(start).Milliseconds()
	summary := fmt.Sprintf("%d keys: %d brought up to date, %d new versions, %d backups escrowed, %d soft-deleted, %d purged",
		res.Keys, res.Changed-res.Failed, res.VersionsAdded, res.Escrowed, res.SoftDeleted, res.Purged)
	if err := run.SetResult(res); err != nil {
		return err
	}
	if failed != nil {
		run.Log(keyward.LogWarn, "Sync left keys to retry", fmt.Sprintf("%s; %d failed: %v", summary, res.Failed, failed))
		return jobErr(keysFailed(failed, w.failedNames()))
	}
	run.Log(keyward.LogInfo, "Sync done", summary)
	return nil
}

// listVault lists the keys, passing each to fn as it arrives, and, where the vault keeps
// them, the soft-deleted keys.
func (s *Service) listVault(ctx context.Context, v keyward.CloudVault, link *keyward.AzureLink,
	fn func(keyward.CloudKeyItem) error) ([]keyward.CloudKeyItem, map[string]keyward.CloudDeletedKey, error) {
	var items []keyward.CloudKeyItem
	if err := v.ListKeys(ctx, func(it keyward.CloudKeyItem) error {
		if it.Managed { // keys that back certificates belong to the certificates
			return nil
		}
		if _, ok := kekJob(it.Name); ok { // a BYOK import's key-exchange key, deleted when it ends
			return nil
		}
		items = append(items, it)
		return fn(it)
	}); err != nil {
		return nil, nil, err
	}
	deleted := map[string]keyward.CloudDeletedKey{}
	if !link.Vault.SoftDelete {
		return items, deleted, nil // nothing is ever soft-deleted here: don't ask
	}
	err := v.ListDeletedKeys(ctx, func(d keyward.CloudDeletedKey) error {
		deleted[d.Name] = d
		return nil
	})
	if keyward.IsCode(err, keyward.ENOTSUPPORTED) {
		err = nil
	}
	return items, deleted, err
}

// known loads the group's virtual keys and escrows, by Azure key name.
func (s *Service) known(ctx context.Context, link *keyward.AzureLink) (map[string]*known, error) {
	have := map[string]*known{}
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		objs, err := tx.ListCloudObjects(link.AccountID, link.GroupID, "")
		if err != nil {
			return err
		}
		for i := range objs {
			o := &objs[i]
			k := have[o.Cloud.KeyName]
			if k == nil {
				k = &known{versions: map[string]*keyward.Object{}}
				have[o.Cloud.KeyName] = k
			}
			k.versions[o.Cloud.Version] = o
			if o.Cloud.Current {
				k.current = o
			}
		}
		for name, k := range have {
			e, err := tx.GetEscrow(link.AccountID, link.GroupID, name)
			k.escrowed = err == nil
			if err != nil && !keyward.IsCode(err, keyward.ENOTFOUND) {
				return err
			}
			if e != nil {
				k.escrowedAt = e.TakenAt
			}
		}
		return nil
	})
	return have, err
}

// changed reports whether a key needs calls of its own: it is new, its current version
// or state moved, its backup is not escrowed yet, or it was updated so close to the last
// sync's look at it that a change within the same second would not show (see
// sameSecondSlack).
func changed(k *known, it keyward.CloudKeyItem) bool {
	if k == nil || k.current == nil || !k.escrowed {
		return true
	}
	c := k.current.Cloud
	return c.State != stateOfItem(it) || !c.Updated.Equal(it.Updated) || !it.Updated.Before(k.escrowedAt.Add(-sameSecondSlack))
}

func stateOfItem(it keyward.CloudKeyItem) string {
	if it.Enabled {
		return keyward.CloudEnabled
	}
	return keyward.CloudDisabled
}

// syncWorkers brings changed keys up to date from syncConcurrency goroutines, taking them
// as the listing finds them. The queue is unbounded so that the listing never waits for
// the workers: once the vault's budget is spent, a listing that waited would compete
// with every worker for each page and starve them of keys.
type syncWorkers struct {
	mu     sync.Mutex
	ready  *sync.Cond
	queue  []keyward.CloudKeyItem
	head   int
	closed bool

	wg                          sync.WaitGroup
	found, done                 atomic.Int64
	added, escrowed, failedKeys atomic.Int64
	errs                        []error  // under mu
	failed                      []string // names of the keys in errs, under mu
}

// failedNames returns the names of the keys that failed.
func (w *syncWorkers) failedNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.failed)
}

// keysFailed is a sync's failure as the job reports it: the first failed key's reason,
// with Azure's code and wait, naming the keys that failed. (The joined errors alone
// would show only the first reason, without saying which keys.)
func keysFailed(err error, names []string) error {
	var ke *keyward.Error
	if len(names) == 0 || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ke) {
		return err
	}
	slices.Sort(names)
	shown := strings.Join(names[:min(len(names), 5)], ", ")
	if len(names) > 5 {
		shown += fmt.Sprintf(" and %d more", len(names)-5)
	}
	e := *ke
	e.Message = fmt.Sprintf("%d keys could not be synced (%s): %s", len(names), shown, ke.Message)
	return &e
}

func (s *Service) startSyncWorkers(ctx context.Context, run *jobs.Run, v keyward.CloudVault, link *keyward.AzureLink,
	have map[string]*known) *syncWorkers {
	w := &syncWorkers{}
	w.ready = sync.NewCond(&w.mu)
	for range syncConcurrency {
		w.wg.Go(func() {
			for {
				it, ok := w.take()
				if !ok {
					return
				}
				if ctx.Err() != nil {
					continue // drain: the job is ending
				}
				n, err := s.syncKey(ctx, v, link, it, have[it.Name])
				if err != nil {
					w.failedKeys.Add(1)
					w.mu.Lock()
					w.errs = append(w.errs, fmt.Errorf("%s: %w", it.Name, err))
					w.failed = append(w.failed, it.Name)
					w.mu.Unlock()
					run.Log(keyward.LogError, "Could not sync key "+it.Name, keyward.ErrorMessage(err))
				} else {
					w.added.Add(int64(n))
					w.escrowed.Add(1)
				}
				d, f := int(w.done.Add(1)), int(w.found.Load())
				run.Progress(d, f, fmt.Sprintf("%d of %d keys brought up to date", d, f))
			}
		})
	}
	return w
}

// add hands a changed key to the workers.
func (w *syncWorkers) add(it keyward.CloudKeyItem) {
	w.found.Add(1)
	w.mu.Lock()
	w.queue = append(w.queue, it)
	w.mu.Unlock()
	w.ready.Signal()
}

// take waits for a key; false once the listing is over and the queue empty.
func (w *syncWorkers) take() (keyward.CloudKeyItem, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.head == len(w.queue) && !w.closed {
		w.ready.Wait()
	}
	if w.head == len(w.queue) {
		return keyward.CloudKeyItem{}, false
	}
	it := w.queue[w.head]
	w.queue[w.head] = keyward.CloudKeyItem{}
	w.head++
	return it, true
}

// finish waits for the keys handed over, records the counts and returns the joined
// errors of the keys that failed.
func (w *syncWorkers) finish(ctx context.Context, res *SyncResult) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.ready.Broadcast()
	w.wg.Wait()
	if err := ctx.Err(); err != nil {
		w.errs = append(w.errs, err) // keys were skipped
	}
	res.Changed = int(w.found.Load())
	res.VersionsAdded, res.Escrowed, res.Failed = int(w.added.Load()), int(w.escrowed.Load()), int(w.failedKeys.Load())
	return errors.Join(w.errs...)
}

// syncKey lists a key's versions, records the new ones and refreshes the others, and
// escrows a fresh backup of the key. It returns how many versions were new.
func (s *Service) syncKey(ctx context.Context, v keyward.CloudVault, link *keyward.AzureLink, it keyward.CloudKeyItem, k *known) (int, error) {
	var versions []keyward.CloudKey
	if err := v.ListVersions(ctx, it.Name, func(ck keyward.CloudKey) error {
		versions = append(versions, ck)
		return nil
	}); err != nil {
		return 0, err
	}
	latest := latestVersion(versions, it)
	var current *keyward.CloudKey
	if createdTogether(versions) {
		// Versions created within the same second: their dates cannot tell which is
		// current, so ask Azure (a wrong guess would give the key's name to an old version).
		var err error
		if current, err = v.GetKey(ctx, it.Name, ""); err != nil {
			return 0, err
		}
		latest = current.Version
		if !slices.ContainsFunc(versions, func(ck keyward.CloudKey) bool { return ck.Version == latest }) {
			versions = append(versions, *current) // created after the listing
		}
	}
	for i := range versions {
		ck := &versions[i]
		if current != nil && ck.Version == current.Version {
			versions[i] = *current
			continue
		}
		if k == nil || k.versions[ck.Version] == nil || k.versions[ck.Version].Cloud.KeyType == "" {
			full, err := v.GetKey(ctx, it.Name, ck.Version) // the listing has no kty or public part
			if err != nil {
				return 0, err
			}
			versions[i] = *full
		}
	}
	blob, err := v.BackupKey(ctx, it.Name)
	if err != nil {
		return 0, err
	}
	sealed, err := s.sealer.Seal(blob, seal.Bind("escrow", link.GroupID+"/"+it.Name))
	if err != nil {
		return 0, err
	}
	added := 0
	record := func(tx keyward.Tx) error {
		added = 0
		// Older versions first, so the current one is recorded last and keeps the name.
		for i := range versions {
			ck := &versions[i]
			if ck.Version == latest {
				continue
			}
			if _, isNew, err := s.putVirtualKey(tx, link, ck, false, cloudSource{Source: SourceAzure, Actor: "azure"}); err != nil {
				return err
			} else if isNew {
				added++
			}
		}
		for i := range versions {
			if ck := &versions[i]; ck.Version == latest {
				if _, isNew, err := s.putVirtualKey(tx, link, ck, true, cloudSource{Source: SourceAzure, Actor: "azure"}); err != nil {
					return err
				} else if isNew {
					added++
				}
			}
		}
		return tx.PutEscrow(&keyward.Escrow{AccountID: link.AccountID, GroupID: link.GroupID, KeyName: it.Name,
			Blob: sealed, Versions: len(versions), TakenAt: s.clock.Now()})
	}
	// Another sync of the group (a second click, a schedule meeting a manual sync) may
	// record the same versions at the same time: on PostgreSQL the loser's insert hits
	// the unique index and used to fail the job for good with ECONFLICT. Recording is
	// idempotent, so run it again: it then finds the other's rows and refreshes them.
	for range 3 {
		if err = s.store.Update(ctx, record); !keyward.IsCode(err, keyward.ECONFLICT) {
			break
		}
	}
	return added, err
}

// latestVersion is the key's current version: the one the listing's base kid resolves to
// is not given, so it is the most recently created version.
func latestVersion(vs []keyward.CloudKey, it keyward.CloudKeyItem) string {
	best := ""
	var at time.Time
	for _, v := range vs {
		if best == "" || v.Created.After(at) || (v.Created.Equal(at) && v.Updated.Equal(it.Updated)) {
			best, at = v.Version, v.Created
		}
	}
	return best
}

// createdTogether reports whether the newest versions share their creation time, which
// Azure gives in whole seconds.
func createdTogether(vs []keyward.CloudKey) bool {
	n := 0
	var at time.Time
	for _, v := range vs {
		switch {
		case n == 0 || v.Created.After(at):
			n, at = 1, v.Created
		case v.Created.Equal(at):
			n++
		}
	}
	return n > 1
}

// markGone records keys that left the vault's listing: soft-deleted ones with their dates,
// and purged ones (in neither list) as destroyed.
func (s *Service) markGone(ctx context.Context, link *keyward.AzureLink, items []keyward.CloudKeyItem,
	deleted map[string]keyward.CloudDeletedKey, have map[string]*known, res *SyncResult) error {
	present := map[string]bool{}
	for _, it := range items {
		present[it.Name] = true
	}
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx keyward.Tx) error {
		for name, k := range have {
			if present[name] {
				continue
			}
			d, soft := deleted[name]
			moved := false
			for _, o := range k.versions {
				c := o.Cloud
				switch {
				case soft && (c.State != keyward.CloudSoftDeleted || !c.ScheduledPurge.Equal(d.ScheduledPurge)):
					c.State, c.DeletedAt, c.ScheduledPurge = keyward.CloudSoftDeleted, d.DeletedAt, d.ScheduledPurge
				case !soft && c.State != keyward.CloudPurged:
					c.State, o.State, o.DestroyedAt = keyward.CloudPurged, keyward.StateDestroyed, now
				default:
					continue
				}
				o.UpdatedAt, moved = now, true
				if err := tx.UpdateObject(o); err != nil {
					return err
				}
			}
			switch {
			case moved && soft:
				res.SoftDeleted++
			case moved:
				res.Purged++
			}
		}
		return nil
	})
}

func diffCalls(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for op, n := range after {
		if d := n - before[op]; d > 0 {
			out[op] = d
		}
	}
	return out
}
