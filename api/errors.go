// Package api is Keyward's public wire contract: the JSON request and response types of the
// REST API under /v1, its error codes, its route table, and the OpenAPI document built from
// them. It imports nothing from Keyward's internals.
package api

import "fmt"

// Error codes. Clients switch on these; each maps to one HTTP status.
const (
	CodeInvalidArgument    = "invalid_argument"    // 400: Field names the offending field
	CodeUnauthenticated    = "unauthenticated"     // 401
	CodePermissionDenied   = "permission_denied"   // 403
	CodeApprovalRequired   = "approval_required"   // 403: ask the group's approvers (POST /v1/approvals)
	CodeNotFound           = "not_found"           // 404
	CodeConflict           = "conflict"            // 409
	CodeFailedPrecondition = "failed_precondition" // 412
	CodeTooLarge           = "too_large"           // 413
	CodeNotSupported       = "not_supported"       // 501
	CodeRateLimited        = "rate_limited"        // 429
	CodeUnavailable        = "unavailable"         // 503
	CodeInternal           = "internal"            // 500
)

// Codes lists every error code.
var Codes = []string{CodeInvalidArgument, CodeUnauthenticated, CodePermissionDenied, CodeApprovalRequired, CodeNotFound,
	CodeConflict, CodeFailedPrecondition, CodeTooLarge, CodeNotSupported, CodeRateLimited,
	CodeUnavailable, CodeInternal}

// Error is the body of every error response: {"error":{...}}.
type Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
	// Status is the HTTP status the error arrived with (client side only).
	Status int `json:"-"`
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.RequestID != "" {
		return fmt.Sprintf("%s (%s, request %s)", msg, e.Code, e.RequestID)
	}
	return fmt.Sprintf("%s (%s)", msg, e.Code)
}

// ErrorResponse wraps Error.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// FieldError reports a request field that failed validation.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}
