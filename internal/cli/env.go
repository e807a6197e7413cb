package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/keyward/keyward/client"
)

// savedLogin is what 'keyward login' keeps in the user's config dir, so that later commands
// work without exporting anything. Flags and environment variables take precedence.
type savedLogin struct {
	Addr   string `json:"addr"`
	CACert string `json:"cacert,omitempty"`
	Token  string `json:"token"`
}

func loginFile() (string, error) {
	dir := os.Getenv("KEYWARD_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(base, "keyward")
	}
	return filepath.Join(dir, "login.json"), nil
}

func loadSaved() savedLogin {
	var s savedLogin
	if p, err := loginFile(); err == nil {
		if b, err := os.ReadFile(p); err == nil {
			json.Unmarshal(b, &s)
		}
	}
	return s
}

func saveLogin(s savedLogin) (string, error) {
	p, err := loginFile()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return p, os.WriteFile(p, b, 0o600)
}

// resolved returns the server address, CA file and token: flag, then environment, then
// the saved login (whose token is used only for the server it was issued by).
func (g *globals) resolved() (addr, cacert, token string) {
	saved := loadSaved()
	addr = first(g.addr, getenv(client.EnvAddr), saved.Addr)
	cacert = first(g.cacert, getenv(client.EnvCACert))
	token = first(g.token, getenv(client.EnvToken))
	if addr == saved.Addr {
		cacert = first(cacert, saved.CACert)
		token = first(token, saved.Token)
	}
	return addr, cacert, token
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// client returns an API client for the resolved server and credential.
func (g *globals) client() (*client.Client, error) {
	addr, cacert, token := g.resolved()
	if addr == "" {
		return nil, errors.New("no server address: set KEYWARD_ADDR (source the dev.env that 'keyward dev' wrote) or pass --addr")
	}
	var opts []client.Option
	if cacert != "" {
		opts = append(opts, client.WithCACertFile(cacert))
	}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	return client.New(addr, opts...)
}
