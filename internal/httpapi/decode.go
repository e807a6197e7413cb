package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/internal/keyward"
)

// validator is a request body that checks its own shape.
type validator interface{ Validate() error }

// decodeBody reads exactly one JSON object into v: unknown fields, trailing data, wrong
// types and oversize bodies are rejected with an error naming the field, and nothing else
// happens. Then it calls v.Validate.
func decodeBody(r *http.Request, v validator) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return keyward.Errorf(keyward.ETOOLARGE, "request body is larger than %d bytes", mbe.Limit)
		}
		return keyward.Errorf(keyward.EINVALID, "read request body: %v", err)
	}
	if err := decodeJSON(body, v); err != nil {
		return err
	}
	return v.Validate()
}

// decodeOptionalBody is decodeBody for routes whose body may be left out entirely.
func decodeOptionalBody(r *http.Request, v validator) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return keyward.Errorf(keyward.EINVALID, "read request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return v.Validate()
	}
	if err := decodeJSON(body, v); err != nil {
		return err
	}
	return v.Validate()
}

func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return keyward.Errorf(keyward.EINVALID, "request body is empty: send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return keyward.Errorf(keyward.EINVALID, "request body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return keyward.Errorf(keyward.EINVALID, "request body holds data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return keyward.Errorf(keyward.EINVALID, "request body is not valid JSON (at byte %d): %v", syn.Offset, err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return keyward.Errorf(keyward.EINVALID, "request body must be a JSON object")
		}
		return keyward.Invalid(field, "must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return keyward.Invalid(name, "is not a known field")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return keyward.Errorf(keyward.EINVALID, "request body is truncated JSON")
	}
	return keyward.Errorf(keyward.EINVALID, "request body: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "a number"
}

// apiFieldError lets Validate() errors from the api package pass through as EINVALID.
func apiFieldError(err error) error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return &keyward.Error{Code: ae.Code, Message: ae.Message, Field: ae.Field}
	}
	return err
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string, max int64) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n < 0 || n > max || fmt.Sprint(n) != s {
		return 0, keyward.Invalid(name, "must be an integer from 0 to %d", max)
	}
	return n, nil
}
