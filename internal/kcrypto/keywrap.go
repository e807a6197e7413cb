package kcrypto

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"math"
)

// AES key wrap (RFC 3394) and AES key wrap with padding (RFC 5649).
//
// They take a cipher.Block rather than key bytes so that a Key can pass the
// block it already holds, and so that the Azure emulator can use them on a
// block of its own. The standard library has neither mode.

// kwIV is the default initial value of RFC 3394 §2.2.3.1.
var kwIV = [8]byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// kwpPrefix is the constant half of the alternative initial value of RFC 5649 §3.
var kwpPrefix = [4]byte{0xa6, 0x59, 0x59, 0xa6}

var (
	errKWBlock     = errors.New("key wrap needs a cipher with 16-byte blocks")
	errKWLength    = errors.New("key wrap input must be a multiple of 8 bytes and at least 16 bytes; AES-KWP takes any length")
	errKWPLength   = errors.New("key wrap with padding input must be 1 byte to 4 GiB")
	errKWCiphertxt = errors.New("wrapped key has an invalid length")
	// errUnwrap is the one error of a failed integrity check: which check
	// failed is not told, so that unwrapping is no padding oracle.
	errUnwrap = errors.New("unwrap failed: integrity check failed")
)

// KeyWrap wraps plaintext with AES-KW (RFC 3394) under the block cipher b.
// The plaintext must be a multiple of 8 bytes and at least 16 bytes long.
func KeyWrap(b cipher.Block, plaintext []byte) ([]byte, error) {
	if b.BlockSize() != 16 {
		return nil, errKWBlock
	}
	if len(plaintext) < 16 || len(plaintext)%8 != 0 {
		return nil, errKWLength
	}
	return wrap(b, kwIV, plaintext), nil
}

// KeyUnwrap reverses KeyWrap. It fails without detail if the integrity check fails.
func KeyUnwrap(b cipher.Block, wrapped []byte) ([]byte, error) {
	if b.BlockSize() != 16 {
		return nil, errKWBlock
	}
	if len(wrapped) < 24 || len(wrapped)%8 != 0 {
		return nil, errKWCiphertxt
	}
	a, p := unwrap(b, wrapped)
	if subtle.ConstantTimeCompare(a[:], kwIV[:]) != 1 {
		clear(p)
		return nil, errUnwrap
	}
	return p, nil
}

// KeyWrapPad wraps plaintext of any length from 1 byte to 2³²-1 bytes with
// AES-KWP (RFC 5649) under the block cipher b. The output is
// 8·⌈len(plaintext)/8⌉+8 bytes long.
func KeyWrapPad(b cipher.Block, plaintext []byte) ([]byte, error) {
	if b.BlockSize() != 16 {
		return nil, errKWBlock
	}
	if len(plaintext) == 0 || uint64(len(plaintext)) > math.MaxUint32 {
		return nil, errKWPLength
	}
	var aiv [8]byte
	copy(aiv[:4], kwpPrefix[:])
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(plaintext)))
	padded := make([]byte, (len(plaintext)+7)/8*8)
	copy(padded, plaintext)
	defer clear(padded)
	if len(padded) == 8 {
		// RFC 5649 §4.1: a single padded block is encrypted as one AES block.
		out := make([]byte, 16)
		copy(out, aiv[:])
		copy(out[8:], padded)
		b.Encrypt(out, out)
		return out, nil
	}
	return wrap(b, aiv, padded), nil
}

// KeyUnwrapPad reverses KeyWrapPad. It fails without detail if the integrity
// check, the length indicator or the padding is wrong.
func KeyUnwrapPad(b cipher.Block, wrapped []byte) ([]byte, error) {
	if b.BlockSize() != 16 {
		return nil, errKWBlock
	}
	if len(wrapped) < 16 || len(wrapped)%8 != 0 {
		return nil, errKWCiphertxt
	}
	var a [8]byte
	var p []byte
	if len(wrapped) == 16 {
		var blk [16]byte
		b.Decrypt(blk[:], wrapped)
		copy(a[:], blk[:8])
		p = append([]byte(nil), blk[8:]...)
		clear(blk[:])
	} else {
		a, p = unwrap(b, wrapped)
	}
	// Check prefix, length indicator and zero padding together, in constant
	// time, and report one error for all (RFC 5649 §3).
	mli := binary.BigEndian.Uint32(a[4:])
	n := uint64(len(p))
	ok := subtle.ConstantTimeCompare(a[:4], kwpPrefix[:])
	ok &= boolToInt(uint64(mli) <= n && uint64(mli)+8 > n && mli > 0)
	var pad byte
	for i := range p {
		// Bytes at index ≥ mli must be zero.
		inPad := byte(subtle.ConstantTimeLessOrEq(int(mli), i))
		pad |= p[i] & -inPad
	}
	ok &= subtle.ConstantTimeByteEq(pad, 0)
	if ok != 1 {
		clear(p)
		return nil, errUnwrap
	}
	return p[:mli:mli], nil
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wrap is the wrapping process W of RFC 3394 §2.2.1 with initial value iv;
// len(p) is a multiple of 8 and at least 16.
func wrap(b cipher.Block, iv [8]byte, p []byte) []byte {
	n := len(p) / 8
	out := make([]byte, 8+len(p))
	copy(out[8:], p)
	var blk [16]byte
	copy(blk[:8], iv[:])
	for j := range 6 {
		for i := 1; i <= n; i++ {
			r := out[i*8 : i*8+8]
			copy(blk[8:], r)
			b.Encrypt(blk[:], blk[:])
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(blk[:8], binary.BigEndian.Uint64(blk[:8])^t)
			copy(r, blk[8:])
		}
	}
	copy(out[:8], blk[:8])
	clear(blk[:])
	return out
}

// unwrap is the unwrapping process W⁻¹ of RFC 3394 §2.2.2; it returns the
// recovered initial value for the caller to check, and the plaintext.
func unwrap(b cipher.Block, c []byte) ([8]byte, []byte) {
	n := len(c)/8 - 1
	p := make([]byte, len(c)-8)
	copy(p, c[8:])
	var blk [16]byte
	copy(blk[:8], c[:8])
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(blk[:8], binary.BigEndian.Uint64(blk[:8])^t)
			r := p[(i-1)*8 : i*8]
			copy(blk[8:], r)
			b.Decrypt(blk[:], blk[:])
			copy(r, blk[8:])
		}
	}
	var a [8]byte
	copy(a[:], blk[:8])
	clear(blk[:])
	return a, p
}
