package kcrypto

import (
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// CertificateInfo is what Keyward shows of an X.509 certificate.
type CertificateInfo struct {
	Subject      string // RFC 2253 form
	Issuer       string // RFC 2253 form
	SerialNumber *big.Int
	NotBefore    time.Time
	NotAfter     time.Time
	PublicKey    Spec // type and size or curve of the certified key
}

// newCertificate parses DER and takes ownership of der. The certificate's
// public key must be one Keyward supports; it then verifies and encrypts as
// a public key would. crypto/x509 refuses certificates for secp256k1 keys.
func newCertificate(der []byte) (*Key, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	pub, err := newParsed(cert.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("certificate key: %w", err)
	}
	m := pub.m
	m.spec = Spec{Type: Certificate}
	m.raw = der
	m.cert = cert
	return &Key{m: m}, nil
}

// CertificateInfo returns the subject, issuer, serial number, validity and
// public key type of a certificate.
func (k *Key) CertificateInfo() (CertificateInfo, error) {
	m, err := k.live()
	if err != nil {
		return CertificateInfo{}, err
	}
	if m.cert == nil {
		return CertificateInfo{}, fmt.Errorf("%s is not a certificate", m.describe())
	}
	return CertificateInfo{
		Subject:      m.cert.Subject.String(),
		Issuer:       m.cert.Issuer.String(),
		SerialNumber: new(big.Int).Set(m.cert.SerialNumber),
		NotBefore:    m.cert.NotBefore,
		NotAfter:     m.cert.NotAfter,
		PublicKey:    m.keySpec,
	}, nil
}
