package akvemu

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// tenant is a configured Entra tenant.
type tenant struct {
	id      string // lower-case GUID
	cloud   *cloud
	domains []string
	apps    map[string]*app // by lower-case client id
}

// app is an app registration with its credentials.
type app struct {
	cfg      AppConfig
	tenant   *tenant
	objectID string
	certs    []*x509.Certificate
	grants   map[string]bool // lower-case subscription ids
}

// secretOK compares a presented secret in constant time.
func (a *app) secretOK(s string) bool {
	return a.cfg.Secret != "" && subtle.ConstantTimeCompare([]byte(a.cfg.Secret), []byte(s)) == 1
}

// certByThumbprint finds a registered certificate by its SHA-1 (x5t) or SHA-256
// (x5t#S256) thumbprint.
func (a *app) certByThumbprint(tp []byte) *x509.Certificate {
	for _, c := range a.certs {
		s1 := sha1.Sum(c.Raw)
		s256 := sha256.Sum256(c.Raw)
		if subtle.ConstantTimeCompare(tp, s1[:]) == 1 || subtle.ConstantTimeCompare(tp, s256[:]) == 1 {
			return c
		}
	}
	return nil
}

// subscription is a configured subscription.
type subscription struct {
	cfg    SubscriptionConfig
	id     string // lower-case
	tenant *tenant
}

// registry holds the directory (tenants, apps, subscriptions) and the vaults. Vaults carry
// their own locks for their keys; the registry lock only guards the maps.
type registry struct {
	mu      sync.RWMutex
	tenants map[string]*tenant       // by id and by each domain, lower case
	subs    map[string]*subscription // by lower-case id
	vaults  map[string]*vault        // by lower-case host name
	order   []*vault                 // in creation order, for ARM listings
}

func newRegistry() *registry {
	return &registry{
		tenants: map[string]*tenant{},
		subs:    map[string]*subscription{},
		vaults:  map[string]*vault{},
	}
}

// addTenant registers a tenant and its apps. A tenant id already present is merged: new
// apps are added, existing ones replaced.
func (r *registry) addTenant(tc TenantConfig) error {
	if err := tc.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	id := strings.ToLower(tc.ID)
	t := r.tenants[id]
	if t == nil {
		t = &tenant{id: id, cloud: cloudNamed(tc.Cloud), apps: map[string]*app{}}
		r.tenants[id] = t
	}
	for _, d := range tc.Domains {
		d = strings.ToLower(d)
		if other := r.tenants[d]; other != nil && other != t {
			return fmt.Errorf("tenant %s: domain %s belongs to tenant %s", tc.ID, d, other.id)
		}
		r.tenants[d] = t
		if !slices.Contains(t.domains, d) {
			t.domains = append(t.domains, d)
		}
	}
	for _, ac := range tc.Apps {
		if err := r.addAppLocked(t, ac); err != nil {
			return err
		}
	}
	return nil
}

// addApp registers an app registration in an existing tenant.
func (r *registry) addApp(tenantID string, ac AppConfig) error {
	if err := ac.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenants[strings.ToLower(tenantID)]
	if t == nil {
		return fmt.Errorf("add app: unknown tenant %s", tenantID)
	}
	return r.addAppLocked(t, ac)
}

func (r *registry) addAppLocked(t *tenant, ac AppConfig) error {
	a := &app{cfg: ac, tenant: t, objectID: strings.ToLower(ac.ObjectID), grants: map[string]bool{}}
	if a.objectID == "" {
		a.objectID = stableGUID(t.id + "/" + strings.ToLower(ac.ClientID))
	}
	if ac.CertificatePEM != "" {
		certs, err := parseCertificates([]byte(ac.CertificatePEM))
		if err != nil {
			return fmt.Errorf("app %s: %w", ac.ClientID, err)
		}
		a.certs = certs
	}
	for _, s := range ac.Subscriptions {
		a.grants[strings.ToLower(s)] = true
	}
	t.apps[strings.ToLower(ac.ClientID)] = a
	return nil
}

// addSubscription registers a subscription of a known tenant.
func (r *registry) addSubscription(sc SubscriptionConfig) error {
	if err := sc.validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenants[strings.ToLower(sc.TenantID)]
	if t == nil {
		return fmt.Errorf("subscription %s: unknown tenant %s", sc.ID, sc.TenantID)
	}
	id := strings.ToLower(sc.ID)
	if sc.DisplayName == "" {
		sc.DisplayName = "Emulated subscription"
	}
	r.subs[id] = &subscription{cfg: sc, id: id, tenant: t}
	return nil
}

// tenant finds a tenant by id or domain.
func (r *registry) tenant(idOrDomain string) *tenant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.tenants[strings.ToLower(idOrDomain)]
}

// app finds an app of a tenant by client id.
func (r *registry) app(t *tenant, clientID string) *app {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return t.apps[strings.ToLower(clientID)]
}

// subscription finds a subscription by id.
func (r *registry) subscription(id string) *subscription {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.subs[strings.ToLower(id)]
}

// subscriptions lists every subscription, sorted by id.
func (r *registry) subscriptions() []*subscription {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*subscription, 0, len(r.subs))
	for _, s := range r.subs {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *subscription) int { return strings.Compare(a.id, b.id) })
	return out
}

// addVault registers a vault or HSM under its host name, which must be free.
func (r *registry) addVault(v *vault) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.vaults[v.host] != nil {
		return fmt.Errorf("add %s: host %s is already in use", v.kindName(), v.host)
	}
	for _, o := range r.order {
		if strings.EqualFold(o.name, v.name) && o.cloud == v.cloud {
			return fmt.Errorf("add %s: name %s is already in use", v.kindName(), v.name)
		}
	}
	r.vaults[v.host] = v
	r.order = append(r.order, v)
	return nil
}

// vault finds a vault or HSM by host name.
func (r *registry) vault(host string) *vault {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.vaults[host]
}

// allVaults lists vaults and HSMs in creation order.
func (r *registry) allVaults() []*vault {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.order)
}

// tenantsList returns each tenant once.
func (r *registry) tenantsList() []*tenant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seen := map[*tenant]bool{}
	var out []*tenant
	for _, t := range r.tenants {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *tenant) int { return strings.Compare(a.id, b.id) })
	return out
}
