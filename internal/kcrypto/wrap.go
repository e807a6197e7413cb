package kcrypto

import (
	"crypto/aes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"fmt"
)

// Wrap wraps key bytes under k with AES-KW, AES-KWP, RSA-OAEP (SHA-1 or
// SHA-256, empty label) or CKM_RSA_AES_KEY_WRAP.
func (k *Key) Wrap(alg Algorithm, plaintext []byte) ([]byte, error) {
	m, err := k.prepare(alg, useWrap, "wrapping", false)
	if err != nil {
		return nil, err
	}
	switch alg {
	case AESKW:
		return KeyWrap(m.block, plaintext)
	case AESKWP:
		return KeyWrapPad(m.block, plaintext)
	case RSAAESKeyWrap:
		return m.wrapRSAAES(plaintext)
	default: // RSA-OAEP
		out, err := rsa.EncryptOAEP(alg.hash().New(), rand.Reader, m.rsaPub, plaintext, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: key too long to wrap with %s", alg, m.describe())
		}
		return out, nil
	}
}

// Unwrap reverses Wrap. A wrapped key that fails its check is ErrUnwrap.
// The caller owns the key bytes it returns and should clear them.
func (k *Key) Unwrap(alg Algorithm, wrapped []byte) ([]byte, error) {
	m, err := k.prepare(alg, useWrap, "unwrapping", true)
	if err != nil {
		return nil, err
	}
	switch alg {
	case AESKW:
		return KeyUnwrap(m.block, wrapped)
	case AESKWP:
		return KeyUnwrapPad(m.block, wrapped)
	case RSAAESKeyWrap:
		return m.unwrapRSAAES(wrapped)
	default: // RSA-OAEP
		out, err := rsa.DecryptOAEP(alg.hash().New(), nil, m.rsaPriv, wrapped, nil)
		if err != nil {
			return nil, ErrUnwrap
		}
		return out, nil
	}
}

// WrapKey wraps target's canonical encoding (see Marshal): raw bytes of a
// symmetric key, PKCS#8 of a private key. Public keys and certificates are
// not secret and are exported, not wrapped.
func (k *Key) WrapKey(alg Algorithm, target *Key) ([]byte, error) {
	tm, err := target.live()
	if err != nil {
		return nil, err
	}
	if tm.public {
		return nil, fmt.Errorf("%s is not secret: export it instead of wrapping it", tm.describe())
	}
	pt, err := target.Marshal()
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	return k.Wrap(alg, pt)
}

// UnwrapKey unwraps a key of type t wrapped by WrapKey (or by any producer
// of the same encodings).
func (k *Key) UnwrapKey(alg Algorithm, wrapped []byte, t KeyType) (*Key, error) {
	return Import(wrapped, ImportOptions{Format: FormatRaw, Type: t, KEK: k, WrapAlgorithm: alg})
}

// wrapRSAAES is CKM_RSA_AES_KEY_WRAP as Azure BYOK specifies it: a fresh
// 256-bit AES key K, C1 = RSA-OAEP(SHA-1, MGF1-SHA-1, empty label) of K,
// C2 = AES-KWP(K, plaintext), output C1‖C2.
func (m *material) wrapRSAAES(plaintext []byte) ([]byte, error) {
	var ephemeral [32]byte
	defer clear(ephemeral[:])
	_, _ = rand.Read(ephemeral[:])
	blk, err := aes.NewCipher(ephemeral[:])
	if err != nil {
		return nil, err
	}
	c1, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, m.rsaPub, ephemeral[:], nil)
	if err != nil {
		return nil, err
	}
	c2, err := KeyWrapPad(blk, plaintext)
	if err != nil {
		return nil, err
	}
	return append(c1, c2...), nil
}

// unwrapRSAAES splits C1‖C2 at the modulus length. The ephemeral key may be
// any AES size, as PKCS#11 allows.
func (m *material) unwrapRSAAES(wrapped []byte) ([]byte, error) {
	n := m.rsaPub.Size()
	if len(wrapped) < n+16 {
		return nil, errors.New("wrapped key is shorter than the RSA modulus plus one AES-KWP block")
	}
	ephemeral, err := rsa.DecryptOAEP(sha1.New(), nil, m.rsaPriv, wrapped[:n], nil)
	if err != nil {
		return nil, ErrUnwrap
	}
	defer clear(ephemeral)
	blk, err := aes.NewCipher(ephemeral)
	if err != nil {
		return nil, ErrUnwrap
	}
	return KeyUnwrapPad(blk, wrapped[n:])
}
