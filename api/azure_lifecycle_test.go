package api

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestAzureKeyTagsValidate(t *testing.T) {
	many := map[string]string{}
	for i := range 16 {
		many[fmt.Sprint("t", i)] = "v"
	}
	for name, c := range map[string]struct {
		tags map[string]string
		want string // "" for valid; else a piece of the message
	}{
		"nil":         {nil, "is required"},
		"empty clear": {map[string]string{}, ""},
		"two":         {map[string]string{"team": "web", "env": "prod"}, ""},
		"too many":    {many, "at most 15"},
		"empty name":  {map[string]string{"": "x"}, "must not be empty"},
		"long value":  {map[string]string{"k": strings.Repeat("v", 257)}, "longer than 256"},
		"long name":   {map[string]string{strings.Repeat("k", 513): "v"}, "512"},
	} {
		err := (&AzureKeyTags{Tags: c.tags}).Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v, want valid", name, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Field != "tags" || e.Code != CodeInvalidArgument || !strings.Contains(e.Message, c.want) {
			t.Errorf("%s: got %v, want an invalid_argument on tags saying %q", name, err, c.want)
		}
	}
}
