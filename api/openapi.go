package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Version is the API's version in the OpenAPI document.
const Version = "1.0.0"

// OpenAPI builds the OpenAPI 3.0 document for every route in Routes and ServiceRoutes.
func OpenAPI() ([]byte, error) {
	g := &gen{schemas: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, r := range append(append([]Route{}, Routes...), ServiceRoutes...) {
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]any{}
		}
		paths[r.Path][strings.ToLower(r.Method)] = g.operation(r)
	}
	g.schemas["Error"] = g.schema(reflect.TypeOf(ErrorResponse{}))
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "Keyward API",
			"version":     Version,
			"description": "Keyward is a key management server. Users manage accounts, groups, applications and keys; applications perform cryptographic operations. Every error has the body {\"error\":{\"code\",\"message\",\"field\",\"request_id\"}}; codes: " + strings.Join(Codes, ", ") + ".",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": g.schemas,
			"securitySchemes": map[string]any{
				"bearer":    map[string]any{"type": "http", "scheme": "bearer", "description": "A session token (kws_...) from POST /v1/login, or an application API key (kwk_...)."},
				"clientTLS": map[string]any{"type": "mutualTLS", "description": "A TLS client certificate registered on an application."},
			},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

type gen struct{ schemas map[string]any }

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func (g *gen) operation(r Route) map[string]any {
	op := map[string]any{"operationId": r.ID, "summary": r.Summary, "tags": []string{r.Tag}}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range r.Query {
		params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": map[string]any{"type": q.Type}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if r.Request != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.Request))}}}
	}
	ok := map[string]any{"description": http.StatusText(r.Status)}
	switch {
	case r.Response != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(r.Response))}}
	case len(r.Produces) > 0:
		content := map[string]any{}
		for _, ct := range r.Produces {
			content[ct] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		ok["content"] = content
	}
	errRef := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	op["responses"] = map[string]any{fmt.Sprint(r.Status): ok, "default": errRef}
	switch r.Auth {
	case AuthNone:
		op["security"] = []any{}
	case AuthApp:
		op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"clientTLS": []string{}}}
	default:
		op["security"] = []any{map[string]any{"bearer": []string{}}}
	}
	return op
}

var timeType = reflect.TypeOf(time.Time{})

// schema returns the JSON schema of t; named structs go to components and are referenced.
func (g *gen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if _, done := g.schemas[name]; !done {
			g.schemas[name] = nil // reserve against recursion
			g.schemas[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{"type": "string", "format": "byte"}
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	}
	return map[string]any{}
}

func (g *gen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var req []string
	g.fields(t, props, &req)
	obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		sort.Strings(req)
		obj["required"] = req
	}
	return obj
}

// fields adds t's JSON fields to props, flattening embedded structs as encoding/json does.
func (g *gen) fields(t reflect.Type, props map[string]any, req *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, req)
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			*req = append(*req, name)
		}
	}
}
