package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

// newSyncScheduleCmd is `keyward azure sync-schedule`: when a group syncs on its own.
func newSyncScheduleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync-schedule",
		Short: "Sync a group with its vault on a schedule",
		Long: `A sync schedule runs keyward azure sync for a group on its own: every interval from a start
time, or at a time of day (UTC) every day, week or month. Each run is an ordinary sync job —
listed with keyward job list --group GROUP and written to the group's service log — and a run
is skipped (with a WARN line) while the previous sync is still queued or running.

Rules:
  every 6h, every 90m, every 7d   at the start time and every interval after it (at least 1m)
  daily 02:30                     every day at 02:30 UTC
  weekly mon 02:30                every Monday at 02:30 UTC
  monthly 1 02:30                 on the 1st of every month at 02:30 UTC (days 1 to 28)`,
	}
	show := &cobra.Command{
		Use: "show GROUP", Short: "Show a group's sync schedule", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			sc, err := c.SyncSchedule(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(sc, func(t *tabwriter.Writer) { scheduleTable(t, sc) })
		},
	}
	var start string
	var disabled bool
	set := &cobra.Command{
		Use: "set GROUP RULE", Short: "Sync a group on a schedule (replaces its schedule)", Args: exactArgs("GROUP", "RULE"),
		Example: `  keyward azure sync-schedule set kw-standard "every 6h"
  keyward azure sync-schedule set payments-kv "daily 02:30"
  keyward azure sync-schedule set payments-kv "every 1h" --start 2026-12-01T00:00:00Z`,
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseTimeFlag("--start", start)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			sc, err := c.SetSyncSchedule(cmd.Context(), args[0], api.SyncScheduleInput{Rule: args[1], StartAt: at, Disabled: disabled})
			if err != nil {
				return err
			}
			return g.emit(sc, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Group %s syncs %s; the next run is at %s.\n\n", args[0], sc.Rule, sc.NextRunAt.UTC().Format("2006-01-02 15:04:05Z"))
				scheduleTable(t, sc)
			})
		},
	}
	set.Flags().StringVar(&start, "start", "", "no run before this time (RFC 3339); intervals count from it (default now)")
	set.Flags().BoolVar(&disabled, "disabled", false, "keep the schedule switched off")
	clearCmd := &cobra.Command{
		Use: "clear GROUP", Short: "Stop a group's scheduled syncs (its past jobs stay)", Args: exactArgs("GROUP"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteSyncSchedule(cmd.Context(), args[0]); err != nil {
				return err
			}
			return g.emit(map[string]string{"group": args[0], "schedule": "removed"}, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "Group %s syncs only when asked now.\n", args[0])
			})
		},
	}
	cmd.AddCommand(show, set, clearCmd)
	return cmd
}

func scheduleTable(t *tabwriter.Writer, sc *api.SyncSchedule) {
	fields(t, "RULE", sc.Rule, "ENABLED", sc.Enabled, "START", sc.StartAt, "NEXT RUN", sc.NextRunAt,
		"LAST RUN", lastRun(sc.LastRunAt, sc.LastJobID))
}

// lastRun says when a schedule last ran and with which job.
func lastRun(at *time.Time, job string) string {
	if at == nil {
		return "never"
	}
	if job == "" {
		return at.UTC().Format("2006-01-02 15:04:05Z") + " (skipped: the previous run was still going)"
	}
	return at.UTC().Format("2006-01-02 15:04:05Z") + " (job " + job + ")"
}
