// Package apptest starts a real Keyward server for end-to-end tests: a real App on a random
// loopback port, real HTTPS with a generated CA, SQLite in a temp dir (or PostgreSQL when
// asked and KEYWARD_TEST_POSTGRES is set), driven through the public Go client.
package apptest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for schema setup

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/config"
)

// Env is a running server.
type Env struct {
	App    *app.App
	Addr   string
	CACert string
	Dir    string

	t      testing.TB
	cancel context.CancelFunc
	done   chan error
}

// Option changes the configuration before start.
type Option func(*config.Config)

// WithPostgres runs the server on PostgreSQL in a fresh schema; the test is skipped when
// KEYWARD_TEST_POSTGRES is not set.
func WithPostgres(t testing.TB) Option {
	dsn := PostgresDSN(t)
	return func(c *config.Config) {
		c.Database.Driver = "postgres"
		c.Database.DSN = dsn
	}
}

// PostgresDSN creates a schema for the test, dropped at cleanup, and returns a DSN for it.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("KEYWARD_TEST_POSTGRES")
	if base == "" {
		t.Skip("KEYWARD_TEST_POSTGRES is not set; PostgreSQL end-to-end tests skipped")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "kwe2e_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Config returns the test configuration for dir.
func Config(dir string, opts ...Option) config.Config {
	c := app.DevConfig("127.0.0.1:0", dir)
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return StartIn(t, t.TempDir(), opts...)
}

// StartIn runs a server on an existing data dir (to test restarts).
func StartIn(t testing.TB, dir string, opts ...Option) *Env {
	t.Helper()
	return StartWith(t, dir, app.Options{}, opts...)
}

// StartWith runs a server on a data dir with app options (the Azure connector and how it
// reaches Azure); the test's logger, fast password hashing and a short shutdown grace are
// filled in.
func StartWith(t testing.TB, dir string, o app.Options, opts ...Option) *Env {
	t.Helper()
	cfg := Config(dir, opts...)
	o.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o.FastPasswordHashing, o.ShutdownGrace = true, 100*time.Millisecond
	a, err := app.New(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("start keyward: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{App: a, Addr: a.Addr(), CACert: a.CACertFile, Dir: dir, t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- a.Run(ctx) }()
	t.Cleanup(e.Stop)
	return e
}

// Stop shuts the server down (idempotent).
func (e *Env) Stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(15 * time.Second):
		e.t.Errorf("server did not stop within 15s")
	}
	e.App.Close()
	e.cancel = nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

// Client returns a client for the server authenticating with token ("" for none).
func (e *Env) Client(token string, opts ...client.Option) *client.Client {
	e.t.Helper()
	c, err := client.New(e.Addr, append([]client.Option{client.WithCACertFile(e.CACert), client.WithToken(token)}, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// Password is the password every test user gets.
const Password = "correct horse battery staple"

// Bootstrap creates an account with an administrator and returns the account id and the
// administrator's logged-in client.
func (e *Env) Bootstrap(account, email string) (string, *client.Client) {
	e.t.Helper()
	acct, _, err := e.App.Service.Bootstrap(context.Background(), account, email, Password)
	if err != nil {
		e.t.Fatalf("bootstrap: %v", err)
	}
	return acct.ID, e.Login(email, acct.ID)
}

// Login logs a user in to an account.
func (e *Env) Login(email, accountID string) *client.Client {
	e.t.Helper()
	c := e.Client("")
	if _, err := c.Login(context.Background(), api.LoginRequest{Email: email, Password: Password, Account: accountID}); err != nil {
		e.t.Fatalf("login %s: %v", email, err)
	}
	return c
}

// AddUser adds a user with an account role through admin and returns the user's id and
// logged-in client.
func (e *Env) AddUser(admin *client.Client, accountID, email, role string) (string, *client.Client) {
	e.t.Helper()
	u, err := admin.CreateUser(context.Background(), api.UserCreate{Email: email, Password: Password, Role: role})
	if err != nil {
		e.t.Fatalf("add user %s: %v", email, err)
	}
	return u.ID, e.Login(email, accountID)
}

// Check fails the test on err.
func Check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%v", err)
	}
}
