package service

import (
	"context"

	"github.com/keyward/keyward/internal/keyward"
)

// MyAccount is an account as one user sees it: with their role.
type MyAccount struct {
	Account keyward.Account
	Role    keyward.AccountRole
}

// ListMyAccounts lists the accounts the calling user belongs to (an application sees its own).
func (s *Service) ListMyAccounts(ctx context.Context, p keyward.Principal) ([]MyAccount, error) {
	var out []MyAccount
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		if p.IsApp() {
			a, err := tx.GetAccount(p.AccountID)
			if err != nil {
				return err
			}
			out = append(out, MyAccount{Account: *a})
			return nil
		}
		ms, err := tx.ListUserAccounts(p.ID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			a, err := tx.GetAccount(m.AccountID)
			if err != nil {
				return err
			}
			out = append(out, MyAccount{Account: *a, Role: m.Role})
		}
		return nil
	})
	return out, err
}

// CreateAccount creates a new account with the calling user as its administrator.
func (s *Service) CreateAccount(ctx context.Context, p keyward.Principal, name, description string) (*keyward.Account, error) {
	if err := keyward.ValidateName("name", name); err != nil {
		return nil, err
	}
	if err := keyward.ValidateDescription("description", description); err != nil {
		return nil, err
	}
	a := &keyward.Account{ID: newID(), Name: name, Description: description, CreatedBy: p.Actor()}
	err := s.change(ctx, p, keyward.ActAccountCreate, "account:"+a.ID, func(tx keyward.Tx, o *op) error {
		if !p.IsUser() {
			return keyward.Errorf(keyward.EFORBIDDEN, "only users create accounts")
		}
		if err := keyward.Authorize(p, keyward.ActAccountCreate, nil); err != nil {
			return err
		}
		a.CreatedAt = s.clock.Now()
		if err := tx.CreateAccount(a); err != nil {
			return err
		}
		// The record goes into the new account's chain, where its administrators will look.
		o.p.AccountID = a.ID
		return tx.PutAccountMember(&keyward.AccountMember{AccountID: a.ID, UserID: p.ID, Role: keyward.RoleAdmin, CreatedAt: a.CreatedAt})
	})
	return a, err
}

// GetAccount returns the caller's account; any other id is not found.
func (s *Service) GetAccount(ctx context.Context, p keyward.Principal, id string) (*keyward.Account, error) {
	var a *keyward.Account
	err := s.read(ctx, p, keyward.ActAccountRead, "account:"+id, func(tx keyward.Tx) error {
		if id != p.AccountID {
			return keyward.Hidden("account")
		}
		if err := keyward.Authorize(p, keyward.ActAccountRead, nil); err != nil {
			return err
		}
		var err error
		a, err = tx.GetAccount(id)
		return err
	})
	return a, err
}

// AccountPatch holds the fields to change; nil means unchanged.
type AccountPatch struct {
	Name, Description *string
}

// UpdateAccount renames or re-describes the caller's account.
func (s *Service) UpdateAccount(ctx context.Context, p keyward.Principal, id string, in AccountPatch) (*keyward.Account, error) {
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
	var a *keyward.Account
	err := s.change(ctx, p, keyward.ActAccountUpdate, "account:"+id, func(tx keyward.Tx, o *op) error {
		if id != p.AccountID {
			return keyward.Hidden("account")
		}
		if err := keyward.Authorize(p, keyward.ActAccountUpdate, nil); err != nil {
			return err
		}
		var err error
		if a, err = tx.GetAccount(id); err != nil {
			return err
		}
		if in.Name != nil {
			a.Name = *in.Name
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		return tx.UpdateAccount(a)
	})
	return a, err
}

// DeleteAccount removes the caller's account and everything in it; its audit trail stays.
func (s *Service) DeleteAccount(ctx context.Context, p keyward.Principal, id string) error {
	return s.change(ctx, p, keyward.ActAccountDelete, "account:"+id, func(tx keyward.Tx, o *op) error {
		if id != p.AccountID {
			return keyward.Hidden("account")
		}
		if err := keyward.Authorize(p, keyward.ActAccountDelete, nil); err != nil {
			return err
		}
		return tx.DeleteAccount(id)
	})
}
