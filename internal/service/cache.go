package service

import (
	"sync"
	"time"

	"github.com/keyward/keyward/internal/kcrypto"
	"github.com/keyward/keyward/internal/keyward"
)

// The hot path (cryptographic operations) must not touch the database to authenticate,
// find the caller's groups or unseal the key on every request. These caches hold what it
// needs. Changes made through this node clear the affected entries at once; changes made
// on another node sharing the database are seen within cacheTTL.
const cacheTTL = 2 * time.Second

// cacheMax bounds each cache; past it the cache is emptied and refills.
const cacheMax = 50000

type cached[V any] struct {
	v       V
	expires time.Time
}

// ttlCache is a small map with expiry, safe for concurrent use.
type ttlCache[V any] struct {
	mu sync.RWMutex
	m  map[string]cached[V]
}

func newTTLCache[V any]() *ttlCache[V] { return &ttlCache[V]{m: map[string]cached[V]{}} }

func (c *ttlCache[V]) get(k string, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || now.After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(k string, v V, now time.Time) {
	c.mu.Lock()
	if len(c.m) >= cacheMax {
		clear(c.m)
	}
	c.m[k] = cached[V]{v: v, expires: now.Add(cacheTTL)}
	c.mu.Unlock()
}

func (c *ttlCache[V]) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// deleteWhere drops the entries whose value matches.
func (c *ttlCache[V]) deleteWhere(match func(V) bool) {
	c.mu.Lock()
	for k, e := range c.m {
		if match(e.v) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// authEntry is an authenticated principal; sessions carry their expiry.
type authEntry struct {
	p       keyward.Principal
	expires time.Time // zero for API keys and certificates
}

// liveKey is an object ready for use: its metadata and its unsealed key.
type liveKey struct {
	obj *keyward.Object
	key *kcrypto.Key
	use keyward.CryptoPolicy // the group's: which operations applications may perform
}

type caches struct {
	auth   *ttlCache[*authEntry]                   // by SHA-256 of the credential
	groups *ttlCache[map[string]keyward.GroupRole] // by principal: its groups and roles
	keys   *ttlCache[*liveKey]                     // by account and object id or name
}

func newCaches() caches {
	return caches{auth: newTTLCache[*authEntry](), groups: newTTLCache[map[string]keyward.GroupRole](), keys: newTTLCache[*liveKey]()}
}

// afterChange clears what a committed change may have made stale.
func (s *Service) afterChange(a keyward.Action, target string) {
	switch {
	case len(target) > 7 && target[:7] == "object:":
		id := target[7:]
		s.cache.keys.deleteWhere(func(k *liveKey) bool { return k.obj.ID == id })
	default:
		// Users, applications, groups, memberships, sessions, accounts: who may do what.
		s.cache.auth.clear()
		s.cache.groups.clear()
		s.cache.keys.clear()
	}
}
