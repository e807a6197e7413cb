package keyward

import "time"

// App is an application: it authenticates with an API key or a registered TLS client
// certificate and performs cryptographic operations in the groups it belongs to.
type App struct {
	ID          string
	AccountID   string
	Name        string // unique in the account
	Description string
	// APIKeyHash is the SHA-256 of the API key's secret part; empty when the app has no key.
	// API keys carry 256 random bits, so a fast hash is as strong as a slow one here and
	// keeps authentication off the hot path's critical cost.
	APIKeyHash []byte
	// CertFingerprints are SHA-256 fingerprints (lower-case hex) of the TLS client
	// certificates registered for the app.
	CertFingerprints []string
	CreatedAt        time.Time
	CreatedBy        string
	Disabled         bool
}

// AuthMethod names how an application authenticates.
type AuthMethod string

const (
	AuthAPIKey      AuthMethod = "api_key"
	AuthCertificate AuthMethod = "certificate"
)
