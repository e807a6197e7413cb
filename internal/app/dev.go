package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/keyward/keyward/internal/config"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

// DevState is what `keyward dev` creates on first start and reuses afterwards. It lives in
// DIR/dev.json (mode 0600): a development server's credentials, never a production one's.
type DevState struct {
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	Password  string `json:"password"`
	GroupID   string `json:"group_id"`
	AppID     string `json:"app_id"`
	AppKey    string `json:"app_key"`
	// AzureGroups are the groups linked to the in-process Azure emulator's vaults.
	AzureGroups []DevAzureGroup `json:"azure_groups,omitempty"`
}

// DevEnv is what dev.env exports.
type DevEnv struct {
	Addr, CACert, Token, AppKey string
	// AzureEmulator is the in-process emulator's address ("" without one): its admin API
	// is http://AzureEmulator/_emulator/.
	AzureEmulator string
	// AzureGroups are the names of the groups linked to it.
	AzureGroups []string
}

// DevConfig is the configuration of `keyward dev`: everything embedded under dataDir.
func DevConfig(listen, dataDir string) config.Config {
	c := config.Default()
	c.Listen = listen
	c.DataDir = dataDir
	c.Database.Path = filepath.Join(dataDir, "keyward.db")
	c.Seal.KeyFile = filepath.Join(dataDir, "root.key")
	c.Log.Format = "text"
	c.Log.Level = "warn"
	return c
}

// SetUpDev creates the development account, admin, group and application on the first
// start (or loads them), opens a fresh admin session, and writes DIR/dev.env. With az (the
// in-process emulator, started by StartDevAzure) it also makes sure of a cloud credential
// for it and of one connected Azure group per emulated vault; the jobs must be running
// (App.Run), because linking tests the connection in a job.
func (a *App) SetUpDev(ctx context.Context, az *DevAzure) (*DevState, *DevEnv, error) {
	statePath := filepath.Join(a.Config.DataDir, "dev.json")
	st, err := loadDevState(statePath)
	if errors.Is(err, os.ErrNotExist) {
		if st, err = a.bootstrapDev(ctx); err == nil {
			err = writeJSONFile(statePath, st)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	login, err := a.Service.Login(ctx, st.Email, st.Password, st.AccountID)
	if err != nil {
		return nil, nil, fmt.Errorf("log in the dev admin: %w", err)
	}
	env := &DevEnv{Addr: a.Addr(), CACert: a.CACertFile, Token: login.Token, AppKey: st.AppKey}
	if az != nil {
		if st.AzureGroups, err = a.setUpDevAzure(ctx, login.Principal, az); err != nil {
			return nil, nil, err
		}
		if err := writeJSONFile(statePath, st); err != nil {
			return nil, nil, err
		}
		env.AzureEmulator = az.Addr
		for _, g := range st.AzureGroups {
			env.AzureGroups = append(env.AzureGroups, g.Name)
		}
	}
	return st, env, writeDevEnv(filepath.Join(a.Config.DataDir, "dev.env"), env)
}

func (a *App) bootstrapDev(ctx context.Context) (*DevState, error) {
	st := &DevState{Email: "admin@keyward.dev", Password: randomPassword()}
	acct, _, err := a.Service.Bootstrap(ctx, "Development", st.Email, st.Password)
	if err != nil {
		return nil, err
	}
	st.AccountID = acct.ID
	login, err := a.Service.Login(ctx, st.Email, st.Password, acct.ID)
	if err != nil {
		return nil, err
	}
	p := login.Principal
	g, err := a.Service.CreateGroup(ctx, p, "default", "Created by keyward dev")
	if err != nil {
		return nil, err
	}
	st.GroupID = g.Group.ID
	app, key, err := a.Service.CreateApp(ctx, p, service.NewApp{Name: "dev-app", Description: "Created by keyward dev", Groups: []string{g.Group.ID}})
	if err != nil {
		return nil, err
	}
	st.AppID, st.AppKey = app.App.ID, key
	if err := a.Service.Logout(ctx, p); err != nil && !keyward.IsCode(err, keyward.ENOTFOUND) {
		return nil, err
	}
	return st, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b)
	return "dev-" + base64.RawURLEncoding.EncodeToString(b)
}

func loadDevState(path string) (*DevState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st DevState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): remove the data dir to start afresh", path, err)
	}
	return &st, nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func writeDevEnv(path string, e *DevEnv) error {
	var b strings.Builder
	b.WriteString("# Written by keyward dev. Load it with: source " + path + "\n")
	fmt.Fprintf(&b, "export KEYWARD_ADDR=%s\n", shellQuote(e.Addr))
	fmt.Fprintf(&b, "export KEYWARD_CACERT=%s\n", shellQuote(e.CACert))
	fmt.Fprintf(&b, "export KEYWARD_TOKEN=%s\n", shellQuote(e.Token))
	fmt.Fprintf(&b, "export KEYWARD_APP_KEY=%s\n", shellQuote(e.AppKey))
	if e.AzureEmulator != "" {
		fmt.Fprintf(&b, "# The in-process Azure emulator (admin API under http://ADDR/_emulator/). Azure groups,\n")
		fmt.Fprintf(&b, "# each linked to one of its vaults: %s. Sync one with: keyward azure sync GROUP --wait\n", strings.Join(e.AzureGroups, ", "))
		fmt.Fprintf(&b, "export KEYWARD_AZURE_EMULATOR=%s\n", shellQuote(e.AzureEmulator))
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// PrintDevBanner tells the developer how to use the server.
func PrintDevBanner(w io.Writer, a *App, st *DevState, env *DevEnv) {
	dir := a.Config.DataDir
	fmt.Fprintf(w, `
Keyward dev server is ready at %s

  data dir     %s   (restart with: keyward dev --data-dir %s)
  log in as    %s / %s
  CA cert      %s
`, env.Addr, dir, dir, st.Email, st.Password, env.CACert)
	if len(st.AzureGroups) > 0 {
		fmt.Fprintf(w, "\nAzure emulator at %s (in-process; admin API http://%s/_emulator/stats),\n", env.AzureEmulator, env.AzureEmulator)
		fmt.Fprintf(w, "with cloud credential %q and these connected Azure groups:\n\n", devCredentialName)
		for _, g := range st.AzureGroups {
			fmt.Fprintf(w, "  %-12s %-12s %s\n", g.Name, g.VaultKind, g.Vault)
		}
		fmt.Fprintf(w, "\nTheir vaults already hold a few keys: sync a group to see them as virtual keys.\n")
	}
	fmt.Fprintf(w, `
Use it from another shell:

  source %s
  keyward whoami
  keyward group list
`, filepath.Join(dir, "dev.env"))
	if len(st.AzureGroups) > 0 {
		g := st.AzureGroups[0].Name
		fmt.Fprintf(w, "  keyward azure sync %s --wait\n  keyward key list --group %s\n", g, g)
	}
	fmt.Fprintf(w, `
dev.env holds KEYWARD_ADDR, KEYWARD_CACERT, KEYWARD_TOKEN (the admin's session) and
KEYWARD_APP_KEY (the API key of application "dev-app" in group "default").
Press Ctrl-C to stop.
`)
}
