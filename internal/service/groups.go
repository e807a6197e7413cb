package service

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/keyward/keyward/internal/keyward"
)

// GroupView is a group as the caller sees it, with the caller's own role in it.
type GroupView struct {
	Group  keyward.Group
	MyRole keyward.GroupRole  // "" when the caller is not a member
	Azure  *keyward.AzureLink // the group's link to Azure, or nil
}

// withLinks adds each group's Azure link.
func withLinks(tx keyward.Tx, accountID string, vs []GroupView) error {
	links, err := tx.ListAzureLinks(accountID)
	if err != nil || len(links) == 0 {
		return err
	}
	byGroup := make(map[string]*keyward.AzureLink, len(links))
	for i := range links {
		byGroup[links[i].GroupID] = &links[i]
	}
	for i := range vs {
		vs[i].Azure = byGroup[vs[i].Group.ID]
	}
	return nil
}

func seesAll(p keyward.Principal) bool {
	return p.IsUser() && (p.Role == keyward.RoleAdmin || p.Role == keyward.RoleAuditor)
}

// CreateGroup creates a group; a user who creates one becomes its administrator.
func (s *Service) CreateGroup(ctx context.Context, p keyward.Principal, name, description string) (*GroupView, error) {
	if err := keyward.ValidateName("name", name); err != nil {
		return nil, err
	}
	if err := keyward.ValidateDescription("description", description); err != nil {
		return nil, err
	}
	g := &keyward.Group{ID: newID(), AccountID: p.AccountID, Name: name, Description: description, CreatedBy: p.Actor()}
	err := s.change(ctx, p, keyward.ActGroupCreate, "group:"+g.ID, func(tx keyward.Tx, o *op) error {
		if err := keyward.Authorize(p, keyward.ActGroupCreate, nil); err != nil {
			return err
		}
		g.CreatedAt = s.clock.Now()
		if err := tx.CreateGroup(g); err != nil {
			return err
		}
		o.detail = "name " + name
		return tx.PutGroupMember(&keyward.GroupMember{GroupID: g.ID, PrincipalKind: keyward.KindUser, PrincipalID: p.ID, Role: keyward.GroupAdministrator, CreatedAt: g.CreatedAt})
	})
	if err != nil {
		return nil, err
	}
	return &GroupView{Group: *g, MyRole: keyward.GroupAdministrator}, nil
}

// ListGroups lists the groups the caller may see, by name: all of them for account
// administrators and auditors, the caller's own for members and applications.
func (s *Service) ListGroups(ctx context.Context, p keyward.Principal, page keyward.Page) ([]GroupView, error) {
	var out []GroupView
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		ms, err := tx.PrincipalGroups(p.Kind, p.ID)
		if err != nil {
			return err
		}
		mine := map[string]keyward.GroupRole{}
		for _, m := range ms {
			mine[m.GroupID] = m.Role
		}
		if seesAll(p) {
			gs, err := tx.ListGroups(p.AccountID, page)
			if err != nil {
				return err
			}
			for _, g := range gs {
				out = append(out, GroupView{Group: g, MyRole: mine[g.ID]})
			}
			return withLinks(tx, p.AccountID, out)
		}
		for _, m := range ms {
			g, err := tx.GetGroup(p.AccountID, m.GroupID)
			if keyward.IsCode(err, keyward.ENOTFOUND) {
				continue
			}
			if err != nil {
				return err
			}
			if g.Name > page.After {
				out = append(out, GroupView{Group: *g, MyRole: m.Role})
			}
		}
		slices.SortFunc(out, func(a, b GroupView) int { return strings.Compare(a.Group.Name, b.Group.Name) })
		if len(out) > page.N() {
			out = out[:page.N()]
		}
		return withLinks(tx, p.AccountID, out)
	})
	return out, err
}

// loadGroup finds a group of the caller's account by id or name and checks the action on it.
func loadGroup(tx keyward.Tx, p keyward.Principal, id string, a keyward.Action) (*GroupView, error) {
	g, err := tx.GetGroup(p.AccountID, id)
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		g, err = tx.GetGroupByName(p.AccountID, id)
	}
	if err != nil {
		return nil, err
	}
	roles, err := groupRoles(tx, p, g.ID)
	if err != nil {
		return nil, err
	}
	if err := keyward.Authorize(p, a, roles); err != nil {
		if roles[0] == "" && !seesAll(p) {
			// A group the caller has no part in is, to them, a group that does not exist.
			return nil, keyward.Hidden("group")
		}
		return nil, err
	}
	return &GroupView{Group: *g, MyRole: roles[0]}, nil
}

// GetGroup returns one group.
func (s *Service) GetGroup(ctx context.Context, p keyward.Principal, id string) (*GroupView, error) {
	var v *GroupView
	err := s.read(ctx, p, keyward.ActGroupRead, "group:"+id, func(tx keyward.Tx) error {
		var err error
		if v, err = loadGroup(tx, p, id, keyward.ActGroupRead); err != nil {
			return err
		}
		vs := []GroupView{*v}
		err = withLinks(tx, p.AccountID, vs)
		v = &vs[0]
		return err
	})
	return v, err
}

// GroupPatch holds the fields to change; nil means unchanged.
type GroupPatch struct {
	Name, Description *string
	Policy            *keyward.GroupPolicy // replaces the whole policy
}

// UpdateGroup renames or re-describes a group.
func (s *Service) UpdateGroup(ctx context.Context, p keyward.Principal, id string, in GroupPatch) (*GroupView, error) {
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
	if in.Policy != nil {
		if err := in.Policy.Validate(); err != nil {
			return nil, err
		}
	}
	var v *GroupView
	err := s.change(ctx, p, keyward.ActGroupUpdate, "group:"+id, func(tx keyward.Tx, o *op) error {
		var err error
		if v, err = loadGroup(tx, p, id, keyward.ActGroupUpdate); err != nil {
			return err
		}
		if err := s.quorumGate(ctx, tx, &v.Group, keyward.ActGroupUpdate, "group:"+v.Group.ID); err != nil {
			return err
		}
		if in.Name != nil {
			o.detail = "renamed from " + v.Group.Name
			v.Group.Name = *in.Name
		}
		if in.Description != nil {
			v.Group.Description = *in.Description
		}
		if in.Policy != nil {
			if err := checkApprovers(tx, p.AccountID, in.Policy.Quorum.Approvers); err != nil {
				return err
			}
			o.detail = strings.TrimPrefix(o.detail+"; policy changed", "; ")
			v.Group.Policy = *in.Policy
		}
		o.detail += underApproval(ctx)
		return tx.UpdateGroup(&v.Group)
	})
	return v, err
}

// checkApprovers makes sure every approver a quorum names is a user of the account: a
// quorum of strangers could never be met, and would lock the group, its own policy included.
func checkApprovers(tx keyward.Tx, accountID string, ids []string) error {
	for i, id := range ids {
		if _, err := tx.GetAccountMember(accountID, id); keyward.IsCode(err, keyward.ENOTFOUND) {
			return keyward.Invalid(fmt.Sprintf("policy.quorum.approvers[%d]", i), "no user %q in this account", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// DeleteGroup deletes a group.
func (s *Service) DeleteGroup(ctx context.Context, p keyward.Principal, id string) error {
	return s.change(ctx, p, keyward.ActGroupDelete, "group:"+id, func(tx keyward.Tx, o *op) error {
		v, err := loadGroup(tx, p, id, keyward.ActGroupDelete)
		if err != nil {
			return err
		}
		if err := s.quorumGate(ctx, tx, &v.Group, keyward.ActGroupDelete, "group:"+v.Group.ID); err != nil {
			return err
		}
		o.detail = strings.TrimPrefix(underApproval(ctx), " ")
		if n, err := tx.CountGroupObjects(p.AccountID, id); err != nil {
			return err
		} else if n > 0 {
			return keyward.Errorf(keyward.EPRECONDITION, "the group holds %d objects, and objects keep their metadata even when destroyed: a group with objects cannot be deleted", n)
		}
		return tx.DeleteGroup(p.AccountID, id)
	})
}

// ListGroupMembers lists a group's users and applications.
func (s *Service) ListGroupMembers(ctx context.Context, p keyward.Principal, id string) ([]keyward.GroupMember, error) {
	var out []keyward.GroupMember
	err := s.read(ctx, p, keyward.ActGroupRead, "group:"+id, func(tx keyward.Tx) error {
		if _, err := loadGroup(tx, p, id, keyward.ActGroupRead); err != nil {
			return err
		}
		var err error
		out, err = tx.ListGroupMembers(id)
		return err
	})
	return out, err
}

// SetGroupMember adds a user or application of the account to a group, or changes its role.
func (s *Service) SetGroupMember(ctx context.Context, p keyward.Principal, groupID string, kind keyward.PrincipalKind, principalID string, role keyward.GroupRole) (*keyward.GroupMember, error) {
	if err := keyward.ValidateGroupRole("role", kind, role); err != nil {
		return nil, err
	}
	m := &keyward.GroupMember{GroupID: groupID, PrincipalKind: kind, PrincipalID: principalID, Role: role}
	err := s.change(ctx, p, keyward.ActGroupMembers, "group:"+groupID, func(tx keyward.Tx, o *op) error {
		if _, err := loadGroup(tx, p, groupID, keyward.ActGroupMembers); err != nil {
			return err
		}
		if err := principalInAccount(tx, p.AccountID, kind, principalID); err != nil {
			return err
		}
		m.CreatedAt = s.clock.Now()
		o.detail = "set " + string(kind) + ":" + principalID + " as " + string(role)
		return tx.PutGroupMember(m)
	})
	return m, err
}

// RemoveGroupMember takes a user or application out of a group.
func (s *Service) RemoveGroupMember(ctx context.Context, p keyward.Principal, groupID string, kind keyward.PrincipalKind, principalID string) error {
	return s.change(ctx, p, keyward.ActGroupMembers, "group:"+groupID, func(tx keyward.Tx, o *op) error {
		if _, err := loadGroup(tx, p, groupID, keyward.ActGroupMembers); err != nil {
			return err
		}
		o.detail = "removed " + string(kind) + ":" + principalID
		return tx.DeleteGroupMember(groupID, kind, principalID)
	})
}

func principalInAccount(tx keyward.Tx, accountID string, kind keyward.PrincipalKind, id string) error {
	var err error
	switch kind {
	case keyward.KindUser:
		_, err = tx.GetAccountMember(accountID, id)
	case keyward.KindApp:
		_, err = tx.GetApp(accountID, id)
	default:
		return keyward.Invalid("kind", "must be user or app")
	}
	if keyward.IsCode(err, keyward.ENOTFOUND) {
		return keyward.Invalid("principal_id", "no %s %s in this account", kind, id)
	}
	return err
}
