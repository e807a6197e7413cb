package keyward

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person who manages Keyward. Users never perform cryptographic operations.
type User struct {
	ID           string
	Email        string // lower-case; unique across the server
	PasswordHash string // argon2id, PHC string format
	CreatedAt    time.Time
	Disabled     bool
}

// Session is a user's login in one account. Only the SHA-256 of its token is stored.
type Session struct {
	ID        string
	TokenHash []byte
	UserID    string
	AccountID string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// NormalizeEmail lower-cases and trims an email address and checks its form.
func NormalizeEmail(field, email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", Invalid(field, "must not be empty")
	}
	if len(e) > 254 {
		return "", Invalid(field, "must be at most 254 characters")
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" {
		return "", Invalid(field, "is not an email address")
	}
	return e, nil
}

// MinPasswordLength is the shortest password Keyward accepts.
const MinPasswordLength = 12

// ValidatePassword checks a new password.
func ValidatePassword(field, pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinPasswordLength:
		return Invalid(field, "must be at least %d characters", MinPasswordLength)
	case len(pw) > 1024:
		return Invalid(field, "must be at most 1024 bytes")
	}
	return nil
}
