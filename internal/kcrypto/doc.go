// Package kcrypto holds Keyward's key types, formats and cryptographic primitives.
package kcrypto
