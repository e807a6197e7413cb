package kcrypto

import (
	"errors"
	"fmt"
)

// Errors that report a failed check on outside data, for callers to tell
// from misuse. They carry no detail on purpose: detail would be an oracle.
var (
	// ErrDecrypt: the ciphertext, IV, tag or associated data is wrong.
	ErrDecrypt = errors.New("decryption failed")
	// ErrUnwrap: the wrapped key fails its integrity check.
	ErrUnwrap = errUnwrap
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("signature is invalid")
	// ErrMAC: the MAC does not verify.
	ErrMAC = errors.New("MAC is invalid")
)

// prepare checks that alg serves use u, that it fits the key's type, and,
// when private is set, that the key holds its private half. op names the
// operation in errors.
func (k *Key) prepare(alg Algorithm, u use, op string, private bool) (*material, error) {
	m, err := k.live()
	if err != nil {
		return nil, err
	}
	if alg.uses()&u == 0 {
		return nil, fmt.Errorf("%s is not a%s %s algorithm", alg, an(useNames[u]), useNames[u])
	}
	if want := alg.keyType(); m.keySpec.Type != want {
		return nil, fmt.Errorf("%s needs an %s key; key is %s", alg, want, m.describe())
	}
	if private && m.public {
		return nil, fmt.Errorf("%s %s needs a private key; key is %s", alg, op, m.describe())
	}
	return m, nil
}

// an returns "n" when word starts with a vowel sound, for "an encryption".
func an(word string) string {
	switch word[0] {
	case 'a', 'e', 'i', 'o', 'u', 'M':
		return "n"
	}
	return ""
}
