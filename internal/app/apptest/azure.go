package apptest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/app"
	"github.com/keyward/keyward/internal/keyward"
)

// StartWithAzure runs a server that reaches Azure the way tls says when a link says
// nothing: the end-to-end tests point it at the Azure emulator's proxy and CA.
func StartWithAzure(t testing.TB, tls keyward.TLSSettings, opts ...Option) *Env {
	t.Helper()
	dir := t.TempDir()
	cfg := Config(dir, opts...)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, app.Options{Log: log, FastPasswordHashing: true, ShutdownGrace: 100 * time.Millisecond, AzureTLS: &tls})
	if err != nil {
		t.Fatalf("start keyward: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{App: a, Addr: a.Addr(), CACert: a.CACertFile, Dir: dir, t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- a.Run(ctx) }()
	t.Cleanup(e.Stop)
	return e
}
