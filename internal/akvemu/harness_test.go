package akvemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The test world: one tenant with a secret app and a certificate app, one subscription
// with a Standard vault, a Premium vault and a Managed HSM, and a second tenant whose app
// is granted nothing here.
const (
	tenantID   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	otherTID   = "0e1bd5a2-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
	subID      = "8e93423f-d08c-4539-ba3d-8cbc20bc6aa5"
	otherSubID = "11111111-2222-4333-8444-555555555555"
	appID      = "ade45211-0570-4802-bc79-7da181e8ebcc"
	appSecret  = "s3cr3t~value.for-tests"
	certAppID  = "c0ffee00-1234-4567-89ab-cdef01234567"
	noGrantID  = "dddddddd-0000-4000-8000-000000000001"
	otherApp   = "eeeeeeee-0000-4000-8000-000000000002"
)

// testClock is a clock the tests can move forward.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// certApp holds the certificate credential of certAppID.
type certApp struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	pem  []byte
}

var (
	certOnce sync.Once
	testCert certApp
)

func testCertificate(t testing.TB) certApp {
	certOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "keyward-test-app"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		testCert = certApp{key: key, cert: cert, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	})
	return testCert
}

// baseConfig is the test world; tests adjust it before starting.
func baseConfig(t testing.TB) Config {
	c := testCertificate(t)
	return Config{
		Tenants: []TenantConfig{
			{ID: tenantID, Domains: []string{"contoso.onmicrosoft.com"}, Apps: []AppConfig{
				{ClientID: appID, Secret: appSecret, Subscriptions: []string{subID}},
				{ClientID: certAppID, CertificatePEM: string(c.pem), Subscriptions: []string{subID}},
				{ClientID: noGrantID, Secret: appSecret},
			}},
			{ID: otherTID, Apps: []AppConfig{{ClientID: otherApp, Secret: appSecret, Subscriptions: []string{otherSubID}}}},
		},
		Subscriptions: []SubscriptionConfig{{ID: subID, TenantID: tenantID, DisplayName: "Keyward tests"},
			{ID: otherSubID, TenantID: otherTID}},
		Vaults: []VaultConfig{
			{Name: "kw-standard", Subscription: subID, ResourceGroup: "rg-keys", SKU: "standard", SoftDeleteRetentionDays: 7},
			{Name: "kw-premium", Subscription: subID, ResourceGroup: "rg-keys", SKU: "premium", PurgeProtection: true},
			{Name: "kw-legacy", Subscription: subID, ResourceGroup: "rg-old", SKU: "standard", SoftDeleteDisabled: true},
		},
		ManagedHSMs: []HSMConfig{{Name: "kw-hsm", Subscription: subID, ResourceGroup: "rg-keys", SoftDeleteRetentionDays: 7}},
		Throttle:    ThrottleConfig{Disabled: true},
	}
}

// env is a running emulator with clients in both modes.
type env struct {
	t     testing.TB
	emu   *Emulator
	addr  string
	clock *testClock
}

// modes are the two ways tests reach the emulator.
var modes = []string{"direct", "proxy"}

func newEnv(t testing.TB, mutate ...func(*Config)) *env {
	t.Helper()
	cfg := baseConfig(t)
	clock := &testClock{}
	cfg.Clock = clock.Now
	for _, m := range mutate {
		m(&cfg)
	}
	emu, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- emu.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := emu.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, emu: emu, addr: ln.Addr().String(), clock: clock}
}

// client returns an HTTP client in a mode.
func (e *env) client(mode string) *http.Client {
	if mode == "proxy" {
		c, err := e.emu.ProxyClient(e.addr)
		if err != nil {
			e.t.Fatal(err)
		}
		return c
	}
	return e.emu.DirectClient(e.addr)
}

// clientOptions are azcore options with the mode's transport; retries are off unless a
// test wants them, so that each request is counted once.
func (e *env) clientOptions(mode string) azcore.ClientOptions {
	return azcore.ClientOptions{Transport: e.client(mode), Retry: policy.RetryOptions{MaxRetries: -1}}
}

func (e *env) secretCred(mode string) azcore.TokenCredential {
	cred, err := azidentity.NewClientSecretCredential(tenantID, appID, appSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: e.clientOptions(mode)})
	if err != nil {
		e.t.Fatal(err)
	}
	return cred
}

// keys returns an azkeys client for a vault or HSM, with challenge verification on.
func (e *env) keys(mode, vault string) *azkeys.Client {
	u, err := e.emu.VaultURL(vault)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := azkeys.NewClient(u, e.secretCred(mode), &azkeys.ClientOptions{ClientOptions: e.clientOptions(mode)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// token gets a raw access token for a resource through the token endpoint.
func (e *env) token(resource string) string {
	e.t.Helper()
	return e.tokenFor(tenantID, appID, resource)
}

// tokenFor gets a token for any app of the test world (they share the secret).
func (e *env) tokenFor(tenant, client, resource string) string {
	e.t.Helper()
	form := "grant_type=client_credentials&client_id=" + client + "&client_secret=" + appSecret +
		"&scope=" + resource + "/.default"
	res := e.do("POST", "https://login.microsoftonline.com/"+tenant+"/oauth2/v2.0/token", "", form,
		"Content-Type", "application/x-www-form-urlencoded")
	if res.status != 200 {
		e.t.Fatalf("token: %d %s", res.status, res.body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(res.body, &tr)
	return tr.AccessToken
}

// expiredToken signs a token for the test app that expired two hours ago.
func (e *env) expiredToken(resource string) string {
	e.t.Helper()
	a := e.emu.reg.app(e.emu.reg.tenant(tenantID), appID)
	past := time.Now().Add(-3 * time.Hour)
	c := accessClaims{Aud: resource, Iss: "https://sts.windows.net/" + tenantID + "/", Iat: past.Unix(), Nbf: past.Unix(),
		Exp: past.Add(time.Hour).Unix(), AppID: appID, TID: tenantID, OID: a.objectID, Sub: a.objectID, Ver: "1.0"}
	tok, err := signRS256(e.emu.signer.key, e.emu.signer.kid, nil, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// response is a raw HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a raw request in direct mode; headers are name/value pairs.
func (e *env) do(method, url, token, body string, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client("direct").Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

var (
	guidPattern  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timePattern  = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z|\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M|\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}`)
	knownGUIDs   = []string{tenantID, otherTID, subID, otherSubID, appID, certAppID, noGrantID, otherApp}
	thumbPattern = regexp.MustCompile(`'[0-9A-F]{40,64}'`)
	verPattern   = regexp.MustCompile(`\b[0-9a-f]{32}\b`)
)

// normalize makes a response body comparable across runs: JSON is indented, random GUIDs
// and timestamps are masked; the test world's fixed GUIDs stay.
func normalize(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) == nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		b = bytes.TrimSpace(buf.Bytes())
	}
	s := guidPattern.ReplaceAllStringFunc(string(b), func(g string) string {
		for _, k := range knownGUIDs {
			if g == k {
				return g
			}
		}
		return "<guid>"
	})
	s = timePattern.ReplaceAllString(s, "<time>")
	s = verPattern.ReplaceAllString(s, "<version>")
	s = thumbPattern.ReplaceAllString(s, "'<thumbprint>'")
	return []byte(s)
}

// golden compares a status and body with testdata/<name>.golden, rewriting it with -update.
func golden(t testing.TB, name string, r response) {
	t.Helper()
	got := []byte(fmt.Sprintf("%d %s\n%s\n", r.status, http.StatusText(r.status), normalize(r.body)))
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test -update)", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("golden %s mismatch:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
