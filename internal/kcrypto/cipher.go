package kcrypto

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Sizes of AES-GCM and AES-CBC parameters.
const (
	GCMIVSize  = 12
	GCMTagSize = 16
	CBCIVSize  = 16
)

// maxGCMPlaintext is the GCM limit of SP 800-38D, 2³⁹−256 bits.
const maxGCMPlaintext = 1<<36 - 32

// Ciphertext is what Encrypt returns and Decrypt takes.
type Ciphertext struct {
	Data []byte // the ciphertext; for AES-GCM without the tag
	IV   []byte // AES-GCM nonce (12 bytes) or AES-CBC IV (16 bytes); nil for RSA-OAEP
	Tag  []byte // AES-GCM tag (16 bytes); nil otherwise
}

// CipherOpts are the optional inputs of Encrypt.
type CipherOpts struct {
	// IV is the AES-CBC IV (16 bytes); nil generates a random one. AES-GCM
	// refuses a caller IV: the key server cannot know whether the caller
	// used that IV before, and one repeated GCM nonce reveals the XOR of two
	// plaintexts and lets anyone forge tags under the key. Random 96-bit IVs
	// are safe for up to 2³² encryptions per key (SP 800-38D §8.3).
	IV []byte
	// AAD is the AES-GCM associated data, or the RSA-OAEP label (usually
	// empty). AES-CBC refuses it.
	AAD []byte
}

// Encrypt encrypts plaintext with AES-GCM, AES-CBC (PKCS#7 padding) or RSA-OAEP.
func (k *Key) Encrypt(alg Algorithm, plaintext []byte, opts CipherOpts) (Ciphertext, error) {
	m, err := k.prepare(alg, useEncrypt, "encryption", false)
	if err != nil {
		return Ciphertext{}, err
	}
	switch alg {
	case AESGCM:
		if opts.IV != nil {
			return Ciphertext{}, errors.New("AES-GCM generates its own IV; a caller IV risks nonce reuse")
		}
		return m.sealGCM(plaintext, opts.AAD)
	case AESCBC:
		if opts.AAD != nil {
			return Ciphertext{}, errors.New("AES-CBC takes no associated data")
		}
		return m.encryptCBC(plaintext, opts.IV)
	default: // RSA-OAEP
		if opts.IV != nil {
			return Ciphertext{}, fmt.Errorf("%s takes no IV", alg)
		}
		out, err := rsa.EncryptOAEP(alg.hash().New(), rand.Reader, m.rsaPub, plaintext, opts.AAD)
		if err != nil {
			return Ciphertext{}, fmt.Errorf("%s: plaintext too long for %s", alg, m.describe())
		}
		return Ciphertext{Data: out}, nil
	}
}

// Decrypt reverses Encrypt; aad is the AES-GCM associated data or the RSA-OAEP
// label given to Encrypt. Any failure of the ciphertext itself is ErrDecrypt.
func (k *Key) Decrypt(alg Algorithm, c Ciphertext, aad []byte) ([]byte, error) {
	m, err := k.prepare(alg, useEncrypt, "decryption", true)
	if err != nil {
		return nil, err
	}
	switch alg {
	case AESGCM:
		return m.openGCM(c, aad)
	case AESCBC:
		if aad != nil {
			return nil, errors.New("AES-CBC takes no associated data")
		}
		return m.decryptCBC(c)
	default: // RSA-OAEP
		if c.IV != nil || c.Tag != nil {
			return nil, fmt.Errorf("%s takes no IV or tag", alg)
		}
		out, err := rsa.DecryptOAEP(alg.hash().New(), nil, m.rsaPriv, c.Data, aad)
		if err != nil {
			return nil, ErrDecrypt
		}
		return out, nil
	}
}

// sealGCM encrypts under a fresh random IV. IV, ciphertext and tag share one
// allocation; the capacities are capped so that appending to one cannot
// overwrite the next.
func (m *material) sealGCM(plaintext, aad []byte) (Ciphertext, error) {
	if len(plaintext) > maxGCMPlaintext {
		return Ciphertext{}, errors.New("plaintext too long for AES-GCM")
	}
	n := len(plaintext)
	buf := make([]byte, GCMIVSize+n+GCMTagSize)
	iv := buf[:GCMIVSize:GCMIVSize]
	_, _ = rand.Read(iv) // crypto/rand.Read never fails; it crashes the program instead
	m.gcm.Seal(buf[GCMIVSize:GCMIVSize], iv, plaintext, aad)
	return Ciphertext{IV: iv, Data: buf[GCMIVSize : GCMIVSize+n : GCMIVSize+n], Tag: buf[GCMIVSize+n:]}, nil
}

func (m *material) openGCM(c Ciphertext, aad []byte) ([]byte, error) {
	// Only the parameters Encrypt produces are accepted: 96-bit IV and
	// 128-bit tag. Other IV sizes go through GHASH and truncated tags weaken
	// authentication; neither is needed here.
	if len(c.IV) != GCMIVSize {
		return nil, fmt.Errorf("AES-GCM IV must be %d bytes, not %d", GCMIVSize, len(c.IV))
	}
	if len(c.Tag) != GCMTagSize {
		return nil, fmt.Errorf("AES-GCM tag must be %d bytes, not %d", GCMTagSize, len(c.Tag))
	}
	if len(c.Data) > maxGCMPlaintext {
		return nil, ErrDecrypt
	}
	buf := make([]byte, len(c.Data)+GCMTagSize)
	copy(buf, c.Data)
	copy(buf[len(c.Data):], c.Tag)
	out, err := m.gcm.Open(buf[:0], c.IV, buf, aad)
	if err != nil {
		clear(buf)
		return nil, ErrDecrypt
	}
	return out, nil
}

func (m *material) encryptCBC(plaintext, iv []byte) (Ciphertext, error) {
	if iv != nil && len(iv) != CBCIVSize {
		return Ciphertext{}, fmt.Errorf("AES-CBC IV must be %d bytes, not %d", CBCIVSize, len(iv))
	}
	pad := CBCIVSize - len(plaintext)%CBCIVSize
	buf := make([]byte, CBCIVSize+len(plaintext)+pad)
	outIV := buf[:CBCIVSize:CBCIVSize]
	if iv != nil {
		copy(outIV, iv)
	} else {
		_, _ = rand.Read(outIV)
	}
	data := buf[CBCIVSize:]
	copy(data, plaintext)
	for i := len(plaintext); i < len(data); i++ {
		data[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(m.block, outIV).CryptBlocks(data, data)
	return Ciphertext{IV: outIV, Data: data}, nil
}

func (m *material) decryptCBC(c Ciphertext) ([]byte, error) {
	if len(c.IV) != CBCIVSize {
		return nil, fmt.Errorf("AES-CBC IV must be %d bytes, not %d", CBCIVSize, len(c.IV))
	}
	if c.Tag != nil {
		return nil, errors.New("AES-CBC takes no tag")
	}
	if len(c.Data) == 0 || len(c.Data)%CBCIVSize != 0 {
		return nil, ErrDecrypt
	}
	out := make([]byte, len(c.Data))
	cipher.NewCBCDecrypter(m.block, c.IV).CryptBlocks(out, c.Data)
	n, ok := unpadPKCS7(out)
	if !ok {
		clear(out)
		return nil, ErrDecrypt
	}
	return out[:n:n], nil
}

// unpadPKCS7 returns the length of the data before its PKCS#7 padding. It
// reads the last block in constant time, so that timing does not tell a
// wrong pad byte from a wrong pad length.
func unpadPKCS7(b []byte) (int, bool) {
	n := len(b)
	padLen := int(b[n-1])
	good := subtle.ConstantTimeLessOrEq(1, padLen) & subtle.ConstantTimeLessOrEq(padLen, CBCIVSize)
	for i := range CBCIVSize {
		inPad := subtle.ConstantTimeLessOrEq(i+1, padLen)
		match := subtle.ConstantTimeByteEq(b[n-1-i], byte(padLen))
		good &= subtle.ConstantTimeSelect(inPad, match, 1)
	}
	return n - padLen, good == 1
}
