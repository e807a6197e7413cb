package akvemu

import (
	"fmt"
	"net/http"
)

// kvErr is a Key Vault error response (akv-api.md §1.7): status, code, optional inner code
// and message. Operation handlers return it; dataplane.go renders it.
type kvErr struct {
	status int
	code   string
	inner  string
	msg    string
}

func (e *kvErr) Error() string { return e.code + ": " + e.msg }

// body renders {"error":{"code","message","innererror"?}}.
func (e *kvErr) body() map[string]any {
	inner := map[string]any{"code": e.code, "message": e.msg}
	if e.inner != "" {
		inner["innererror"] = map[string]any{"code": e.inner}
	}
	return map[string]any{"error": inner}
}

func badParam(format string, args ...any) *kvErr {
	return &kvErr{status: http.StatusBadRequest, code: "BadParameter", msg: fmt.Sprintf(format, args...)}
}

func forbidden(inner, format string, args ...any) *kvErr {
	return &kvErr{status: http.StatusForbidden, code: "Forbidden", inner: inner, msg: fmt.Sprintf(format, args...)}
}

func conflict(inner, format string, args ...any) *kvErr {
	return &kvErr{status: http.StatusConflict, code: "Conflict", inner: inner, msg: fmt.Sprintf(format, args...)}
}

// keyNotFound is the 404 for a key (or version) that does not exist, worded as each
// service words it.
func (rc *reqCtx) keyNotFound(name string) *kvErr {
	if rc.v.kind == kindHSM {
		return &kvErr{status: http.StatusNotFound, code: "KeyNotFound", msg: fmt.Sprintf(
			"Key not found: Key not found: %s/keys/%s (Activity ID: %s)", rc.v.baseURL(rc.port), name, newGUID())}
	}
	return &kvErr{status: http.StatusNotFound, code: "KeyNotFound", msg: fmt.Sprintf("A key with (name/id) %s was not "+
		"found in this key vault. If you recently deleted this key you may be able to recover it using the correct "+
		"recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name)}
}

// deletedKeyNotFound is the 404 of the deleted-key operations.
func deletedKeyNotFound(name string) *kvErr {
	return &kvErr{status: http.StatusNotFound, code: "KeyNotFound", msg: "Deleted Key not found: " + name}
}

// hsmRequired is the 403 a Standard vault gives for HSM-protected keys.
func hsmRequired() *kvErr {
	return forbidden("", "Hardware key operation not allowed on standard vault")
}

// deletedButRecoverable is the 409 for reusing a soft-deleted name.
func deletedButRecoverable(name string) *kvErr {
	return conflict("ObjectIsDeletedButRecoverable", "Key %s is currently in a deleted but recoverable state, and its "+
		"name cannot be reused; in this state, the key can only be recovered or purged.", name)
}

// beingDeleted is the 409 while a delete is still in progress.
func beingDeleted(name string) *kvErr {
	return conflict("", "Key %s is currently being deleted and cannot be re-created; retry later.", name)
}

// throttled is Azure's 429 body (akv-api.md §6.3).
func throttled(reason string) *kvErr {
	return &kvErr{status: http.StatusTooManyRequests, code: "Throttled",
		msg: "Request was not processed because too many requests were received. Reason: " + reason}
}
