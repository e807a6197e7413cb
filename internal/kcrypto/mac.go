package kcrypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// MAC computes the full-length HMAC of message.
func (k *Key) MAC(alg Algorithm, message []byte) ([]byte, error) {
	m, err := k.prepare(alg, useMAC, "generation", false)
	if err != nil {
		return nil, err
	}
	return m.mac(alg, message), nil
}

// VerifyMAC checks a full-length HMAC in constant time; a wrong one is ErrMAC.
// Truncated MACs are refused like wrong ones.
func (k *Key) VerifyMAC(alg Algorithm, message, mac []byte) error {
	m, err := k.prepare(alg, useMAC, "verification", false)
	if err != nil {
		return err
	}
	if !hmac.Equal(m.mac(alg, message), mac) {
		return ErrMAC
	}
	return nil
}

// hmacHashes lists the HMAC algorithms in the order of material.macs.
var hmacHashes = [...]struct {
	alg Algorithm
	new func() hash.Hash
}{{HMACSHA256, sha256.New}, {HMACSHA384, sha512.New384}, {HMACSHA512, sha512.New}}

// keyedHMACs builds one keyed HMAC state per hash, with the key blocks
// (key⊕ipad, key⊕opad) already compressed, as FIPS 198-1 §6 allows: each
// MAC then clones a state instead of hashing the key again, which saves
// two of the five compressions of a 64-byte message.
func keyedHMACs(key []byte) (macs [len(hmacHashes)]hash.Cloner) {
	for i, h := range hmacHashes {
		proto, ok := hmac.New(h.new, key).(hash.Cloner)
		if !ok {
			continue // e.g. a BoringCrypto build; mac falls back to hmac.New
		}
		// Reset stores the compressed key blocks in the state; clones share
		// them read-only, so concurrent MACs are safe.
		proto.Reset()
		macs[i] = proto
	}
	return macs
}

func (m *material) mac(alg Algorithm, message []byte) []byte {
	i := int(alg - HMACSHA256)
	if proto := m.macs[i]; proto != nil {
		if h, err := proto.Clone(); err == nil {
			h.Write(message)
			return h.Sum(nil)
		}
	}
	h := hmac.New(hmacHashes[i].new, m.raw)
	h.Write(message)
	return h.Sum(nil)
}
