package service

import (
	"context"

	"github.com/keyward/keyward/internal/keyward"
)

// AccountUser is a user as an account sees them.
type AccountUser struct {
	User keyward.User
	Role keyward.AccountRole
	// Groups are the user's groups, with their roles and Azure links (GetUser only).
	Groups []GroupView
}

// ListUsers lists the account's users, by id.
func (s *Service) ListUsers(ctx context.Context, p keyward.Principal, page keyward.Page) ([]AccountUser, error) {
	var out []AccountUser
	err := s.read(ctx, p, keyward.ActUserList, "", func(tx keyward.Tx) error {
		if err := keyward.Authorize(p, keyward.ActUserList, nil); err != nil {
			return err
		}
		ms, err := tx.ListAccountMembers(p.AccountID, page)
		if err != nil {
			return err
		}
		for _, m := range ms {
			u, err := tx.GetUser(m.UserID)
			if err != nil {
				return err
			}
			out = append(out, AccountUser{User: *u, Role: m.Role})
		}
		return nil
	})
	return out, err
}

// GetUser returns a user of the account. Every user may read their own entry.
func (s *Service) GetUser(ctx context.Context, p keyward.Principal, id string) (*AccountUser, error) {
	var out *AccountUser
	err := s.read(ctx, p, keyward.ActUserList, "user:"+id, func(tx keyward.Tx) error {
		if !(p.IsUser() && p.ID == id) {
			if err := keyward.Authorize(p, keyward.ActUserList, nil); err != nil {
				return err
			}
		}
		m, err := tx.GetAccountMember(p.AccountID, id)
		if err != nil {
			return keyward.Errorf(keyward.ENOTFOUND, "user not found")
		}
		u, err := tx.GetUser(id)
		if err != nil {
			return err
		}
		out = &AccountUser{User: *u, Role: m.Role, Groups: []GroupView{}}
		ms, err := tx.PrincipalGroups(keyward.KindUser, id)
		if err != nil {
			return err
		}
		for _, gm := range ms {
			g, err := tx.GetGroup(p.AccountID, gm.GroupID)
			if err != nil {
				return err
			}
			out.Groups = append(out.Groups, GroupView{Group: *g, MyRole: gm.Role})
		}
		return withLinks(tx, p.AccountID, out.Groups)
	})
	return out, err
}

// NewUser is a user to add to the account. Password is needed only when no user with the
// email exists yet; an existing user joins with their own password.
type NewUser struct {
	Email    string
	Password string
	Role     keyward.AccountRole
}

// AddUser adds a user to the caller's account, creating the user when the email is new.
func (s *Service) AddUser(ctx context.Context, p keyward.Principal, in NewUser) (*AccountUser, error) {
	email, err := keyward.NormalizeEmail("email", in.Email)
	if err != nil {
		return nil, err
	}
	if !in.Role.Valid() {
		return nil, keyward.Invalid("role", "must be admin, member or auditor")
	}
	var hash string
	if in.Password != "" {
		if err := keyward.ValidatePassword("password", in.Password); err != nil {
			return nil, err
		}
		if hash, err = s.pw.hash(in.Password); err != nil {
			return nil, err
		}
	}
	var out *AccountUser
	err = s.change(ctx, p, keyward.ActUserCreate, "user:"+email, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, keyward.ActUserCreate, nil); err != nil {
			return err
		}
		now := s.clock.Now()
		u, err := tx.GetUserByEmail(email)
		switch {
		case keyward.IsCode(err, keyward.ENOTFOUND):
			if hash == "" {
				return keyward.Invalid("password", "is required for a new user (no user with this email exists yet)")
			}
			u = &keyward.User{ID: newID(), Email: email, PasswordHash: hash, CreatedAt: now}
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if _, err := tx.GetAccountMember(p.AccountID, u.ID); err == nil {
				return keyward.Errorf(keyward.ECONFLICT, "%s is already a user of this account", email)
			}
			// An existing user keeps their own password; the one given here is ignored.
		}
		o.target = "user:" + u.ID
		o.detail = "role " + string(in.Role)
		out = &AccountUser{User: *u, Role: in.Role}
		return tx.PutAccountMember(&keyward.AccountMember{AccountID: p.AccountID, UserID: u.ID, Role: in.Role, CreatedAt: now})
	})
	return out, err
}

// SetUserRole changes a user's account role. The last administrator cannot be demoted.
func (s *Service) SetUserRole(ctx context.Context, p keyward.Principal, id string, role keyward.AccountRole) (*AccountUser, error) {
	if !role.Valid() {
		return nil, keyward.Invalid("role", "must be admin, member or auditor")
	}
	var out *AccountUser
	err := s.change(ctx, p, keyward.ActUserUpdate, "user:"+id, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, keyward.ActUserUpdate, nil); err != nil {
			return err
		}
		m, err := tx.GetAccountMember(p.AccountID, id)
		if err != nil {
			return keyward.Errorf(keyward.ENOTFOUND, "user not found")
		}
		if err := s.keepAnAdmin(tx, p.AccountID, m, role); err != nil {
			return err
		}
		m.Role = role
		o.detail = "role " + string(role)
		u, err := tx.GetUser(id)
		if err != nil {
			return err
		}
		out = &AccountUser{User: *u, Role: role}
		return tx.PutAccountMember(m)
	})
	return out, err
}

func (s *Service) keepAnAdmin(tx keyward.Tx, accountID string, m *keyward.AccountMember, newRole keyward.AccountRole) error {
	if m.Role != keyward.RoleAdmin || newRole == keyward.RoleAdmin {
		return nil
	}
	n, err := tx.CountAccountAdmins(accountID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return keyward.Errorf(keyward.EPRECONDITION, "this is the account's last administrator: make another user admin first")
	}
	return nil
}

// RemoveUser takes a user out of the account (the user itself remains for other accounts).
func (s *Service) RemoveUser(ctx context.Context, p keyward.Principal, id string) error {
	return s.change(ctx, p, keyward.ActUserRemove, "user:"+id, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, keyward.ActUserRemove, nil); err != nil {
			return err
		}
		m, err := tx.GetAccountMember(p.AccountID, id)
		if err != nil {
			return keyward.Errorf(keyward.ENOTFOUND, "user not found")
		}
		if err := s.keepAnAdmin(tx, p.AccountID, m, ""); err != nil {
			return err
		}
		if err := refuseRemovingAnApprover(tx, p.AccountID, id); err != nil {
			return err
		}
		return tx.DeleteAccountMember(p.AccountID, id)
	})
}
