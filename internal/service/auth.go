package service

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keyward"
)

// LoginResult is a new session.
type LoginResult struct {
	Token     string // shown once; only its hash is stored
	Session   keyward.Session
	Principal keyward.Principal
}

// dummyHash is compared against when the email is unknown, so that a login for a missing
// user takes as long as one with a wrong password and does not reveal which emails exist.
var dummyHash, _ = defaultPasswordParams.hash("keyward-dummy-password")

// Login checks a user's password and opens a session in accountID (which may be empty
// when the user belongs to exactly one account).
func (s *Service) Login(ctx context.Context, email, password, accountID string) (*LoginResult, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var res *LoginResult
	var failed *op
	err := s.store.Update(ctx, func(tx keyward.Tx) error {
		u, err := tx.GetUserByEmail(email)
		if err != nil && !keyward.IsCode(err, keyward.ENOTFOUND) {
			return err
		}
		if u == nil || u.ID == "" {
			checkPassword(dummyHash, password)
			failed = &op{p: keyward.Principal{Name: email}, action: keyward.ActLogin, detail: "unknown email"}
			return badLogin()
		}
		p := keyward.Principal{Kind: keyward.KindUser, ID: u.ID, Name: u.Email}
		if !checkPassword(u.PasswordHash, password) || u.Disabled {
			failed = &op{p: p, action: keyward.ActLogin, target: "user:" + u.ID, detail: "wrong password or disabled user"}
			if ms, _ := tx.ListUserAccounts(u.ID); len(ms) > 0 {
				failed.p.AccountID = ms[0].AccountID // the user's first account sees the attempt
			}
			return badLogin()
		}
		m, err := s.pickAccount(tx, u.ID, accountID)
		if err != nil {
			return err
		}
		p.AccountID, p.Role = m.AccountID, m.Role
		token, err := randomSecret()
		if err != nil {
			return err
		}
		now := s.clock.Now()
		sess := keyward.Session{ID: newID(), TokenHash: tokenHash(token), UserID: u.ID, AccountID: m.AccountID, CreatedAt: now, ExpiresAt: now.Add(s.sessionTTL)}
		if err := tx.CreateSession(&sess); err != nil {
			return err
		}
		p.SessionID = sess.ID
		res = &LoginResult{Token: sessionPrefix + token, Session: sess, Principal: p}
		o := &op{p: p, action: keyward.ActLogin, target: "user:" + u.ID}
		return audit.Append(tx, o.record(ctx, now, keyward.OutcomeSuccess))
	})
	if failed != nil {
		s.auditDenied(ctx, failed, badLogin())
	}
	return res, err
}

func badLogin() error {
	return keyward.Errorf(keyward.EUNAUTHENTICATED, "wrong email or password")
}

func (s *Service) pickAccount(tx keyward.Tx, userID, accountID string) (*keyward.AccountMember, error) {
	if accountID != "" {
		m, err := tx.GetAccountMember(accountID, userID)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return nil, keyward.Invalid("account", "you are not a member of account %s", accountID)
		}
		return m, err
	}
	ms, err := tx.ListUserAccounts(userID)
	if err != nil {
		return nil, err
	}
	switch len(ms) {
	case 0:
		return nil, keyward.Errorf(keyward.EFORBIDDEN, "you are not a member of any account yet; ask an account administrator to add you")
	case 1:
		return &ms[0], nil
	}
	return nil, keyward.Invalid("account", "you belong to %d accounts: name one (list them with GET /v1/accounts after logging in to any)", len(ms))
}

// Authenticate resolves a bearer token — a session token or an application API key — to
// the principal it stands for.
//
// Successful authentications are cached for a short while (see cacheTTL) under the
// credential's SHA-256, so the hot path does not read the database on every request.
func (s *Service) Authenticate(ctx context.Context, token string) (keyward.Principal, error) {
	now := s.clock.Now()
	h := tokenHash(token)
	key := string(h)
	if e, ok := s.cache.auth.get(key, now); ok && (e.expires.IsZero() || now.Before(e.expires)) {
		return e.p, nil
	}
	var e *authEntry
	var err error
	switch {
	case strings.HasPrefix(token, sessionPrefix):
		e, err = s.authSession(ctx, strings.TrimPrefix(token, sessionPrefix))
	case strings.HasPrefix(token, apiKeyPrefix):
		e, err = s.authAPIKey(ctx, strings.TrimPrefix(token, apiKeyPrefix))
	default:
		return keyward.Principal{}, unauthenticated()
	}
	if err != nil {
		return keyward.Principal{}, err
	}
	s.cache.auth.put(key, e, now)
	return e.p, nil
}

func unauthenticated() error {
	return keyward.Errorf(keyward.EUNAUTHENTICATED, "missing, expired or unknown credentials: log in again or check the API key")
}

func (s *Service) authSession(ctx context.Context, secret string) (*authEntry, error) {
	var p keyward.Principal
	var expires time.Time
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		sess, err := tx.GetSessionByTokenHash(tokenHash(secret))
		if err != nil {
			return err
		}
		if !s.clock.Now().Before(sess.ExpiresAt) {
			return unauthenticated()
		}
		expires = sess.ExpiresAt
		u, err := tx.GetUser(sess.UserID)
		if err != nil || u.Disabled {
			return unauthenticated()
		}
		// The role is read on every request, so a demotion takes effect at once.
		m, err := tx.GetAccountMember(sess.AccountID, u.ID)
		if err != nil {
			return unauthenticated()
		}
		p = keyward.Principal{Kind: keyward.KindUser, ID: u.ID, Name: u.Email, AccountID: sess.AccountID, Role: m.Role, SessionID: sess.ID}
		return nil
	})
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		err = unauthenticated()
	}
	if err != nil {
		return nil, err
	}
	return &authEntry{p: p, expires: expires}, nil
}

// API keys read "kwk_<app id>.<secret>": the id finds the app, the secret's hash is compared
// in constant time.
func (s *Service) authAPIKey(ctx context.Context, key string) (*authEntry, error) {
	appID, secret, ok := strings.Cut(key, ".")
	if !ok || appID == "" || secret == "" || len(key) > 200 {
		return nil, unauthenticated()
	}
	var app *keyward.App
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		var err error
		app, err = tx.GetAppByID(appID)
		return err
	})
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, unauthenticated()
	}
	if err != nil {
		return nil, err
	}
	p := appPrincipal(app)
	if len(app.APIKeyHash) == 0 || subtle.ConstantTimeCompare(tokenHash(secret), app.APIKeyHash) != 1 || app.Disabled {
		s.auditDenied(ctx, &op{p: p, action: keyward.ActLogin, target: "app:" + app.ID}, keyward.Errorf(keyward.EUNAUTHENTICATED, "wrong API key"))
		return nil, unauthenticated()
	}
	return &authEntry{p: p}, nil
}

func appPrincipal(a *keyward.App) keyward.Principal {
	return keyward.Principal{Kind: keyward.KindApp, ID: a.ID, Name: a.Name, AccountID: a.AccountID}
}

// AuthenticateCertificate resolves a TLS client certificate's SHA-256 fingerprint to the
// application it is registered to.
func (s *Service) AuthenticateCertificate(ctx context.Context, fingerprint string) (keyward.Principal, error) {
	var app *keyward.App
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		var err error
		app, err = tx.GetAppByCertFingerprint(fingerprint)
		return err
	})
	if keyward.IsCode(err, keyward.ENOTFOUND) || (err == nil && app.Disabled) {
		return keyward.Principal{}, keyward.Errorf(keyward.EUNAUTHENTICATED, "the TLS client certificate is not registered to an application")
	}
	if err != nil {
		return keyward.Principal{}, err
	}
	return appPrincipal(app), nil
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, p keyward.Principal) error {
	if !p.IsUser() || p.SessionID == "" {
		return keyward.Errorf(keyward.EINVALID, "only a user session can log out")
	}
	return s.change(ctx, p, keyward.ActLogout, "user:"+p.ID, func(tx keyward.Tx, o *op) error {
		return tx.DeleteSession(p.SessionID)
	})
}

// ChangePassword sets a user's own password after checking the current one.
func (s *Service) ChangePassword(ctx context.Context, p keyward.Principal, current, next string) error {
	if !p.IsUser() {
		return keyward.Errorf(keyward.EFORBIDDEN, "applications have no password")
	}
	if err := keyward.ValidatePassword("new_password", next); err != nil {
		return err
	}
	hash, err := s.pw.hash(next)
	if err != nil {
		return err
	}
	return s.change(ctx, p, keyward.ActPasswordChange, "user:"+p.ID, func(tx keyward.Tx, o *op) error {
		u, err := tx.GetUser(p.ID)
		if err != nil {
			return err
		}
		if !checkPassword(u.PasswordHash, current) {
			return keyward.Invalid("current_password", "is wrong")
		}
		u.PasswordHash = hash
		return tx.UpdateUser(u)
	})
}

// Bootstrap creates an account and its first administrator, for the operator (keyward dev,
// keyward operator init). An existing user with the email is made admin of the new account
// and keeps their password.
func (s *Service) Bootstrap(ctx context.Context, accountName, email, password string) (*keyward.Account, *keyward.User, error) {
	if err := keyward.ValidateName("account", accountName); err != nil {
		return nil, nil, err
	}
	email, err := keyward.NormalizeEmail("email", email)
	if err != nil {
		return nil, nil, err
	}
	operator := keyward.Principal{Kind: keyward.KindOperator, Name: "operator"}
	var acct *keyward.Account
	var user *keyward.User
	err = s.store.Update(ctx, func(tx keyward.Tx) error {
		now := s.clock.Now()
		user, err = tx.GetUserByEmail(email)
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			if err := keyward.ValidatePassword("password", password); err != nil {
				return err
			}
			hash, err := s.pw.hash(password)
			if err != nil {
				return err
			}
			user = &keyward.User{ID: newID(), Email: email, PasswordHash: hash, CreatedAt: now}
			if err := tx.CreateUser(user); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		acct = &keyward.Account{ID: newID(), Name: accountName, CreatedAt: now, CreatedBy: "operator"}
		if err := tx.CreateAccount(acct); err != nil {
			return err
		}
		if err := tx.PutAccountMember(&keyward.AccountMember{AccountID: acct.ID, UserID: user.ID, Role: keyward.RoleAdmin, CreatedAt: now}); err != nil {
			return err
		}
		operator.AccountID = acct.ID
		o := &op{p: operator, action: keyward.ActAccountCreate, target: "account:" + acct.ID, detail: "bootstrap with administrator " + email}
		return audit.Append(tx, o.record(ctx, now, keyward.OutcomeSuccess))
	})
	return acct, user, err
}
