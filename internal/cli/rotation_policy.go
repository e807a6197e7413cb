package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keyward/keyward/api"
)

// newRotationPolicyCmd is `keyward key rotation-policy`: when a key rotates on its own.
func newRotationPolicyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotation-policy",
		Short: "Rotate a key on a schedule, optionally with its Azure copies",
		Long: `A rotation policy rotates a key on its own, as 'keyward key rotate' does: new material under
the same name (the old key is renamed and links to its replacement), optionally deactivating
the old key, and optionally giving every live Azure copy of the key the new material as a new
version of its Azure key (one job per copy).

The policy follows the key's name, which each rotation moves to the new key. Each run is a job
(keyward job list --group GROUP) that acts as the user who set the policy, with the rights they
have then: if they leave the account, the run fails and says so.

Rules:
  every 90d, every 12h            at the start time and every interval after it (at least 1m)
  daily 02:30                     every day at 02:30 UTC
  weekly mon 02:30                every Monday at 02:30 UTC
  monthly 1 02:30                 on the 1st of every month at 02:30 UTC (days 1 to 28)`,
	}
	show := &cobra.Command{
		Use: "show KEY", Short: "Show a key's rotation policy", Args: exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			rp, err := c.RotationPolicy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.emit(rp, func(t *tabwriter.Writer) { rotationPolicyTable(t, rp) })
		},
	}
	var start string
	var deactivate, copies, disabled bool
	set := &cobra.Command{
		Use: "set KEY RULE", Short: "Rotate a key on a schedule (replaces its policy)", Args: exactArgs("KEY", "RULE"),
		Example: `  keyward key rotation-policy set payments-aes "every 90d" --deactivate-old
  keyward key rotation-policy set signing-key "monthly 1 02:30" --azure-copies`,
		RunE: func(cmd *cobra.Command, args []string) error {
			at, err := parseTimeFlag("--start", start)
			if err != nil {
				return usageError{cmd.CommandPath(), err}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			rp, err := c.SetRotationPolicy(cmd.Context(), args[0], api.RotationPolicyInput{Rule: args[1], StartAt: at,
				DeactivateOld: deactivate, AzureCopies: copies, Disabled: disabled})
			if err != nil {
				return err
			}
			return g.emit(rp, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "%s rotates %s; the next rotation is at %s.\n\n", args[0], rp.Rule, rp.NextRunAt.UTC().Format("2006-01-02 15:04:05Z"))
				rotationPolicyTable(t, rp)
			})
		},
	}
	set.Flags().StringVar(&start, "start", "", "no rotation before this time (RFC 3339); intervals count from it (default now)")
	set.Flags().BoolVar(&deactivate, "deactivate-old", false, "deactivate the replaced key in the same step")
	set.Flags().BoolVar(&copies, "azure-copies", false, "give every live Azure copy of the key the new material too")
	set.Flags().BoolVar(&disabled, "disabled", false, "keep the policy switched off")
	clearCmd := &cobra.Command{
		Use: "clear KEY", Short: "Stop a key's scheduled rotations (its past jobs stay)", Args: exactArgs("KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.DeleteRotationPolicy(cmd.Context(), args[0]); err != nil {
				return err
			}
			return g.emit(map[string]string{"key": args[0], "rotation_policy": "removed"}, func(t *tabwriter.Writer) {
				fmt.Fprintf(t, "%s rotates only when asked now.\n", args[0])
			})
		},
	}
	cmd.AddCommand(show, set, clearCmd)
	return cmd
}

func rotationPolicyTable(t *tabwriter.Writer, rp *api.RotationPolicy) {
	fields(t, "RULE", rp.Rule, "ENABLED", rp.Enabled, "DEACTIVATE OLD", rp.DeactivateOld, "AZURE COPIES", rp.AzureCopies,
		"OWNER", rp.Owner, "START", rp.StartAt, "NEXT RUN", rp.NextRunAt, "LAST RUN", lastRun(rp.LastRunAt, rp.LastJobID))
}
