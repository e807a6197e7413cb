package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newSealer(t *testing.T) (*Sealer, *Keyring) {
	t.Helper()
	kr, err := NewKeyring(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(kr)
	if err != nil {
		t.Fatal(err)
	}
	return s, kr
}

func TestSealOpenRoundTrip(t *testing.T) {
	s, _ := newSealer(t)
	for _, pt := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		ct, err := s.Seal(pt, Bind("object", "o1"))
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) > 3 && bytes.Contains(ct, pt[:4]) {
			t.Fatalf("ciphertext contains plaintext")
		}
		got, err := s.Open(ct, Bind("object", "o1"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, %v; want %q", got, err, pt)
		}
	}
}

// Every single flipped bit, in header, nonce, ciphertext or tag, must make Open fail.
func TestFlippedByteFailsToOpen(t *testing.T) {
	s, _ := newSealer(t)
	ct, err := s.Seal([]byte("the key material"), Bind("object", "o1"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ct {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(ct)
			bad[i] ^= bit
			if _, err := s.Open(bad, Bind("object", "o1")); !errors.Is(err, ErrOpen) {
				t.Fatalf("byte %d bit %#x flipped: Open err = %v, want ErrOpen", i, bit, err)
			}
		}
	}
	if _, err := s.Open(ct[:len(ct)-1], Bind("object", "o1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("truncated: err = %v", err)
	}
}

func TestMovedToAnotherRowFailsToOpen(t *testing.T) {
	s, _ := newSealer(t)
	ct, err := s.Seal([]byte("material of o1"), Bind("object", "o1"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"other id":         Bind("object", "o2"),
		"other kind":       Bind("credential", "o1"),
		"shifted boundary": Bind("objecto", "1"),
		"no binding":       nil,
	} {
		if _, err := s.Open(ct, b); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestOtherRootKeyFailsToOpen(t *testing.T) {
	a, _ := newSealer(t)
	b, _ := newSealer(t)
	ct, _ := a.Seal([]byte("x"), Bind("k", "1"))
	if _, err := b.Open(ct, Bind("k", "1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
}

func TestRotateRewrapRetire(t *testing.T) {
	s, kr := newSealer(t)
	old := kr.Active
	ct, _ := s.Seal([]byte("secret"), Bind("object", "o1"))

	if _, err := kr.Rotate(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.Load(kr); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(ct, Bind("object", "o1")); err != nil || string(got) != "secret" {
		t.Fatalf("old envelope after rotate: %q %v", got, err)
	}
	re, err := s.Rewrap(ct, Bind("object", "o1"))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyID(re); id != kr.Active || id == old {
		t.Fatalf("rewrapped under %q, want new key %q", id, kr.Active)
	}
	if gone := kr.RetireInactive(); len(gone) != 1 || gone[0] != old {
		t.Fatalf("retired %v, want [%s]", gone, old)
	}
	if err := s.Load(kr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ct, Bind("object", "o1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("envelope under retired key opened: %v", err)
	}
	if got, err := s.Open(re, Bind("object", "o1")); err != nil || string(got) != "secret" {
		t.Fatalf("rewrapped: %q %v", got, err)
	}
}

func TestKeyFilePlainAndPassphrase(t *testing.T) {
	dir := t.TempDir()
	kr, _ := NewKeyring(time.Now())
	kr.Rotate(time.Now())

	plain := filepath.Join(dir, "plain.key")
	if err := WriteKeyFile(plain, kr, nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(plain); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := LoadKeyFile(plain, nil)
	if err != nil || got.Active != kr.Active || len(got.Keys) != 2 || got.Keys[1].key != kr.Keys[1].key {
		t.Fatalf("plain round trip: %+v %v", got, err)
	}

	prot := filepath.Join(dir, "prot.key")
	if err := WriteKeyFile(prot, kr, []byte("correct horse battery staple")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(prot)
	if !Protected(data) || strings.Contains(string(data), got.Active) {
		t.Fatalf("protected file is not sealed: %s", data)
	}
	if _, err := LoadKeyFile(prot, nil); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("no passphrase: %v", err)
	}
	if _, err := LoadKeyFile(prot, []byte("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	got, err = LoadKeyFile(prot, []byte("correct horse battery staple"))
	if err != nil || got.Active != kr.Active || got.Keys[0].key != kr.Keys[0].key {
		t.Fatalf("passphrase round trip: %v", err)
	}
}

func TestRootKeyNeverPrinted(t *testing.T) {
	kr, _ := NewKeyring(time.Now())
	k := kr.Keys[0]
	for _, s := range []string{k.String()} {
		if strings.Contains(s, string(k.key[:])) {
			t.Fatal("key bytes printed")
		}
	}
}

func FuzzOpen(f *testing.F) {
	kr, _ := NewKeyring(time.Now())
	s, _ := New(kr)
	ct, _ := s.Seal([]byte("seed"), Bind("k", "1"))
	f.Add(ct)
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 200, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		if pt, err := s.Open(b, Bind("k", "1")); err == nil && !bytes.Equal(b, ct) {
			t.Fatalf("forged envelope opened: %q", pt)
		}
	})
}

func FuzzParseKeyring(f *testing.F) {
	kr, _ := NewKeyring(time.Now())
	doc, _ := kr.Marshal(nil)
	f.Add(doc)
	f.Add([]byte(`{"format":"keyward-root-keyring-v1","kdf":{"alg":"argon2id"},"sealed":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseKeyring(b, []byte("pw")) // must not panic
	})
}
