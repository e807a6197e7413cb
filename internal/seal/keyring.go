package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/argon2"
)

// RootKey is one 256-bit root key. Its bytes are unexported and never printed.
type RootKey struct {
	ID      string
	Created time.Time
	key     [32]byte
}

// String prints the id only.
func (k RootKey) String() string { return "root key " + k.ID }

// Keyring is the set of root keys: the active one seals, all of them open.
type Keyring struct {
	Active string
	Keys   []RootKey
}

// NewKeyring returns a keyring with one fresh key.
func NewKeyring(now time.Time) (*Keyring, error) {
	k, err := newRootKey(now)
	if err != nil {
		return nil, err
	}
	return &Keyring{Active: k.ID, Keys: []RootKey{k}}, nil
}

func newRootKey(now time.Time) (RootKey, error) {
	var k RootKey
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return k, fmt.Errorf("seal: %w", err)
	}
	if _, err := rand.Read(k.key[:]); err != nil {
		return k, fmt.Errorf("seal: %w", err)
	}
	k.ID = "rk-" + hex.EncodeToString(id[:])
	k.Created = now.UTC().Truncate(time.Second)
	return k, nil
}

// Rotate adds a fresh key and makes it active. The old keys stay until Retire.
func (kr *Keyring) Rotate(now time.Time) (RootKey, error) {
	k, err := newRootKey(now)
	if err != nil {
		return k, err
	}
	kr.Keys = append(kr.Keys, k)
	kr.Active = k.ID
	return k, nil
}

// RetireInactive drops every key but the active one (once nothing is sealed under them).
func (kr *Keyring) RetireInactive() []string {
	var gone []string
	keep := kr.Keys[:0]
	for _, k := range kr.Keys {
		if k.ID == kr.Active {
			keep = append(keep, k)
		} else {
			gone = append(gone, k.ID)
		}
	}
	kr.Keys = keep
	return gone
}

// The key file is JSON. Plain:
//
//	{"format":"keyward-root-keyring-v1","active":"rk-…","keys":[{"id":"rk-…","created":"…","key":"base64"}]}
//
// Under a passphrase, the same document is sealed with AES-256-GCM under a key derived with
// argon2id, and the file holds the KDF parameters and the ciphertext:
//
//	{"format":"keyward-root-keyring-v1","kdf":{"alg":"argon2id",…},"sealed":"base64"}
const fileFormat = "keyward-root-keyring-v1"

type fileKey struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Key     string    `json:"key"`
}

type fileKDF struct {
	Alg     string `json:"alg"`
	Salt    string `json:"salt"`
	Time    uint32 `json:"time"`
	Memory  uint32 `json:"memory_kib"`
	Threads uint8  `json:"threads"`
}

type keyFile struct {
	Format string    `json:"format"`
	Active string    `json:"active,omitempty"`
	Keys   []fileKey `json:"keys,omitempty"`
	KDF    *fileKDF  `json:"kdf,omitempty"`
	Sealed string    `json:"sealed,omitempty"`
}

// ErrPassphrase means the key file is protected and the passphrase was missing or wrong.
var ErrPassphrase = errors.New("seal: the root key file is protected by a passphrase and it was missing or wrong")

// Marshal encodes the keyring as a key file, sealed under passphrase when it is non-empty.
func (kr *Keyring) Marshal(passphrase []byte) ([]byte, error) {
	plain := keyFile{Format: fileFormat, Active: kr.Active}
	for _, k := range kr.Keys {
		plain.Keys = append(plain.Keys, fileKey{ID: k.ID, Created: k.Created, Key: base64.StdEncoding.EncodeToString(k.key[:])})
	}
	doc, err := json.MarshalIndent(plain, "", "  ")
	if err != nil || len(passphrase) == 0 {
		return doc, err
	}
	defer clear(doc)
	kdf := &fileKDF{Alg: "argon2id", Time: 3, Memory: 64 * 1024, Threads: 2}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	kdf.Salt = base64.StdEncoding.EncodeToString(salt)
	aead, err := kdf.aead(passphrase)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ct := aead.Seal(nonce, nonce, doc, []byte(fileFormat))
	return json.MarshalIndent(keyFile{Format: fileFormat, KDF: kdf, Sealed: base64.StdEncoding.EncodeToString(ct)}, "", "  ")
}

func (k *fileKDF) aead(passphrase []byte) (cipher.AEAD, error) {
	salt, err := base64.StdEncoding.DecodeString(k.Salt)
	// Bounds keep a hostile key file from making the KDF take the machine's memory or time.
	if err != nil || k.Alg != "argon2id" || len(salt) < 16 || k.Time == 0 || k.Time > 16 ||
		k.Memory < 8*1024 || k.Memory > 1024*1024 || k.Threads == 0 || k.Threads > 16 {
		return nil, errors.New("seal: key file has bad KDF parameters")
	}
	key := argon2.IDKey(passphrase, salt, k.Time, k.Memory, k.Threads, 32)
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Protected reports whether key file data is sealed under a passphrase.
func Protected(data []byte) bool {
	var f keyFile
	return json.Unmarshal(data, &f) == nil && f.KDF != nil
}

// ParseKeyring decodes a key file; passphrase is needed when the file is protected.
func ParseKeyring(data, passphrase []byte) (*Keyring, error) {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil || f.Format != fileFormat {
		return nil, errors.New("seal: not a Keyward root key file")
	}
	if f.KDF != nil {
		if len(passphrase) == 0 {
			return nil, ErrPassphrase
		}
		aead, err := f.KDF.aead(passphrase)
		if err != nil {
			return nil, err
		}
		ct, err := base64.StdEncoding.DecodeString(f.Sealed)
		if err != nil || len(ct) < aead.NonceSize() {
			return nil, errors.New("seal: key file is damaged")
		}
		doc, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(fileFormat))
		if err != nil {
			return nil, ErrPassphrase
		}
		defer clear(doc)
		return ParseKeyring(doc, nil)
	}
	kr := &Keyring{Active: f.Active}
	for _, fk := range f.Keys {
		raw, err := base64.StdEncoding.DecodeString(fk.Key)
		if err != nil || len(raw) != 32 || fk.ID == "" || len(fk.ID) > 64 {
			return nil, fmt.Errorf("seal: key %q in the key file is damaged", fk.ID)
		}
		k := RootKey{ID: fk.ID, Created: fk.Created}
		copy(k.key[:], raw)
		clear(raw)
		kr.Keys = append(kr.Keys, k)
	}
	if len(kr.Keys) == 0 {
		return nil, errors.New("seal: the key file holds no keys")
	}
	return kr, nil
}

// LoadKeyFile reads and decodes a key file.
func LoadKeyFile(path string, passphrase []byte) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read root key file: %w", err)
	}
	kr, err := ParseKeyring(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kr, nil
}

// WriteKeyFile writes the keyring atomically with mode 0600.
func WriteKeyFile(path string, kr *Keyring, passphrase []byte) error {
	data, err := kr.Marshal(passphrase)
	if err != nil {
		return err
	}
	defer clear(data)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rootkey-*")
	if err != nil {
		return fmt.Errorf("write root key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write root key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
