// Package service holds Keyward's use cases: authorize, check state and policy, do the
// work, and persist it with its audit record in one transaction.
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/jobs"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
)

// Service is the application core. Construct it with New; its fields are its dependencies.
type Service struct {
	store      keyward.Store
	sealer     *seal.Sealer
	clock      keyward.Clock
	log        *slog.Logger
	sessionTTL time.Duration
	pw         passwordParams
	cache      caches
	audits     *audit.Spool // audit records of the hot path, spooled and moved in batches
	cloud      keyward.CloudConnector
	defaultTLS keyward.TLSSettings
	vaults     vaultCache
	jobs       *jobs.Runner
}

// Options configure a Service. Zero values take the defaults documented on each field.
type Options struct {
	Store  keyward.Store
	Sealer *seal.Sealer
	Clock  keyward.Clock // default: the system clock
	Log    *slog.Logger  // default: discard
	// SessionTTL is how long a login lasts; default 12 hours.
	SessionTTL time.Duration
	// FastPasswordHashing lowers argon2id's cost for tests only.
	FastPasswordHashing bool
	// DataDir holds this node's audit spool and node id (required).
	DataDir string
	// Cloud reaches Azure (internal/azure); nil means Azure features answer ENOTSUPPORTED.
	Cloud keyward.CloudConnector
	// AzureTLS is how Keyward reaches Azure when a link or a test says nothing: a proxy
	// and CA (keyward dev points it at its emulator), or zero for the system's way.
	AzureTLS keyward.TLSSettings
	// AuditSpoolEvery is how often spooled audit records move to the database; zero means
	// the spool's default. Tests make it long to prove the spool alone keeps records.
	AuditSpoolEvery time.Duration
	// Jobs runs the jobs the use cases enqueue (New registers their kinds on it). Default:
	// a runner over Store that nothing starts, enough for tests that run no jobs.
	Jobs *jobs.Runner
}

// New returns a Service and checks that the sealer opens this database.
func New(ctx context.Context, o Options) (*Service, error) {
	s := &Service{store: o.Store, sealer: o.Sealer, clock: o.Clock, log: o.Log, sessionTTL: o.SessionTTL, pw: defaultPasswordParams, cache: newCaches(), jobs: o.Jobs, cloud: o.Cloud, defaultTLS: o.AzureTLS}
	if s.clock == nil {
		s.clock = keyward.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 12 * time.Hour
	}
	if o.FastPasswordHashing {
		s.pw = fastPasswordParams
	}
	s.setUpJobs()
	if err := s.checkSeal(ctx); err != nil {
		return nil, err
	}
	if err := s.openSpool(ctx, o.DataDir, o.AuditSpoolEvery); err != nil {
		return nil, err
	}
	return s, nil
}

// Close moves the audit records still spooled into the database and stops the service's
// background work.
func (s *Service) Close() {
	if err := s.audits.Close(); err != nil {
		s.log.Error("close the audit spool", "err", err)
	}
}

// sealCheckKey holds a sealed sentinel: if the root key cannot open it, the server was
// started with the wrong key file or passphrase, and it must not go on to seal new data
// under a key that does not match the rest of the database.
const sealCheckKey = "sealed.check"

var sealCheckValue = []byte("keyward seal check v1")

func (s *Service) checkSeal(ctx context.Context) error {
	return s.store.Update(ctx, func(tx keyward.Tx) error {
		blob, err := tx.GetMeta(sealCheckKey)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			blob, err = s.sealer.Seal(sealCheckValue, seal.Bind("meta", sealCheckKey))
			if err != nil {
				return err
			}
			return tx.PutMeta(sealCheckKey, blob)
		}
		if err != nil {
			return err
		}
		if _, err := s.sealer.Open(blob, seal.Bind("meta", sealCheckKey)); err != nil {
			return errors.New("the root key does not open this database: start Keyward with the key file (or passphrase) it was created with")
		}
		return nil
	})
}

// Store returns the store (for the composition root's health checks).
func (s *Service) Store() keyward.Store { return s.store }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

type requestIDKey struct{}

// WithRequestID returns a context that carries the request id into audit records.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// op is one audited change: the use case fills in what it did, and change commits it with
// its audit record.
type op struct {
	p      keyward.Principal
	action keyward.Action
	target string
	detail string
}

func (o *op) record(ctx context.Context, now time.Time, outcome string) keyward.AuditRecord {
	return keyward.AuditRecord{
		AccountID: o.p.AccountID, Time: now, Actor: o.p.Actor(), ActorName: o.p.Name, Action: o.action,
		Target: o.target, Outcome: outcome, RequestID: RequestID(ctx), Detail: o.detail,
	}
}

// change runs fn in a transaction and appends a success record to the same transaction.
// When fn is refused (EFORBIDDEN), the refusal is audited in a transaction of its own,
// since the change itself rolls back.
func (s *Service) change(ctx context.Context, p keyward.Principal, action keyward.Action, target string, fn func(tx keyward.Tx, o *op) error) error {
	o := &op{p: p, action: action, target: target}
	err := s.store.Update(ctx, func(tx keyward.Tx) error {
		if err := fn(tx, o); err != nil {
			return err
		}
		return audit.Append(tx, o.record(ctx, s.clock.Now(), keyward.OutcomeSuccess))
	})
	if err == nil {
		s.afterChange(action, o.target)
	}
	if keyward.IsDenied(err) {
		s.auditDenied(ctx, o, err)
	}
	return err
}

// read runs fn in a read-only transaction; a refusal is audited like a refused change.
func (s *Service) read(ctx context.Context, p keyward.Principal, action keyward.Action, target string, fn func(tx keyward.Tx) error) error {
	err := s.store.View(ctx, fn)
	if keyward.IsDenied(err) {
		s.auditDenied(ctx, &op{p: p, action: action, target: target}, err)
	}
	return err
}

// RecordDenied audits a request refused before it reached a use case (for example an
// application calling a route that is for users only).
func (s *Service) RecordDenied(ctx context.Context, p keyward.Principal, action keyward.Action, cause error) {
	s.auditDenied(ctx, &op{p: p, action: action}, cause)
}

func (s *Service) auditDenied(ctx context.Context, o *op, cause error) {
	o.detail = keyward.ErrorMessage(cause)
	err := s.store.Update(context.WithoutCancel(ctx), func(tx keyward.Tx) error {
		return audit.Append(tx, o.record(ctx, s.clock.Now(), keyward.OutcomeDenied))
	})
	if err != nil {
		s.log.Error("audit a denied request", "action", o.action, "err", err)
	}
}

// groupRoles returns p's role in each of groupIDs ("" where none), for keyward.Authorize.
func groupRoles(tx keyward.Tx, p keyward.Principal, groupIDs ...string) ([]keyward.GroupRole, error) {
	if len(groupIDs) == 0 {
		return nil, nil
	}
	ms, err := tx.PrincipalGroups(p.Kind, p.ID)
	if err != nil {
		return nil, err
	}
	byGroup := make(map[string]keyward.GroupRole, len(ms))
	for _, m := range ms {
		byGroup[m.GroupID] = m.Role
	}
	roles := make([]keyward.GroupRole, len(groupIDs))
	for i, g := range groupIDs {
		roles[i] = byGroup[g]
	}
	return roles, nil
}

// authorize checks p against an action on a target in groupIDs.
func authorize(tx keyward.Tx, p keyward.Principal, a keyward.Action, groupIDs ...string) error {
	roles, err := groupRoles(tx, p, groupIDs...)
	if err != nil {
		return err
	}
	return keyward.Authorize(p, a, roles)
}

// Now is the service's clock (for rendering effective states).
func (s *Service) Now() time.Time { return s.clock.Now() }
