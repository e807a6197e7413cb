package akvemu

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"
)

// DirectTransport returns a transport that reaches the emulator listening at addr for
// every emulated Azure host name, as if DNS pointed there, and trusts the emulator's CA.
// Names the emulator does not serve (and vaults it does not have) fail as DNS would. An
// *http.Client built on it is a policy.Transporter for the Azure SDK's ClientOptions.
func (e *Emulator) DirectTransport(addr string) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
			host := hostOnly(hostport)
			if !e.resolves(host) {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
			}
			return d.DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// ProxyTransport returns a transport that sends every request through the emulator's
// CONNECT proxy at proxyURL (e.g. "http://127.0.0.1:8444") and trusts its CA: what a
// program gets from HTTPS_PROXY plus the CA in its trust store.
func (e *Emulator) ProxyTransport(proxyURL string) (*http.Transport, error) {
	u, err := url.Parse(proxyURL)
	if err != nil {
		return nil, err
	}
	return &http.Transport{
		Proxy:               http.ProxyURL(u),
		TLSClientConfig:     &tls.Config{RootCAs: e.CertPool(), MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}, nil
}

// DirectClient is an *http.Client on DirectTransport(addr).
func (e *Emulator) DirectClient(addr string) *http.Client {
	return &http.Client{Transport: e.DirectTransport(addr)}
}

// ProxyClient is an *http.Client on ProxyTransport("http://" + addr).
func (e *Emulator) ProxyClient(addr string) (*http.Client, error) {
	t, err := e.ProxyTransport("http://" + addr)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

// resolves reports whether a host name exists in the emulated world.
func (e *Emulator) resolves(host string) bool {
	switch kind, _, _ := classifyHost(host); kind {
	case svcUnknown:
		return false
	case svcVault, svcHSM:
		return e.reg.vault(host) != nil
	}
	return true
}
