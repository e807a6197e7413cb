package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/store/postgres"
	"github.com/keyward/keyward/internal/store/sqlstore"
	"github.com/keyward/keyward/internal/store/storetest"
)

// TestConformance runs when KEYWARD_TEST_POSTGRES holds a DSN (.ci/run sets it). Each test
// gets its own schema, dropped afterwards.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) keyward.Store { return OpenTest(t) },
		Exec: func(t *testing.T, s keyward.Store, q string) {
			if _, err := s.(*sqlstore.DB).WriterPool().Exec(q); err != nil {
				t.Fatalf("exec %q: %v", q, err)
			}
		},
	})
}

// OpenTest opens a store in a fresh schema of the test database.
func OpenTest(t testing.TB) keyward.Store {
	t.Helper()
	dsn := os.Getenv("KEYWARD_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("KEYWARD_TEST_POSTGRES is not set; PostgreSQL tests skipped")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "kwtest_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err == nil {
			a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			a.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := postgres.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkListObjects100k(b *testing.B) {
	s := OpenTest(b)
	storetest.BenchListObjects(b, s, func() {
		if _, err := s.(*sqlstore.DB).WriterPool().Exec(`ANALYZE`); err != nil {
			b.Fatal(err)
		}
	})
}
