// Package sqlite is the embedded Store: SQLite through a pure-Go driver, in WAL mode with
// foreign keys on, migrated by goose from the SQL files embedded here.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyward/keyward/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Sync says when SQLite waits for the disk.
type Sync string

const (
	// SyncNormal (the default) writes each commit to the write-ahead log without waiting
	// for the disk: a committed transaction survives a crash of Keyward, and a power loss or
	// OS crash may lose the last ones.
	SyncNormal Sync = "normal"
	// SyncFull also waits for the disk on every commit (fsync): commits survive a power
	// loss too, at the cost of a disk flush per transaction.
	SyncFull Sync = "full"
)

// Open opens (creating if needed) the database file at path and migrates it to the latest
// schema. Writes go through one connection in IMMEDIATE transactions; reads use a pool of
// read-only connections that WAL lets run beside the writer.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	return OpenSync(ctx, path, SyncNormal)
}

// OpenSync is Open with a chosen durability.
func OpenSync(ctx context.Context, path string, sync Sync) (*sqlstore.DB, error) {
	if sync != SyncNormal && sync != SyncFull {
		return nil, fmt.Errorf("sqlite: unknown synchronous mode %q (normal or full)", sync)
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, false, sync))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, true, sync))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)*2))
	db := sqlstore.New(w, r, sqlstore.Dialect{Name: "sqlite", IsUnique: isUnique, Prepare: true})
	if err := db.PrepareHot(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// createPrivate creates an empty database file readable by its owner only, unless it
// exists. SQLite would create it with the process's umask (often world-readable); it gives
// its -wal and -shm files the database file's mode, so they follow. Key material in the
// database is sealed, but names, tags and the audit trail are an account's business.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the database file: %w", err)
	}
	return f.Close()
}

func dsn(path string, readOnly bool, sync Sync) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+strings.ToUpper(string(sync))+")")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite migrate: %w", err)
	}
	return nil
}

func isUnique(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
