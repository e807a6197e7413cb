package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"slices"

	"github.com/keyward/keyward/internal/keyward"
)

// AppView is an application with the groups it belongs to.
type AppView struct {
	App    keyward.App
	Groups []string // group ids
}

// NewApp is an application to create.
type NewApp struct {
	Name        string
	Description string
	Groups      []string // ids of the groups it joins
	// Certificates are PEM TLS client certificates it may authenticate with.
	Certificates []string
	// NoAPIKey creates the application without an API key (certificate only).
	NoAPIKey bool
}

// CertFingerprint returns the SHA-256 fingerprint (lower-case hex) of a PEM certificate.
func CertFingerprint(field, pemText string) (string, error) {
	block, rest := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "CERTIFICATE" {
		return "", keyward.Invalid(field, "must be one PEM-encoded CERTIFICATE")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return "", keyward.Invalid(field, "must hold exactly one certificate")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return "", keyward.Invalid(field, "is not a valid X.509 certificate: %v", err)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

func fingerprints(certs []string) ([]string, error) {
	var fps []string
	for i, c := range certs {
		fp, err := CertFingerprint(fmt.Sprintf("certificates[%d]", i), c)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(fps, fp) {
			fps = append(fps, fp)
		}
	}
	slices.Sort(fps)
	return fps, nil
}

func newAPIKey(appID string) (key string, hash []byte, err error) {
	secret, err := randomSecret()
	if err != nil {
		return "", nil, err
	}
	return apiKeyPrefix + appID + "." + secret, tokenHash(secret), nil
}

// CreateApp creates an application in groups the caller administers and returns its API
// key, which is shown this once.
func (s *Service) CreateApp(ctx context.Context, p keyward.Principal, in NewApp) (*AppView, string, error) {
	if err := keyward.ValidateName("name", in.Name); err != nil {
		return nil, "", err
	}
	if err := keyward.ValidateDescription("description", in.Description); err != nil {
		return nil, "", err
	}
	fps, err := fingerprints(in.Certificates)
	if err != nil {
		return nil, "", err
	}
	if in.NoAPIKey && len(fps) == 0 {
		return nil, "", keyward.Invalid("certificates", "an application without an API key needs at least one certificate")
	}
	groups, err := uniqueIDs("groups", in.Groups)
	if err != nil {
		return nil, "", err
	}
	app := &keyward.App{ID: newID(), AccountID: p.AccountID, Name: in.Name, Description: in.Description, CertFingerprints: fps, CreatedBy: p.Actor(), APIKeyHash: []byte{}}
	var key string
	if !in.NoAPIKey {
		if key, app.APIKeyHash, err = newAPIKey(app.ID); err != nil {
			return nil, "", err
		}
	}
	err = s.change(ctx, p, keyward.ActAppCreate, "app:"+app.ID, func(tx keyward.Tx, o *op) error {
		if groups, err = s.checkGroupsFor(tx, p, keyward.ActAppCreate, groups); err != nil {
			return err
		}
		app.CreatedAt = s.clock.Now()
		if err := tx.CreateApp(app); err != nil {
			return err
		}
		o.detail = "name " + app.Name
		return s.setAppGroups(tx, app, nil, groups)
	})
	if err != nil {
		return nil, "", err
	}
	return &AppView{App: *app, Groups: groups}, key, nil
}

func uniqueIDs(field string, ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for i, id := range ids {
		if id == "" {
			return nil, keyward.Invalid(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// checkGroupsFor checks that every group exists in the account and that p may take the
// action in all of them (account-wide actions need an account administrator). Groups may
// be named: it returns their ids, sorted and without repeats.
func (s *Service) checkGroupsFor(tx keyward.Tx, p keyward.Principal, a keyward.Action, groups []string) ([]string, error) {
	ids := make([]string, 0, len(groups))
	for i, ref := range groups {
		g, err := resolveGroup(tx, p.AccountID, ref)
		if err != nil {
			if keyward.IsCode(err, keyward.EINVALID) {
				return nil, keyward.Invalid(fmt.Sprintf("groups[%d]", i), "no group %s in this account", ref)
			}
			return nil, err
		}
		if !slices.Contains(ids, g.ID) {
			ids = append(ids, g.ID)
		}
	}
	slices.Sort(ids)
	return ids, authorize(tx, p, a, ids...)
}

func (s *Service) setAppGroups(tx keyward.Tx, app *keyward.App, old, next []string) error {
	for _, g := range old {
		if !slices.Contains(next, g) {
			if err := tx.DeleteGroupMember(g, keyward.KindApp, app.ID); err != nil {
				return err
			}
		}
	}
	for _, g := range next {
		if !slices.Contains(old, g) {
			m := &keyward.GroupMember{GroupID: g, PrincipalKind: keyward.KindApp, PrincipalID: app.ID, Role: keyward.GroupMemberApp, CreatedAt: s.clock.Now()}
			if err := tx.PutGroupMember(m); err != nil {
				return err
			}
		}
	}
	return nil
}

func appGroups(tx keyward.Tx, appID string) ([]string, error) {
	ms, err := tx.PrincipalGroups(keyward.KindApp, appID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.GroupID
	}
	return ids, nil
}

// loadApp finds an app of the caller's account and checks the action against its groups.
// An application may read itself.
func loadApp(tx keyward.Tx, p keyward.Principal, id string, a keyward.Action) (*AppView, error) {
	app, err := tx.GetApp(p.AccountID, id)
	if err != nil {
		return nil, err
	}
	groups, err := appGroups(tx, id)
	if err != nil {
		return nil, err
	}
	if p.IsApp() && p.ID == id && a == keyward.ActAppRead {
		return &AppView{App: *app, Groups: groups}, nil
	}
	roles, err := groupRoles(tx, p, groups...)
	if err != nil {
		return nil, err
	}
	if err := keyward.Authorize(p, a, roles); err != nil {
		if !seesAll(p) && !slices.ContainsFunc(roles, func(r keyward.GroupRole) bool { return r != "" }) {
			return nil, keyward.Hidden("application")
		}
		return nil, err
	}
	return &AppView{App: *app, Groups: groups}, nil
}

// GetApp returns one application.
func (s *Service) GetApp(ctx context.Context, p keyward.Principal, id string) (*AppView, error) {
	var v *AppView
	err := s.read(ctx, p, keyward.ActAppRead, "app:"+id, func(tx keyward.Tx) error {
		var err error
		v, err = loadApp(tx, p, id, keyward.ActAppRead)
		return err
	})
	return v, err
}

// ListApps lists the applications the caller may see, by name.
func (s *Service) ListApps(ctx context.Context, p keyward.Principal, page keyward.Page) ([]AppView, error) {
	var out []AppView
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		for len(out) < page.N() {
			apps, err := tx.ListApps(p.AccountID, page)
			if err != nil {
				return err
			}
			for _, a := range apps {
				v, err := loadApp(tx, p, a.ID, keyward.ActAppRead)
				if keyward.IsDenied(err) { // listing skips what the caller may not see
					continue
				}
				if err != nil {
					return err
				}
				if len(out) < page.N() {
					out = append(out, *v)
				}
			}
			if len(apps) < page.N() {
				break
			}
			page.After = apps[len(apps)-1].Name
		}
		return nil
	})
	return out, err
}

// AppPatch holds the fields to change; nil means unchanged.
type AppPatch struct {
	Name, Description *string
	Groups            *[]string
	Certificates      *[]string
	Disabled          *bool
}

// UpdateApp changes an application. Moving it into a group needs the right in that group too.
func (s *Service) UpdateApp(ctx context.Context, p keyward.Principal, id string, in AppPatch) (*AppView, error) {
	if in.Name != nil {
		if err := keyward.ValidateName("name", *in.Name); err != nil {
			return nil, err
		}
	}
	if in.Description != nil {
		if err := keyward.ValidateDescription("description", *in.Description); err != nil {
			return nil, err
		}
	}
	var fps, groups []string
	var err error
	if in.Certificates != nil {
		if fps, err = fingerprints(*in.Certificates); err != nil {
			return nil, err
		}
	}
	if in.Groups != nil {
		if groups, err = uniqueIDs("groups", *in.Groups); err != nil {
			return nil, err
		}
	}
	var v *AppView
	err = s.change(ctx, p, keyward.ActAppUpdate, "app:"+id, func(tx keyward.Tx, o *op) error {
		var err error
		if v, err = loadApp(tx, p, id, keyward.ActAppUpdate); err != nil {
			return err
		}
		a := &v.App
		if in.Name != nil {
			a.Name = *in.Name
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.Disabled != nil {
			a.Disabled = *in.Disabled
		}
		if in.Certificates != nil {
			if len(fps) == 0 && len(a.APIKeyHash) == 0 {
				return keyward.Invalid("certificates", "the application has no API key, so it needs at least one certificate")
			}
			a.CertFingerprints = fps
		}
		if err := tx.UpdateApp(a); err != nil {
			return err
		}
		if in.Groups != nil {
			if groups, err = s.checkGroupsFor(tx, p, keyward.ActAppUpdate, groups); err != nil {
				return err
			}
			if err := s.setAppGroups(tx, a, v.Groups, groups); err != nil {
				return err
			}
			v.Groups = groups
		}
		return nil
	})
	return v, err
}

// RegenerateAPIKey replaces an application's API key; the old one stops working at once.
func (s *Service) RegenerateAPIKey(ctx context.Context, p keyward.Principal, id string) (string, error) {
	key, hash, err := newAPIKey(id)
	if err != nil {
		return "", err
	}
	err = s.change(ctx, p, keyward.ActAppCredential, "app:"+id, func(tx keyward.Tx, o *op) error {
		v, err := loadApp(tx, p, id, keyward.ActAppCredential)
		if err != nil {
			return err
		}
		v.App.APIKeyHash = hash
		o.detail = "API key regenerated"
		return tx.UpdateApp(&v.App)
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// DeleteApp deletes an application.
func (s *Service) DeleteApp(ctx context.Context, p keyward.Principal, id string) error {
	return s.change(ctx, p, keyward.ActAppDelete, "app:"+id, func(tx keyward.Tx, o *op) error {
		if _, err := loadApp(tx, p, id, keyward.ActAppDelete); err != nil {
			return err
		}
		return tx.DeleteApp(p.AccountID, id)
	})
}
