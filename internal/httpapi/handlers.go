package httpapi

import (
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

// handlers gathers every resource's handlers by route id.
func (s *Server) handlers() map[string]handler {
	m := map[string]handler{}
	for _, add := range []func(map[string]handler){s.sessionHandlers, s.accountHandlers, s.userHandlers, s.groupHandlers, s.appHandlers, s.auditHandlers,
		s.keyHandlers, s.cryptoHandlers, s.jobHandlers, s.azureHandlers, s.azureLifecycleHandlers, s.azurePutHandlers,
		s.azureScheduleHandlers, s.rotationPolicyHandlers, s.approvalHandlers} {
		add(m)
	}
	return m
}

func (s *Server) streamHandlers() map[string]streamHandler {
	return map[string]streamHandler{"exportAudit": s.exportAudit, "exportServiceLog": s.exportServiceLog}
}

// page reads the after/limit query parameters.
func page(r *http.Request) (keyward.Page, error) {
	n, err := queryInt(r, "limit", keyward.MaxPageLimit)
	if err != nil {
		return keyward.Page{}, err
	}
	return keyward.Page{After: r.URL.Query().Get("after"), Limit: int(n)}, nil
}

func toSession(p keyward.Principal) api.Session {
	return api.Session{Kind: string(p.Kind), ID: p.ID, Name: p.Name, AccountID: p.AccountID, Role: string(p.Role)}
}

func (s *Server) sessionHandlers(m map[string]handler) {
	m["login"] = func(r *http.Request, _ keyward.Principal) (any, error) {
		var in api.LoginRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		res, err := s.svc.Login(r.Context(), in.Email, in.Password, in.Account)
		if err != nil {
			return nil, err
		}
		return api.LoginResponse{Token: res.Token, ExpiresAt: res.Session.ExpiresAt, Session: toSession(res.Principal)}, nil
	}
	m["logout"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.Logout(r.Context(), p)
	}
	m["getSession"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return toSession(p), nil
	}
	m["changePassword"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.PasswordChange
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return nil, s.svc.ChangePassword(r.Context(), p, in.CurrentPassword, in.NewPassword)
	}
}

func toAccount(a *keyward.Account, role keyward.AccountRole) api.Account {
	return api.Account{ID: a.ID, Name: a.Name, Description: a.Description, CreatedAt: a.CreatedAt, CreatedBy: a.CreatedBy, MyRole: string(role)}
}

func (s *Server) accountHandlers(m map[string]handler) {
	m["listAccounts"] = func(r *http.Request, p keyward.Principal) (any, error) {
		as, err := s.svc.ListMyAccounts(r.Context(), p)
		if err != nil {
			return nil, err
		}
		out := api.AccountList{Items: []api.Account{}}
		for _, a := range as {
			out.Items = append(out.Items, toAccount(&a.Account, a.Role))
		}
		return out, nil
	}
	m["createAccount"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AccountCreate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		a, err := s.svc.CreateAccount(r.Context(), p, in.Name, in.Description)
		if err != nil {
			return nil, err
		}
		return toAccount(a, keyward.RoleAdmin), nil
	}
	m["getAccount"] = func(r *http.Request, p keyward.Principal) (any, error) {
		a, err := s.svc.GetAccount(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toAccount(a, p.Role), nil
	}
	m["updateAccount"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.AccountUpdate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		a, err := s.svc.UpdateAccount(r.Context(), p, r.PathValue("id"), service.AccountPatch{Name: in.Name, Description: in.Description})
		if err != nil {
			return nil, err
		}
		return toAccount(a, p.Role), nil
	}
	m["deleteAccount"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.DeleteAccount(r.Context(), p, r.PathValue("id"))
	}
}

func toUser(u *service.AccountUser) api.User {
	out := api.User{ID: u.User.ID, Email: u.User.Email, Role: string(u.Role), CreatedAt: u.User.CreatedAt, Disabled: u.User.Disabled}
	for i := range u.Groups {
		out.Groups = append(out.Groups, toGroup(&u.Groups[i]))
	}
	return out
}

func (s *Server) userHandlers(m map[string]handler) {
	m["listUsers"] = func(r *http.Request, p keyward.Principal) (any, error) {
		pg, err := page(r)
		if err != nil {
			return nil, err
		}
		us, err := s.svc.ListUsers(r.Context(), p, pg)
		if err != nil {
			return nil, err
		}
		out := api.UserList{Items: []api.User{}}
		for i := range us {
			out.Items = append(out.Items, toUser(&us[i]))
		}
		if len(us) == pg.N() {
			out.Next = us[len(us)-1].User.ID
		}
		return out, nil
	}
	m["createUser"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.UserCreate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		u, err := s.svc.AddUser(r.Context(), p, service.NewUser{Email: in.Email, Password: in.Password, Role: keyward.AccountRole(in.Role)})
		if err != nil {
			return nil, err
		}
		return toUser(u), nil
	}
	m["getUser"] = func(r *http.Request, p keyward.Principal) (any, error) {
		u, err := s.svc.GetUser(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		return toUser(u), nil
	}
	m["updateUser"] = func(r *http.Request, p keyward.Principal) (any, error) {
		var in api.UserUpdate
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		u, err := s.svc.SetUserRole(r.Context(), p, r.PathValue("id"), keyward.AccountRole(in.Role))
		if err != nil {
			return nil, err
		}
		return toUser(u), nil
	}
	m["removeUser"] = func(r *http.Request, p keyward.Principal) (any, error) {
		return nil, s.svc.RemoveUser(r.Context(), p, r.PathValue("id"))
	}
}
