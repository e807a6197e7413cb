package azure

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/keyward/keyward/internal/keyward"
)

// endpoints returns the credential's cloud endpoints: as given, or the known cloud's when
// none are.
func endpoints(cred *keyward.CloudCredential) (keyward.CloudEndpoints, error) {
	ep := cred.Endpoints
	if ep == (keyward.CloudEndpoints{}) {
		known, ok := keyward.KnownClouds[cred.Cloud]
		if !ok {
			return ep, keyward.Invalid("endpoints", "cloud %q needs its endpoints", cred.Cloud)
		}
		ep = known
	}
	for field, v := range map[string]string{"authority": ep.Authority, "arm": ep.ARM, "arm_audience": ep.ARMAudience} {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return ep, keyward.Invalid("endpoints."+field, "%q is not an https URL", v)
		}
	}
	if ep.VaultSuffix == "" || ep.HSMSuffix == "" {
		return ep, keyward.Invalid("endpoints", "the vault and managed HSM DNS suffixes are required")
	}
	return ep, nil
}

// cloudConfig is the SDK's view of a cloud: where Entra and Resource Manager are, and the
// audience of Resource Manager tokens. Key Vault's audience comes from its challenge.
func cloudConfig(ep keyward.CloudEndpoints) cloud.Configuration {
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: ep.Authority,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: ep.ARM, Audience: ep.ARMAudience},
		},
	}
}

// newCredential builds the azidentity credential of an app registration, with a client
// secret or a certificate and its private key. Instance discovery asks the public cloud
// about the authority, which a private cloud's authority cannot pass: it is off for
// custom clouds, whose endpoints the administrator vouched for.
func newCredential(cred *keyward.CloudCredential, secret keyward.CloudSecret, opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	if cred.TenantID == "" || cred.ClientID == "" {
		return nil, keyward.Invalid("credential", "tenant id and client id are required")
	}
	custom := cred.Cloud == keyward.CloudCustomName
	switch cred.AuthMethod {
	case "secret", "":
		if secret.ClientSecret == "" {
			return nil, keyward.Invalid("client_secret", "the credential has no client secret")
		}
		c, err := azidentity.NewClientSecretCredential(cred.TenantID, cred.ClientID, secret.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: custom})
		if err != nil {
			return nil, keyward.Invalid("credential", "%v", err)
		}
		return c, nil
	case "certificate":
		certs, key, err := certificateAndKey(cred.CertificatePEM, secret.PrivateKey)
		if err != nil {
			return nil, err
		}
		// A chain (leaf and issuers) is for subject name and issuer authentication, which
		// needs the x5c header; a lone certificate is matched by thumbprint and needs none.
		c, err := azidentity.NewClientCertificateCredential(cred.TenantID, cred.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: custom,
				SendCertificateChain: len(certs) > 1})
		if err != nil {
			return nil, keyward.Invalid("certificate", "%v", err)
		}
		return c, nil
	}
	return nil, keyward.Invalid("auth_method", "unknown authentication method %q (want secret or certificate)", cred.AuthMethod)
}

// certificateAndKey reads the certificate chain (PEM) and its RSA private key (PEM:
// PKCS#8 or PKCS#1). Entra signs client assertions with RSA only. The key may also come
// bundled with its certificate in the secret.
func certificateAndKey(certPEM string, keyPEM []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	for _, data := range [][]byte{[]byte(certPEM), keyPEM} {
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			switch {
			case b.Type == "CERTIFICATE":
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, nil, keyward.Invalid("certificate", "parse certificate: %v", err)
				}
				certs = append(certs, c)
			case strings.HasSuffix(b.Type, "PRIVATE KEY") && key == nil:
				k, err := parsePrivateKey(b)
				if err != nil {
					return nil, nil, err
				}
				key = k
			}
		}
	}
	switch {
	case len(certs) == 0:
		return nil, nil, keyward.Invalid("certificate", "no PEM certificate found")
	case key == nil:
		return nil, nil, keyward.Invalid("private_key", "no PEM private key found")
	}
	pub, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, keyward.Invalid("private_key", "Entra needs an RSA certificate key")
	}
	for i, c := range certs {
		if cp, ok := c.PublicKey.(*rsa.PublicKey); ok && cp.Equal(&pub.PublicKey) {
			certs[0], certs[i] = certs[i], certs[0] // the signing certificate first
			return certs, key, nil
		}
	}
	return nil, nil, keyward.Invalid("private_key", "the private key does not match the certificate")
}

func parsePrivateKey(b *pem.Block) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if _, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return nil, keyward.Invalid("private_key", "Entra needs an RSA certificate key")
	}
	return nil, keyward.Invalid("private_key", "private key is not PKCS#8 or PKCS#1 (an encrypted key must be decrypted first)")
}
