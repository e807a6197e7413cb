package akvemu

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// apiInfo is a parsed Key Vault api-version.
type apiInfo struct {
	raw   string
	major int // 7 for "7.x"; 0 for date versions
	minor int
	date  time.Time // for "2025-07-01" and "YYYY-MM-DD-preview"
}

// atLeast compares with a 7.x version; every date-based version is newer than 7.6.
func (a apiInfo) atLeast(major, minor int) bool {
	if a.major == 0 {
		return true
	}
	return a.major > major || (a.major == major && a.minor >= minor)
}

// latestStableAPI is the newest stable api-version, named in Azure's refusal.
const latestStableAPI = "2025-07-01"

var (
	dateAPIRE    = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})(-preview)?$`)
	firstDateAPI = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
)

// parseAPIVersion accepts 7.0 to 7.6, the stable 2025-07-01, and every dated preview from
// 2025-06-01-preview on (akv-api.md §1.5: the emulator must accept every version the
// current SDKs send).
func parseAPIVersion(s string) (apiInfo, bool) {
	if maj, min, ok := strings.Cut(s, "."); ok {
		mi, err := strconv.Atoi(min)
		if maj == "7" && err == nil && mi >= 0 && mi <= 6 && min == strconv.Itoa(mi) {
			return apiInfo{raw: s, major: 7, minor: mi}, true
		}
		return apiInfo{}, false
	}
	m := dateAPIRE.FindStringSubmatch(s)
	if m == nil {
		return apiInfo{}, false
	}
	d, err := time.Parse("2006-01-02", m[1])
	if err != nil {
		return apiInfo{}, false
	}
	if m[2] == "" {
		return apiInfo{raw: s, date: d}, s == latestStableAPI
	}
	return apiInfo{raw: s, date: d}, !d.Before(firstDateAPI)
}

// kvRoute is a parsed data-plane request.
type kvRoute struct {
	op      string // the REST operation id, e.g. "GetKey", "sign"
	name    string // key name, "" for collection operations
	version string // "" means the current version
	known   bool   // the path names an operation
	allowed bool   // and the method fits it
	method  string // the effective method (X-HTTP-Method applied)
}

var keyNameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// cryptoOps are the POST operations on a key (version); the map values are the
// operation ids of the REST spec.
var cryptoOps = map[string]string{
	"encrypt": "encrypt", "decrypt": "decrypt", "sign": "sign", "verify": "verify",
	"wrapkey": "wrapKey", "unwrapkey": "unwrapKey", "release": "release",
}

// parseKVPath maps a method and path to an operation. Paths are matched
// case-insensitively, empty segments (a trailing slash, "//") are ignored, as Key Vault
// tolerates what the SDKs send (akv-api.md §1.1).
func parseKVPath(method, p string) kvRoute {
	rt := parseKVSegments(method, p)
	rt.method = method
	return rt
}

func parseKVSegments(method, p string) kvRoute {
	s := splitPath(p)
	if len(s) == 0 {
		return kvRoute{op: "Unknown"}
	}
	switch strings.ToLower(s[0]) {
	case "keys":
		return parseKeysPath(method, s[1:])
	case "deletedkeys":
		switch {
		case len(s) == 1:
			return route("GetDeletedKeys", "", "", method == http.MethodGet)
		case len(s) == 2 && method == http.MethodDelete:
			return route("PurgeDeletedKey", s[1], "", true)
		case len(s) == 2:
			return route("GetDeletedKey", s[1], "", method == http.MethodGet)
		case len(s) == 3 && eq(s[2], "recover"):
			return route("RecoverDeletedKey", s[1], "", method == http.MethodPost)
		}
	case "rng":
		if len(s) == 1 {
			return route("GetRandomBytes", "", "", method == http.MethodPost)
		}
	}
	return kvRoute{op: "Unknown"}
}

func route(op, name, version string, allowed bool) kvRoute {
	return kvRoute{op: op, name: name, version: version, known: true, allowed: allowed}
}

func parseKeysPath(method string, s []string) kvRoute {
	get, post := method == http.MethodGet, method == http.MethodPost
	switch len(s) {
	case 0:
		return route("GetKeys", "", "", get)
	case 1:
		name := s[0]
		switch method {
		case http.MethodGet:
			return route("GetKey", name, "", true)
		case http.MethodPut:
			return route("ImportKey", name, "", true)
		case http.MethodDelete:
			return route("DeleteKey", name, "", true)
		case http.MethodPatch:
			return route("UpdateKey", name, "", true)
		case http.MethodPost:
			if eq(name, "restore") {
				return route("RestoreKey", "", "", true)
			}
		}
		return route("GetKey", name, "", false)
	case 2:
		name, x := s[0], strings.ToLower(s[1])
		switch x {
		case "create":
			return route("CreateKey", name, "", post)
		case "backup":
			return route("BackupKey", name, "", post)
		case "rotate":
			return route("RotateKey", name, "", post)
		case "versions":
			return route("GetKeyVersions", name, "", get)
		case "rotationpolicy":
			if method == http.MethodPut {
				return route("UpdateKeyRotationPolicy", name, "", true)
			}
			return route("GetKeyRotationPolicy", name, "", get)
		case "attestation":
			return route("GetKeyAttestation", name, "", get)
		}
		if op, ok := cryptoOps[x]; ok {
			return route(op, name, "", post)
		}
		if method == http.MethodPatch {
			return route("UpdateKey", name, s[1], true)
		}
		return route("GetKey", name, s[1], get)
	case 3:
		name, version, x := s[0], s[1], strings.ToLower(s[2])
		if op, ok := cryptoOps[x]; ok {
			return route(op, name, version, post)
		}
		if x == "attestation" {
			return route("GetKeyAttestation", name, version, get)
		}
	}
	return kvRoute{op: "Unknown"}
}
