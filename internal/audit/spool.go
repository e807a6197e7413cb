package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/keyward/keyward/internal/keyward"
)

// Spool takes the audit records of the hot path (cryptographic operations). Append writes
// the record to a file on this node and returns — the operation may then be acknowledged:
// the record survives a crash of Keyward — and a background loop moves spooled records into
// the database's hash chain in large batches, so the cost of a database commit is shared by
// hundreds of operations instead of paid by each. A restart replays what was spooled but
// not yet moved.
//
// The spool is itself tamper-evident: each line carries an HMAC over its contents and the
// previous line's HMAC, under a key only this node's sealer can open. Opening a spool whose
// chain does not verify fails, naming the line.
type Spool struct {
	store keyward.Store
	log   *slog.Logger
	path  string
	node  string
	key   []byte
	every time.Duration

	mu      sync.Mutex
	f       *os.File
	m       []byte // the file, mapped shared: appending is a copy, not a system call
	off     int    // where the next record goes in m
	buf     []byte // scratch for encoding a record
	hm      hash.Hash
	n       uint64 // last spool sequence number written
	prev    []byte // HMAC of the last line written
	pending []keyward.AuditRecord
	lastN   uint64 // spool sequence number of the last pending record
	closed  bool

	kick    chan struct{}
	flushes chan chan error
	done    chan struct{}
	space   *sync.Cond // signalled when the spool empties
}

// SpoolOptions configure a spool.
type SpoolOptions struct {
	Dir  string // where spool.log lives; one Keyward process per directory
	Node string // this node's id, stable across restarts
	Key  []byte // HMAC key of the spool's chain
	// Every is how often spooled records move to the database; zero means 100 ms. Readers
	// of the trail flush first, so this bounds only how long records wait in the spool.
	Every time.Duration
	Log   *slog.Logger
}

// spoolBatch moves records at once when this many are waiting, before the timer fires.
const spoolBatch = 2048

// spoolSize is the mapped file's size: minutes of records at full speed, so that Append
// waits for the database only when it has been unreachable that long.
const spoolSize = 64 << 20

// metaKey records, in the same transaction as the records, how far this node's spool has
// been moved, so a replay after a crash never adds a record twice.
func metaKey(node string) string { return "audit.spool." + node }

// OpenSpool opens (creating if needed) the spool, replays what it holds that the database
// lacks, and starts the loop that moves records.
func OpenSpool(ctx context.Context, store keyward.Store, o SpoolOptions) (*Spool, error) {
	if len(o.Key) < 32 || o.Node == "" {
		return nil, errors.New("audit spool: a node id and a 32-byte key are required")
	}
	s := &Spool{store: store, log: o.Log, path: filepath.Join(o.Dir, "audit-spool.log"), node: o.Node, key: o.Key,
		every: o.Every, kick: make(chan struct{}, 1), flushes: make(chan chan error), done: make(chan struct{})}
	s.space = sync.NewCond(&s.mu)
	s.hm = hmac.New(sha256.New, o.Key)
	if s.every <= 0 {
		s.every = 100 * time.Millisecond
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit spool: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit spool: %w", err)
	}
	// One process per spool: a second one would replay and truncate under the first.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit spool %s is in use by another Keyward process: stop it first", s.path)
	}
	s.f = f
	if err := s.mapFile(); err != nil {
		f.Close()
		return nil, err
	}
	if err := s.replay(ctx); err != nil {
		s.unmap()
		f.Close()
		return nil, err
	}
	go s.loop()
	return s, nil
}

// mapFile sizes the file and maps it shared. A line copied into a shared mapping is in
// the kernel's page cache at once: like a write(2), it survives a crash of the process.
func (s *Spool) mapFile() error {
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	if fi.Size() < spoolSize {
		if err := s.f.Truncate(spoolSize); err != nil {
			return fmt.Errorf("audit spool: size the file: %w", err)
		}
	}
	m, err := syscall.Mmap(int(s.f.Fd()), 0, spoolSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("audit spool: map the file: %w", err)
	}
	s.m = m
	return nil
}

func (s *Spool) unmap() {
	if s.m != nil {
		syscall.Munmap(s.m)
		s.m = nil
	}
}

// A spooled record is
//
//	0xA1 | uvarint(len(payload)) | payload | HMAC-SHA256(key, payload)
//
// where payload is uvarint(n) and the length-prefixed fields: the previous record's HMAC,
// then the record (account, time in µs, actor, actor name, action, target, outcome,
// request id, detail). Length prefixes make the encoding unambiguous; the HMAC over the
// previous HMAC chains the records. The file's unused part is zeros, and a zero byte where
// a record would start ends it.
const lineMagic = 0xA1

// encodePayload appends the payload of record n to b.
func encodePayload(b []byte, n uint64, prev []byte, r *keyward.AuditRecord) []byte {
	b = binary.AppendUvarint(b, n)
	for _, f := range [][]byte{prev, []byte(r.AccountID)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.AppendVarint(b, r.Time.UnixMicro())
	for _, f := range []string{r.Actor, r.ActorName, string(r.Action), r.Target, r.Outcome, r.RequestID, r.Detail} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

// decodePayload reverses encodePayload.
func decodePayload(p []byte) (n uint64, prev []byte, r keyward.AuditRecord, err error) {
	bad := errors.New("is malformed")
	var k int
	if n, k = binary.Uvarint(p); k <= 0 {
		return 0, nil, r, bad
	}
	p = p[k:]
	field := func() ([]byte, bool) {
		l, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < l {
			return nil, false
		}
		f := p[k : k+int(l)]
		p = p[k+int(l):]
		return f, true
	}
	var acct []byte
	var ok bool
	if prev, ok = field(); !ok {
		return 0, nil, r, bad
	}
	if acct, ok = field(); !ok {
		return 0, nil, r, bad
	}
	us, k := binary.Varint(p)
	if k <= 0 {
		return 0, nil, r, bad
	}
	p = p[k:]
	var fs [7][]byte
	for i := range fs {
		if fs[i], ok = field(); !ok {
			return 0, nil, r, bad
		}
	}
	if len(p) != 0 {
		return 0, nil, r, bad
	}
	r = keyward.AuditRecord{AccountID: string(acct), Time: time.UnixMicro(us).UTC(), Actor: string(fs[0]), ActorName: string(fs[1]),
		Action: keyward.Action(fs[2]), Target: string(fs[3]), Outcome: string(fs[4]), RequestID: string(fs[5]), Detail: string(fs[6])}
	return n, bytes.Clone(prev), r, nil
}

// sum returns the HMAC of payload. Called with s.mu held (the hasher is shared).
func (s *Spool) sum(payload []byte) []byte {
	s.hm.Reset()
	s.hm.Write(payload)
	return s.hm.Sum(nil)
}

// Append spools rec. When it returns nil the record is on this node's disk (in the file
// system's cache: it survives a crash of Keyward, not necessarily a power loss) and will
// reach the database chain; when it returns an error, the operation must not be reported
// as done.
func (s *Spool) Append(rec keyward.AuditRecord) error {
	rec.Time = rec.Time.UTC().Truncate(time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n + 1
	s.buf = encodePayload(s.buf[:0], n, s.prev, &rec)
	if err := s.waitForRoom(len(s.buf) + 2*binary.MaxVarintLen64 + sha256.Size); err != nil {
		return err
	}
	mac := s.sum(s.buf)
	m := s.m[s.off:]
	m[0] = lineMagic
	w := 1 + binary.PutUvarint(m[1:], uint64(len(s.buf)))
	w += copy(m[w:], s.buf)
	w += copy(m[w:], mac)
	s.off += w
	s.n, s.prev = n, mac
	s.pending = append(s.pending, rec)
	s.lastN = n
	if len(s.pending) >= spoolBatch {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// waitForRoom holds Append back while the spool is full — the database is taking records
// more slowly than they come, or not at all — and gives up after spoolFullWait. Called
// with s.mu held.
func (s *Spool) waitForRoom(need int) error {
	deadline := time.Now().Add(spoolFullWait)
	for s.off+need > len(s.m) && !s.closed {
		if time.Now().After(deadline) {
			return errors.New("audit spool is full: the database has not taken audit records for a while; see the server log")
		}
		select {
		case s.kick <- struct{}{}:
		default:
		}
		timer := time.AfterFunc(100*time.Millisecond, s.space.Broadcast)
		s.space.Wait()
		timer.Stop()
	}
	if s.closed {
		return errors.New("audit spool is closed")
	}
	return nil
}

// spoolFullWait is how long Append waits for room before refusing the operation.
const spoolFullWait = 10 * time.Second

// Flush moves everything spooled so far into the database, so that readers of the audit
// trail on this node see every acknowledged operation.
func (s *Spool) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.flushes <- reply:
	case <-s.done:
		return errors.New("audit spool is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Spool) loop() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		var reply chan error
		select {
		case <-t.C:
		case <-s.kick:
		case reply = <-s.flushes:
		}
		err := s.move(context.Background())
		if err != nil {
			s.log.Error("move audit records from the spool to the database (will retry)", "err", err)
		}
		if reply != nil {
			reply <- err
		}
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return
		}
	}
}

// move commits the pending records to the database chain and, when nothing new arrived
// meanwhile, empties the spool file.
func (s *Spool) move(ctx context.Context) error {
	s.mu.Lock()
	recs, last := s.pending, s.lastN
	s.mu.Unlock()
	if len(recs) == 0 {
		return nil
	}
	err := s.store.Update(ctx, func(tx keyward.Tx) error {
		if err := Append(tx, recs...); err != nil {
			return err
		}
		return tx.PutMeta(metaKey(s.node), []byte(strconv.FormatUint(last, 10)))
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = s.pending[len(recs):]
	if len(s.pending) == 0 {
		s.pending = nil
		s.reset()
	}
	return nil
}

// reset empties the spool once everything in it is in the database. The chain carries on
// from the last HMAC, which the next line names as its predecessor.
func (s *Spool) reset() {
	clear(s.m[:s.off])
	s.off = 0
	s.space.Broadcast()
}

// replay verifies the spool file's chain and moves the records the database lacks.
func (s *Spool) replay(ctx context.Context) error {
	var done uint64
	err := s.store.View(ctx, func(tx keyward.Tx) error {
		v, err := tx.GetMeta(metaKey(s.node))
		if keyward.IsCode(err, keyward.ENOTFOUND) {
			return nil
		}
		if err != nil {
			return err
		}
		done, err = strconv.ParseUint(string(v), 10, 64)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit spool: %w", err)
	}
	s.n = done
	var prev []byte
	off := 0
	for i := 1; off < len(s.m) && s.m[off] != 0; i++ {
		n, rec, mac, next, err := s.readRecord(off, prev, i == 1)
		if err != nil {
			return fmt.Errorf("audit spool %s: record %d at offset %d %v: the spool was damaged or altered; keep the file for investigation and move it aside to start", s.path, i, off, err)
		}
		prev, off = mac, next
		s.n, s.prev = max(s.n, n), mac
		if n > done {
			s.pending = append(s.pending, rec)
			s.lastN = n
		}
	}
	s.off = off
	if n := len(s.pending); n > 0 {
		s.log.Warn("replaying audit records spooled before a crash", "records", n)
	}
	if err := s.move(ctx); err != nil {
		return fmt.Errorf("audit spool: replay: %w", err)
	}
	if len(s.pending) == 0 {
		s.reset() // every line is in the database already
	}
	return nil
}

// readRecord reads and verifies the record at off: its HMAC, and (unless first) that it
// names prev as its predecessor.
func (s *Spool) readRecord(off int, prev []byte, first bool) (uint64, keyward.AuditRecord, []byte, int, error) {
	var r keyward.AuditRecord
	m := s.m[off:]
	if m[0] != lineMagic {
		return 0, r, nil, 0, errors.New("does not start a record")
	}
	l, k := binary.Uvarint(m[1:])
	if k <= 0 || l > uint64(len(m)) || 1+k+int(l)+sha256.Size > len(m) {
		return 0, r, nil, 0, errors.New("has a bad length")
	}
	payload := m[1+k : 1+k+int(l)]
	mac := m[1+k+int(l) : 1+k+int(l)+sha256.Size]
	if !hmac.Equal(mac, s.sum(payload)) {
		return 0, r, nil, 0, errors.New("fails its HMAC")
	}
	n, p, r, err := decodePayload(payload)
	if err != nil {
		return 0, r, nil, 0, err
	}
	if !first && !hmac.Equal(p, prev) {
		return 0, r, nil, 0, errors.New("does not follow the record before it")
	}
	return n, r, bytes.Clone(mac), off + 1 + k + int(l) + sha256.Size, nil
}

// Close moves what is still spooled and stops the loop.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.Flush(context.Background())
	<-s.done
	s.unmap()
	return errors.Join(err, s.f.Close())
}
