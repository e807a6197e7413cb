package akvemu

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// b64url encodes bytes the way Key Vault does: base64url without padding.
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// errBase64 is returned for input that no base64 alphabet accepts.
var errBase64 = errors.New("invalid base64")

// decodeB64 decodes base64 leniently: either alphabet, padded or not. Azure's docs and its
// clients disagree on the alphabet (akv-api.md §3.4), so the emulator accepts both. It is
// strict about the unused trailing bits, so that each value has one spelling.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		if strings.ContainsAny(s, "-_") {
			return nil, errBase64
		}
		b, err := base64.RawStdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, errBase64
		}
		return b, nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errBase64
	}
	return b, nil
}

// newGUID returns a random RFC 4122 version 4 UUID string.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// stableGUID derives a GUID from a string, for object ids that must not change between
// runs.
func stableGUID(seed string) string {
	h := sha256.Sum256([]byte("akvemu:" + seed))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newVersionID returns a key version id: 32 lower-case hex characters, as Azure uses.
func newVersionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostOnly strips the port from a Host header and lower-cases it.
func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// hostPort returns the port of a Host header, or "" when it has none.
func hostPort(hostport string) string {
	if _, port, err := net.SplitHostPort(hostport); err == nil {
		return port
	}
	return ""
}

// writeJSON writes v as the response body with the status. A nil v writes no body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	if v != nil {
		var err error
		if raw, ok := v.(json.RawMessage); ok {
			body = raw
		} else if body, err = marshalJSON(v); err != nil {
			status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalError","message":"encoding the response failed"}}`)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sortedJSON re-encodes a value with every object's keys in alphabetical order, which is
// how Managed HSM writes its responses (akv-api.md §1.6). Numbers keep their text.
func sortedJSON(v any) (json.RawMessage, error) {
	b, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return marshalJSON(generic)
}

// marshalJSON encodes like json.Marshal but leaves &, < and > alone, as Azure's services
// do (nextLinks carry &).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// maxBody bounds request bodies. Key Vault's largest request, a restore of a backup of 500
// versions, stays well below it.
const maxBody = 32 << 20

// readBody reads a request body up to maxBody.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxBody {
		return nil, errors.New("request body too large")
	}
	return b, nil
}
