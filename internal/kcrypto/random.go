package kcrypto

import (
	"crypto/rand"
	"fmt"
)

// MaxRandomBytes bounds one Random call.
const MaxRandomBytes = 64 << 10

// Random returns n bytes from crypto/rand, 1 ≤ n ≤ MaxRandomBytes.
func Random(n int) ([]byte, error) {
	if n < 1 || n > MaxRandomBytes {
		return nil, fmt.Errorf("random byte count must be 1 to %d, not %d", MaxRandomBytes, n)
	}
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails; crypto/rand crashes the program instead
	return b, nil
}
