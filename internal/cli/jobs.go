package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
	"github.com/keyward/keyward/client"
)

func init() { extraCommands = append(extraCommands, newJobCmd, newLogCmd) }

func newJobCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Jobs: the background work Keyward does, such as every call to Azure",
		Long: `Work that calls out of Keyward runs as a durable job: it is queued, run, retried with
backoff when it fails, and survives a restart of the server. A job is queued, running,
succeeded, failed (the reason says why) or cancelled. You see the jobs of the groups you
have a role in; account administrators and auditors see them all.`,
	}
	cmd.AddCommand(newJobListCmd(g), newJobShowCmd(g), newJobWatchCmd(g), newJobCancelCmd(g))
	return cmd
}

func newJobListCmd(g *globals) *cobra.Command {
	var q client.JobQuery
	var states string
	list := &cobra.Command{
		Use: "list", Short: "List jobs, newest first", Args: noArgs,
		Example: `  keyward job list --state running,queued
  keyward job list --group 0193... --kind azure.sync -o json`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if states != "" {
				q.States = strings.Split(states, ",")
			}
			l, err := c.ListJobs(cmd.Context(), q)
			if err != nil {
				return err
			}
			return g.emit(l, func(t *tabwriter.Writer) {
				row(t, "ID", "KIND", "TITLE", "STATE", "PROGRESS", "ATTEMPTS", "CREATED")
				for _, j := range l.Items {
					row(t, j.ID, j.Kind, j.Title, j.State, progressText(&j), fmt.Sprintf("%d/%d", j.Attempts, j.MaxAttempts), j.CreatedAt)
				}
				if l.Next != "" {
					fmt.Fprintf(t, "(more: --after %s)\n", l.Next)
				}
			})
		},
	}
	f := list.Flags()
	f.StringVar(&q.Group, "group", "", "only jobs of this group (id)")
	f.StringVar(&states, "state", "", "only jobs in these states, comma-separated: queued, running, succeeded, failed, cancelled")
	f.StringVar(&q.Kind, "kind", "", "only jobs of this kind, e.g. azure.sync")
	f.StringVar(&q.After, "after", "", "list jobs older than this job id (paging)")
	f.IntVar(&q.Limit, "limit", 0, "page size (default 100, at most 1000)")
	return list
}

func progressText(j *api.Job) string {
	p := j.Progress
	switch {
	case p.Total > 0:
		return fmt.Sprintf("%d/%d", p.Done, p.Total)
	case p.Done > 0:
		return fmt.Sprint(p.Done)
	}
	return "-"
}

func jsonText(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func newJobShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a job", Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.GetJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(j, func(t *tabwriter.Writer) {
				var next, started, finished time.Time
				if j.NextRunAt != nil {
					next = *j.NextRunAt
				}
				if j.StartedAt != nil {
					started = *j.StartedAt
				}
				if j.FinishedAt != nil {
					finished = *j.FinishedAt
				}
				fields(t, "ID", j.ID, "KIND", j.Kind, "TITLE", j.Title, "GROUP", j.GroupID, "STATE", j.State,
					"PROGRESS", strings.TrimSpace(progressText(j)+" "+j.Progress.Message), "ATTEMPTS", fmt.Sprintf("%d of %d", j.Attempts, j.MaxAttempts),
					"NEXT RUN", next, "CANCEL REQUESTED", fmt.Sprint(j.CancelRequested), "ERROR", j.Error,
					"PARAMS", jsonText(j.Params), "RESULT", jsonText(j.Result),
					"CREATED", j.CreatedAt, "CREATED BY", j.CreatedBy, "STARTED", started, "FINISHED", finished)
			})
		},
	}
}

func newJobWatchCmd(g *globals) *cobra.Command {
	var interval time.Duration
	watch := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a job's progress until it ends; exit 1 unless it succeeded",
		Long: `Show a job's progress until it ends: a progress bar on a terminal, otherwise one line per
change ("running 3/10 syncing keys"). The exit status is 0 when the job succeeded and 1 when
it failed or was cancelled, so scripts can wait for a job. Stopping the watch (Ctrl-C) does
not stop the job.`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			_, err = g.watchJob(cmd.Context(), c, args[0], interval)
			return err
		},
	}
	watch.Flags().DurationVar(&interval, "interval", time.Second, "how often to ask the server")
	return watch
}

// watchJob follows a job until it ends — a progress bar on a terminal, a line per change
// otherwise, the job as JSON at the end with -o json — and returns an error unless it
// succeeded. Commands that start a job use it for --wait.
func (g *globals) watchJob(ctx context.Context, c *client.Client, id string, interval time.Duration) (*api.Job, error) {
	var show func(*api.Job)
	bar := g.output != "json" && isTerminalWriter(g.io.Out)
	switch {
	case g.output == "json":
		show = func(*api.Job) {}
	case bar:
		show = func(j *api.Job) { fmt.Fprintf(g.io.Out, "\r%s\x1b[K", progressBar(j, 30)) }
	default:
		show = func(j *api.Job) { fmt.Fprintln(g.io.Out, watchLine(j)) }
	}
	j, err := c.WatchJob(ctx, id, interval, show)
	if bar {
		fmt.Fprintln(g.io.Out)
	}
	if err != nil {
		return nil, err
	}
	if g.output == "json" {
		if err := g.emit(j, nil); err != nil {
			return j, err
		}
	}
	switch j.State {
	case "failed":
		return j, fmt.Errorf("job %s failed: %s", j.ID, j.Error)
	case "cancelled":
		return j, fmt.Errorf("job %s was cancelled", j.ID)
	}
	return j, nil
}

func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// watchLine describes a job's state in one line, for logs and pipes.
func watchLine(j *api.Job) string {
	switch {
	case j.State == "failed":
		return "failed: " + j.Error
	case j.State == "succeeded" || j.State == "cancelled":
		return j.State
	case j.State == "queued" && j.Attempts > 0 && j.Error != "":
		next := ""
		if j.NextRunAt != nil {
			next = "; next try at " + j.NextRunAt.Local().Format("15:04:05")
		}
		return fmt.Sprintf("queued: attempt %d of %d failed (%s)%s", j.Attempts, j.MaxAttempts, j.Error, next)
	}
	line := j.State
	if p := progressText(j); p != "-" {
		line += " " + p
	}
	if j.Progress.Message != "" {
		line += " " + j.Progress.Message
	}
	if j.CancelRequested {
		line += " (cancel requested)"
	}
	return line
}

// progressBar draws "[#####-----]  5/10  50%  message" for a terminal.
func progressBar(j *api.Job, width int) string {
	p := j.Progress
	if p.Total <= 0 || j.Ended() || j.State == "queued" {
		return watchLine(j)
	}
	done := min(p.Done, p.Total)
	n := done * width / p.Total
	return fmt.Sprintf("[%s%s] %d/%d %3d%%  %s", strings.Repeat("#", n), strings.Repeat("-", width-n), done, p.Total, done*100/p.Total, p.Message)
}

func newJobCancelCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "cancel ID", Short: "Cancel a job", Args: exactArgs("ID"),
		Long: `Ask for a job to end as cancelled. A queued job ends at once. A running job stops at its
runner's next check (within seconds) after undoing what it can; follow it with
'keyward job watch ID'.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			j, err := c.CancelJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(j, func(t *tabwriter.Writer) {
				if j.State == "cancelled" {
					fmt.Fprintf(t, "Job %s cancelled.\n", j.ID)
				} else {
					fmt.Fprintf(t, "Cancel requested: job %s is %s and stops shortly (keyward job watch %s).\n", j.ID, j.State, j.ID)
				}
			})
		},
	}
}
