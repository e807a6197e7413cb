package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyward/keyward/internal/keyward"
)

// newTransport builds the one HTTP transport every SDK client of a credential and link
// uses, from the link's TLS settings: custom roots instead of the system's, an optional
// client certificate, host verification off (the chain is still verified), and an HTTPS
// proxy reached with CONNECT. base, when set, is the template for timeouts and pools.
func newTransport(base *http.Transport, s keyward.TLSSettings, tlsKey []byte) (*http.Transport, error) {
	var t *http.Transport
	if base != nil {
		t = base.Clone()
	} else {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		t = &http.Transport{
			DialContext:           d.DialContext,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			ForceAttemptHTTP2:     true,
		}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CACertPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(s.CACertPEM)) {
			return nil, keyward.Invalid("tls.ca_cert_pem", "no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	if s.ClientCertPEM != "" {
		if len(tlsKey) == 0 {
			return nil, keyward.Invalid("tls.client_cert_pem", "the client certificate has no private key")
		}
		cert, err := tls.X509KeyPair([]byte(s.ClientCertPEM), tlsKey)
		if err != nil {
			// The error of X509KeyPair names no key material.
			return nil, keyward.Invalid("tls.client_cert_pem", "client certificate and key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if s.SkipHostVerify {
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = verifyChainOnly(cfg.RootCAs)
	}
	t.TLSClientConfig = cfg
	t.Proxy = http.ProxyFromEnvironment
	if s.ProxyURL != "" {
		u, err := url.Parse(s.ProxyURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, keyward.Invalid("tls.proxy_url", "proxy URL must be http://host:port or https://host:port")
		}
		t.Proxy = http.ProxyURL(u)
	}
	return t, nil
}

// verifyChainOnly verifies the server's chain against roots (nil: the system's) without
// matching the host name: "validate host" off still refuses an untrusted certificate.
func verifyChainOnly(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
		return err
	}
}

// counter counts the requests sent, by operation.
type counter struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[op]++
}

func (c *counter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.m)
}

// callTag rides the context of one attempt so the counting policy knows whose it is.
type callTag struct {
	op string
	c  *counter
}

type callKey struct{}

func withCall(ctx context.Context, op string, c *counter) context.Context {
	return context.WithValue(ctx, callKey{}, callTag{op: op, c: c})
}

// countPolicy counts every request that reaches the wire, including the bare first request
// of Key Vault's challenge and any page of a listing. It sits after the authentication
// policy, so it sees what the service sees.
type countPolicy struct{}

func (countPolicy) Do(req *policy.Request) (*http.Response, error) {
	res, err := req.Next()
	if tag, ok := req.Raw().Context().Value(callKey{}).(callTag); ok && tag.c != nil {
		if err == nil || !classify(err, req.Raw().URL.Host).unsent {
			tag.c.add(tag.op)
		}
	}
	return res, err
}
