package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/kcrypto"
)

// Baseline is a trivial HTTPS server: it reads the request and answers 64 bytes. It runs
// with the same TLS settings as Keyward (TLS 1.2+, ECDSA P-256 certificate, HTTP/2 offered),
// and — like Keyward — in a process of its own (see StartBaselineProcess), so the only
// difference from a Keyward call is what Keyward does.
//
// At /ceiling/OP the same server also runs OP's primitive (one of CryptoOps, with a key it
// generated at start) on the request body and answers its result: the most any HTTPS server
// doing that operation can reach on this machine, with no authentication, policy, audit or
// JSON. Keyward's rate over the ceiling's is what Keyward's own work costs.
type Baseline struct {
	URL    string
	Client *http.Client
	srv    *http.Server
	ln     net.Listener
	proc   *exec.Cmd
}

var answer = bytes.Repeat([]byte("k"), 64)

// BaselineServer serves the trivial handler on a loopback port until ctx ends. It writes
// one JSON line to out — the URL and the PEM of its certificate — once it is ready.
func BaselineServer(ctx context.Context, out io.Writer) error {
	b, certPEM, err := startBaseline()
	if err != nil {
		return err
	}
	defer b.Close()
	line, _ := json.Marshal(baselineHello{URL: b.URL, CertPEM: string(certPEM)})
	fmt.Fprintf(out, "%s\n", line)
	<-ctx.Done()
	return nil
}

type baselineHello struct {
	URL     string `json:"url"`
	CertPEM string `json:"cert_pem"`
}

// StartBaselineProcess runs `keyward bench baseline-server` as a child process and returns
// a client for it. A separate process matters: a request between two processes wakes
// threads the kernel must schedule, which a server inside the benchmark's own process would
// never pay, and which Keyward — a separate process — always does.
func StartBaselineProcess(ctx context.Context) (*Baseline, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "baseline-server")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the baseline server: %w", err)
	}
	var hello baselineHello
	if err := json.NewDecoder(stdout).Decode(&hello); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("start the baseline server: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(hello.CertPEM))
	return &Baseline{URL: hello.URL, Client: baselineClient(pool), proc: cmd}, nil
}

// StartBaseline starts the trivial server in this process (for tests).
func StartBaseline() (*Baseline, error) {
	b, _, err := startBaseline()
	return b, err
}

func startBaseline() (*Baseline, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "baseline"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequestClientCert, NextProtos: []string{"h2", "http/1.1"}}
	b := &Baseline{URL: "https://" + ln.Addr().String() + "/", ln: ln}
	ceiling, err := ceilingHandler()
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("POST /ceiling/{op}", ceiling)
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(answer)
	})
	b.srv = &http.Server{Handler: mux, TLSConfig: tc}
	go b.srv.Serve(tls.NewListener(ln, tc))
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	b.Client = baselineClient(pool)
	return b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// baselineClient uses the Keyward client's own transport.
func baselineClient(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: client.NewTransport(pool, nil), Timeout: 60 * time.Second}
}

// ceilingHandler runs each operation's primitive on the request body with a key of its own.
func ceilingHandler() (http.Handler, error) {
	keys := map[string]*kcrypto.Key{}
	for _, op := range CryptoOps {
		k, err := kcrypto.Generate(op.Spec)
		if err != nil {
			return nil, err
		}
		keys[op.Name] = k
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, ok := cryptoOp(r.PathValue("op"))
		if !ok {
			http.Error(w, "no such operation", http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out, err := op.primitive(keys[op.Name], body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(out)
	}), nil
}

// Call makes one request to the trivial handler with body, as a crypto call would.
func (b *Baseline) Call(ctx context.Context, body []byte) error {
	return b.post(ctx, b.URL, body, len(answer))
}

// Ceiling makes one request that runs op's primitive on body.
func (b *Baseline) Ceiling(ctx context.Context, op string, body []byte) error {
	return b.post(ctx, b.URL+"ceiling/"+op, body, -1)
}

// post sends body and reads the answer, which must have want bytes (any number if want < 0).
func (b *Baseline) post(ctx context.Context, url string, body []byte, want int) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer baseline")
	resp, err := b.Client.Do(req)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || n == 0 || (want >= 0 && n != int64(want))) {
		err = fmt.Errorf("%s answered %d with %d bytes", url, resp.StatusCode, n)
	}
	return err
}

// Close stops the server (or the child process).
func (b *Baseline) Close() {
	if b.proc != nil {
		b.proc.Process.Kill()
		b.proc.Wait()
		return
	}
	b.srv.Close()
	b.ln.Close()
}
