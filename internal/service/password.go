package service

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

type passwordParams struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
}

// The OWASP-recommended argon2id floor (19 MiB, 2 passes, 1 lane). Tests use a cheap
// setting so the role matrix can log in dozens of users quickly.
var (
	defaultPasswordParams = passwordParams{memoryKiB: 19 * 1024, time: 2, threads: 1}
	fastPasswordParams    = passwordParams{memoryKiB: 64, time: 1, threads: 1}
)

// hashPassword returns a PHC-format argon2id hash.
func (pp passwordParams) hash(pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(pw), salt, pp.time, pp.memoryKiB, pp.threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, pp.memoryKiB, pp.time, pp.threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// checkPassword compares pw with a PHC hash in constant time. A malformed hash never matches.
func checkPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var pp passwordParams
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &pp.memoryKiB, &pp.time, &pp.threads); err != nil ||
		pp.memoryKiB > 1<<20 || pp.time > 16 || pp.threads == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, pp.time, pp.memoryKiB, pp.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Tokens: session tokens and API keys carry 256 random bits; the database keeps only their
// SHA-256, so a copy of the database cannot log anyone in.
const (
	sessionPrefix = "kws_"
	apiKeyPrefix  = "kwk_"
)

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
