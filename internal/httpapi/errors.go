package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
)

// statusFor is the one table from error code to HTTP status.
var statusFor = map[string]int{
	keyward.EINVALID:         http.StatusBadRequest,
	keyward.EUNAUTHENTICATED: http.StatusUnauthorized,
	keyward.EFORBIDDEN:       http.StatusForbidden,
	keyward.EAPPROVAL:        http.StatusForbidden,
	keyward.ENOTFOUND:        http.StatusNotFound,
	keyward.ECONFLICT:        http.StatusConflict,
	keyward.EPRECONDITION:    http.StatusPreconditionFailed,
	keyward.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	keyward.ENOTSUPPORTED:    http.StatusNotImplemented,
	keyward.ERATELIMIT:       http.StatusTooManyRequests,
	keyward.EUNAVAILABLE:     http.StatusServiceUnavailable,
	keyward.EINTERNAL:        http.StatusInternalServerError,
}

// toAPIError turns any error into the wire error. An error without a code is internal: it
// is logged in full here and the client sees only "internal error" and the request id.
func toAPIError(err error, reqID string, log *slog.Logger) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		out := *ae
		out.RequestID = reqID
		return &out
	}
	var ke *keyward.Error
	if errors.As(err, &ke) {
		return &api.Error{Code: ke.Code, Message: ke.Message, Field: ke.Field, RequestID: reqID}
	}
	log.Error("internal error", "request_id", reqID, "err", err)
	return &api.Error{Code: keyward.EINTERNAL, Message: "internal error", RequestID: reqID}
}

func writeError(w http.ResponseWriter, e *api.Error) {
	status, ok := statusFor[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="keyward"`)
	}
	writeJSON(w, status, api.ErrorResponse{Error: *e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
