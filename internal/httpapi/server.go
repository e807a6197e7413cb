// Package httpapi serves Keyward's REST API: routes from the api package's table,
// authentication, strict decoding, one service call per handler, and the one table from
// error code to HTTP status; plus health, readiness, metrics and the OpenAPI document.
package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
	"github.com/keyward/keyward/internal/service"
)

// Options configure the API server.
type Options struct {
	Service *service.Service
	Log     *slog.Logger
	// Registry receives the server's metrics and is served at /metrics; nil makes a new one.
	Registry *prometheus.Registry
	// MaxBodyBytes bounds request bodies; 0 means 1 MiB.
	MaxBodyBytes int64
}

// handler serves one route for an authenticated principal and returns the response body.
type handler func(r *http.Request, p keyward.Principal) (any, error)

// streamHandler writes its own response (exports).
type streamHandler func(w http.ResponseWriter, r *http.Request, p keyward.Principal) error

// Server is the REST API as an http.Handler.
type Server struct {
	svc     *service.Service
	log     *slog.Logger
	mux     *http.ServeMux
	maxBody int64
	reg     *prometheus.Registry
	openapi []byte

	reqPrefix string
	reqSeq    atomic.Uint64

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New builds the server and binds a handler to every route of the api table; a route
// without a handler, or a handler without a route, is a programming error found at start.
func New(o Options) (*Server, error) {
	s := &Server{svc: o.Service, log: o.Log, mux: http.NewServeMux(), maxBody: o.MaxBodyBytes, reg: o.Registry}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	b := make([]byte, 4)
	rand.Read(b)
	s.reqPrefix = hex.EncodeToString(b) + "-"
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "keyward_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "keyward_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"})
	if err := s.reg.Register(s.requests); err != nil {
		return nil, err
	}
	if err := s.reg.Register(s.latency); err != nil {
		return nil, err
	}
	doc, err := api.OpenAPI()
	if err != nil {
		return nil, err
	}
	s.openapi = doc
	if err := s.bind(); err != nil {
		return nil, err
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &api.Error{Code: keyward.ENOTFOUND, Message: fmt.Sprintf("no route %s %s: see /v1/openapi.json", r.Method, r.URL.Path), RequestID: requestID(r)})
	})
	return s, nil
}

func (s *Server) bind() error {
	handlers, streams, service := s.handlers(), s.streamHandlers(), s.serviceHandlers()
	seen := map[string]bool{}
	for _, rt := range api.Routes {
		seen[rt.ID] = true
		switch {
		case handlers[rt.ID] != nil:
			s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt, handlers[rt.ID], nil))
		case streams[rt.ID] != nil:
			s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt, nil, streams[rt.ID]))
		default:
			return fmt.Errorf("httpapi: route %s has no handler", rt.ID)
		}
	}
	for _, rt := range api.ServiceRoutes {
		seen[rt.ID] = true
		h := service[rt.ID]
		if h == nil {
			return fmt.Errorf("httpapi: route %s has no handler", rt.ID)
		}
		s.mux.Handle(rt.Method+" "+rt.Path, s.instrument(rt.ID, h))
	}
	for id := range handlers {
		if !seen[id] {
			return fmt.Errorf("httpapi: handler %s has no route", id)
		}
	}
	for id := range streams {
		if !seen[id] {
			return fmt.Errorf("httpapi: handler %s has no route", id)
		}
	}
	return nil
}

// ServeHTTP gives every request an id, recovers from panics, and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		id = s.reqPrefix + strconv.FormatUint(s.reqSeq.Add(1), 36)
	}
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(service.WithRequestID(r.Context(), id))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic serving request", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", p)
			writeError(w, &api.Error{Code: keyward.EINTERNAL, Message: "internal error", RequestID: id})
		}
	}()
	s.mux.ServeHTTP(w, r)
}

func requestID(r *http.Request) string { return service.RequestID(r.Context()) }

// statusWriter remembers the status for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) instrument(route string, h http.Handler) http.Handler {
	lat := s.latency.WithLabelValues(route)
	byCode := map[int]prometheus.Counter{}
	for _, c := range []int{200, 201, 204, 400, 401, 403, 404, 409, 412, 413, 429, 500, 501, 503} {
		byCode[c] = s.requests.WithLabelValues(route, strconv.Itoa(c))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		lat.Observe(time.Since(start).Seconds())
		if c, ok := byCode[sw.status]; ok {
			c.Inc()
		} else {
			s.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		}
	})
}

// wrap applies a route's limits and authentication, runs its handler and renders the result.
func (s *Server) wrap(rt api.Route, h handler, sh streamHandler) http.Handler {
	return s.instrument(rt.ID, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		p, err := s.authenticate(r, rt)
		if err == nil && sh != nil {
			err = sh(w, r, p)
			if err == nil {
				return
			}
		}
		var body any
		if err == nil {
			body, err = h(r, p)
		}
		if err != nil {
			writeError(w, toAPIError(apiFieldError(err), requestID(r), s.log))
			return
		}
		if rt.Status == http.StatusNoContent || body == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, rt.Status, body)
	}))
}

// authenticate resolves the caller from a bearer token or a TLS client certificate and
// checks that the route admits its kind.
func (s *Server) authenticate(r *http.Request, rt api.Route) (keyward.Principal, error) {
	need := rt.Auth
	if need == api.AuthNone {
		return keyward.Principal{}, nil
	}
	var p keyward.Principal
	var err error
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return p, keyward.Errorf(keyward.EUNAUTHENTICATED, "the Authorization header must read \"Bearer <token or API key>\"")
		}
		p, err = s.svc.Authenticate(r.Context(), strings.TrimSpace(token))
	} else if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		// The handshake proved the client holds the certificate's key; Keyward pins the
		// certificate itself, so only its validity period is left to check.
		cert := r.TLS.PeerCertificates[0]
		if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
			return p, keyward.Errorf(keyward.EUNAUTHENTICATED, "the TLS client certificate is expired or not yet valid")
		}
		sum := sha256.Sum256(cert.Raw)
		p, err = s.svc.AuthenticateCertificate(r.Context(), hex.EncodeToString(sum[:]))
	} else {
		return p, keyward.Errorf(keyward.EUNAUTHENTICATED, "authentication required: send \"Authorization: Bearer <token>\" (keyward login) or an application's API key or client certificate")
	}
	if err != nil {
		return p, err
	}
	switch {
	case need == api.AuthUser && !p.IsUser():
		err = keyward.Errorf(keyward.EFORBIDDEN, "this operation is for users; applications may not call it")
	case need == api.AuthApp && !p.IsApp():
		err = keyward.Errorf(keyward.EFORBIDDEN, "users never perform cryptographic operations: call this with an application's API key or certificate")
	}
	if err != nil {
		s.svc.RecordDenied(r.Context(), p, keyward.Action("api."+rt.ID), err)
	}
	return p, err
}

func (s *Server) serviceHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"healthz": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
		}),
		"readyz": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := s.svc.Store().Ping(ctx); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, api.Health{Status: "unavailable", Detail: "database does not answer"})
				return
			}
			writeJSON(w, http.StatusOK, api.Health{Status: "ok"})
		}),
		"metrics": promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}),
		"openapi": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(s.openapi)
		}),
	}
}
