package akvemu

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// kvHandler runs one data-plane operation. It returns the status and body to write, or a
// Key Vault error. Handlers never write to the ResponseWriter themselves.
type kvHandler func(rc *reqCtx, rt kvRoute, body []byte) (int, any, *kvErr)

// kvHandlers maps operation ids to handlers.
func (e *Emulator) kvHandlers() map[string]kvHandler {
	return map[string]kvHandler{
		"CreateKey": e.createKey, "ImportKey": e.importKey, "GetKey": e.getKey, "GetKeys": e.listKeys,
		"GetKeyVersions": e.listVersions, "UpdateKey": e.updateKey, "DeleteKey": e.deleteKey,
		"GetDeletedKey": e.getDeletedKey, "GetDeletedKeys": e.listDeletedKeys, "RecoverDeletedKey": e.recoverKey,
		"PurgeDeletedKey": e.purgeKey, "BackupKey": e.backupKeyOp, "RestoreKey": e.restoreKey, "RotateKey": e.rotateKey,
		"GetKeyRotationPolicy": e.getRotationPolicy, "UpdateKeyRotationPolicy": e.setRotationPolicy,
		"encrypt": e.cryptoOp, "decrypt": e.cryptoOp, "wrapKey": e.cryptoOp, "unwrapKey": e.cryptoOp,
		"sign": e.signOp, "verify": e.verifyOp, "release": e.release, "GetRandomBytes": e.randomBytes,
		"GetKeyAttestation": e.attestation,
	}
}

// serveDataPlane serves a vault or Managed HSM: headers, the challenge, the api-version,
// the route, throttling, then the operation.
func (e *Emulator) serveDataPlane(w http.ResponseWriter, r *http.Request, v *vault) {
	method := r.Method
	if method == http.MethodPost {
		for _, h := range []string{"X-HTTP-Method", "X-HTTP-Method-Override", "X-HTTP-REQUEST"} {
			if o := r.Header.Get(h); o != "" {
				method = strings.ToUpper(o)
				break
			}
		}
	}
	rt := parseKVPath(method, r.URL.Path)
	svc := svcVault
	if v.kind == kindHSM {
		svc = svcHSM
	}
	e.instrument(w, r, svc, rt.op, v.name, func(w http.ResponseWriter) {
		start := time.Now()
		e.kvHeaders(w, r, v)
		rc := &reqCtx{v: v, req: r, port: hostPort(r.Host), now: e.now()}
		if rc.port == "443" {
			rc.port = ""
		}
		if !e.kvAuth(w, r, rc, rt) {
			return
		}
		status, out, kerr := e.kvExecute(r, rc, rt)
		if v.kind == kindHSM {
			w.Header().Set("x-ms-server-latency", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
		}
		e.kvWrite(w, rc, status, out, kerr)
	})
}

// kvExecute checks the api-version and route, throttles, and runs the handler.
func (e *Emulator) kvExecute(r *http.Request, rc *reqCtx, rt kvRoute) (int, any, *kvErr) {
	api := r.URL.Query().Get("api-version")
	if api == "" {
		return 0, nil, badParam("The api-version query parameter is required and must not be empty.")
	}
	info, ok := parseAPIVersion(api)
	if !ok {
		return 0, nil, badParam("The specified version (%s) is not recognized. Consider using the latest supported version (%s).", api, latestStableAPI)
	}
	rc.api = info
	switch {
	case !rt.known:
		return 0, nil, &kvErr{status: http.StatusNotFound, code: "NotFound",
			msg: "The requested operation " + rt.method + " " + r.URL.Path + " is not emulated; the emulator serves the keys API."}
	case !rt.allowed:
		return 0, nil, &kvErr{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
			msg: "The requested resource does not support http method '" + rt.method + "'."}
	case rt.name != "" && !keyNameRE.MatchString(rt.name):
		return 0, nil, badParam("The request URI contains an invalid name: %s", rt.name)
	case rc.v.kind == kindHSM && rc.v.notActivated:
		return 0, nil, forbidden("HsmNotActivated", "The Managed HSM %s is not activated; download its security domain to activate it.", rc.v.name)
	}
	body, err := readBody(r)
	if err != nil {
		return 0, nil, badParam("The request body could not be read: %v", err)
	}
	class, cost := e.kvCost(rc, rt, body)
	if ok, retry, reason := e.throttle.admit(rc.v, class, cost); !ok {
		secs := int64(math.Ceil(retry.Seconds()))
		return 0, retryAfter(max(secs, 1)), throttled(reason)
	}
	return e.kv[rt.op](rc, rt, body)
}

// retryAfter is passed through kvExecute's body slot with a 429, for kvWrite to set the
// header.
type retryAfter int64

// kvWrite renders a result or an error. Managed HSM sorts JSON members alphabetically.
func (e *Emulator) kvWrite(w http.ResponseWriter, rc *reqCtx, status int, out any, kerr *kvErr) {
	if kerr != nil {
		if ra, ok := out.(retryAfter); ok {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(ra), 10))
		}
		status, out = kerr.status, kerr.body()
	}
	if status == http.StatusNoContent {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		return
	}
	if rc.v.kind == kindHSM {
		raw, err := sortedJSON(out)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, nil)
			return
		}
		out = raw
	}
	writeJSON(w, status, out)
}

// kvHeaders sets the response headers each service sends (akv-api.md §1.1).
func (e *Emulator) kvHeaders(w http.ResponseWriter, r *http.Request, v *vault) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("x-ms-request-id", newGUID())
	h.Set("x-ms-keyvault-region", v.location)
	if id := r.Header.Get("x-ms-client-request-id"); id != "" {
		h.Set("x-ms-client-request-id", id)
	}
	addr := "127.0.0.1"
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		addr = host
	}
	if v.kind == kindHSM {
		h.Set("Content-Security-Policy", "default-src 'self'")
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("x-ms-server-latency", "0")
		h.Set("x-ms-build-version", "1.0.20240429-1-3c19b27c-develop")
		h.Set("x-ms-keyvault-network-info", "conn_type=Ipv4;addr="+addr+";act_addr_fam=Ipv4;")
		return
	}
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("Strict-Transport-Security", "max-age=31536000;includeSubDomains")
	h.Set("x-ms-keyvault-service-version", "1.9.1504.1")
	h.Set("x-ms-keyvault-network-info", "conn_type=Ipv4;addr="+addr+";act_addr_fam=InterNetwork;")
}

// kvAuth answers the challenge and checks the token: signature, lifetime, audience, tenant
// and the caller's grant. It writes the 401 or 403 itself and returns false on failure.
func (e *Emulator) kvAuth(w http.ResponseWriter, r *http.Request, rc *reqCtx, rt kvRoute) bool {
	v := rc.v
	expected := v.cloud.vaultResource()
	if v.kind == kindHSM {
		expected = v.cloud.hsmResource()
	}
	resource := expected
	if rc.port != "" {
		// The SDKs require the resource host to be a suffix of the vault host, port
		// included (akv-api.md §4.1).
		resource += ":" + rc.port
	}
	challenge := fmt.Sprintf(`Bearer authorization="%s", resource="%s"`, v.cloud.authority(v.sub.tenant.id), resource)
	c, fault := e.bearer(r)
	msg := ""
	switch fault {
	case tokMissing:
		msg = "AKV10000: Request is missing a Bearer or PoP token."
	case tokMalformed:
		msg = "AKV10020: Invalid token: the token is malformed."
	case tokUnknownKey:
		msg = "AKV10046: Unable to resolve the key used for signature validation."
	case tokBadSignature:
		msg = "AKV10045: Invalid token signature."
	case tokExpired:
		msg = "[TokenExpired] Error validating token: 'S2S12086'."
	case tokNotYetValid:
		msg = "[TokenNotYetValid] Error validating token: 'S2S12085'."
	default:
		if !v.cloud.isVaultResource(c.Aud, v.kind == kindHSM) && !(v.kind == kindVault && c.Aud == v.cloud.vaultAppID) {
			msg = fmt.Sprintf("AKV10022: Invalid audience. Expected %s, found: %s.", expected, c.Aud)
		} else if want := v.cloud.issuer(v.sub.tenant.id); c.Iss != want {
			msg = fmt.Sprintf("AKV10032: Invalid issuer. Expected one of %s, found %s.", want, c.Iss)
		}
	}
	if msg != "" {
		w.Header().Set("WWW-Authenticate", challenge)
		switch {
		case v.kind == kindHSM && fault == tokMissing:
			writeJSON(w, http.StatusUnauthorized, json.RawMessage{})
		case v.kind == kindHSM:
			e.kvWrite(w, rc, 0, nil, &kvErr{status: http.StatusUnauthorized, code: "Unauthorized",
				msg: msg + " (Activity ID: " + newGUID() + ")"})
		default:
			e.kvWrite(w, rc, 0, nil, &kvErr{status: http.StatusUnauthorized, code: "Unauthorized", msg: msg})
		}
		return false
	}
	a := e.callerApp(c)
	if a == nil || !a.grants[v.sub.id] {
		e.kvWrite(w, rc, 0, nil, rbacDenied(rc, c, rt))
		return false
	}
	if v.kind == kindVault {
		w.Header().Set("x-ms-keyvault-rbac-assignment-id", strings.ReplaceAll(stableGUID(a.objectID+v.host), "-", ""))
	}
	return true
}

// rbacDenied is the 403 of a caller without a role on the vault.
func rbacDenied(rc *reqCtx, c *accessClaims, rt kvRoute) *kvErr {
	v := rc.v
	action := "Microsoft.KeyVault/vaults/keys/" + rbacAction(rt.op)
	res := v.armID() + "/keys"
	if v.kind == kindHSM {
		action = "Microsoft.KeyVault/managedHsm/keys/" + rbacAction(rt.op)
		res = "/keys"
	}
	if rt.name != "" {
		res += "/" + rt.name
	}
	return forbidden("ForbiddenByRbac", "Caller is not authorized to perform action on resource.\r\nIf role assignments, "+
		"deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: "+
		"appid=%s;oid=%s;iss=%s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDenyAssignmentId: "+
		"null\r\nDecisionReason: null \r\nVault: %s;location=%s\r\n", c.AppID, c.OID, c.Iss, action,
		strings.ToLower(res), v.name, v.location)
}

// rbacActions names the data action each operation needs; the rest need "read".
var rbacActions = map[string]string{
	"CreateKey": "create/action", "RotateKey": "rotate/action", "ImportKey": "import/action",
	"RestoreKey": "restore/action", "BackupKey": "backup/action", "DeleteKey": "delete",
	"PurgeDeletedKey": "purge/action", "RecoverDeletedKey": "recover/action", "UpdateKey": "write/action",
	"UpdateKeyRotationPolicy": "rotationpolicy/write", "encrypt": "encrypt/action", "decrypt": "decrypt/action",
	"sign": "sign/action", "verify": "verify/action", "wrapKey": "wrap/action", "unwrapKey": "unwrap/action",
	"release": "release/action",
}

func rbacAction(op string) string {
	if a, ok := rbacActions[op]; ok {
		return a
	}
	return "read"
}
