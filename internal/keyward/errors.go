// Package keyward is the domain core: accounts, users, groups, applications, roles and their
// rules, the audit record, and the interfaces the core needs. It performs no I/O.
package keyward

import (
	"errors"
	"fmt"
	"time"
)

// Error codes are the machine-readable half of every error Keyward returns. Clients switch on
// them; the HTTP layer maps each to one status in one table. An error without a code is an
// internal error: it is logged in full and the client sees only "internal error".
const (
	EINVALID         = "invalid_argument"    // bad input; Field names the offending field
	EUNAUTHENTICATED = "unauthenticated"     // no or bad credentials
	EFORBIDDEN       = "permission_denied"   // authenticated, but not allowed
	EAPPROVAL        = "approval_required"   // allowed, but the group's quorum must approve it first
	ENOTFOUND        = "not_found"           // does not exist, or not visible to the caller
	ECONFLICT        = "conflict"            // clashes with existing state (e.g. a name in use)
	EPRECONDITION    = "failed_precondition" // the object is not in a state that allows this
	ETOOLARGE        = "too_large"           // request body or batch over its limit
	ENOTSUPPORTED    = "not_supported"       // the feature or the remote side does not support it
	ERATELIMIT       = "rate_limited"        // slow down and retry
	EUNAVAILABLE     = "unavailable"         // a dependency is down; retry later
	EINTERNAL        = "internal"            // a bug or an unexpected failure
)

// Codes lists every code, in the order the API documents them.
var Codes = []string{EINVALID, EUNAUTHENTICATED, EFORBIDDEN, EAPPROVAL, ENOTFOUND, ECONFLICT, EPRECONDITION,
	ETOOLARGE, ENOTSUPPORTED, ERATELIMIT, EUNAVAILABLE, EINTERNAL}

// Error is the one error type of the domain. Message is safe to show to the caller: it never
// holds key material or secrets.
type Error struct {
	Code    string
	Message string
	Field   string // for EINVALID: the request field at fault, in JSON path form ("groups[1]")
	// Denied marks a refusal reported as ENOTFOUND so as not to reveal that the target
	// exists to someone with no part in it. It is audited as a denial all the same.
	Denied bool
	// RetryAfter is how long to wait before retrying, for ERATELIMIT and EUNAVAILABLE
	// errors that came with a hint (Azure's Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL when err carries none.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err, or "internal error".
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

// Hidden returns a refusal that reads as "not found" to the caller.
func Hidden(what string) *Error {
	return &Error{Code: ENOTFOUND, Message: what + " not found", Denied: true}
}

// IsDenied reports whether err refuses the caller: EFORBIDDEN, or a Hidden refusal.
func IsDenied(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == EFORBIDDEN || e.Code == EAPPROVAL || e.Denied)
}

// IsCode reports whether err carries the code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }
