package cli

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/client"
)

func auditFlags(cmd *cobra.Command, q *client.AuditQuery, from, to *string) {
	f := cmd.Flags()
	f.StringVar(from, "from", "", "records at or after this time (RFC 3339, e.g. 2026-11-23T00:00:00Z)")
	f.StringVar(to, "to", "", "records before this time (RFC 3339)")
	f.StringVar(&q.Actor, "actor", "", "user:ID or app:ID")
	f.StringVar(&q.Action, "action", "", "an action (group.update) or a prefix ending in a dot (group.)")
	f.StringVar(&q.Target, "target", "", "group:ID, app:ID, ...")
	f.StringVar(&q.Outcome, "outcome", "", "success, denied or failure")
}

func parseTimes(q *client.AuditQuery, from, to string) error {
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"--from", from, &q.From}, {"--to", to, &q.To}} {
		if t.v == "" {
			continue
		}
		tm, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			return fmt.Errorf("%s: %q is not an RFC 3339 time such as 2026-11-23T10:00:00Z", t.name, t.v)
		}
		*t.dst = tm
	}
	return nil
}

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The account's tamper-evident audit trail",
		Long: `Every change, and every refused attempt, is recorded with time, actor, action, target,
outcome and request id. Records form a hash chain: 'keyward audit verify' walks it and names
the first record that was altered, removed or reordered.`,
	}
	var q client.AuditQuery
	var from, to string
	list := &cobra.Command{
		Use: "list", Short: "List audit records", Args: noArgs,
		Example: `  keyward audit list --action group. --from 2026-11-01T00:00:00Z
  keyward audit list --outcome denied -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := parseTimes(&q, from, to); err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			l, err := c.ListAudit(cmd.Context(), q)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL")
				for _, r := range l.Items {
					actor := r.Actor
					if r.ActorName != "" {
						actor = r.ActorName
					}
					row(t, r.Seq, r.Time, actor, r.Action, r.Target, r.Outcome, r.Detail)
				}
				if l.Next != 0 {
					fmt.Fprintf(t, "(more: --after-seq %d)\n", l.Next)
				}
			})
		},
	}
	auditFlags(list, &q, &from, &to)
	list.Flags().Int64Var(&q.AfterSeq, "after-seq", 0, "records after this sequence number (paging)")
	list.Flags().IntVar(&q.Limit, "limit", 0, "page size (default 100, at most 1000)")

	var eq client.AuditQuery
	var efrom, eto, format, outPath string
	export := &cobra.Command{
		Use: "export", Short: "Export audit records as JSON lines or CSV", Args: noArgs,
		Example: `  keyward audit export --format csv --out audit.csv
  keyward audit export --from 2026-11-01T00:00:00Z > november.jsonl`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := parseTimes(&eq, efrom, eto); err != nil {
				return usageError{cmd.CommandPath(), err}
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
			return c.ExportAudit(cmd.Context(), w, format, eq)
		},
	}
	auditFlags(export, &eq, &efrom, &eto)
	export.Flags().StringVar(&format, "format", "jsonl", "jsonl or csv")
	export.Flags().StringVar(&outPath, "out", "", "write to this file instead of standard output")

	verify := &cobra.Command{
		Use: "verify", Short: "Verify the account's audit hash chain", Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			v, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if err := g.emit(v, func(t *tabwriter.Writer) {
				if v.OK {
					fmt.Fprintf(t, "Audit chain intact: %d records verified.\n", v.Checked)
				} else {
					fmt.Fprintf(t, "Audit chain BROKEN at record %d: %s\n(%d records before it verified.)\n", v.FirstBad, v.Reason, v.Checked)
				}
			}); err != nil {
				return err
			}
			if !v.OK {
				return fmt.Errorf("audit chain verification failed at record %d", v.FirstBad)
			}
			return nil
		},
	}
	cmd.AddCommand(list, export, verify)
	return cmd
}
