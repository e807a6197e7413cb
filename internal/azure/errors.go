package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/keyward/keyward/internal/keyward"
)

// failure is an error from Azure, or from the way to it, classified for the retry loop.
type failure struct {
	err        *keyward.Error
	status     int           // HTTP status; 0 when there was no response
	transient  bool          // may succeed if tried again soon: 5xx, 408, timeouts, resets
	throttled  bool          // a 429: Azure did not process the request
	retryAfter time.Duration // the wait the response asked for, 0 when none
	unsent     bool          // the request never reached Azure (refused, DNS, TLS handshake)
}

// maxMessage bounds an Azure message copied into an error: enough for the longest
// documented one (the RBAC refusal), not a whole HTML error page.
const maxMessage = 1000

// classify maps any error of the Azure SDK, the identity library or the network to a
// failure. Messages start with "Azure: " and Azure's own code and message; they never
// carry request bodies, tokens or secrets (Entra and Key Vault do not echo them). host
// names the server for network errors that do not (a timed-out attempt).
func classify(err error, host string) failure {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return responseFailure(re)
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) {
		return signInFailure(afe)
	}
	if f, ok := networkFailure(err, host); ok {
		return f
	}
	msg := oneLine(err.Error())
	switch {
	case strings.Contains(msg, "isn't configured to acquire tokens for tenant"):
		// The vault's challenge names another tenant than the credential's: the vault is
		// not this app registration's to use.
		return failure{err: keyward.Errorf(keyward.EUNAUTHENTICATED,
			"Azure: the vault belongs to another tenant than the credential: %s", msg)}
	case strings.Contains(msg, "doesn't match the requested domain"), strings.Contains(msg, "WWW-Authenticate"):
		// The host answered a challenge that does not name it: not a genuine vault of this
		// cloud, or a misrouted proxy. Retrying will not help.
		return failure{err: keyward.Errorf(keyward.EUNAVAILABLE, "Azure: authentication challenge refused: %s", msg)}
	}
	return failure{err: keyward.Errorf(keyward.EUNAVAILABLE, "Azure: unexpected failure: %s", msg)}
}

// serviceError is the error body of Key Vault and Resource Manager.
type serviceError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code string `json:"code"`
		} `json:"innererror"`
	} `json:"error"`
}

// responseFailure maps an HTTP error response by its status.
func responseFailure(re *azcore.ResponseError) failure {
	status := re.StatusCode
	var body []byte
	if re.RawResponse != nil {
		body, _ = runtime.Payload(re.RawResponse)
	}
	var se serviceError
	_ = json.Unmarshal(body, &se)
	code, msg := se.Error.Code, oneLine(se.Error.Message)
	if code == "" {
		code = re.ErrorCode
	}
	if code == "" {
		code = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	text := "Azure: " + code + ": " + msg
	if in := se.Error.InnerError; in != nil && in.Code != "" && in.Code != code {
		text += " (" + in.Code + ")"
	}
	f := failure{status: status, err: &keyward.Error{Code: codeForStatus(status), Message: text}}
	switch {
	case status == http.StatusTooManyRequests:
		f.throttled = true
	case status == http.StatusRequestTimeout, status >= 500 && status != http.StatusNotImplemented:
		f.transient = true
	}
	if re.RawResponse != nil {
		f.retryAfter = retryAfter(re.RawResponse.Header, time.Now())
		f.err.RetryAfter = f.retryAfter
	}
	return f
}

// codeForStatus is the one table from Azure's HTTP statuses to Keyward's codes.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusUnprocessableEntity:
		return keyward.EINVALID
	case http.StatusUnauthorized:
		return keyward.EUNAUTHENTICATED
	case http.StatusForbidden:
		return keyward.EFORBIDDEN
	case http.StatusNotFound, http.StatusGone:
		return keyward.ENOTFOUND
	case http.StatusConflict:
		return keyward.ECONFLICT
	case http.StatusPreconditionFailed:
		return keyward.EPRECONDITION
	case http.StatusRequestEntityTooLarge:
		return keyward.ETOOLARGE
	case http.StatusTooManyRequests:
		return keyward.ERATELIMIT
	case http.StatusNotImplemented:
		return keyward.ENOTSUPPORTED
	case http.StatusRequestTimeout:
		return keyward.EUNAVAILABLE
	}
	if status >= 500 {
		return keyward.EUNAVAILABLE
	}
	return keyward.EINVALID
}

// retryAfter reads the wait a response asks for: retry-after-ms, x-ms-retry-after-ms,
// then Retry-After in seconds or as an HTTP date (the order azcore uses).
func retryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if ms, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// entraError is the error body of the Microsoft Entra token endpoint.
type entraError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// signInFailure maps a refused or failed token request. Entra's description starts with
// the AADSTS reason, then trace ids on further lines; only the first line is kept.
func signInFailure(afe *azidentity.AuthenticationFailedError) failure {
	if afe.RawResponse == nil {
		// No answer from Entra: the identity library flattened the network error.
		return failure{transient: true, err: keyward.Errorf(keyward.EUNAVAILABLE, "Azure: sign-in failed: %s", oneLine(afe.Error()))}
	}
	status := afe.RawResponse.StatusCode
	body, _ := runtime.Payload(afe.RawResponse)
	var ee entraError
	_ = json.Unmarshal(body, &ee)
	desc, _, _ := strings.Cut(ee.Description, "\n")
	desc = oneLine(desc)
	if ee.Error == "" {
		ee.Error = strings.ReplaceAll(http.StatusText(status), " ", "")
	}
	if desc == "" {
		desc = http.StatusText(status)
	}
	f := failure{status: status}
	code := keyward.EUNAUTHENTICATED
	switch {
	case status == http.StatusTooManyRequests:
		code, f.throttled = keyward.ERATELIMIT, true
		f.retryAfter = retryAfter(afe.RawResponse.Header, time.Now())
	case status >= 500:
		code, f.transient = keyward.EUNAVAILABLE, true
	}
	f.err = &keyward.Error{Code: code, Message: "Azure: " + ee.Error + ": " + desc, RetryAfter: f.retryAfter}
	return f
}

// networkFailure maps errors of the way to Azure: DNS, refused or reset connections,
// timeouts, TLS. The message names the host and the cause, not the whole URL.
func networkFailure(err error, host string) (failure, bool) {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	}
	where := "Azure"
	if host != "" {
		where = "Azure: " + host
	}
	unavailable := func(transient, unsent bool, format string, args ...any) (failure, bool) {
		e := keyward.Errorf(keyward.EUNAVAILABLE, where+": "+format, args...)
		return failure{err: e, transient: transient, unsent: unsent}, true
	}
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var opErr *net.OpError
	switch {
	case errors.As(err, &dns):
		return unavailable(!dns.IsNotFound, true, "cannot resolve %s: %s", dns.Name, dns.Err)
	case errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalid), errors.As(err, &verify):
		// A certificate problem does not fix itself: no retry.
		return unavailable(false, true, "TLS: %s", oneLine(innermost(err).Error()))
	case errors.Is(err, syscall.ECONNREFUSED):
		return unavailable(true, true, "connection refused")
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return unavailable(true, false, "request timed out")
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.EPIPE):
		return unavailable(true, false, "connection reset")
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return unavailable(true, true, "cannot connect: %s", oneLine(innermost(err).Error()))
	case ue != nil:
		// Anything else on the wire, such as a proxy refusing the CONNECT.
		return unavailable(true, false, "%s", oneLine(innermost(err).Error()))
	}
	return failure{}, false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// innermost unwraps to the root cause, for a short message.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// oneLine collapses white space (Azure's RBAC message spans lines) and bounds the length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxMessage {
		s = s[:maxMessage] + "…"
	}
	return s
}
