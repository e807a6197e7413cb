package akvemu

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Listings page by name (keys, deleted keys) or by version id (versions), 25 at most per
// page. nextLink is an absolute URL carrying api-version, $skiptoken and maxresults,
// because the SDK pagers request it verbatim (akv-api.md §1.2).

const maxPage = 25

// pageParams reads maxresults and $skiptoken. The skip token is opaque to clients; the
// emulator's is shaped like Azure's: base64 of {"NextMarker": ..., "TargetLocation": 0},
// with the last name or version returned as marker.
func pageParams(r *http.Request) (size int, after string, kerr *kvErr) {
	q := r.URL.Query()
	size = maxPage
	if m := q.Get("maxresults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > maxPage {
			return 0, "", badParam("The value '%s' of the parameter 'maxresults' is invalid. It must be an integer between 1 and %d.", m, maxPage)
		}
		size = n
	}
	if tok := q.Get("$skiptoken"); tok != "" {
		var t struct {
			NextMarker string `json:"NextMarker"`
		}
		raw, err := decodeB64(tok)
		if err == nil {
			err = json.Unmarshal(raw, &t)
		}
		var marker []byte
		if err == nil {
			marker, err = decodeB64(t.NextMarker)
		}
		if err != nil || len(marker) == 0 {
			return 0, "", badParam("The value of the parameter '$skiptoken' is invalid.")
		}
		after = string(marker)
	}
	return size, after, nil
}

// nextLink builds the link to the page after marker.
func nextLink(r *http.Request, rc *reqCtx, marker string, size int) *string {
	tok, _ := json.Marshal(map[string]any{"NextMarker": base64.RawURLEncoding.EncodeToString([]byte(marker)), "TargetLocation": 0})
	q := url.Values{}
	q.Set("api-version", rc.api.raw)
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString(tok))
	if r.URL.Query().Get("maxresults") != "" {
		q.Set("maxresults", strconv.Itoa(size))
	}
	s := rc.v.baseURL(rc.port) + r.URL.Path + "?" + q.Encode()
	return &s
}

// sortedNames returns the lower-case names of the live keys in order, rebuilding the index
// only after keys came or went. Call with v.mu held.
func (v *vault) sortedNames() []string {
	if v.dirty || v.names == nil {
		v.names = v.names[:0]
		for n := range v.keys {
			v.names = append(v.names, n)
		}
		sort.Strings(v.names)
		v.dirty = false
	}
	return v.names
}

// listKeys serves GET /keys: one item per key, with the base kid and the current version's
// attributes and tags, sorted by name.
func (e *Emulator) listKeys(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	size, after, kerr := pageParams(rc.req)
	if kerr != nil {
		return 0, nil, kerr
	}
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	names := v.sortedNames()
	i := sort.SearchStrings(names, strings.ToLower(after))
	if after != "" && i < len(names) && names[i] == strings.ToLower(after) {
		i++
	}
	out := listOut[itemOut]{Value: []itemOut{}}
	for ; i < len(names) && len(out.Value) < size; i++ {
		k := v.keys[names[i]]
		if rc.now.Before(k.AvailableAt) {
			continue
		}
		out.Value = append(out.Value, rc.item(k.Name, k.latest(), false))
	}
	if i < len(names) {
		out.NextLink = nextLink(rc.req, rc, names[i-1], size)
	}
	return http.StatusOK, out, nil
}

// listVersions serves GET /keys/{name}/versions, sorted by version id.
func (e *Emulator) listVersions(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	size, after, kerr := pageParams(rc.req)
	if kerr != nil {
		return 0, nil, kerr
	}
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	k, _, kerr := v.lookup(rc, rt.name, "")
	if kerr != nil {
		return 0, nil, kerr
	}
	versions := slices.Clone(k.Versions)
	slices.SortFunc(versions, func(a, b *keyVersion) int { return strings.Compare(a.ID, b.ID) })
	i := sort.Search(len(versions), func(i int) bool { return versions[i].ID > strings.ToLower(after) })
	out := listOut[itemOut]{Value: []itemOut{}}
	for ; i < len(versions) && len(out.Value) < size; i++ {
		out.Value = append(out.Value, rc.item(k.Name, versions[i], true))
	}
	if i < len(versions) {
		out.NextLink = nextLink(rc.req, rc, versions[i-1].ID, size)
	}
	return http.StatusOK, out, nil
}

// listDeletedKeys serves GET /deletedkeys, sorted by name.
func (e *Emulator) listDeletedKeys(rc *reqCtx, rt kvRoute, _ []byte) (int, any, *kvErr) {
	if !rc.v.softDelete {
		return 0, nil, softDeleteOff("list deleted keys")
	}
	size, after, kerr := pageParams(rc.req)
	if kerr != nil {
		return 0, nil, kerr
	}
	v := rc.v
	v.mu.Lock()
	defer v.mu.Unlock()
	e.sweep(rc)
	var names []string
	for n, d := range v.deleted {
		if !rc.now.Before(d.VisibleAt) && n > strings.ToLower(after) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := listOut[itemOut]{Value: []itemOut{}}
	for _, n := range names[:min(size, len(names))] {
		d := v.deleted[n]
		it := rc.item(d.Entry.Name, d.Entry.latest(), false)
		rc.markDeleted(&it.RecoveryID, &it.DeletedDate, &it.ScheduledPurgeDate, d)
		out.Value = append(out.Value, it)
	}
	if len(names) > size {
		out.NextLink = nextLink(rc.req, rc, names[size-1], size)
	}
	return http.StatusOK, out, nil
}
