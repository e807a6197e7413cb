package akvemu

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Azure Resource Manager: the reads Keyward needs to discover vaults and managed HSMs
// (akv-api.md §5), with ARM's authentication and error shapes.

// armRoute is a parsed ARM request path.
type armRoute struct {
	op    string
	sub   string
	rg    string
	kind  string // "vaults" or "managedHSMs", for provider routes
	name  string
	api   apiFamily
	known bool
}

// apiFamily says which api-versions a route accepts.
type apiFamily int

const (
	apiKeyVaultRP apiFamily = iota
	apiResources
	apiSubscriptions
)

// parseARMPath recognises the routes the emulator serves.
func parseARMPath(p string) armRoute {
	s := splitPath(p)
	n := len(s)
	if n == 0 || !eq(s[0], "subscriptions") {
		return armRoute{op: "Unknown"}
	}
	switch {
	case n == 1:
		return armRoute{op: "Subscriptions_List", api: apiSubscriptions, known: true}
	case n == 2:
		return armRoute{op: "Subscriptions_Get", sub: s[1], api: apiSubscriptions, known: true}
	case n == 3 && eq(s[2], "resources"):
		return armRoute{op: "Vaults_List", sub: s[1], api: apiResources, known: true}
	case n == 5 && eq(s[2], "providers") && eq(s[3], "Microsoft.KeyVault"):
		return armProviderList(s[1], "", s[4])
	case n >= 7 && eq(s[2], "resourceGroups") && eq(s[4], "providers") && eq(s[5], "Microsoft.KeyVault"):
		if n == 7 {
			return armProviderList(s[1], s[3], s[6])
		}
		if n == 8 {
			r := armProviderList(s[1], s[3], s[6])
			if r.known && (r.kind == "vaults" || r.kind == "managedHSMs") {
				r.name = s[7]
				r.op = strings.Replace(r.op, "_ListByResourceGroup", "_Get", 1)
				return r
			}
		}
	}
	return armRoute{op: "Unknown", sub: s[1]}
}

func armProviderList(sub, rg, typ string) armRoute {
	r := armRoute{sub: sub, rg: rg, api: apiKeyVaultRP, known: true}
	scope := "_ListBySubscription"
	if rg != "" {
		scope = "_ListByResourceGroup"
	}
	switch {
	case eq(typ, "vaults"):
		r.kind, r.op = "vaults", "Vaults"+scope
	case eq(typ, "managedHSMs"):
		r.kind, r.op = "managedHSMs", "ManagedHsms"+scope
	case eq(typ, "deletedVaults") && rg == "":
		r.kind, r.op = "deletedVaults", "Vaults_ListDeleted"
	case eq(typ, "deletedManagedHSMs") && rg == "":
		r.kind, r.op = "deletedManagedHSMs", "ManagedHsms_ListDeleted"
	default:
		return armRoute{op: "Unknown", sub: sub}
	}
	return r
}

// armError writes ARM's error shape.
func armError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func (e *Emulator) serveARM(w http.ResponseWriter, r *http.Request, cl *cloud) {
	rt := parseARMPath(r.URL.Path)
	e.instrument(w, r, svcARM, rt.op, "", func(w http.ResponseWriter) {
		id := newGUID()
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("Pragma", "no-cache")
		h.Set("Expires", "-1")
		h.Set("x-ms-request-id", id)
		h.Set("x-ms-correlation-request-id", id)
		h.Set("x-ms-routing-request-id", "WESTEUROPE:"+e.now().UTC().Format("20060102T150405Z")+":"+id)
		caller, ok := e.armAuth(w, r, cl)
		if !ok {
			return
		}
		e.serveARMRoute(w, r, cl, rt, caller)
	})
}

// armAuth checks the bearer token for ARM: signature, lifetime and an ARM audience.
func (e *Emulator) armAuth(w http.ResponseWriter, r *http.Request, cl *cloud) (*app, bool) {
	c, fault := e.bearer(r)
	switch fault {
	case tokMissing:
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", `+
			`error_description="The authentication failed because of missing 'Authorization' header."`)
		armError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return nil, false
	case tokMalformed:
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return nil, false
	case tokUnknownKey, tokBadSignature:
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return nil, false
	case tokExpired, tokNotYetValid:
		const layout = "1/2/2006 3:04:05 PM"
		armError(w, http.StatusUnauthorized, "ExpiredAuthenticationToken", fmt.Sprintf("The access token expiry UTC time "+
			"'%s' is earlier than current UTC time '%s'.", time.Unix(c.Exp, 0).UTC().Format(layout), time.Now().UTC().Format(layout)))
		return nil, false
	}
	if !slices.Contains(cl.armAudiences, c.Aud) {
		quoted := make([]string, len(cl.armAudiences))
		for i, a := range cl.armAudiences {
			quoted[i] = "'" + a + "'"
		}
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationTokenAudience", fmt.Sprintf("The access token has been "+
			"obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences %s.",
			c.Aud, strings.Join(quoted, ",")))
		return nil, false
	}
	a := e.callerApp(c)
	if a == nil {
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
		return nil, false
	}
	return a, true
}

// armAPIVersions are the api-versions accepted per family. armkeyvault v1.5.0 sends
// 2024-11-01 to the Key Vault provider and 2015-11-01 to /resources.
var armAPIVersions = map[apiFamily][]string{
	apiKeyVaultRP: {"2015-06-01", "2016-10-01", "2018-02-14", "2019-09-01", "2021-10-01", "2022-07-01",
		"2022-11-01", "2023-02-01", "2023-07-01", "2024-11-01", "2024-12-01-preview", "2025-05-01"},
	apiResources: {"2015-11-01", "2016-02-01", "2016-09-01", "2017-05-10", "2018-05-01", "2019-05-01",
		"2019-10-01", "2020-06-01", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-11-01", "2025-04-01"},
	apiSubscriptions: {"2014-04-01", "2015-01-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01",
		"2020-01-01", "2021-01-01", "2022-01-01", "2022-12-01"},
}

// checkARMAPIVersion writes ARM's refusal of a missing or unsupported api-version.
func checkARMAPIVersion(w http.ResponseWriter, r *http.Request, rt armRoute, loc string) bool {
	v := r.URL.Query().Get("api-version")
	if v == "" {
		armError(w, http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return false
	}
	supported := armAPIVersions[rt.api]
	if slices.Contains(supported, v) {
		return true
	}
	list := slices.Clone(supported)
	slices.Reverse(list)
	if rt.api == apiKeyVaultRP {
		armError(w, http.StatusBadRequest, "NoRegisteredProviderFound", fmt.Sprintf("No registered resource provider found "+
			"for location '%s' and API version '%s' for type '%s'. The supported api-versions are '%s'. The supported "+
			"locations are '%s'.", loc, v, rt.kind, strings.Join(list, ", "), loc))
		return false
	}
	armError(w, http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf("The api-version '%s' is invalid. The "+
		"supported versions are '%s'.", v, strings.Join(list, ",")))
	return false
}

func (e *Emulator) serveARMRoute(w http.ResponseWriter, r *http.Request, cl *cloud, rt armRoute, caller *app) {
	if !rt.known {
		armError(w, http.StatusNotFound, "NotFound", "The emulator does not serve "+r.Method+" "+r.URL.Path+
			"; it emulates ARM reads of Microsoft.KeyVault vaults and managedHSMs.")
		return
	}
	if r.Method != http.MethodGet {
		armError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The emulator serves ARM reads only; "+r.Method+
			" is not emulated. Configure vaults in the emulator instead.")
		return
	}
	if !checkARMAPIVersion(w, r, rt, "westeurope") {
		return
	}
	if rt.op == "Subscriptions_List" {
		e.armListSubscriptions(w, caller)
		return
	}
	sub, ok := e.armSubscription(w, rt.sub, caller)
	if !ok {
		return
	}
	switch rt.op {
	case "Subscriptions_Get":
		writeJSON(w, http.StatusOK, armSubscriptionJSON(sub))
	case "Vaults_List":
		e.armLegacyList(w, r, sub)
	case "Vaults_ListDeleted", "ManagedHsms_ListDeleted":
		// Emulated vaults and HSMs are never deleted through ARM.
		writeJSON(w, http.StatusOK, map[string]any{"value": []any{}})
	default:
		e.armVaults(w, r, cl, sub, rt)
	}
}

// armSubscription resolves a subscription for the caller, with ARM's errors for a token
// from another tenant, an unknown subscription, and a caller without a grant.
func (e *Emulator) armSubscription(w http.ResponseWriter, id string, caller *app) (*subscription, bool) {
	sub := e.reg.subscription(id)
	if sub == nil {
		armError(w, http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+id+"' could not be found.")
		return nil, false
	}
	if sub.tenant != caller.tenant {
		iss := caller.tenant.cloud.issuer(caller.tenant.id)
		armError(w, http.StatusUnauthorized, "InvalidAuthenticationTokenTenant", fmt.Sprintf("The access token is from the "+
			"wrong issuer '%s'. It must match the tenant '%s' associated with this subscription. Please use the authority "+
			"(URL) 'https://login.windows.net/%s' to get the token. Note, if the subscription is transferred to another "+
			"tenant there is no impact to the services, but information about new tenant could take time to propagate "+
			"(up to an hour). If you just transferred your subscription and see this error message, please try back later.",
			iss, sub.tenant.cloud.issuer(sub.tenant.id), sub.tenant.id))
		return nil, false
	}
	if !caller.grants[sub.id] {
		armError(w, http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf("The client '%s' with object id '%s' does not "+
			"have authorization to perform action 'Microsoft.KeyVault/vaults/read' over scope '/subscriptions/%s' or the "+
			"scope is invalid. If access was recently granted, please refresh your credentials.",
			caller.objectID, caller.objectID, sub.cfg.ID))
		return nil, false
	}
	return sub, true
}

func (e *Emulator) armListSubscriptions(w http.ResponseWriter, caller *app) {
	value := []any{}
	for _, s := range e.reg.subscriptions() {
		if s.tenant == caller.tenant && caller.grants[s.id] {
			value = append(value, armSubscriptionJSON(s))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"count": map[string]any{"type": "Total", "value": len(value)},
		"value": value,
	})
}

func armSubscriptionJSON(s *subscription) map[string]any {
	return map[string]any{
		"id":                  "/subscriptions/" + s.cfg.ID,
		"authorizationSource": "RoleBased",
		"managedByTenants":    []any{},
		"subscriptionId":      s.cfg.ID,
		"tenantId":            s.tenant.id,
		"displayName":         s.cfg.DisplayName,
		"state":               "Enabled",
		"subscriptionPolicies": map[string]any{
			"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off",
		},
	}
}

// armPage cuts a listing to $top items from $skiptoken and builds the nextLink, which
// carries the api-version as ARM's do.
func armPage[T any](r *http.Request, cl *cloud, items []T) ([]T, any, bool) {
	q := r.URL.Query()
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := decodeB64(tok)
		n, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || n < 0 {
			return nil, nil, false
		}
		start = min(n, len(items))
	}
	top := len(items)
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return nil, nil, false
		}
		top = n
	}
	end := min(start+top, len(items))
	page := items[start:end]
	if end >= len(items) {
		return page, nil, true
	}
	q.Set("$skiptoken", b64url([]byte(strconv.Itoa(end))))
	u := url.URL{Scheme: "https", Host: cl.armHost, Path: r.URL.Path, RawQuery: q.Encode()}
	return page, u.String(), true
}

func (e *Emulator) armVaults(w http.ResponseWriter, r *http.Request, cl *cloud, sub *subscription, rt armRoute) {
	wantHSM := rt.kind == "managedHSMs"
	var items []map[string]any
	rgSeen := rt.rg == ""
	for _, v := range e.reg.allVaults() {
		if v.sub != sub {
			continue
		}
		if rt.rg != "" && strings.EqualFold(v.resourceGroup, rt.rg) {
			rgSeen = true
		}
		if (v.kind == kindHSM) != wantHSM || (rt.rg != "" && !strings.EqualFold(v.resourceGroup, rt.rg)) {
			continue
		}
		if rt.name != "" && !strings.EqualFold(v.name, rt.name) {
			continue
		}
		items = append(items, e.armVaultJSON(v, creatorOf(sub)))
	}
	if !rgSeen {
		armError(w, http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+rt.rg+"' could not be found.")
		return
	}
	if rt.name != "" {
		if len(items) == 0 {
			typ := "Microsoft.KeyVault/" + rt.kind
			armError(w, http.StatusNotFound, "ResourceNotFound", fmt.Sprintf("The Resource '%s/%s' under resource group "+
				"'%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, rt.name, rt.rg))
			return
		}
		writeJSON(w, http.StatusOK, items[0])
		return
	}
	page, next, ok := armPage(r, cl, items)
	if !ok {
		armError(w, http.StatusBadRequest, "InvalidParameter", "The value of $top or $skiptoken is invalid.")
		return
	}
	if page == nil {
		page = []map[string]any{}
	}
	body := map[string]any{"value": page}
	if next != nil {
		body["nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

// creatorOf names the creator shown in systemData: the emulator itself.
func creatorOf(sub *subscription) string { return "keyward-emulator@" + sub.tenant.id }

// armLegacyList serves GET /subscriptions/{sub}/resources?$filter=resourceType eq '...',
// which armkeyvault's VaultsClient.NewListPager uses: generic resources, no properties.
func (e *Emulator) armLegacyList(w http.ResponseWriter, r *http.Request, sub *subscription) {
	filter := strings.ToLower(strings.Join(strings.Fields(r.URL.Query().Get("$filter")), " "))
	var wantType string
	switch filter {
	case "":
	case "resourcetype eq 'microsoft.keyvault/vaults'":
		wantType = "Microsoft.KeyVault/vaults"
	case "resourcetype eq 'microsoft.keyvault/managedhsms'":
		wantType = "Microsoft.KeyVault/managedHSMs"
	default:
		armError(w, http.StatusBadRequest, "InvalidFilterInQueryString", "Invalid $filter '"+r.URL.Query().Get("$filter")+
			"' specified in the query string. The emulator supports resourceType eq 'Microsoft.KeyVault/vaults' or 'Microsoft.KeyVault/managedHSMs'.")
		return
	}
	var items []map[string]any
	for _, v := range e.reg.allVaults() {
		typ := v.armType()
		if v.sub != sub || (wantType != "" && typ != wantType) {
			continue
		}
		items = append(items, map[string]any{
			"id": v.armID(), "name": v.name, "type": typ, "location": v.location, "tags": tagsOrEmpty(v.tags),
		})
	}
	page, next, ok := armPage(r, sub.tenant.cloud, items)
	if !ok {
		armError(w, http.StatusBadRequest, "InvalidParameter", "The value of $top or $skiptoken is invalid.")
		return
	}
	if page == nil {
		page = []map[string]any{}
	}
	body := map[string]any{"value": page}
	if next != nil {
		body["nextLink"] = next
	}
	writeJSON(w, http.StatusOK, body)
}

func (v *vault) armType() string {
	if v.kind == kindHSM {
		return "Microsoft.KeyVault/managedHSMs"
	}
	return "Microsoft.KeyVault/vaults"
}

func (v *vault) armID() string {
	return "/subscriptions/" + v.sub.cfg.ID + "/resourceGroups/" + v.resourceGroup + "/providers/" + v.armType() + "/" + v.name
}

func tagsOrEmpty(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

// armVaultJSON renders a vault or HSM as ARM does: for vaults, sku sits inside properties
// and enablePurgeProtection is absent when off; for HSMs, sku is top-level.
func (e *Emulator) armVaultJSON(v *vault, creator string) map[string]any {
	created := v.created.UTC().Format(time.RFC3339Nano)
	system := map[string]any{"createdBy": creator, "createdByType": "Application", "createdAt": created,
		"lastModifiedBy": creator, "lastModifiedByType": "Application", "lastModifiedAt": created}
	out := map[string]any{"id": v.armID(), "name": v.name, "type": v.armType(), "location": v.location,
		"tags": tagsOrEmpty(v.tags), "systemData": system}
	uri := "https://" + v.host + "/"
	if v.kind == kindHSM {
		family := "B"
		if strings.HasPrefix(v.sku, "Custom_C") {
			family = "C"
		}
		out["sku"] = map[string]any{"family": family, "name": v.sku}
		status, msg := "Active", "Your HSM has been activated and can be used for cryptographic operations."
		if v.notActivated {
			status, msg = "NotActivated", "Your HSM has been provisioned, but cannot be used for cryptographic operations until it is activated. To activate the HSM, download the security domain."
		}
		out["properties"] = map[string]any{
			"tenantId": v.sub.tenant.id, "hsmUri": uri, "initialAdminObjectIds": []string{stableGUID("admin/" + v.sub.tenant.id)},
			"enableSoftDelete": true, "softDeleteRetentionInDays": v.retentionDays, "enablePurgeProtection": v.purgeProtection,
			"provisioningState": "Succeeded", "statusMessage": "The Managed HSM is provisioned and ready to use.",
			"networkAcls":         map[string]any{"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": []any{}, "virtualNetworkRules": []any{}},
			"publicNetworkAccess": "Enabled", "regions": []any{},
			"securityDomainProperties": map[string]any{"activationStatus": status, "activationStatusMessage": msg},
		}
		return out
	}
	props := map[string]any{
		"sku": map[string]any{"family": "A", "name": v.sku}, "tenantId": v.sub.tenant.id, "accessPolicies": []any{},
		"enabledForDeployment": false, "enabledForDiskEncryption": false, "enabledForTemplateDeployment": false,
		"enableSoftDelete": v.softDelete, "enableRbacAuthorization": true, "vaultUri": uri,
		"provisioningState": "Succeeded", "publicNetworkAccess": "Enabled",
	}
	if v.softDelete {
		props["softDeleteRetentionInDays"] = v.retentionDays
	}
	if v.purgeProtection {
		props["enablePurgeProtection"] = true
	}
	out["properties"] = props
	return out
}
