package akvemu

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// adminPrefix is the path prefix of the admin API on any host. No Azure path starts with
// it, so it cannot shadow an emulated operation.
const adminPrefix = "/_emulator/"

// route dispatches a request by its Host to Entra, ARM, a vault or HSM, or the admin API.
func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	host := hostOnly(r.Host)
	kind, cl, name := classifyHost(host)
	if kind == svcAdmin || strings.HasPrefix(r.URL.Path, adminPrefix) {
		e.serveAdmin(w, r)
		return
	}
	switch kind {
	case svcLogin:
		e.serveEntra(w, r, cl)
	case svcARM:
		e.serveARM(w, r, cl)
	case svcVault, svcHSM:
		v := e.reg.vault(host)
		if v == nil {
			// Azure has no DNS record for an unknown vault; a client that reaches the
			// emulator anyway (a custom dialer, a Host header) gets a clear 404.
			writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{
				"code": "VaultNotFound", "message": "The emulator has no vault or managed HSM named " + name + "."}})
			return
		}
		e.serveDataPlane(w, r, v)
	default:
		http.Error(w, "akvemu: "+host+" is not an emulated Azure host", http.StatusMisdirectedRequest)
	}
}

// plainRoute serves requests that arrive over plain HTTP (not TLS, not CONNECT): only the
// admin API, so that curl can reach it without trusting the CA.
func (e *Emulator) plainRoute(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) && r.URL.Host == "" {
		e.serveAdmin(w, r)
		return
	}
	http.Error(w, "akvemu: this port speaks HTTPS (at Azure's host names) and HTTP CONNECT; "+
		"plain HTTP serves only "+adminPrefix, http.StatusBadRequest)
}

// statusRecorder reports the status a handler writes, before the response leaves, so that
// stats read by a client that has its answer already include it.
type statusRecorder struct {
	http.ResponseWriter
	status   int
	onStatus func(int)
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
		s.onStatus(code)
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack passes through, so that connection faults work behind the recorder.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// instrument wraps every emulated request: chaos latency, then perhaps a fault, else the
// handler; then the stats.
func (e *Emulator) instrument(w http.ResponseWriter, r *http.Request, svc serviceKind, op, vaultName string, h func(http.ResponseWriter)) {
	if d := e.chaos.latency(); d > 0 && !sleepCtx(r.Context(), d) {
		return
	}
	if f := e.chaos.fault(op, vaultName); f != nil {
		e.applyFault(w, r, f, svc, func(outcome string) { e.stats.record(op, vaultName, outcome, true) })
		return
	}
	rec := &statusRecorder{ResponseWriter: w, onStatus: func(code int) {
		e.stats.record(op, vaultName, strconv.Itoa(code), false)
	}}
	h(rec)
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
}
