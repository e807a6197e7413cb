package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// emit writes v as JSON (-o json) or calls table to print it for people.
func (g *globals) emit(v any, table func(t *tabwriter.Writer)) error {
	switch g.output {
	case "json":
		enc := json.NewEncoder(g.io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "table", "":
		t := tabwriter.NewWriter(g.io.Out, 0, 4, 2, ' ', 0)
		table(t)
		return t.Flush()
	}
	return fmt.Errorf("unknown output format %q: use table or json", g.output)
}

// row writes one tab-separated row.
func row(t *tabwriter.Writer, cols ...any) {
	s := make([]string, len(cols))
	for i, c := range cols {
		switch v := c.(type) {
		case time.Time:
			if v.IsZero() {
				s[i] = "-"
			} else {
				s[i] = v.Local().Format("2006-01-02 15:04:05")
			}
		case []string:
			if len(v) == 0 {
				s[i] = "-"
			} else {
				s[i] = strings.Join(v, ",")
			}
		case string:
			if v == "" {
				s[i] = "-"
			} else {
				s[i] = v
			}
		default:
			s[i] = fmt.Sprint(v)
		}
	}
	fmt.Fprintln(t, strings.Join(s, "\t"))
}

// fields prints a single object as "KEY  value" lines.
func fields(t *tabwriter.Writer, kv ...any) {
	for i := 0; i+1 < len(kv); i += 2 {
		row(t, kv[i], kv[i+1])
	}
}
