package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/audit"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/store/sqlite"
)

var ctx = context.Background()

func openStore(t *testing.T) keyward.Store {
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var key = bytes.Repeat([]byte{7}, 32)

func open(t *testing.T, st keyward.Store, dir string) *audit.Spool {
	t.Helper()
	// A long interval: records move only on Flush or Close, so the test decides when.
	s, err := audit.OpenSpool(ctx, st, audit.SpoolOptions{Dir: dir, Node: "node-1", Key: key, Every: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rec(i int) keyward.AuditRecord {
	return keyward.AuditRecord{AccountID: "A", Time: time.Date(2026, 11, 23, 10, 0, i, 0, time.UTC), Actor: "app:x",
		Action: "crypto.encrypt", Target: "object:k", Outcome: keyward.OutcomeSuccess, RequestID: fmt.Sprint("r", i), Detail: "AES-GCM <&> \u00e9"}
}

func chain(t *testing.T, st keyward.Store) (int64, bool) {
	var rep audit.Report
	st.View(ctx, func(tx keyward.Tx) error {
		var err error
		rep, err = audit.Verify(tx, "A")
		return err
	})
	return rep.Checked, rep.OK
}

// crash abandons a spool as a killed process would: nothing is flushed or closed cleanly;
// only the file lock goes, as it does when a process dies.
func crash(s *audit.Spool) { audit.ReleaseForTest(s) }

func TestSpoolMovesRecordsToTheChain(t *testing.T) {
	st := openStore(t)
	s := open(t, st, t.TempDir())
	for i := range 100 {
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := chain(t, st); n != 0 {
		t.Fatalf("%d records in the database before a flush", n)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, ok := chain(t, st); n != 100 || !ok {
		t.Fatalf("chain after flush: %d records, ok=%v", n, ok)
	}
	s.Append(rec(100))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, _ := chain(t, st); n != 101 {
		t.Fatalf("Close did not move the last record: %d", n)
	}
}

// Acknowledged records survive a crash: the next start replays them, once.
func TestSpoolReplaysAfterACrash(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	s := open(t, st, dir)
	for i := range 10 {
		s.Append(rec(i))
	}
	s.Flush(ctx) // 10 in the database
	for i := 10; i < 25; i++ {
		s.Append(rec(i)) // 15 only in the spool
	}
	crash(s)
	s2 := open(t, st, dir)
	defer s2.Close()
	if n, ok := chain(t, st); n != 25 || !ok {
		t.Fatalf("after replay: %d records, ok=%v; want 25", n, ok)
	}
	// Once more, with nothing new: nothing is added twice.
	crash(s2)
	s3 := open(t, st, dir)
	defer s3.Close()
	if n, _ := chain(t, st); n != 25 {
		t.Fatalf("second replay added records: %d", n)
	}
	// The chain of the spool carries on across restarts.
	s3.Append(rec(25))
	crash(s3)
	s4 := open(t, st, dir)
	defer s4.Close()
	if n, ok := chain(t, st); n != 26 || !ok {
		t.Fatalf("after the third start: %d, ok=%v", n, ok)
	}
}

// A crash after the database took the records but before the spool was emptied must not
// add them twice.
func TestSpoolNoDuplicatesAfterCommit(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	s := open(t, st, dir)
	for i := range 5 {
		s.Append(rec(i))
	}
	path := filepath.Join(dir, "audit-spool.log")
	before, _ := os.ReadFile(path)
	s.Flush(ctx)
	crash(s)
	os.WriteFile(path, before, 0o600) // as if the crash came just before the reset
	s2 := open(t, st, dir)
	defer s2.Close()
	if n, ok := chain(t, st); n != 5 || !ok {
		t.Fatalf("records: %d, ok=%v; want 5", n, ok)
	}
}

func TestSpoolRefusesAnAlteredFile(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	s := open(t, st, dir)
	for i := range 3 {
		s.Append(rec(i))
	}
	crash(s)
	path := filepath.Join(dir, "audit-spool.log")
	b, _ := os.ReadFile(path)
	if !bytes.Contains(b, []byte("r1")) {
		t.Fatal("the spool does not hold the records")
	}
	altered := bytes.Replace(b, []byte("r1"), []byte("rX"), 1)
	os.WriteFile(path, altered, 0o600)
	_, err := audit.OpenSpool(ctx, st, audit.SpoolOptions{Dir: dir, Node: "node-1", Key: key})
	if err == nil || !strings.Contains(err.Error(), "record 2") || !strings.Contains(err.Error(), "HMAC") {
		t.Fatalf("altered spool: %v", err)
	}
	// A key other than the one that wrote the records verifies none of them.
	os.WriteFile(path, b, 0o600)
	_, err = audit.OpenSpool(ctx, st, audit.SpoolOptions{Dir: dir, Node: "node-1", Key: bytes.Repeat([]byte{8}, 32)})
	if err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestSpoolIsOneProcessAtATime(t *testing.T) {
	st := openStore(t)
	dir := t.TempDir()
	s := open(t, st, dir)
	defer s.Close()
	_, err := audit.OpenSpool(ctx, st, audit.SpoolOptions{Dir: dir, Node: "node-1", Key: key})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second opener: %v", err)
	}
}

func BenchmarkSpoolAppend(b *testing.B) {
	st, _ := sqlite.Open(ctx, filepath.Join(b.TempDir(), "k.db"))
	defer st.Close()
	s, _ := audit.OpenSpool(ctx, st, audit.SpoolOptions{Dir: b.TempDir(), Node: "n", Key: key})
	defer s.Close()
	r := rec(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Append(r); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzSpoolReplay feeds arbitrary bytes as the spool file: opening it either replays valid
// records or fails with an error, and never panics.
func FuzzSpoolReplay(f *testing.F) {
	dir := f.TempDir()
	st, _ := sqlite.Open(ctx, filepath.Join(dir, "k.db"))
	defer st.Close()
	s, err := audit.OpenSpool(ctx, st, audit.SpoolOptions{Dir: filepath.Join(dir, "seed"), Node: "n", Key: key, Every: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		s.Append(rec(i))
	}
	crash(s)
	seed, _ := os.ReadFile(filepath.Join(dir, "seed", "audit-spool.log"))
	f.Add(bytes.TrimRight(seed, "\x00"))
	f.Add([]byte{0xA1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "audit-spool.log"), b, 0o600)
		s, err := audit.OpenSpool(ctx, st, audit.SpoolOptions{Dir: d, Node: "fuzz", Key: key, Every: time.Hour})
		if err == nil {
			s.Close()
		}
	})
}
