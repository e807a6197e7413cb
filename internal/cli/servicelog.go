package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

func newLogCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "A group's service log: what Keyward did on the group's behalf",
		Long: `Each group has a service log of what Keyward did for it outside a request, chiefly its
jobs' calls to Azure: INFO for what was done, WARN for what was done (or will be retried)
after a recoverable error, ERROR for what could not be done. Reading it needs a role in the
group. It is not the audit trail ('keyward audit'), which records who asked for what.`,
	}
	cmd.AddCommand(newLogListCmd(g), newLogExportCmd(g))
	return cmd
}

// logFilters are the flags shared by list and export.
type logFilters struct {
	group, levels, since, until string
	q                           client.ServiceLogQuery
}

func (lf *logFilters) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&lf.group, "group", "", "the group (id or name); required")
	f.StringVar(&lf.levels, "level", "", "only these levels, comma-separated: INFO, WARN, ERROR")
	f.StringVar(&lf.since, "since", "", "entries at or after this time (RFC 3339, e.g. 2026-11-23T00:00:00Z)")
	f.StringVar(&lf.until, "until", "", "entries before this time (RFC 3339)")
	f.StringVar(&lf.q.Job, "job", "", "only entries of this job")
	f.StringVar(&lf.q.Contains, "contains", "", "only entries whose message or detail contains this text")
}

// parse checks the flags and fills q.
func (lf *logFilters) parse(cmd *cobra.Command) error {
	if lf.group == "" {
		return usageError{cmd.CommandPath(), fmt.Errorf("--group is required")}
	}
	if lf.levels != "" {
		lf.q.Levels = strings.Split(strings.ToUpper(lf.levels), ",")
	}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"--since", lf.since, &lf.q.Since}, {"--until", lf.until, &lf.q.Until}} {
		if t.v == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return usageError{cmd.CommandPath(), fmt.Errorf("%s: %q is not an RFC 3339 time such as 2026-11-23T10:00:00Z", t.name, t.v)}
		}
		*t.dst = tm
	}
	return nil
}

func newLogListCmd(g *globals) *cobra.Command {
	var lf logFilters
	list := &cobra.Command{
		Use: "list --group ID", Short: "List a group's service log, newest first", Args: noArgs,
		Example: `  keyward log list --group 0193... --level WARN,ERROR
  keyward log list --group 0193... --job 0194... --oldest`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.parse(cmd); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListServiceLog(cmd.Context(), lf.group, lf.q)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "TIME", "LEVEL", "MESSAGE", "JOB")
				for _, e := range l.Items {
					msg := e.Message
					if e.Detail != "" {
						msg += " (" + e.Detail + ")"
					}
					row(t, e.Time, e.Level, msg, e.JobID)
				}
				if l.Next != 0 {
					fmt.Fprintf(t, "(more: --cursor %d)\n", l.Next)
				}
			})
		},
	}
	lf.add(list)
	list.Flags().BoolVar(&lf.q.Oldest, "oldest", false, "list oldest first")
	list.Flags().Int64Var(&lf.q.Cursor, "cursor", 0, "continue after this entry (paging; the previous page's last line says it)")
	list.Flags().IntVar(&lf.q.Limit, "limit", 0, "page size (default 100, at most 1000)")
	return list
}

func newLogExportCmd(g *globals) *cobra.Command {
	var lf logFilters
	var format, outPath string
	export := &cobra.Command{
		Use: "export --group ID", Short: "Export a group's service log as JSON lines or CSV, oldest first", Args: noArgs,
		Example: `  keyward log export --group 0193... --format csv --out service-log.csv
  keyward log export --group 0193... --level ERROR --since 2026-11-01T00:00:00Z > errors.jsonl`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.parse(cmd); err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var w io.Writer = g.io.Out
			if outPath != "" {
				f, err := os.Create(outPath)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return c.ExportServiceLog(cmd.Context(), w, lf.group, format, lf.q)
		},
	}
	lf.add(export)
	export.Flags().StringVar(&format, "format", "jsonl", "jsonl or csv")
	export.Flags().StringVar(&outPath, "out", "", "write to this file instead of standard output")
	return export
}
