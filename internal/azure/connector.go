package azure

import (
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	armpolicy "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/keyward/keyward/internal/keyward"
)

// Options configure a Connector. The zero value is ready for Azure.
type Options struct {
	// Logger receives retries and waits at debug level; nil discards.
	Logger *slog.Logger
	// Clock tells the time for the throttle windows; nil is the system clock. Waits use
	// timers, so a test that fakes time runs inside testing/synctest.
	Clock keyward.Clock
	// BaseTransport is the template of every transport (dialer, timeouts, pools); each
	// link's TLS settings are applied to a clone. Nil uses sane defaults.
	BaseTransport *http.Transport
	// WrapTransport, when set, wraps each session's transport: for instrumentation, and
	// for tests that alter what Azure answers.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Retry shapes retries and the waits for deletes and recovers to take effect.
	Retry RetryOptions
	// Throttle shapes Keyward's budget per vault and subscription.
	Throttle ThrottleOptions
	// MaxSessions bounds the signed-in credentials (with their token caches and
	// connection pools) the connector keeps for reuse across Open calls; zero means 32.
	MaxSessions int
}

// Connector implements keyward.CloudConnector with the Azure SDK for Go. One connector
// serves the whole process: its budgets are shared by every vault client it opens, which
// is what keeps a process within Azure's limits.
type Connector struct {
	opts    Options
	log     *slog.Logger
	limiter *limiter

	mu       sync.Mutex
	sessions map[[32]byte]*session
	profiles map[string]*profileCache // by vault host
	hsmSlots map[string]chan struct{} // by managed HSM host
}

var _ keyward.CloudConnector = (*Connector)(nil)

// New returns a connector.
func New(o Options) *Connector {
	o.Retry.defaults()
	o.Throttle.defaults()
	if o.MaxSessions <= 0 {
		o.MaxSessions = 32
	}
	if o.Clock == nil {
		o.Clock = keyward.SystemClock{}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Connector{opts: o, log: log, sessions: map[[32]byte]*session{},
		profiles: map[string]*profileCache{}, hsmSlots: map[string]chan struct{}{}}
	c.limiter = newLimiter(o.Throttle.Window, c.now)
	return c
}

func (c *Connector) now() time.Time { return c.opts.Clock.Now() }

// session is a signed-in credential on one transport, with the SDK clients built on it.
// Reusing it across Open calls reuses its tokens and connections.
type session struct {
	cred     azcore.TokenCredential
	opts     azcore.ClientOptions
	ep       keyward.CloudEndpoints
	sub      string
	lastUsed time.Time

	mu   sync.Mutex
	keys map[string]*azkeys.Client
	arm  map[string]armClients // by subscription
}

// armClients are the Resource Manager clients of one subscription.
type armClients struct {
	vaults *armkeyvault.VaultsClient
	hsms   *armkeyvault.ManagedHsmsClient
}

// sessionFor returns the session of a credential, secret and TLS settings, building it
// (without calling Azure) when it is new. The cache key is a hash: the secrets it covers
// live only inside the credential object.
func (c *Connector) sessionFor(cred *keyward.CloudCredential, secret keyward.CloudSecret, ts keyward.TLSSettings, tlsKey []byte) (*session, error) {
	if cred == nil {
		return nil, keyward.Invalid("credential", "a credential is required")
	}
	ep, err := endpoints(cred)
	if err != nil {
		return nil, err
	}
	id, _ := json.Marshal([]any{cred.TenantID, cred.ClientID, cred.SubscriptionID, cred.Cloud, ep, cred.AuthMethod,
		cred.CertificatePEM, secret.ClientSecret, secret.PrivateKey, ts, tlsKey})
	key := sha256.Sum256(id)
	clear(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sessions[key]; s != nil {
		s.lastUsed = c.now()
		return s, nil
	}
	t, err := newTransport(c.opts.BaseTransport, ts, tlsKey)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper = t
	if c.opts.WrapTransport != nil {
		rt = c.opts.WrapTransport(t)
	}
	opts := azcore.ClientOptions{
		Cloud:            cloudConfig(ep),
		Transport:        &http.Client{Transport: rt},
		Retry:            policy.RetryOptions{MaxRetries: -1}, // the connector retries
		PerRetryPolicies: []policy.Policy{countPolicy{}},
		Telemetry:        policy.TelemetryOptions{ApplicationID: "keyward"},
	}
	// Token requests to Entra are not the vault's: the credential's pipeline counts none.
	credOpts := opts
	credOpts.PerRetryPolicies = nil
	tc, err := newCredential(cred, secret, credOpts)
	if err != nil {
		return nil, err
	}
	c.evictLocked()
	s := &session{cred: tc, opts: opts, ep: ep, sub: cred.SubscriptionID, lastUsed: c.now(),
		keys: map[string]*azkeys.Client{}, arm: map[string]armClients{}}
	c.sessions[key] = s
	return s, nil
}

// evictLocked drops the least recently used session when the cache is full.
func (c *Connector) evictLocked() {
	if len(c.sessions) < c.opts.MaxSessions {
		return
	}
	var oldest [32]byte
	var at time.Time
	for k, s := range c.sessions {
		if at.IsZero() || s.lastUsed.Before(at) {
			oldest, at = k, s.lastUsed
		}
	}
	if s := c.sessions[oldest]; s != nil {
		if hc, ok := s.opts.Transport.(*http.Client); ok {
			hc.CloseIdleConnections()
		}
	}
	delete(c.sessions, oldest)
}

// keysClient returns the data-plane client of a vault, with challenge-resource
// verification on: a host that names another resource in its challenge gets no token.
func (s *session) keysClient(vaultURI string) (*azkeys.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kc := s.keys[vaultURI]; kc != nil {
		return kc, nil
	}
	kc, err := azkeys.NewClient(vaultURI, s.cred, &azkeys.ClientOptions{ClientOptions: s.opts})
	if err != nil {
		return nil, keyward.Invalid("vault.uri", "%v", err)
	}
	s.keys[vaultURI] = kc
	return kc, nil
}

// armClients returns the Resource Manager clients of a subscription ("" for the
// credential's).
func (s *session) armClients(sub string) (armClients, error) {
	if sub == "" {
		sub = s.sub
	}
	if sub == "" {
		return armClients{}, keyward.Invalid("subscription_id", "the credential names no subscription")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.arm[strings.ToLower(sub)]; ok {
		return c, nil
	}
	o := &armpolicy.ClientOptions{ClientOptions: s.opts, DisableRPRegistration: true}
	vc, err := armkeyvault.NewVaultsClient(sub, s.cred, o)
	if err != nil {
		return armClients{}, keyward.Invalid("credential", "%v", err)
	}
	hc, err := armkeyvault.NewManagedHsmsClient(sub, s.cred, o)
	if err != nil {
		return armClients{}, keyward.Invalid("credential", "%v", err)
	}
	c := armClients{vaults: vc, hsms: hc}
	s.arm[strings.ToLower(sub)] = c
	return c, nil
}

// vaultShared returns the key profiles and, for a managed HSM, the request slots that
// every client of the host shares.
func (c *Connector) vaultShared(host string, mhsm bool) (*profileCache, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	host = strings.ToLower(host)
	p := c.profiles[host]
	if p == nil {
		p = &profileCache{}
		c.profiles[host] = p
	}
	if !mhsm {
		return p, nil
	}
	slots := c.hsmSlots[host]
	if slots == nil {
		slots = make(chan struct{}, c.opts.Throttle.HSMConcurrency)
		c.hsmSlots[host] = slots
	}
	return p, slots
}

// checkVaultURI refuses a vault URI outside the credential's cloud, so that a link can
// never send this cloud's tokens elsewhere.
func checkVaultURI(raw string, kind keyward.VaultKind, ep keyward.CloudEndpoints) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, keyward.Invalid("vault.uri", "%q is not an https URL", raw)
	}
	suffix := ep.VaultSuffix
	if kind == keyward.VaultManagedHSM {
		suffix = ep.HSMSuffix
	}
	if !strings.HasSuffix(strings.ToLower(u.Hostname()), strings.ToLower(suffix)) {
		return nil, keyward.Invalid("vault.uri", "%s is not a %s host of this cloud (*%s)", u.Hostname(), kind, suffix)
	}
	return u, nil
}
