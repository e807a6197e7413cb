package akvemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The admin API, under /_emulator/ on any host (and on plain HTTP), reads the stats and
// changes the emulator at run time. Keyward's tests and benchmarks use it; the paths are
// documented in docs/azure-emulator.md.

// adminError writes {"error": msg}.
func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// decodeStrict decodes a JSON body into v, rejecting unknown fields.
func decodeStrict(r *http.Request, v any) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	return nil
}

func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(adminPrefix, "/"))
	segs := splitPath(p)
	route := r.Method + " " + strings.Join(segs, "/")
	switch {
	case route == "GET health":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case route == "GET stats":
		writeJSON(w, http.StatusOK, e.Stats())
	case route == "POST stats/reset":
		e.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	case route == "GET ca.pem":
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(e.CACertPEM())
	case route == "GET chaos":
		writeJSON(w, http.StatusOK, e.Chaos())
	case route == "PUT chaos":
		adminSet(w, r, e.SetChaos)
	case route == "GET throttle":
		writeJSON(w, http.StatusOK, e.Throttle())
	case route == "PUT throttle":
		adminSet(w, r, e.SetThrottle)
	case route == "GET timing":
		writeJSON(w, http.StatusOK, e.Timing())
	case route == "PUT timing":
		adminSet(w, r, e.SetTiming)
	case route == "POST tenants":
		adminSet(w, r, e.AddTenant)
	case len(segs) == 3 && r.Method == http.MethodPost && segs[0] == "tenants" && segs[2] == "apps":
		adminSet(w, r, func(a AppConfig) error { return e.AddApp(segs[1], a) })
	case route == "POST subscriptions":
		adminSet(w, r, e.AddSubscription)
	case route == "GET vaults":
		writeJSON(w, http.StatusOK, e.Vaults())
	case route == "POST vaults":
		adminSet(w, r, e.AddVault)
	case route == "POST managedhsms":
		adminSet(w, r, e.AddManagedHSM)
	case len(segs) == 3 && r.Method == http.MethodPost && segs[0] == "vaults" && segs[2] == "seed":
		e.adminSeed(w, r, segs[1])
	default:
		adminError(w, http.StatusNotFound, "no admin route "+route)
	}
}

// adminSet decodes a T and applies it; errors are the caller's (400).
func adminSet[T any](w http.ResponseWriter, r *http.Request, apply func(T) error) {
	var v T
	if err := decodeStrict(r, &v); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := apply(v); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// VaultInfo describes a vault or managed HSM for the admin API and tests.
type VaultInfo struct {
	Name           string `json:"name"`
	Kind           string `json:"kind"` // "vault" or "managedHsm"
	URI            string `json:"uri"`
	SKU            string `json:"sku"`
	Subscription   string `json:"subscription"`
	TenantID       string `json:"tenantId"`
	Keys           int    `json:"keys"`
	DeletedKeys    int    `json:"deletedKeys"`
	RecoveryLevel  string `json:"recoveryLevel"`
	RetentionDays  int    `json:"retentionDays"`
	PurgeProtected bool   `json:"purgeProtection"`
}

// Vaults lists every vault and managed HSM with its key counts.
func (e *Emulator) Vaults() []VaultInfo {
	out := []VaultInfo{}
	for _, v := range e.reg.allVaults() {
		kind := "vault"
		if v.kind == kindHSM {
			kind = "managedHsm"
		}
		v.mu.Lock()
		keys, deleted := len(v.keys), len(v.deleted)
		v.mu.Unlock()
		out = append(out, VaultInfo{Name: v.name, Kind: kind, URI: "https://" + v.host + "/", SKU: v.sku,
			Subscription: v.sub.cfg.ID, TenantID: v.sub.tenant.id, Keys: keys, DeletedKeys: deleted,
			RecoveryLevel: v.recoveryLevel(), RetentionDays: v.retentionDays, PurgeProtected: v.purgeProtection})
	}
	return out
}

// errNoVault is returned for an unknown vault name.
var errNoVault = errors.New("no such vault or managed hsm")

func (e *Emulator) vaultNamed(name string) (*vault, error) {
	for _, v := range e.reg.allVaults() {
		if strings.EqualFold(v.name, name) {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", errNoVault, name)
}
