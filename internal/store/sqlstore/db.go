// Package sqlstore implements keyward.Store over database/sql. The SQLite and PostgreSQL
// packages open their engine, run their migrations and hand this package a Dialect; the
// queries are written once, here, so the two engines cannot drift apart.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// Dialect is what differs between engines.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2) instead of "?".
	Numbered bool
	// ForUpdate is appended to a SELECT that must lock its rows in a read-write transaction.
	ForUpdate string
	// IsUnique reports whether err is a uniqueness violation.
	IsUnique func(error) bool
	// ReadOnlyTx marks View transactions read-only at the engine level.
	ReadOnlyTx bool
	// Prepare prepares the hot path's statements once on the write pool (see PrepareHot)
	// and reuses them in every transaction. It pays off with SQLite, where parsing SQL
	// costs more than running it; pgx caches statements itself.
	Prepare bool
}

// DB is a keyward.Store. Writes go through w; reads through r, which may be the same pool.
// SQLite gives w a single connection: one writer at a time is how SQLite works anyway, and
// queueing in Go avoids busy-lock retries.
type DB struct {
	w, r *sql.DB
	d    Dialect

	mu       sync.Mutex
	stmts    map[string]string    // rebound query text, cached
	prepared map[string]*sql.Stmt // statements prepared on the write pool (Dialect.Prepare)
}

var _ keyward.Store = (*DB)(nil)

// New returns a Store over the pools.
func New(w, r *sql.DB, d Dialect) *DB {
	return &DB{w: w, r: r, d: d, stmts: map[string]string{}, prepared: map[string]*sql.Stmt{}}
}

// Update runs fn in a read-write transaction.
func (db *DB) Update(ctx context.Context, fn func(keyward.Tx) error) error {
	return db.run(ctx, db.w, &sql.TxOptions{}, true, fn)
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(keyward.Tx) error) error {
	return db.run(ctx, db.r, &sql.TxOptions{ReadOnly: db.d.ReadOnlyTx}, false, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, opts *sql.TxOptions, write bool, fn func(keyward.Tx) error) (err error) {
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	t := &tx{ctx: ctx, tx: sqlTx, db: db, write: write}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			sqlTx.Rollback()
			return
		}
		if cerr := sqlTx.Commit(); cerr != nil {
			err = fmt.Errorf("commit: %w", cerr)
		}
	}()
	return fn(t)
}

// Ping checks both pools.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return err
	}
	return db.r.PingContext(ctx)
}

// Close closes both pools.
func (db *DB) Close() error {
	db.mu.Lock()
	for _, st := range db.prepared {
		st.Close()
	}
	db.mu.Unlock()
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// WriterPool exposes the write pool for engine-specific maintenance (tests, backups).
func (db *DB) WriterPool() *sql.DB { return db.w }

// rebind turns "?" placeholders into "$n" for engines that number them.
func (db *DB) rebind(q string) string {
	if !db.d.Numbered {
		return q
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.rebindLocked(q)
}

func (db *DB) rebindLocked(q string) string {
	if !db.d.Numbered {
		return q
	}
	if s, ok := db.stmts[q]; ok {
		return s
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	db.stmts[q] = b.String()
	return db.stmts[q]
}

// tx implements keyward.Tx.
type tx struct {
	ctx   context.Context
	tx    *sql.Tx
	db    *DB
	write bool
}

var _ keyward.Tx = (*tx)(nil)

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if st := t.stmt(q); st != nil {
		res, err := st.ExecContext(t.ctx, args...)
		return res, t.mapErr(err)
	}
	res, err := t.tx.ExecContext(t.ctx, t.db.rebind(q), args...)
	return res, t.mapErr(err)
}

// stmt returns q prepared for this read-write transaction when it is one of the hot
// statements PrepareHot prepared; nil otherwise.
func (t *tx) stmt(q string) *sql.Stmt {
	if !t.write || !t.db.d.Prepare {
		return nil
	}
	t.db.mu.Lock()
	st := t.db.prepared[q]
	t.db.mu.Unlock()
	if st == nil {
		return nil
	}
	return t.tx.StmtContext(t.ctx, st)
}

// PrepareHot prepares the statements of the hot path (audit appends) on the write pool. It
// must run while no transaction holds the pool's connection: at open.
func (db *DB) PrepareHot(ctx context.Context) error {
	if !db.d.Prepare {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, q := range hotQueries() {
		st, err := db.w.PrepareContext(ctx, db.rebindLocked(q))
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		db.prepared[q] = st
	}
	return nil
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	rows, err := t.tx.QueryContext(t.ctx, t.db.rebind(q), args...)
	return rows, t.mapErr(err)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.db.rebind(q), args...)
}

// forUpdate returns the row-locking suffix in read-write transactions.
func (t *tx) forUpdate() string {
	if t.write {
		return t.db.d.ForUpdate
	}
	return ""
}

func (t *tx) mapErr(err error) error {
	if err != nil && t.db.d.IsUnique(err) {
		return keyward.Errorf(keyward.ECONFLICT, "already exists")
	}
	return err
}

// one maps a single-row result: sql.ErrNoRows becomes ENOTFOUND naming what was looked for.
func one(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return keyward.Errorf(keyward.ENOTFOUND, "%s not found", what)
	}
	return err
}

// affected turns "no row changed" into ENOTFOUND.
func affected(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return keyward.Errorf(keyward.ENOTFOUND, "%s not found", what)
	}
	return nil
}

// conflict rewrites a uniqueness ECONFLICT with a message that names the clash.
func conflict(err error, format string, args ...any) error {
	if keyward.IsCode(err, keyward.ECONFLICT) {
		return keyward.Errorf(keyward.ECONFLICT, format, args...)
	}
	return err
}

// Times are stored as microseconds since the Unix epoch in a 64-bit integer: exact, the same
// on both engines, and cheap to index. 0 means "not set".
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromTS(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func limitOf(p keyward.Page) int { return p.N() }
