// Package app is the composition root: the only package that imports everything. An App
// serves `keyward server`, `keyward dev` and the end-to-end tests.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/keyward/keyward/internal/azure"
	"github.com/keyward/keyward/internal/config"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/store/postgres"
	"github.com/keyward/keyward/internal/store/sqlite"
)

// App is a running Keyward server.
type App struct {
	Config  config.Config
	Service *service.Service
	Log     *slog.Logger
	// CACertFile is the generated local CA's certificate, or "" when TLS files are configured
	// or TLS is off.
	CACertFile string

	store    keyward.Store
	grace    time.Duration
	listener net.Listener
	server   *http.Server
	keyring  *seal.Keyring
}

// Options are settings for tests and `keyward dev`.
type Options struct {
	Log *slog.Logger
	// FastPasswordHashing lowers argon2id's cost (tests only).
	FastPasswordHashing bool
	// Cloud replaces the Azure connector (nil: internal/azure).
	Cloud keyward.CloudConnector
	// AzureTLS replaces how Keyward reaches Azure when a link says nothing (nil: the
	// configuration's azure section). keyward dev and the tests point it at the emulator.
	AzureTLS *keyward.TLSSettings
	// AuditSpoolEvery overrides how often spooled audit records move to the database (tests).
	AuditSpoolEvery time.Duration
	// ShutdownGrace is how long Run lets requests finish after ctx ends before it closes
	// the remaining connections. Zero: 10 seconds.
	ShutdownGrace time.Duration
}

// New opens everything the configuration names and listens, but does not serve yet.
func New(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	tuneGC()
	a := &App{Config: cfg, Log: o.Log, grace: o.ShutdownGrace}
	if a.grace <= 0 {
		a.grace = 10 * time.Second
	}
	if a.Log == nil {
		a.Log = NewLogger(cfg.Log, os.Stderr)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if err := a.openSeal(); err != nil {
		return nil, err
	}
	sealer, err := seal.New(a.keyring)
	if err != nil {
		return nil, err
	}
	if a.store, err = openStore(ctx, cfg.Database); err != nil {
		return nil, err
	}
	cloud, azureTLS, err := azureOptions(cfg.Azure, o, a.Log)
	if err != nil {
		return nil, err
	}
	a.Service, err = service.New(ctx, service.Options{Store: a.store, Sealer: sealer, Log: a.Log,
		SessionTTL: cfg.SessionTTL, FastPasswordHashing: o.FastPasswordHashing, DataDir: cfg.DataDir, AuditSpoolEvery: o.AuditSpoolEvery, Jobs: a.newRunner(),
		Cloud: cloud, AzureTLS: azureTLS})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h, err := httpapi.New(httpapi.Options{Service: a.Service, Log: a.Log, Registry: reg, MaxBodyBytes: cfg.MaxBodyBytes})
	if err != nil {
		return nil, err
	}
	a.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelDebug)}
	if err := a.listen(); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

func openStore(ctx context.Context, db config.Database) (keyward.Store, error) {
	if db.Driver == "postgres" {
		return postgres.Open(ctx, db.DSN)
	}
	return sqlite.OpenSync(ctx, db.Path, sqlite.Sync(db.SQLiteSync))
}

// openSeal loads the root keyring, generating it (unprotected or under the configured
// passphrase) on the first start.
func (a *App) openSeal() error {
	pass, err := a.Config.Passphrase()
	if err != nil {
		return err
	}
	path := a.Config.Seal.KeyFile
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		kr, err := seal.NewKeyring(time.Now())
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := seal.WriteKeyFile(path, kr, pass); err != nil {
			return err
		}
		a.Log.Warn("generated a new root key file; back it up: without it the data cannot be opened", "path", path)
		a.keyring = kr
		return nil
	}
	a.keyring, err = seal.LoadKeyFile(path, pass)
	return err
}

func (a *App) listen() error {
	cfg := a.Config
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Keyward running? pick another address with --listen)", cfg.Listen, err)
	}
	if cfg.TLS.Disable {
		a.listener = ln
		return nil
	}
	certFile, keyFile := cfg.TLS.CertFile, cfg.TLS.KeyFile
	if certFile == "" {
		ca, err := ensureLocalTLS(filepath.Join(cfg.DataDir, "tls"), certHosts(cfg.Listen, cfg.TLS.Hosts), time.Now())
		if err != nil {
			ln.Close()
			return fmt.Errorf("generate TLS certificate: %w", err)
		}
		certFile, keyFile, a.CACertFile = ca.CertFile, ca.KeyFile, ca.CACertFile
	}
	tc, err := serverTLS(certFile, keyFile)
	if err != nil {
		ln.Close()
		return err
	}
	a.server.TLSConfig = tc
	a.listener = tls.NewListener(ln, tc)
	return nil
}

// Handler is the API's HTTP handler, without TLS or a listener (for in-process benchmarks).
func (a *App) Handler() http.Handler { return a.server.Handler }

// Addr is the URL clients use.
func (a *App) Addr() string {
	scheme := "https"
	if a.Config.TLS.Disable {
		scheme = "http"
	}
	return scheme + "://" + a.listener.Addr().String()
}

// Run serves, and runs jobs, until ctx is done; then it drains requests and lets job
// handlers stop for the shutdown grace period and closes what is left.
func (a *App) Run(ctx context.Context) error {
	waitJobs := a.startJobs(ctx)
	defer waitJobs()
	errc := make(chan error, 1)
	go func() { errc <- a.server.Serve(a.listener) }()
	if addr := a.Config.Debug.PprofListen; addr != "" {
		stop := servePprof(addr, a.Log)
		defer stop()
	}
	a.Log.Info("keyward serving", "addr", a.Addr(), "database", a.Config.Database.Driver)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.grace)
	defer cancel()
	err := a.server.Shutdown(shutCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = a.server.Close()
	}
	if errors.Is(<-errc, http.ErrServerClosed) {
		a.Log.Info("keyward stopped")
	}
	return err
}

// Store is the server's store, for the end-to-end tests that look at what it holds.
func (a *App) Store() keyward.Store { return a.store }

// Close releases the store and the listener.
func (a *App) Close() error {
	var err error
	if a.listener != nil {
		a.listener.Close()
	}
	if a.Service != nil {
		a.Service.Close() // commits audit records still queued
	}
	if a.store != nil {
		err = a.store.Close()
	}
	return err
}

// tuneGC collects garbage less often than Go's default unless the operator chose (GOGC).
// The server's live heap is small — keys, caches and requests in flight — so a 400%
// growth target costs little memory and takes most of the collector off the hot path.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// NewLogger returns the server's structured logger.
func NewLogger(c config.Log, w *os.File) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// azureOptions chooses the Azure connector and how it reaches Azure when a link says
// nothing: the options' (keyward dev, tests) or else the configuration's.
func azureOptions(c config.Azure, o Options, log *slog.Logger) (keyward.CloudConnector, keyward.TLSSettings, error) {
	cloud := o.Cloud
	if cloud == nil {
		cloud = azure.New(azure.Options{Logger: log.With("component", "azure")})
	}
	if o.AzureTLS != nil {
		return cloud, *o.AzureTLS, nil
	}
	def := keyward.TLSSettings{ProxyURL: c.ProxyURL}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, def, fmt.Errorf("config azure.ca_file: %w", err)
		}
		def.CACertPEM = string(pem)
	}
	return cloud, def, nil
}
