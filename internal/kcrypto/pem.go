package kcrypto

import (
	"encoding/pem"
	"errors"
	"fmt"
)

// pemKinds maps the PEM block types Keyward imports to the DER inside.
var pemKinds = map[string]derKind{
	"PRIVATE KEY":     derPKCS8,
	"RSA PRIVATE KEY": derPKCS1Priv,
	"EC PRIVATE KEY":  derSEC1,
	"PUBLIC KEY":      derSPKI,
	"RSA PUBLIC KEY":  derPKCS1Pub,
	"CERTIFICATE":     derCertificate,
}

// parsePEM parses text holding exactly one key or certificate block. Text
// around the blocks (OpenSSL's "Bag Attributes") and "EC PARAMETERS" blocks
// (written by `openssl ecparam -genkey`) are ignored; the curve is named
// again inside the key.
func parsePEM(data []byte) (*Key, error) {
	var found *pem.Block
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "EC PARAMETERS" {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("PEM holds more than one block (%s and %s); import one", found.Type, b.Type)
		}
		found = b
	}
	if found == nil {
		return nil, errors.New("no PEM block found")
	}
	defer clear(found.Bytes)
	if found.Type == "ENCRYPTED PRIVATE KEY" || found.Headers["Proc-Type"] != "" {
		return nil, errors.New("encrypted PEM is not supported; decrypt it or import it wrapped by a key-encryption key")
	}
	kind, ok := pemKinds[found.Type]
	if !ok {
		return nil, fmt.Errorf("unsupported PEM block type %q", found.Type)
	}
	// The label says private key, public key or certificate; the structure
	// inside decides the parser, since tools (and Wycheproof) put PKCS#1
	// under "PRIVATE KEY".
	got := classifyDER(found.Bytes)
	if got == derUnknown || got.class() != kind.class() {
		return nil, fmt.Errorf("PEM block %q does not hold a %s", found.Type, kind.class())
	}
	return parseDERKind(got, found.Bytes)
}

// pemBlock encodes der as a PEM block of the given type.
func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
