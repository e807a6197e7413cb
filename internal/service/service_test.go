package service

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/seal"
	"github.com/keyward/keyward/internal/store/sqlite"
)

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T, clock keyward.Clock) (*Service, *seal.Keyring, keyward.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, _ := seal.NewKeyring(time.Now())
	sl, _ := seal.New(kr)
	s, err := New(context.Background(), Options{Store: st, Sealer: sl, Clock: clock, SessionTTL: time.Hour, FastPasswordHashing: true, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s, kr, st
}

func TestSessionExpires(t *testing.T) {
	ctx := context.Background()
	clock := &stepClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	s, _, _ := newService(t, clock)
	acct, _, err := s.Bootstrap(ctx, "A", "a@a.example", "long enough password")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Login(ctx, "A@A.example", "long enough password", "")
	if err != nil || res.Principal.AccountID != acct.ID {
		t.Fatalf("login: %+v %v", res, err)
	}
	if _, err := s.Authenticate(ctx, res.Token); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	clock.add(time.Hour)
	if _, err := s.Authenticate(ctx, res.Token); !keyward.IsCode(err, keyward.EUNAUTHENTICATED) {
		t.Fatalf("expired session: %v", err)
	}
}

func TestWrongRootKeyIsRefusedAtStart(t *testing.T) {
	_, _, st := newService(t, nil)
	other, _ := seal.NewKeyring(time.Now())
	sl, _ := seal.New(other)
	_, err := New(context.Background(), Options{Store: st, Sealer: sl, DataDir: t.TempDir()})
	if err == nil {
		t.Fatal("a database opened with the wrong root key")
	}
}

func TestLastAdminStays(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newService(t, nil)
	_, u, _ := s.Bootstrap(ctx, "A", "a@a.example", "long enough password")
	res, _ := s.Login(ctx, "a@a.example", "long enough password", "")
	if _, err := s.SetUserRole(ctx, res.Principal, u.ID, keyward.RoleMember); !keyward.IsCode(err, keyward.EPRECONDITION) {
		t.Fatalf("demoting the last admin: %v", err)
	}
	if err := s.RemoveUser(ctx, res.Principal, u.ID); !keyward.IsCode(err, keyward.EPRECONDITION) {
		t.Fatalf("removing the last admin: %v", err)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := defaultPasswordParams.hash("hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if !checkPassword(h, "hunter2hunter2") || checkPassword(h, "hunter2hunter3") || checkPassword("garbage", "x") {
		t.Fatal("checkPassword")
	}
	h2, _ := defaultPasswordParams.hash("hunter2hunter2")
	if h == h2 {
		t.Fatal("hashes are not salted")
	}
}
