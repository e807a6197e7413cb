package akvemu

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"fmt"
)

// hsmSigner is the emulator's stand-in for the HSM's signing identity: an RSA key with a
// certificate from the emulator's CA. It signs release responses and key attestations, so
// that both can be verified against the CA like Azure's against Microsoft's.
type hsmSigner struct {
	key  *rsa.PrivateKey
	cert []byte // DER, issued by the CA
}

// hsmSign signs a payload as an RS256 JWS with the certificate chain in x5c.
func (e *Emulator) hsmSign(payload any) (string, error) {
	s1 := sha1.Sum(e.hsm.cert)
	s256 := sha256.Sum256(e.hsm.cert)
	x5c := []string{base64.StdEncoding.EncodeToString(e.hsm.cert), base64.StdEncoding.EncodeToString(e.ca.cert.Raw)}
	return signRS256(e.hsm.key, b64url(s1[:]), map[string]any{"x5c": x5c, "x5t#S256": b64url(s256[:])}, payload)
}

// hsmChainPEM is the signer's certificate chain as PEM.
func (e *Emulator) hsmChainPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.hsm.cert})) + string(e.ca.certPEM)
}

// newHSMSigner makes the signing key and certifies it.
func newHSMSigner(ca *authority, key *rsa.PrivateKey) (hsmSigner, error) {
	der, err := ca.issueSigner("Keyward Emulator HSM", &key.PublicKey)
	if err != nil {
		return hsmSigner{}, fmt.Errorf("hsm signer: %w", err)
	}
	return hsmSigner{key: key, cert: der}, nil
}
