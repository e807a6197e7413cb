package kcrypto

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Format is an encoding of key material for import and export.
type Format uint8

// Formats. Base64 and hex are transport encodings: what they carry is the
// raw bytes of a symmetric key, or the DER of an asymmetric key or certificate.
const (
	// FormatAuto recognises PEM, JWK and DER by their structure. Raw bytes,
	// base64 and hex cannot be told apart and must be declared.
	FormatAuto Format = iota
	FormatRaw
	FormatBase64 // import: standard or URL alphabet, padded or not; export: standard, padded
	FormatHex
	FormatPEM // PKCS#8, PKCS#1, SEC1, SPKI or certificate; export writes PKCS#8, SPKI or CERTIFICATE
	FormatDER // the same structures as PEM, binary
	FormatJWK // RFC 7517 JSON Web Key: RSA, EC (P-256K or secp256k1 for secp256k1), oct
)

var formatNames = [...]string{FormatAuto: "auto", FormatRaw: "raw", FormatBase64: "base64", FormatHex: "hex",
	FormatPEM: "PEM", FormatDER: "DER", FormatJWK: "JWK"}

func (f Format) String() string {
	if int(f) >= len(formatNames) {
		return fmt.Sprintf("Format(%d)", uint8(f))
	}
	return formatNames[f]
}

// MaxImportBytes bounds the data Import reads: a 64 KiB secret in hex, or a
// certificate, fits with room to spare.
const MaxImportBytes = 1 << 20

// ImportOptions says how to read the data given to Import.
type ImportOptions struct {
	// Format of the data; the zero value detects PEM, JWK or DER.
	Format Format
	// Type is the declared key type. It is required for AES, HMAC and
	// secrets given as raw, base64, hex or oct JWK (the bytes do not say
	// which they are); for other data it is checked against what is found.
	Type KeyType
	// KEK, when set, unwraps the data with WrapAlgorithm before it is read:
	// the data (raw, base64 or hex) is a wrapped key, and the unwrapped
	// bytes are raw for AES, HMAC and secrets, or PKCS#8 / DER / PEM / JWK
	// for the others.
	KEK           *Key
	WrapAlgorithm Algorithm
}

// Import reads a key from outside data and checks it is a type and size
// Keyward supports. Public-key-only data (SPKI, PKCS#1 public key, JWK
// without d) yields a key that can only verify, encrypt and wrap.
func Import(data []byte, opts ImportOptions) (*Key, error) {
	if len(data) > MaxImportBytes {
		return nil, fmt.Errorf("import data is larger than %d KiB", MaxImportBytes>>10)
	}
	if opts.Type != 0 && opts.Type > Certificate {
		return nil, fmt.Errorf("unknown key type %d", uint8(opts.Type))
	}
	b, err := decodeTransport(data, opts.Format)
	if err != nil {
		return nil, err
	}
	if b != nil {
		defer clear(b)
		data = b
	}
	var k *Key
	if opts.KEK != nil {
		k, err = importWrapped(data, opts)
	} else {
		k, err = parseAs(data, opts.Format, opts.Type)
	}
	if err != nil {
		return nil, err
	}
	if opts.Type != 0 && k.m.spec.Type != opts.Type {
		d := k.m.describe()
		k.Destroy()
		return nil, fmt.Errorf("declared %s key, but the data holds %s", opts.Type, d)
	}
	return k, nil
}

// decodeTransport undoes base64 or hex; it returns nil for other formats,
// whose data is used as it is.
func decodeTransport(data []byte, f Format) ([]byte, error) {
	switch f {
	case FormatBase64:
		return decodeBase64(data)
	case FormatHex:
		s := stripSpace(data)
		defer clear(s)
		b := make([]byte, hex.DecodedLen(len(s)))
		if _, err := hex.Decode(b, s); err != nil {
			clear(b)
			return nil, errors.New("data is not valid hex")
		}
		return b, nil
	case FormatAuto, FormatRaw, FormatPEM, FormatDER, FormatJWK:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown format %d", uint8(f))
}

// decodeBase64 accepts either alphabet, with or without padding, and line breaks.
func decodeBase64(data []byte) ([]byte, error) {
	s := stripSpace(data)
	defer clear(s)
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	s = bytes.TrimRight(s, "=")
	b := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Strict().Decode(b, s)
	if err != nil || n == 0 {
		clear(b)
		return nil, errors.New("data is not valid base64")
	}
	return b[:n], nil
}

// stripSpace returns a copy of data without ASCII white space.
func stripSpace(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for _, c := range data {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			out = append(out, c)
		}
	}
	return out
}

// parseAs reads decoded data in format f, declared type t.
func parseAs(data []byte, f Format, t KeyType) (*Key, error) {
	switch f {
	case FormatPEM:
		return parsePEM(data)
	case FormatDER:
		return parseDER(data)
	case FormatJWK:
		return parseJWK(data, t)
	case FormatAuto:
		return parseAuto(data, t)
	}
	// Raw bytes, or what base64 or hex carried.
	switch {
	case t.symmetric():
		return newSymmetric(t, append([]byte(nil), data...))
	case t != 0:
		return parseDER(data)
	}
	if classifyDER(data) != derUnknown {
		return parseDER(data)
	}
	return nil, fmt.Errorf("cannot tell the key type of %s data: declare AES, HMAC or SECRET", f)
}

// parseAuto recognises PEM, JWK and DER. It never guesses between raw,
// base64 and hex: a 32-byte AES key and 64 hex digits look alike.
func parseAuto(data []byte, t KeyType) (*Key, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.Contains(trimmed, []byte("-----BEGIN ")):
		return parsePEM(data)
	case len(trimmed) > 0 && trimmed[0] == '{':
		return parseJWK(trimmed, t)
	case classifyDER(data) != derUnknown:
		return parseDER(data)
	case t.symmetric():
		return nil, fmt.Errorf("cannot detect the encoding of %s key data: declare raw, base64 or hex", t)
	}
	return nil, errors.New("cannot detect the format: data is not PEM, JWK or DER; declare raw, base64 or hex and the key type")
}

// importWrapped unwraps data with opts.KEK and reads what it held.
func importWrapped(data []byte, opts ImportOptions) (*Key, error) {
	switch opts.Format {
	case FormatAuto, FormatRaw, FormatBase64, FormatHex:
	default:
		return nil, fmt.Errorf("a wrapped key is binary: give it raw, base64 or hex, not %s", opts.Format)
	}
	if opts.Type == 0 {
		return nil, errors.New("a wrapped key needs a declared key type")
	}
	inner, err := opts.KEK.Unwrap(opts.WrapAlgorithm, data)
	if err != nil {
		return nil, err
	}
	defer clear(inner)
	if opts.Type.symmetric() {
		return newSymmetric(opts.Type, append([]byte(nil), inner...))
	}
	return parseAuto(inner, opts.Type)
}
