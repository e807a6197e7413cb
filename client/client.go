// Package client is the Go client of Keyward's REST API. The keyward CLI and the
// end-to-end tests use it; so can any Go program.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/keyward/keyward/api"
)

// Client calls one Keyward server as one principal (a user's session token or an
// application's API key or client certificate).
type Client struct {
	base  *url.URL
	http  *http.Client
	token string
}

// Option configures a Client.
type Option func(*config) error

type config struct {
	token   string
	roots   *x509.CertPool
	certs   []tls.Certificate
	hc      *http.Client
	timeout time.Duration
}

// WithToken authenticates with a session token or an application API key.
func WithToken(token string) Option {
	return func(c *config) error { c.token = token; return nil }
}

// WithCACert trusts the PEM certificates (a file's contents) instead of the system roots.
func WithCACert(pemCerts []byte) Option {
	return func(c *config) error {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemCerts) {
			return errors.New("client: the CA certificate holds no PEM certificate")
		}
		c.roots = pool
		return nil
	}
}

// WithCACertFile is WithCACert reading a file.
func WithCACertFile(path string) Option {
	return func(c *config) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("client: read CA certificate: %w", err)
		}
		return WithCACert(b)(c)
	}
}

// WithClientCertificate presents a TLS client certificate (an application's credential).
func WithClientCertificate(cert tls.Certificate) Option {
	return func(c *config) error { c.certs = append(c.certs, cert); return nil }
}

// WithHTTPClient uses hc as is (its transport decides TLS).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error { c.hc = hc; return nil }
}

// WithTimeout bounds each request; the default is 60 seconds.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error { c.timeout = d; return nil }
}

// New returns a client for the server at addr ("https://host:port", or "host:port").
func New(addr string, opts ...Option) (*Client, error) {
	if addr == "" {
		return nil, errors.New("client: no server address: set KEYWARD_ADDR or pass --addr (e.g. https://127.0.0.1:8443)")
	}
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("client: bad server address %q: want https://host:port", addr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	cfg := &config{timeout: 60 * time.Second}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	hc := cfg.hc
	if hc == nil {
		hc = &http.Client{Transport: NewTransport(cfg.roots, cfg.certs), Timeout: cfg.timeout}
	}
	return &Client{base: u, http: hc, token: cfg.token}, nil
}

// Environment variables the CLI and FromEnv read, like other tools of this kind.
const (
	EnvAddr   = "KEYWARD_ADDR"
	EnvToken  = "KEYWARD_TOKEN"
	EnvCACert = "KEYWARD_CACERT"
)

// FromEnv builds a client from KEYWARD_ADDR, KEYWARD_TOKEN and KEYWARD_CACERT.
func FromEnv(opts ...Option) (*Client, error) {
	var base []Option
	if t := os.Getenv(EnvToken); t != "" {
		base = append(base, WithToken(t))
	}
	if ca := os.Getenv(EnvCACert); ca != "" {
		base = append(base, WithCACertFile(ca))
	}
	return New(os.Getenv(EnvAddr), append(base, opts...)...)
}

// NewTransport is the client's HTTP transport: TLS 1.2+ with the given roots (nil: the
// system's) and client certificates, and HTTP/1.1 over a pool of keep-alive connections.
// HTTP/1.1 on purpose: Go's HTTP/2 passes every request through more goroutines on both
// sides, which on a loopback benchmark costs a third of the throughput and adds 60% to the
// latency of a small request (docs/benchmarks.md); a pool of connections gives the same
// concurrency without it.
func NewTransport(roots *x509.CertPool, certs []tls.Certificate) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}
	tr.ForceAttemptHTTP2 = false
	tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // non-nil and empty: no HTTP/2
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 256
	return tr
}

// Addr returns the server's base URL.
func (c *Client) Addr() string { return c.base.String() }

// Token returns the credential the client sends.
func (c *Client) Token() string { return c.token }

// SetToken changes the credential (after Login).
func (c *Client) SetToken(t string) { c.token = t }

// HTTPClient returns the underlying HTTP client (to reuse its TLS setup).
func (c *Client) HTTPClient() *http.Client { return c.http }

// do sends a JSON request and decodes a JSON response into out (when non-nil). Errors from
// the server come back as *api.Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s response: %w", method, path, err)
	}
	return nil
}

// send performs the request and returns a 2xx response or an error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	var er api.ErrorResponse
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err := json.Unmarshal(raw, &er); err != nil || er.Error.Code == "" {
		return nil, &api.Error{Code: api.CodeInternal, Status: resp.StatusCode,
			Message: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(raw)))}
	}
	er.Error.Status = resp.StatusCode
	return nil, &er.Error
}

// ErrorCode returns the API error code of err, or "" when err is not an API error.
func ErrorCode(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func pageQuery(after string, limit int) url.Values {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	return q
}
