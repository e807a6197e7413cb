package akvemu

import (
	"crypto/aes"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/keyward/keyward/internal/kcrypto"
)

// Key wrap and PKCS#8 come from internal/kcrypto, the one piece of code the emulator
// shares with the rest of Keyward. These adapters take raw key bytes and Key Vault's
// material type.

// kwWrap wraps with AES key wrap (RFC 3394) under kek.
func kwWrap(kek, plaintext []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return kcrypto.KeyWrap(b, plaintext)
}

// kwUnwrap reverses kwWrap.
func kwUnwrap(kek, wrapped []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return kcrypto.KeyUnwrap(b, wrapped)
}

// kwpWrap wraps with AES key wrap with padding (RFC 5649) under kek.
func kwpWrap(kek, plaintext []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return kcrypto.KeyWrapPad(b, plaintext)
}

// kwpUnwrap reverses kwpWrap.
func kwpUnwrap(kek, wrapped []byte) ([]byte, error) {
	b, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return kcrypto.KeyUnwrapPad(b, wrapped)
}

// parsePKCS8 parses a PKCS#8 private key: RSA, the NIST curves or secp256k1.
func parsePKCS8(der []byte) (keyMaterial, error) {
	k, err := kcrypto.ParsePKCS8PrivateKey(der)
	if err != nil {
		return keyMaterial{}, err
	}
	return materialFromKey(k)
}

// marshalPKCS8 encodes private material as PKCS#8.
func marshalPKCS8(m *keyMaterial) ([]byte, error) {
	switch {
	case m.rsa != nil:
		return kcrypto.MarshalPKCS8PrivateKey(m.rsa)
	case m.ec != nil:
		return kcrypto.MarshalPKCS8PrivateKey(m.ec)
	case m.k1 != nil:
		return kcrypto.MarshalPKCS8PrivateKey(m.k1)
	}
	return nil, fmt.Errorf("symmetric keys have no PKCS#8 form")
}

// materialFromKey wraps a parsed key.
func materialFromKey(k any) (keyMaterial, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return keyMaterial{rsa: k}, nil
	case *ecdsa.PrivateKey:
		if _, ok := curves[k.Curve.Params().Name]; !ok {
			return keyMaterial{}, fmt.Errorf("unsupported curve %s", k.Curve.Params().Name)
		}
		return keyMaterial{ec: k}, nil
	case *secp256k1.PrivateKey:
		return keyMaterial{k1: k}, nil
	}
	return keyMaterial{}, fmt.Errorf("unsupported key type %T", k)
}
