// Package seal encrypts secrets at rest under the root key.
//
// Every secret Keyward stores — key material, cloud credentials, escrowed backups — goes
// through Sealer.Seal with a binding that names the row it lives in. The envelope is
//
//	version(1) | len(keyID)(1) | keyID | nonce(12) | AES-256-GCM ciphertext+tag
//
// and the GCM associated data is the envelope header followed by the binding, so a flipped
// byte anywhere, a changed key id, or a blob copied into another row fails to open. The key
// id lets the root key rotate: a keyring holds the active key and the keys still needed to
// open older envelopes until they are re-wrapped.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
)

// formatV1 is the only envelope format so far.
const formatV1 = 1

const nonceSize = 12

// ErrOpen is returned for every envelope that does not open: tampered, bound to another
// row, or sealed under a key the keyring does not hold. One error for all cases keeps the
// failure from telling an attacker which check failed.
var ErrOpen = errors.New("seal: sealed value does not open (tampered, moved, or sealed under another root key)")

// Bind names the row a sealed value belongs to. kind is the table-level name ("object",
// "credential"), id the row's id. Use it for every Seal and Open.
func Bind(kind, id string) []byte {
	b := make([]byte, 0, len(kind)+1+len(id))
	b = append(b, kind...)
	b = append(b, 0)
	return append(b, id...)
}

// Sealer seals and opens values under a keyring. It is safe for concurrent use.
type Sealer struct {
	mu     sync.RWMutex
	active string
	aeads  map[string]cipher.AEAD
}

// New returns a Sealer over the keyring's keys.
func New(kr *Keyring) (*Sealer, error) {
	s := &Sealer{}
	if err := s.Load(kr); err != nil {
		return nil, err
	}
	return s, nil
}

// Load replaces the sealer's keys with the keyring's (after a rotation).
func (s *Sealer) Load(kr *Keyring) error {
	aeads := make(map[string]cipher.AEAD, len(kr.Keys))
	for _, k := range kr.Keys {
		block, err := aes.NewCipher(k.key[:])
		if err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		aeads[k.ID] = aead
	}
	if _, ok := aeads[kr.Active]; !ok {
		return fmt.Errorf("seal: keyring has no active key %q", kr.Active)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active, s.aeads = kr.Active, aeads
	return nil
}

// ActiveKeyID returns the id of the key new envelopes are sealed under.
func (s *Sealer) ActiveKeyID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// Seal encrypts plaintext bound to binding under the active root key.
func (s *Sealer) Seal(plaintext, binding []byte) ([]byte, error) {
	s.mu.RLock()
	id, aead := s.active, s.aeads[s.active]
	s.mu.RUnlock()
	hdr := header(id)
	out := make([]byte, len(hdr)+nonceSize, len(hdr)+nonceSize+len(plaintext)+aead.Overhead())
	copy(out, hdr)
	nonce := out[len(hdr):]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additionalData(hdr, binding)), nil
}

// Open decrypts a value sealed with the same binding. It returns ErrOpen for anything that
// does not authenticate.
func (s *Sealer) Open(sealed, binding []byte) ([]byte, error) {
	id, rest, ok := parseHeader(sealed)
	if !ok {
		return nil, ErrOpen
	}
	s.mu.RLock()
	aead := s.aeads[id]
	s.mu.RUnlock()
	if aead == nil || len(rest) < nonceSize+aead.Overhead() {
		return nil, ErrOpen
	}
	hdr := sealed[:len(sealed)-len(rest)]
	pt, err := aead.Open(nil, rest[:nonceSize], rest[nonceSize:], additionalData(hdr, binding))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// KeyID returns the root key id an envelope was sealed under, without opening it.
func KeyID(sealed []byte) (string, bool) {
	id, _, ok := parseHeader(sealed)
	return id, ok
}

// Rewrap opens sealed with binding and seals the plaintext again under the active key.
func (s *Sealer) Rewrap(sealed, binding []byte) ([]byte, error) {
	pt, err := s.Open(sealed, binding)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return s.Seal(pt, binding)
}

func header(keyID string) []byte {
	h := make([]byte, 0, 2+len(keyID))
	h = append(h, formatV1, byte(len(keyID)))
	return append(h, keyID...)
}

func parseHeader(b []byte) (keyID string, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != formatV1 {
		return "", nil, false
	}
	n := int(b[1])
	if n == 0 || len(b) < 2+n {
		return "", nil, false
	}
	return string(b[2 : 2+n]), b[2+n:], true
}

func additionalData(hdr, binding []byte) []byte {
	ad := make([]byte, 0, len(hdr)+len(binding))
	ad = append(ad, hdr...)
	return append(ad, binding...)
}
